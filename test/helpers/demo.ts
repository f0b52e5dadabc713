// The end-to-end tests: run the demo's JS entry as a child process with --json, parse its last stdout
// line, and judge every invariant (docs/ARCHITECTURE.md) again straight from MySQL and Redis, independently
// of the demo's own check.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RedisClient } from '../../workloads/shared/redis/client.js';
import type { Pool } from 'mysql2/promise';
import { checkInvariants, parseTickets } from '../../workloads/consumer/invariants.js';
import { deleteEvent } from '../../workloads/shared/catalog.js';
import { createMysqlPool } from '../../workloads/shared/mysql/pool.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import type { DemoResult } from '../../tools/demo/result.js';
import { stackEnv } from '../../tools/lib/stack-env.js';

const DEMO = fileURLToPath(new URL('../../tools/demo/demo.js', import.meta.url));

/** Runs the demo with `args` (plus --json --quiet --cleanup-policy Retain); resolves with its result. */
export function runDemoProcess(
  args: string[],
  timeoutMs: number,
): Promise<{ result: DemoResult; code: number | null; stderr: string }> {
  stackEnv.kubeconfig();
  stackEnv.kafkaBrokers();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO, ...args, '--json', '--cleanup-policy', 'Retain'], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve({ result: JSON.parse(last) as DemoResult, code, stderr: err });
      } catch {
        reject(
          new Error(`the demo printed no JSON result (exit ${code}); stderr tail:\n${err.slice(-4000)}`),
        );
      }
    });
  });
}

export interface Ledger {
  redis: RedisClient;
  pool: Pool;
  close(): Promise<void>;
}

/** Redis (the stack's, or the one at `redisUrl`: the HA profile's Cluster) and MySQL, to judge a run by. */
export function openLedger(redisUrl = stackEnv.redisUrl()): Ledger {
  const redis = createRedis(redisUrl, 'e2e');
  redis.on('error', () => undefined); // the chaos run restarts Redis; ioredis reconnects
  const pool = createMysqlPool(stackEnv.mysqlUrl(), 2);
  return {
    redis,
    pool,
    async close() {
      redis.disconnect();
      await pool.end();
    },
  };
}

/**
 * Judges a finished demo run again, independently of the demo's own check: every invariant
 * (workloads/consumer/invariants.ts) from Redis and MySQL directly, with the tickets file's 202s.
 */
export async function assertInvariants(
  l: Ledger,
  r: DemoResult,
  stock: number,
  perUserLimit = 1,
): Promise<void> {
  const tickets = parseTickets(readFileSync(r.ticketsFile, 'utf8'));
  assert.equal(tickets.length, r.accepted, 'the tickets file holds every 202');
  assert.ok(r.products.length > 0);
  const verdict = await checkInvariants({
    redis: l.redis,
    pool: l.pool,
    event: r.event,
    products: r.products.map((p) => ({ id: p.id, perUserLimit })),
    tickets,
  });
  assert.deepEqual(verdict.violations, [], 'every invariant holds, read again from Redis and MySQL');
  for (const p of verdict.products) assert.equal(p.stock, stock, `product ${p.id}: RedisClient total`);
  assert.equal(verdict.unresolvedTickets, 0);
  assert.equal(r.oversold, 0);
  assert.equal(r.duplicateOrders, 0);
  assert.equal(r.unresolvedTickets, 0);
  assert.deepEqual(r.violations, []);
}

/**
 * Judges a finished demo run from Redis (the stack's, or the one at `redisUrl`) and MySQL
 * (assertInvariants), then removes what it left in Redis, whatever the verdict.
 */
export async function judgeRun(r: DemoResult, stock: number, redisUrl?: string): Promise<void> {
  const ledger = openLedger(redisUrl);
  try {
    await assertInvariants(ledger, r, stock);
  } finally {
    await cleanupRedis(ledger, r).finally(() => ledger.close());
  }
}

/** Removes what a Retain run left in Redis (the MySQL rows stay, scoped by the unique event name). */
export async function cleanupRedis(l: Ledger, r: DemoResult): Promise<void> {
  await deleteEvent(l.redis, {
    name: r.event,
    products: r.products.map((p) => ({ id: p.id, stock: p.stock, perUserLimit: 1 })),
  });
}
