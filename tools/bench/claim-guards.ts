// Benchmark: stock guards on ONE hot product (issue 4, benchmarks 2 and 3).
//   batch     one Lua claim per run of 100 entries (ours)
//   per-entry the same script once per entry
//   seed      the seed's single-entry check-and-update script (no tickets, no limit: unsafe, for scale)
//   etcd      the etcd lease-backed lock around plain Redis commands, per run of 100 entries
// Each mode claims the same number of entries against a fresh product with more stock than entries,
// with 8 concurrent claimers (like 8 shard workers), and prints entries/s side by side with ratios.
//   and, when HA_REDIS_URL names a Redis Cluster (the HA profile's), our batch claim on it without and with
//   WAIT for one replica (durable claims, CLAIM_WAIT_REPLICAS=1)
// `npm run bench:claims -- [--entries N] [--json]`; needs REDIS_URL and ETCD_ENDPOINTS (the stack's env).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { RedisClient } from '../../workloads/shared/redis/client.js';
import { ulid } from 'ulid';
import { createEtcdLockGuard } from '../../workloads/consumer/etcd-lock-guard.js';
import { luaGuard, type StockGuard } from '../../workloads/consumer/stock-guard.js';
import { preloadEvent } from '../../workloads/shared/catalog.js';
import { keys } from '../../workloads/shared/keys.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { withScripts, type ScriptedRedis } from '../../workloads/shared/redis/scripts.js';
import { repoFile } from '../lib/paths.js';
import { requireEnv } from '../lib/stack-env.js';
import { entriesPerSecond } from './workers.js';

const { values } = parseArgs({
  options: { entries: { type: 'string', default: '20000' }, json: { type: 'boolean', default: false } },
});
const ENTRIES = Number(values.entries);
const RUN = 100;
const CONCURRENCY = 8;

const redis = createRedis(requireEnv('REDIS_URL'), 'bench-claims');
redis.options.enableAutoPipelining = false; // measure round trips as a single worker sees them
const scripts = withScripts(redis);

async function freshProduct(on: ScriptedRedis = scripts): Promise<string> {
  const name = `bench-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  await preloadEvent(on, {
    name,
    topic: 'bench',
    startMs: 0,
    endMs: Date.now() + 3600_000,
    products: [{ id: 1, stock: ENTRIES * 2, perUserLimit: 1 }],
  });
  return name;
}

/** Runs `work(i)` for i in [0, total) on CONCURRENCY workers; returns entries per second. */
const measure = (total: number, perCall: number, work: (i: number) => Promise<unknown>): Promise<number> =>
  entriesPerSecond(total, perCall, CONCURRENCY, work);

const entries = (n: number, from: number) =>
  Array.from({ length: n }, (_, i) => ({ ticket: ulid(), userId: from + i + 1, acceptedAt: 0 }));

async function guardMode(guard: StockGuard, perCall: number, on: ScriptedRedis = scripts): Promise<number> {
  const event = await freshProduct(on);
  // Tickets are made before the clock starts: the benchmark measures the guard, not ULID generation.
  const calls = Array.from({ length: ENTRIES / perCall }, (_, i) => entries(perCall, i * perCall));
  return measure(calls.length, perCall, (i) =>
    guard.claim({ event, productId: 1, perUserLimit: 1, entries: calls[i]! }),
  );
}

/**
 * The seed's script (lua/seed-check-and-update.lua, not product code), registered as the product's scripts
 * are (EVALSHA, EVAL on NOSCRIPT): one call takes one unit of KEYS[1]; 1 taken, 0 sold out.
 */
function seedCheckAndUpdate(r: RedisClient): (stockKey: string) => Promise<unknown> {
  const lua = readFileSync(repoFile('tools/bench/lua/seed-check-and-update.lua'), 'utf8');
  r.defineCommand('seedCheckAndUpdate', { numberOfKeys: 1, lua });
  const commands = r as unknown as Record<string, (key: string) => Promise<unknown>>;
  return (stockKey) => commands.seedCheckAndUpdate!.call(r, stockKey);
}

async function seedMode(r: RedisClient): Promise<number> {
  const event = await freshProduct();
  const checkAndUpdate = seedCheckAndUpdate(r);
  return measure(ENTRIES, 1, () => checkAndUpdate(keys.stock(event, 1)));
}

const results: Record<string, number> = {};
results.batch = await guardMode(luaGuard(scripts), RUN);
results.perEntry = await guardMode(luaGuard(scripts, true), RUN);
results.seed = await seedMode(redis);
const etcd = createEtcdLockGuard([requireEnv('ETCD_ENDPOINTS')], scripts);
results.etcd = await guardMode(etcd, RUN);
await etcd.close();
await redis.quit();
const haUrl = process.env.HA_REDIS_URL;
if (haUrl) {
  const cluster = createRedis(haUrl, 'bench-claims-ha');
  const onCluster = withScripts(cluster);
  results.clusterBatch = await guardMode(luaGuard(onCluster), RUN, onCluster);
  const durable = luaGuard(onCluster, false, { replicas: 1, timeoutMs: 1000 });
  results.clusterBatchWait1 = await guardMode(durable, RUN, onCluster);
  await cluster.quit();
}

const rows = Object.entries(results).map(([mode, perSec]) => ({
  mode,
  entriesPerSec: Math.round(perSec),
  batchIsTimesFaster: Number((results.batch! / perSec).toFixed(1)),
}));
console.log(
  `stock guards, one hot product, ${ENTRIES} entries, runs of ${RUN}, ${CONCURRENCY} concurrent claimers`,
);
console.table(rows);
if (results.clusterBatch && results.clusterBatchWait1) {
  console.log(
    `Redis Cluster: WAIT for one replica after each claim costs ${(results.clusterBatch / results.clusterBatchWait1).toFixed(2)}x (batch ${Math.round(results.clusterBatch)} vs ${Math.round(results.clusterBatchWait1)} entries/s)`,
  );
}
if (values.json)
  console.log(JSON.stringify({ entries: ENTRIES, run: RUN, concurrency: CONCURRENCY, results }));
