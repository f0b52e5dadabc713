// The consumer in-process against real Kafka, Redis and MariaDB: batches in, orders out, exactly once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ulid } from 'ulid';
import type { ConsumerApp } from '../../workloads/consumer/consumer-app.js';
import { createKafka } from '../../workloads/shared/kafka/client.js';
import { encodeBatch, messageKey, type PurchaseEntry } from '../../workloads/shared/kafka/codec.js';
import { consumerGroup, deadLetterTopic } from '../../workloads/shared/kafka/topics.js';
import { keys } from '../../workloads/shared/keys.js';
import { decodeResult } from '../../workloads/shared/outcomes.js';
import { createLogger } from '../../workloads/shared/log.js';
import { migrate } from '../../workloads/shared/mysql/migrations.js';
import { createMysqlPool } from '../../workloads/shared/mysql/pool.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { checkInvariants, readLedger } from '../../workloads/consumer/invariants.js';
import { reconcile } from '../../workloads/consumer/reconcile.js';
import { waitFor } from '../../tools/lib/wait.js';
import { stackConsumer } from '../helpers/consumer.js';
import { createSale } from '../../tools/lib/sale.js';
import { stackEnv } from '../../tools/lib/stack-env.js';

const log = createLogger({ test: 'consumer-flow' }, 'warn');
const redis = createRedis(stackEnv.redisUrl(), 'test-consumer');
const pool = createMysqlPool(stackEnv.mysqlUrl());
const kafka = createKafka(stackEnv.kafkaBrokers(), 'test-consumer', log);
const admin = kafka.admin();
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });

before(async () => {
  await migrate(pool);
  await Promise.all([admin.connect(), producer.connect()]);
});
after(async () => {
  await Promise.allSettled([admin.disconnect(), producer.disconnect(), redis.quit(), pool.end()]);
});

const consumerFor = (event: string, extra: Record<string, string> = {}): ConsumerApp =>
  stackConsumer(event, log, { CONSUMER_SHARDS: '4', ...extra });

const entries = (n: number, firstUser: number): PurchaseEntry[] =>
  Array.from({ length: n }, (_, i) => ({ ticket: ulid(), userId: firstUser + i, acceptedAt: Date.now() }));

async function send(topic: string, event: string, productId: number, batch: PurchaseEntry[]): Promise<void> {
  await producer.send({
    topic,
    acks: -1,
    messages: [{ key: messageKey(productId), value: encodeBatch({ event, productId, entries: batch }) }],
  });
}

async function committedEverything(topic: string, event: string): Promise<true | undefined> {
  const ends = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId: consumerGroup(event), topics: [topic] });
  // A partition never committed reports -1: its lag is its whole log.
  const lag = ends.map((end) => {
    const at = Number(committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
    return Number(end.offset) - Math.max(0, at);
  });
  const done = lag.every((l) => l === 0);
  return done ? true : undefined;
}

test('batches become orders exactly once; redeliveries, sold-out and poison messages included', async () => {
  const products = [
    { id: 1, stock: 50, perUserLimit: 1 },
    { id: 2, stock: 10, perUserLimit: 2 },
  ];
  const sale = await createSale(redis, admin, products, { partitions: 3 });
  const app = consumerFor(sale.name);
  await app.start();
  try {
    const sent: PurchaseEntry[] = [];
    for (let i = 0; i < 8; i++) {
      const batch = entries(20, 1000 + i * 20);
      sent.push(...batch);
      await send(sale.topic, sale.name, i % 2 === 0 ? 1 : 2, batch);
    }
    // A redelivery: the same tickets again. And a poison message, and an unknown product.
    await send(sale.topic, sale.name, 1, sent.slice(0, 20));
    await producer.send({ topic: sale.topic, messages: [{ key: '1', value: '{"v":99}' }] });
    await send(sale.topic, sale.name, 999, entries(1, 5));

    await waitFor('every offset to be committed', () => committedEverything(sale.topic, sale.name));

    const tickets = sent.map((e) => e.ticket);
    const verdict = await checkInvariants({ redis, pool, event: sale.name, products, tickets });
    assert.deepEqual(verdict.violations, []);
    assert.deepEqual(
      verdict.products.map((p) => [p.id, p.orders]),
      products.map((p) => [p.id, p.stock]),
      'each product sells its whole stock',
    );
    // 160 tickets of distinct buyers for 60 units: 60 won, the other 100 sold out (no one hits a limit).
    // Each result names its buyer (the front door shows it to that buyer only).
    const results = (await redis.mget(tickets.map((t) => keys.result(t)))).map((r) => decodeResult(r));
    assert.equal(results.filter((r) => r?.outcome === 'won').length, 60);
    assert.equal(results.filter((r) => r?.outcome === 'sold_out').length, sent.length - 60);
    assert.deepEqual(
      results.map((r) => r?.owner),
      sent.map((e) => e.userId),
    );
    assert.equal(verdict.wonTickets, 60);

    const report = await reconcile(redis, pool, sale.name);
    assert.equal(report.consistent, true);

    const dlq = deadLetterTopic(sale.topic);
    const reasons = await readHeaders(dlq, 2);
    assert.deepEqual(
      reasons.sort(),
      ['unknown product 999 in event ' + sale.name, 'unknown schema version 99'].sort(),
    );
  } finally {
    await app.stop();
  }
});

