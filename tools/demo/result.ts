// The demo's result: what `--json` prints as its last stdout line (and RUN_DIR/result.json holds), built
// from the load generator's report, the invariant verdict, the samples and the chaos actions.
import type { InvariantVerdict } from '../../workloads/consumer/invariants.js';
import type { LoadReport } from '../load/open-loop.js';
import type { ChaosAction } from './chaos.js';
import type { CpuShare } from './cpu.js';
import type { Sample } from './sampling.js';

export const round = (n: number, d = 2): number => Math.round(n * 10 ** d) / 10 ** d;

export type DemoResult = {
  event: string;
  namespace: string;
  runDir: string;
  reportFile: string;
  ticketsFile: string;
  chaos: boolean;
  seedStyle: boolean;
  platform: 'kubernetes';
  /** The engines the sale ran on: the single-node stack, or the HA profile (--ha). */
  profile: 'single-node' | 'ha';
  /** Brokers in the Kafka cluster and masters in the Redis (1 and 1 on the single-node stack). */
  kafkaBrokers: number;
  redisMasters: number;
} & ClusterFacts & {
    offered: number;
    answered: number;
    accepted: number;
    rejectedByReason: Record<string, number>;
    outcomes: Record<string, number>;
  } & InvariantVerdict & {
    p50Ms: number;
    p99Ms: number;
    p999Ms: number;
    maxMs: number;
    offeredPerSec: number;
    answeredPerSec: number;
    acceptedPerSec: number;
    acceptedPerSecWhileAccepting: number;
    sellOutSeconds: number | null;
    loadSeconds: number;
    drainSeconds: number | null;
    maxReplicas: number;
    maxLag: number;
    chaosActions: ChaosAction[];
    /** Keyed purchases retried once with their Idempotency-Key (tools/load/retries.ts). */
    idempotentRetries: number;
    /** Retries answered with the first attempt's ticket. */
    idempotentSameTicket: number;
    /** Retries whose own, other ticket won as well as the first: a second unit for one purchase (must be 0). */
    idempotentSecondWins: number;
  };

/** What the cluster showed during the run: the node, the release, every pod seen. */
export interface ClusterFacts {
  nodeReady: boolean;
  helmRelease: string;
  podsStarted: number;
  podRestarts: number;
  images: string[];
  /** Percent of one core per component while the load ran (cpu.ts). */
  cpuDuringLoad: CpuShare[];
}

export interface RunFacts {
  event: string;
  namespace: string;
  runDir: string;
  ticketsFile: string;
  chaos: boolean;
  seedStyle: boolean;
  engines: Pick<DemoResult, 'profile' | 'kafkaBrokers' | 'redisMasters'>;
  cluster: ClusterFacts;
  /** When the load started and ended, the sale sold out and drained (epoch ms). */
  loadStart: number;
  loadEnd: number;
  sellOutAt: number | undefined;
  drainedAt: number | undefined;
  samples: Sample[];
  maxLag: number;
  chaosActions: ChaosAction[];
  /** Retry pairs whose two tickets differ and both won (sale.ts reads it from the results). */
  idempotentSecondWins: number;
}

/** The result (field order as --json has always printed it); a sale that did not drain is a violation. */
export function demoResult(f: RunFacts, load: LoadReport, verdict: InvariantVerdict): DemoResult {
  const demo: DemoResult = {
    event: f.event,
    namespace: f.namespace,
    runDir: f.runDir,
    reportFile: '',
    ticketsFile: f.ticketsFile,
    chaos: f.chaos,
    seedStyle: f.seedStyle,
    platform: 'kubernetes',
    ...f.engines,
    ...f.cluster,
    offered: load.offered,
    answered: load.completed - load.errors,
    accepted: load.accepted,
    rejectedByReason: load.rejectedByReason,
    outcomes: load.outcomes,
    ...verdict,
    p50Ms: load.latencyMs.p50,
    p99Ms: load.latencyMs.p99,
    p999Ms: load.latencyMs.p999,
    maxMs: load.latencyMs.max,
    offeredPerSec: load.offeredPerSec,
    answeredPerSec: load.completedPerSec,
    acceptedPerSec: load.acceptedPerSec,
    acceptedPerSecWhileAccepting: load.acceptedPerSecDuringAccepting,
    sellOutSeconds: f.sellOutAt !== undefined ? round((f.sellOutAt - f.loadStart) / 1000) : null,
    loadSeconds: load.seconds,
    drainSeconds: f.drainedAt !== undefined ? round((f.drainedAt - f.loadEnd) / 1000) : null,
    maxReplicas: Math.max(0, ...f.samples.map((s) => s.desired)),
    maxLag: f.maxLag,
    chaosActions: f.chaosActions,
    idempotentRetries: load.idempotency.retries,
    idempotentSameTicket: load.idempotency.sameTicket,
    idempotentSecondWins: f.idempotentSecondWins,
  };
  if (demo.drainSeconds === null) demo.violations.push('the sale did not drain in time');
  if (f.idempotentSecondWins > 0) {
    demo.violations.push(`${f.idempotentSecondWins} idempotent retries won a second unit`);
  }
  if (load.idempotency.otherTicket > 0) {
    demo.violations.push(`${load.idempotency.otherTicket} idempotent retries named another ticket`);
  }
  demo.ok = demo.violations.length === 0;
  return demo;
}
