// Shared by the end-to-end tests: run the demo's JS entry as a child process with --json, parse its last
// stdout line, and re-check every invariant of DESIGN.md straight from MySQL and Redis (independently of
// the demo's own check).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { deleteEvent } from '../../workloads/shared/catalog.js';
import { keys } from '../../workloads/shared/keys.js';
import { createMysqlPool } from '../../workloads/shared/mysql/pool.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import type { DemoResult } from '../demo/demo.js';
import { readLedger } from '../helpers/sale.js';
import { stackEnv } from '../helpers/stack-env.js';
import type { AcceptedTicket } from '../load/open-loop.js';

const DEMO = fileURLToPath(new URL('../demo/demo.js', import.meta.url));

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
  redis: Redis;
  pool: Pool;
  close(): Promise<void>;
}

export function openLedger(): Ledger {
  const redis = createRedis(stackEnv.redisUrl(), 'e2e');
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

/** Asserts every invariant of DESIGN.md for a finished demo run, from Redis and MySQL directly. */
export async function assertInvariants(
  l: Ledger,
  r: DemoResult,
  stock: number,
  perUserLimit = 1,
): Promise<void> {
  const tickets = readFileSync(r.ticketsFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AcceptedTicket);
  assert.equal(tickets.length, r.accepted, 'the tickets file holds every 202');
  assert.ok(r.products.length > 0);
  for (const p of r.products) {
    const ledger = await readLedger(l.redis, l.pool, r.event, { id: p.id, stock, perUserLimit });
    assert.equal(ledger.total, stock, `product ${p.id}: Redis total`);
    assert.equal(ledger.mysqlSold, ledger.orders, `product ${p.id}: MySQL sold = count(orders)`);
    assert.equal(ledger.redisSold, ledger.orders, `product ${p.id}: Redis seckill = count(orders)`);
    assert.ok(
      ledger.orders <= ledger.total,
      `product ${p.id}: ${ledger.orders} orders <= total ${ledger.total}`,
    );
    assert.equal(ledger.duplicateTickets, 0, 'no ticket has two orders');
    assert.equal(ledger.buyersOverLimit, 0, `product ${p.id}: no buyer over the limit`);
  }
  const [rows] = await l.pool.query<RowDataPacket[]>(
    'SELECT ticket, COUNT(*) AS n FROM orders WHERE event = ? GROUP BY ticket',
    [r.event],
  );
  const orders = new Map(rows.map((row) => [String(row.ticket), Number(row.n)]));
  const results = tickets.length > 0 ? await l.redis.mget(tickets.map((t) => keys.result(t.ticket))) : [];
  let won = 0;
  tickets.forEach((t, i) => {
    const v = results[i];
    assert.ok(v === 'W' || v === 'S' || v === 'L', `ticket ${t.ticket} resolved (got ${String(v)})`);
    if (v === 'W') {
      won++;
      assert.equal(orders.get(t.ticket), 1, `won ticket ${t.ticket} has exactly one order`);
    } else {
      assert.equal(orders.has(t.ticket), false, `lost ticket ${t.ticket} has no order`);
    }
  });
  // Orders of tickets whose 202 never reached the client are allowed, but they must be wins too.
  const orderTickets = [...orders.keys()];
  if (orderTickets.length > 0) {
    const orderResults = await l.redis.mget(orderTickets.map((t) => keys.result(t)));
    assert.deepEqual(
      orderTickets.filter((_, i) => orderResults[i] !== 'W'),
      [],
      'every order belongs to a won ticket',
    );
  }
  assert.ok(won <= orderTickets.length);
  assert.equal(r.oversold, 0);
  assert.equal(r.duplicateOrders, 0);
  assert.equal(r.unresolvedTickets, 0);
  assert.deepEqual(r.violations, []);
}

/** Removes what a Retain run left in Redis (the MySQL rows stay, scoped by the unique event name). */
export async function cleanupRedis(l: Ledger, r: DemoResult): Promise<void> {
  await deleteEvent(l.redis, {
    name: r.event,
    products: r.products.map((p) => ({ id: p.id, stock: p.stock, perUserLimit: 1 })),
  });
}