test('a consumer stopped mid-sale and a new one started sell nothing twice', async () => {
  const product = { id: 3, stock: 300, perUserLimit: 1 };
  const sale = await createSale(redis, admin, [product], { partitions: 2 });
  for (let i = 0; i < 20; i++) await send(sale.topic, sale.name, 3, entries(25, 50_000 + i * 25));
  const first = consumerFor(sale.name, { CLAIM_MAX_ENTRIES: '25' });
  await first.start();
  await waitFor('some orders', async () =>
    (await readLedger(redis, pool, sale.name, product)).orders > 0 ? true : undefined,
  );
  await first.stop();
  const second = consumerFor(sale.name);
  await second.start();
  try {
    await waitFor('every offset to be committed', () => committedEverything(sale.topic, sale.name));
    const ledger = await readLedger(redis, pool, sale.name, product);
    assert.deepEqual(
      [ledger.orders, ledger.mysqlSold, ledger.redisSold, ledger.duplicateTickets],
      [300, 300, 300, 0],
    );
  } finally {
    await second.stop();
  }
});

test('full shard queues pause the partition and lose nothing', async () => {
  const product = { id: 5, stock: 1000, perUserLimit: 1 };
  const sale = await createSale(redis, admin, [product]);
  for (let i = 0; i < 30; i++) await send(sale.topic, sale.name, 5, entries(20, 70_000 + i * 20));
  // A shard holds 20 entries: every second message finds it full and pauses the partition.
  const app = consumerFor(sale.name, { SHARD_CAPACITY: '20', CONSUMER_SHARDS: '1' });
  await app.start();
  try {
    await waitFor('every offset to be committed', () => committedEverything(sale.topic, sale.name));
    const ledger = await readLedger(redis, pool, sale.name, product);
    assert.deepEqual([ledger.orders, ledger.mysqlSold, ledger.redisSold], [600, 600, 600]);
    const pauses = (await app.registry.getSingleMetric('seckill_consumer_partition_pauses_total')?.get())
      ?.values[0]?.value;
    assert.ok((pauses ?? 0) > 0, `the partition was paused (${pauses} times)`);
  } finally {
    await app.stop();
  }
});

test('reconciliation finds drift and repairs it to the order count', async () => {
  const product = { id: 4, stock: 5, perUserLimit: 1 };
  const sale = await createSale(redis, admin, [product]);
  const app = consumerFor(sale.name);
  await app.start();
  await send(sale.topic, sale.name, 4, entries(3, 1));
  await waitFor('every offset to be committed', () => committedEverything(sale.topic, sale.name));
  await app.stop();

  await redis.hset(keys.stock(sale.name, 4), 'seckill', 1); // Redis forgot two claims
  await pool.query('UPDATE product_stock SET sold = 2 WHERE event = ? AND product_id = 4', [sale.name]);
  const drift = await reconcile(redis, pool, sale.name);
  assert.equal(drift.consistent, false);
  const repaired = await reconcile(redis, pool, sale.name, { repair: true });
  assert.equal(repaired.products[0]?.repaired.length, 2);
  const ledger = await readLedger(redis, pool, sale.name, product);
  assert.deepEqual([ledger.redisSold, ledger.mysqlSold, ledger.orders], [3, 3, 3]);
});

async function readHeaders(topic: string, count: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `${topic}-reader` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const reasons: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${reasons.length} dead letters in 30 s`)), 30_000);
    void consumer.run({
      eachMessage: ({ message }) => {
        reasons.push(String(message.headers?.['x-dead-letter-reason']));
        if (reasons.length >= count) {
          clearTimeout(timer);
          resolve();
        }
        return Promise.resolve();
      },
    });
  });
  await consumer.disconnect();
  return reasons;
}
