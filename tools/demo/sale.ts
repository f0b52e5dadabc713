// The sale itself, once the event is Active: the open-loop load from a worker thread (with the chaos
// actions alongside under --chaos), the drain (lag 0 and every 202 ticket resolved), every invariant
// checked straight from MySQL and Redis (workloads/consumer/invariants.ts), and the demo's result.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import type { RedisClient } from '../../workloads/shared/redis/client.js';
import type { Pool } from 'mysql2/promise';
import { checkInvariants, readResults } from '../../workloads/consumer/invariants.js';
import { decodeResult } from '../../workloads/shared/outcomes.js';
import { httpOk } from '../lib/net.js';
import { sleep, waitFor } from '../lib/wait.js';
import { progressLine } from '../load/format.js';
import type { AcceptedTicket, LoadReport, SecondStats } from '../load/open-loop.js';
import type { RetryPair } from '../load/retries.js';
import { startLoadWorker } from '../load/worker.js';
import { runChaos, type ChaosAction } from './chaos.js';
import type { HaEngines } from './ha-faults.js';
import * as cluster from './cluster.js';
import type { DemoOptions } from './options.js';
import { CpuMeter } from './cpu.js';
import type { PodTracker } from './pods.js';
import { RELEASE, RELEASE_NAMESPACE } from './release.js';
import { demoResult, round, type RunFacts } from './result.js';
import { Sampler, kafkaLagNow, type SaleWatch } from './sampling.js';

/** Everything one run shares: its options, names, processes and clients. */
export interface DemoRun {
  o: DemoOptions;
  env: cluster.DemoEnv;
  event: string;
  runDir: string;
  productIds: number[];
  say: (msg: string) => void;
  pods: PodTracker;
  kube: cluster.Kube;
  redis: RedisClient;
  pool: Pool;
  admin: Admin;
  /** The HA faults' clients (--ha --chaos). */
  ha?: HaEngines;
}

/** The front door: its Service (the chaos run deletes its pods; the Service routes to the others). */
export interface FrontDoor {
  url: string;
  /** The HS256 key the front door verifies buyer tokens with (release.installRelease made it); none
   * with --auth none. */
  jwtSecret?: string;
}

/** Waits until the front door at `url` is ready. */
export const waitReady = (what: string, url: string): Promise<true> =>
  waitFor(what, async () => ((await httpOk(`${url}/readyz`)) ? true : undefined), 60_000, 250);

function startLoad(r: DemoRun, api: FrontDoor, sampler: Sampler): Promise<LoadReport> {
  const isTty = process.stderr.isTTY;
  const o = r.o;
  const options = {
    url: api.url,
    event: r.event,
    products: r.productIds,
    buyers: o.buyers,
    requests: o.requests,
    rate: o.rate,
    connections: o.connections,
    maxConnections: Math.max(o.connections, o.maxConnections),
    timeoutMs: 10_000,
    seed: 42,
    userBase: 1,
    ...(api.jwtSecret !== undefined ? { jwtSecret: api.jwtSecret } : {}),
    idempotentRatio: o.idempotentRatio,
  };
  return startLoadWorker(options, (p) => {
    if (o.quiet) return;
    const s = sampler.latest();
    const extra = s ? ` | lag ${s.kafkaLag ?? '?'} consumers ${s.ready}/${s.desired} sold ${s.sold}` : '';
    process.stderr.write(
      isTty ? `\r[load] ${progressLine(p)}${extra}\x1b[K` : `[load] ${progressLine(p)}${extra}\n`,
    );
  }).done;
}

function chaosFor(r: DemoRun, sampler: Sampler, actions: ChaosAction[]): Promise<void> {
  if (!r.o.chaos) return Promise.resolve();
  return runChaos({
    kc: r.kube.kc,
    event: r.event,
    productIds: r.productIds,
    ...(r.ha ? { ha: r.ha } : {}),
    loadStart: () => sampler.loadStart,
    say: r.say,
    actions,
  });
}

/** Each action's 503s, 429s and unanswered requests while its effect lasted, from the load's timeline. */
function countRefusals(actions: ChaosAction[], timeline: readonly SecondStats[]): void {
  for (const a of actions) {
    const from = Math.floor(a.atSeconds);
    const to = Math.ceil(a.atSeconds + Math.max(a.tookSeconds, a.writesPausedSeconds ?? 0) + 2);
    const seconds = timeline.filter((s) => s.second >= from && s.second < to);
    a.refusals = {
      unavailable: seconds.reduce((n, s) => n + s.unavailable, 0),
      throttled: seconds.reduce((n, s) => n + s.throttled, 0),
      failed: seconds.reduce((n, s) => n + s.errors, 0),
    };
  }
}

