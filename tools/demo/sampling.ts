// What the demo watches during the sale: once a second the event's phase, the consumer Deployment's desired
// and ready replicas, the consumer group's Kafka lag, the units sold and the pods (the report's timeline,
// charts and pod table);
// every 100 ms whether every product is sold out (the sell-out time).
import type { RedisClient } from '../../workloads/shared/redis/client.js';
import type { Admin } from 'kafkajs';
import { consumerLag } from '../../operator/resources/lag.js';
import { consumerGroup } from '../../workloads/shared/kafka/topics.js';
import { keys } from '../../workloads/shared/keys.js';
import { readDeployment, readSke, type Kube } from './cluster.js';
import type { PodTracker } from './pods.js';
import { sleep } from '../lib/wait.js';
import { round } from './result.js';

export interface Sample {
  t: number;
  phase: string;
  kafkaLag: number | null;
  statusLag: number | null;
  desired: number;
  ready: number;
  sold: number;
}

export interface SaleWatch {
  kube: Kube;
  admin: Admin;
  redis: RedisClient;
  event: string;
  topic: string;
  productIds: number[];
  pods: PodTracker;
}

/** The consumer group's lag now; null when Kafka does not answer. */
export async function kafkaLagNow(w: SaleWatch): Promise<number | null> {
  try {
    return await consumerLag(w.admin, consumerGroup(w.event), w.topic);
  } catch {
    return null;
  }
}

/** Units sold over all products (Redis), and whether every product is sold out. */
async function soldNow(w: SaleWatch): Promise<{ sold: number; allSold: boolean } | undefined> {
  try {
    const rows = await Promise.all(
      w.productIds.map((id) => w.redis.hmget(keys.stock(w.event, id), 'total', 'seckill')),
    );
    const sold = rows.reduce((s, [, v]) => s + Number(v ?? 0), 0);
    return { sold, allSold: rows.every(([t, v]) => Number(v ?? 0) >= Number(t ?? 0)) };
  } catch {
    return undefined;
  }
}

export class Sampler {
  readonly samples: Sample[] = [];
  maxLag = 0;
  sellOutAt: number | undefined;
  /** Sample times count from here; the demo moves it to when the load really started. */
  loadStart = Date.now();
  private sampling = true;
  private loops: Promise<void>[] = [];

  constructor(private readonly w: SaleWatch) {}

  start(): void {
    this.loops = [this.everySecond(), this.watchSellOut()];
  }

  async stop(): Promise<void> {
    this.sampling = false;
    await Promise.all(this.loops);
  }

  latest(): Sample | undefined {
    return this.samples.at(-1);
  }

  private async everySecond(): Promise<void> {
    let next = Date.now();
    while (this.sampling) {
      const [ske, dep, lag, sold] = await Promise.all([
        readSke(this.w.kube, this.w.event).catch(() => undefined),
        readDeployment(this.w.kube, this.w.event),
        kafkaLagNow(this.w),
        soldNow(this.w),
        this.w.pods.sample(),
      ]);
      if (lag !== null) this.maxLag = Math.max(this.maxLag, lag);
      this.samples.push({
        t: round((Date.now() - this.loadStart) / 1000, 1),
        phase: ske?.status?.phase ?? '?',
        kafkaLag: lag,
        statusLag: ske?.status?.lag ?? null,
        desired: dep?.spec?.replicas ?? 0,
        ready: dep?.status?.readyReplicas ?? 0,
        sold: sold?.sold ?? this.latest()?.sold ?? 0,
      });
      next += 1000;
      await sleep(Math.max(0, next - Date.now()));
    }
  }

  private async watchSellOut(): Promise<void> {
    while (this.sampling && this.sellOutAt === undefined) {
      const s = await soldNow(this.w);
      if (s?.allSold) this.sellOutAt = Date.now();
      await sleep(100);
    }
  }
}
