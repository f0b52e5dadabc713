// Durable claims against real Redis processes: with CLAIM_WAIT_REPLICAS the consumer acts on a claim only
// once that many replicas have it (WAIT on the claim's connection). A real replica of the stack's Redis is
// started here; with it, claims are confirmed and orders written; asking for more replicas than exist
// leaves every claim unacted on (retried, counted), never written to MySQL.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Registry } from 'prom-client';
import { ulid } from 'ulid';
import type { ConsumerApp } from '../../workloads/consumer/consumer-app.js';
import { createKafka } from '../../workloads/shared/kafka/client.js';
import { encodeBatch, messageKey } from '../../workloads/shared/kafka/codec.js';
import { createLogger } from '../../workloads/shared/log.js';
import { migrate } from '../../workloads/shared/mysql/migrations.js';
import { createMysqlPool } from '../../workloads/shared/mysql/pool.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { freePort } from '../../tools/lib/net.js';
import { stackEnv } from '../../tools/lib/stack-env.js';
import { waitFor } from '../../tools/lib/wait.js';
import { Child } from '../helpers/child-process.js';
import { stackConsumer } from '../helpers/consumer.js';
import { createSale } from '../../tools/lib/sale.js';

const log = createLogger({ test: 'durable-claims' }, 'error');
const redis = createRedis(stackEnv.redisUrl(), 'test-durable');
const pool = createMysqlPool(stackEnv.mysqlUrl());
const kafka = createKafka(stackEnv.kafkaBrokers(), 'test-durable', log);
const admin = kafka.admin();
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
let replica: Child;

before(async () => {
  await migrate(pool);
  await Promise.all([admin.connect(), producer.connect()]);
  // A replica of the stack's Redis, on loopback, in a directory of its own.
  const master = new URL(stackEnv.redisUrl());
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'seckill-replica-'));
  replica = new Child(
    'redis-replica',
    'redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
      ...['--replicaof', master.hostname, master.port],
    ],
    {},
    join(dir, 'redis.log'),
  );
  const replicaClient = createRedis(`redis://127.0.0.1:${port}`, 'test-replica');
  replicaClient.on('error', () => undefined); // refused until the replica listens
  try {
    await waitFor(
      'the replica to be in sync with the stack Redis',
      async () =>
        (await replicaClient.info('replication').catch(() => '')).includes('master_link_status:up')
          ? true
          : undefined,
      30_000,
      100,
    );
  } finally {
    replicaClient.disconnect();
  }
});
after(async () => {
  await replica?.stop();
  await Promise.allSettled([admin.disconnect(), producer.disconnect(), redis.quit(), pool.end()]);
});

const consumerFor = (
  event: string,
  waitReplicas: number,
  waitTimeoutMs: number,
  registry: Registry,
): ConsumerApp =>
  stackConsumer(
    event,
    log,
    {
      CONSUMER_SHARDS: '2',
      CLAIM_WAIT_REPLICAS: String(waitReplicas),
      CLAIM_WAIT_TIMEOUT_MS: String(waitTimeoutMs),
      SHUTDOWN_GRACE_MS: '1000', // a claim never confirmed would hold the drain for the whole grace
    },
    registry,
  );

async function sendBatch(topic: string, event: string, n: number): Promise<void> {
  const entries = Array.from({ length: n }, (_, i) => ({
    ticket: ulid(),
    userId: 1 + i,
    acceptedAt: Date.now(),
  }));
  await producer.send({
    topic,
    acks: -1,
    messages: [{ key: messageKey(1), value: encodeBatch({ event, productId: 1, entries }) }],
  });
}

async function orders(event: string): Promise<number> {
  const [rows] = await pool.query('SELECT COUNT(*) AS n FROM orders WHERE event = ?', [event]);
  return Number((rows as { n: number }[])[0]?.n ?? 0);
}

async function metric(registry: Registry, name: string, suffix = ''): Promise<number> {
  const text = await registry.metrics();
  const m = new RegExp(`^${name}${suffix}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return Number(m?.[1] ?? NaN);
}

test('with one replica confirming each claim, the orders are written and the wait is measured', async () => {
  const sale = await createSale(redis, admin, [{ id: 1, stock: 10, perUserLimit: 1 }], { prefix: 'durable' });
  const registry = new Registry();
  // A generous timeout: on a busy machine (CI runs everything on 2 cores) the replica's acknowledgement
  // can take longer than 200 ms; such a shortfall is the retry path working, not a failure, so it is
  // allowed here and the assertions are about what was acted on.
  const app = consumerFor(sale.name, 1, 2_000, registry);
  await app.start();
  try {
    await sendBatch(sale.topic, sale.name, 20);
    await waitFor(
      '10 orders',
      async () => ((await orders(sale.name)) === 10 ? true : undefined),
      30_000,
      100,
    );
    assert.ok((await metric(registry, 'seckill_consumer_claim_wait_seconds', '_count')) >= 1, 'WAIT timed');
    // Every claim that was retried after a shortfall was answered as a replay: still exactly 10 orders.
    const shortfalls = await metric(registry, 'seckill_consumer_claim_wait_shortfalls_total');
    assert.ok(Number.isFinite(shortfalls), 'the shortfall counter is exported');
    assert.equal(await orders(sale.name), 10, 'one order per unit of stock, none doubled by a retry');
  } finally {
    await app.stop();
  }
});

test('a claim fewer replicas confirm than required is retried and never acted on', async () => {
  const sale = await createSale(redis, admin, [{ id: 1, stock: 10, perUserLimit: 1 }], { prefix: 'durable' });
  const registry = new Registry();
  const app = consumerFor(sale.name, 2, 200, registry); // only one replica exists
  await app.start();
  try {
    await sendBatch(sale.topic, sale.name, 5);
    await waitFor(
      'three unconfirmed claims',
      async () =>
        (await metric(registry, 'seckill_consumer_claim_wait_shortfalls_total')) >= 3 ? true : undefined,
      30_000,
      100,
    );
    assert.equal(await orders(sale.name), 0, 'no order for an unconfirmed claim');
    const text = await registry.metrics();
    assert.match(text, /seckill_consumer_retries_total\{step="claim"[^}]*\} [3-9]/);
  } finally {
    await app.stop();
  }
});