/** The engines the sale ran on: how many Kafka brokers and Redis masters (CLUSTER SLOTS on a Cluster). */
async function engineFacts(r: DemoRun): Promise<RunFacts['engines']> {
  const kafkaBrokers = (await r.admin.describeCluster()).brokers.length;
  if (!r.o.ha) return { profile: 'single-node', kafkaBrokers, redisMasters: 1 };
  const slots = (await r.redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
  return { profile: 'ha', kafkaBrokers, redisMasters: new Set(slots.map((s) => s[2][2])).size };
}

/** Waits for lag 0 and every 202 ticket resolved; returns when it drained (if it did) and the results. */
async function drain(r: DemoRun, w: SaleWatch, tickets: string[], loadEnd: number) {
  let drainedAt: number | undefined;
  let results = new Map<string, string | null>();
  try {
    await waitFor(
      'the drain (lag 0, every ticket resolved)',
      async () => {
        const lag = await kafkaLagNow(w);
        results = await readResults(r.redis, tickets);
        const unresolved = [...results.values()].filter((v) => decodeResult(v) === undefined).length;
        return lag === 0 && unresolved === 0 ? true : undefined;
      },
      r.o.drainTimeoutSeconds * 1000,
      200,
    );
    drainedAt = Date.now();
    r.say(`drained ${round((drainedAt - loadEnd) / 1000)}s after the load ended`);
  } catch (err) {
    r.say(err instanceof Error ? err.message : String(err));
    results = await readResults(r.redis, tickets).catch(() => results);
  }
  return { drainedAt, results };
}

/** The load, with the chaos actions alongside under --chaos; the load's report and when it ended. */
async function loadWithChaos(r: DemoRun, api: FrontDoor, sampler: Sampler) {
  const meter = new CpuMeter(() => r.pods.names());
  meter.begin();
  const loading = startLoad(r, api, sampler);
  sampler.loadStart = Date.now();
  const chaosActions: ChaosAction[] = [];
  const chaos = chaosFor(r, sampler, chaosActions);
  const load = await loading;
  const cpu = meter.end();
  await chaos;
  countRefusals(chaosActions, load.timeline);
  if (process.stderr.isTTY && !r.o.quiet) process.stderr.write('\n');
  sampler.loadStart = load.startedAtEpochMs;
  const loadEnd = load.startedAtEpochMs + load.seconds * 1000;
  r.say(`load done: ${load.offered} offered, ${load.accepted} accepted in ${load.seconds}s`);
  return { load, loadEnd, chaosActions, cpu };
}

/** The accepted tickets, one JSON object a line (the e2e tests and `npm run reconcile -- --tickets` read it). */
function writeTickets(runDir: string, tickets: AcceptedTicket[]): string {
  const file = join(runDir, 'tickets.ndjson');
  writeFileSync(file, tickets.map((t) => JSON.stringify(t)).join('\n') + (tickets.length ? '\n' : ''));
  return file;
}

/** Retry pairs whose two tickets differ and both won: one keyed purchase that got two units. */
function secondWins(pairs: readonly RetryPair[], results: ReadonlyMap<string, string | null>): number {
  const won = (t: string | null): boolean => t !== null && decodeResult(results.get(t))?.outcome === 'won';
  return pairs.filter((p) => p.first !== p.retry && won(p.first) && won(p.retry)).length;
}

/** The sale from the load to the verdict: load (and chaos), drain, the invariants, the result. */
export async function sell(r: DemoRun, api: FrontDoor, topic: string) {
  const { kube, admin, redis, pool, event, productIds } = r;
  const w: SaleWatch = { kube, admin, redis, event, topic, productIds, pods: r.pods };
  const sampler = new Sampler(w);
  const engines = await engineFacts(r);
  sampler.start();
  const { load, loadEnd, chaosActions, cpu } = await loadWithChaos(r, api, sampler);
  const ticketsFile = writeTickets(r.runDir, load.tickets);
  const tickets = load.tickets.map((t) => t.ticket);
  // An accepted retry's ticket that no first attempt got accepted (its first answer was lost with a
  // connection, say) is a purchase Kafka has: judged with the rest. A refusal's ticket is not.
  const known = new Set(tickets);
  for (const { retry, retryAccepted } of load.idempotency.pairs) {
    if (retry === null || !retryAccepted || known.has(retry)) continue;
    tickets.push(retry);
    known.add(retry);
  }
  const { drainedAt, results } = await drain(r, w, tickets, loadEnd);
  await sleep(2000); // a few more samples after the drain, so the charts show the lag at zero
  await sampler.stop();

  const products = productIds.map((id) => ({ id, perUserLimit: r.o.perUserLimit }));
  const verdict = await checkInvariants({ redis, pool, event, products, tickets, results });
  const { samples, sellOutAt, maxLag, loadStart } = sampler;
  const { runDir, o } = r;
  const facts = {
    event,
    namespace: cluster.NAMESPACE,
    runDir,
    ticketsFile,
    chaos: o.chaos,
    seedStyle: o.seedStyle,
    engines,
    cluster: {
      nodeReady: await cluster.nodeReady(kube).catch(() => false),
      helmRelease: `${RELEASE_NAMESPACE}/${RELEASE}`,
      podsStarted: r.pods.pods().length,
      podRestarts: r.pods.restarts(),
      images: r.pods.images(),
      cpuDuringLoad: cpu,
    },
  };
  const idempotentSecondWins = secondWins(load.idempotency.pairs, results);
  const demo = demoResult(
    {
      ...facts,
      loadStart,
      loadEnd,
      sellOutAt,
      drainedAt,
      samples,
      maxLag,
      chaosActions,
      idempotentSecondWins,
    },
    load,
    verdict,
  );
  return { demo, load, sampler };
}
