// Benchmark: the consumer's results step (one SET per ticket, runs of 100 at once, 8 shard workers), read
// back as the ticket endpoint reads them (one GET each), through the project's connection factory:
//   single            a single Redis (REDIS_URL), auto-pipelined
//   cluster           the Redis Cluster (HA_REDIS_URL) as the factory makes it: one command each
//   clusterAutoPipe   the same Cluster client with ioredis' auto-pipelining turned on (what the factory did
//                     before it was found to fail a moved slot's commands forever: client.ts)
// Prints entries/s side by side with ratios. `npm run bench:results -- [--entries N] [--json]`; needs the
// stack's env, and `stack.sh up kafka-ha redis-ha` for the Cluster rows.
import { parseArgs } from 'node:util';
import { ulid } from 'ulid';
import { recordResults } from '../../workloads/consumer/results.js';
import { readResults } from '../../workloads/consumer/invariants.js';
import type { PurchaseEntry } from '../../workloads/shared/kafka/codec.js';
import { keys } from '../../workloads/shared/keys.js';
import type { ClaimResult } from '../../workloads/shared/outcomes.js';
import { createRedis, type RedisClient } from '../../workloads/shared/redis/client.js';
import { requireEnv } from '../lib/stack-env.js';
import { entriesPerSecond } from './workers.js';

const { values } = parseArgs({
  options: { entries: { type: 'string', default: '40000' }, json: { type: 'boolean', default: false } },
});
const ENTRIES = Number(values.entries);
const RUN = 100;
const WORKERS = 8;

interface Figures {
  writesPerSec: number;
  readsPerSec: number;
}

/** Runs `work(run)` for every run on WORKERS workers; returns entries per second. */
const perSecond = (runs: PurchaseEntry[][], work: (run: PurchaseEntry[]) => Promise<unknown>) =>
  entriesPerSecond(runs.length, RUN, WORKERS, (i) => work(runs[i]!));

async function measure(redis: RedisClient): Promise<Figures> {
  // Tickets are made before the clock starts: the benchmark measures Redis, not ULID generation.
  const runs = Array.from({ length: Math.ceil(ENTRIES / RUN) }, (_, r) =>
    Array.from({ length: RUN }, (_, i) => ({ ticket: ulid(), userId: r * RUN + i + 1, acceptedAt: 0 })),
  );
  const won: ClaimResult[] = Array.from({ length: RUN }, () => ({ outcome: 'won', replay: false }));
  const writesPerSec = await perSecond(runs, (run) => recordResults(redis, run, won));
  const readsPerSec = await perSecond(runs, (run) =>
    readResults(
      redis,
      run.map((e) => e.ticket),
    ),
  );
  await Promise.all(runs.flat().map((e) => redis.del(keys.result(e.ticket))));
  return { writesPerSec, readsPerSec };
}

async function on(url: string, name: string, autoPipelining?: boolean): Promise<Figures> {
  const redis = createRedis(url, name);
  if (autoPipelining !== undefined) redis.options.enableAutoPipelining = autoPipelining;
  try {
    return await measure(redis);
  } finally {
    await redis.quit();
  }
}

const figures: Record<string, Figures> = { single: await on(requireEnv('REDIS_URL'), 'bench-results') };
const haUrl = process.env.HA_REDIS_URL;
if (haUrl) {
  figures.cluster = await on(haUrl, 'bench-results-ha');
  figures.clusterAutoPipe = await on(haUrl, 'bench-results-ha-autopipe', true);
}

const base = figures.single!;
console.log(`results step: ${ENTRIES} tickets in runs of ${RUN}, ${WORKERS} workers, written then read back`);
console.table(
  Object.entries(figures).map(([mode, f]) => ({
    mode,
    writesPerSec: Math.round(f.writesPerSec),
    readsPerSec: Math.round(f.readsPerSec),
    writesVsSingle: Number((f.writesPerSec / base.writesPerSec).toFixed(2)),
    readsVsSingle: Number((f.readsPerSec / base.readsPerSec).toFixed(2)),
  })),
);
if (figures.cluster && figures.clusterAutoPipe) {
  const c = figures.cluster;
  const a = figures.clusterAutoPipe;
  console.log(
    `Redis Cluster, one command each vs auto-pipelined: writes ${(c.writesPerSec / a.writesPerSec).toFixed(2)}x, reads ${(c.readsPerSec / a.readsPerSec).toFixed(2)}x`,
  );
}
if (values.json) console.log(JSON.stringify({ entries: ENTRIES, run: RUN, workers: WORKERS, figures }));
