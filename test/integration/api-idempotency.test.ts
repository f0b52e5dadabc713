// Idempotent retries and ticket owners through the whole path: two front doors and a consumer on the real
// Kafka, Redis and MariaDB. A key's repeats get one ticket and at most one order, on one pod or two.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import type { ApiApp } from '../../workloads/api/app.js';
import type { ConsumerApp } from '../../workloads/consumer/consumer-app.js';
import type { EventSpec } from '../../workloads/shared/catalog.js';
import { consumerGroup } from '../../workloads/shared/kafka/topics.js';
import { keys } from '../../workloads/shared/keys.js';
import { createLogger } from '../../workloads/shared/log.js';
import { migrate } from '../../workloads/shared/mysql/migrations.js';
import { createMysqlPool } from '../../workloads/shared/mysql/pool.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { apiConfig, stackEnv, testKafka } from '../../tools/lib/stack-env.js';
import {
  errorCode,
  freshEvent,
  get,
  post,
  startApp,
  ticketOf,
  tokenOf,
  topicSize,
  within,
  type Answer,
} from '../helpers/api.js';
import { stackConsumer } from '../helpers/consumer.js';

const redis = createRedis(stackEnv.redisUrl(), 'api-idem-test');
const pool = createMysqlPool(stackEnv.mysqlUrl());
const kafka = testKafka();
let one: { app: ApiApp; url: string };
let two: { app: ApiApp; url: string };
let consumer: ConsumerApp;
let sale: EventSpec;

before(async () => {
  await migrate(pool);
  sale = await freshEvent(redis, kafka, [
    { id: 1, stock: 1000, perUserLimit: 1 },
    { id: 2, stock: 1000, perUserLimit: 3 },
  ]);
  one = await startApp(apiConfig());
  two = await startApp(apiConfig());
  consumer = stackConsumer(sale.name, createLogger({ test: 'api-idempotency' }, 'warn'));
  await consumer.start();
});
after(async () => {
  await Promise.allSettled([one?.app.stop(), two?.app.stop(), consumer?.stop()]);
  await Promise.allSettled([redis.quit(), pool.end()]);
});

const buy = (url: string, buyer: number, key: string | undefined, productId = 1): Promise<Answer> =>
  post(url, { event: sale.name, productId }, undefined, {
    buyer,
    headers: key === undefined ? {} : { 'idempotency-key': key },
  });

/** True once the consumer group has committed every message of the topic. */
async function committedAll(): Promise<true | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(sale.topic);
    const [committed] = await admin.fetchOffsets({ groupId: consumerGroup(sale.name), topics: [sale.topic] });
    const done = ends.every(
      (end) =>
        // A partition never committed reports -1: done only if it is empty.
        Math.max(0, Number(committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1)) >=
        Number(end.offset),
    );
    return done ? true : undefined;
  } finally {
    await admin.disconnect();
  }
}

async function ordersOf(ticket: string): Promise<number> {
  const [rows] = await pool.query('SELECT COUNT(*) AS n FROM orders WHERE ticket = ?', [ticket]);
  return Number((rows as { n: number }[])[0]?.n ?? 0);
}

/** The ticket's final status for its buyer, once the consumer wrote it. */
const resolved = (url: string, ticket: string, buyer: number): Promise<Answer> =>
  within(20_000, `ticket ${ticket} to resolve`, async () => {
    const a = await get(url, `/api/v1/tickets/${ticket}`, { buyer });
    return (a.body as { status?: string }).status === 'pending' ? undefined : a;
  });

test('the same key twice: the same ticket, one Kafka message, one order; the limit is not hit', async () => {
  const before = await topicSize(kafka, sale.topic);
  const first = await buy(one.url, 501, 'order-501-a');
  assert.equal(first.status, 202, JSON.stringify(first.body));
  const again = await buy(one.url, 501, 'order-501-a');
  // perUserLimit is 1: a second purchase would be 409 limit; the repeat is the same purchase.
  assert.equal(again.status, 202, JSON.stringify(again.body));
  assert.equal(ticketOf(again), ticketOf(first));
  assert.equal(await topicSize(kafka, sale.topic), before + 1, 'this pod answered the repeat itself');
  assert.deepEqual((await resolved(one.url, ticketOf(first), 501)).body, {
    ticket: ticketOf(first),
    status: 'won',
  });
  assert.equal(await ordersOf(ticketOf(first)), 1);
  // A new key is a new purchase: the limit applies to it.
  assert.equal(errorCode(await buy(one.url, 501, 'order-501-b')), 'limit');
});

test('the same key twice at once: one ticket, one order', async () => {
  const answers = await Promise.all(Array.from({ length: 8 }, () => buy(one.url, 502, 'burst')));
  assert.deepEqual([...new Set(answers.map((a) => a.status))], [202]);
  const tickets = new Set(answers.map(ticketOf));
  assert.equal(tickets.size, 1);
  const [ticket] = [...tickets] as [string];
  assert.equal((await resolved(one.url, ticket, 502)).status, 200);
  assert.equal(await ordersOf(ticket), 1);
});

test('the same key on two front doors: both reach Kafka, the claim knows the replay, one order', async () => {
  const before = await topicSize(kafka, sale.topic);
  // perUserLimit 3 on product 2: only the claim's replay check stops a second win here.
  const [a, b] = await Promise.all([buy(one.url, 503, 'twice', 2), buy(two.url, 503, 'twice', 2)]);
  assert.equal(a.status, 202);
  assert.equal(b.status, 202);
  assert.equal(ticketOf(a), ticketOf(b));
  assert.equal(await topicSize(kafka, sale.topic), before + 2, 'each pod sent it');
  assert.deepEqual((await resolved(two.url, ticketOf(a), 503)).body, { ticket: ticketOf(a), status: 'won' });
  await within(20_000, 'the consumer to commit both deliveries', () => committedAll());
  assert.equal(await ordersOf(ticketOf(a)), 1);
  // Had the claim not known the second delivery for a replay, the buyer would hold 2 units (limit 3).
  assert.equal(await redis.hget(keys.buyers(sale.name, 2), '503'), '1', 'the buyer won once');
});

test('the same key from two buyers: two tickets, two orders; each sees only their own', async () => {
  const [a, b] = await Promise.all([buy(one.url, 504, 'shared-key'), buy(one.url, 505, 'shared-key')]);
  assert.notEqual(ticketOf(a), ticketOf(b));
  assert.equal((await resolved(one.url, ticketOf(a), 504)).status, 200);
  assert.equal((await resolved(one.url, ticketOf(b), 505)).status, 200);
  assert.equal(await ordersOf(ticketOf(a)), 1);
  assert.equal(await ordersOf(ticketOf(b)), 1);
  const theirs = await get(one.url, `/api/v1/tickets/${ticketOf(a)}`, { buyer: 505 });
  assert.equal(theirs.status, 404);
  assert.equal(errorCode(theirs), 'unknown_ticket');
});

test('without a key a retry is a second purchase, as before; a bad key is 400 and costs nothing', async () => {
  const a = await buy(one.url, 506, undefined, 2);
  const b = await buy(one.url, 506, undefined, 2);
  assert.notEqual(ticketOf(a), ticketOf(b));
  const before = await topicSize(kafka, sale.topic);
  // Not visible ASCII: a space, a comma (two keys joined), a Latin-1 letter on the wire.
  for (const key of ['', '""', 'k'.repeat(256), 'has space', 'a, b', 'caf\u00e9']) {
    const answer = await rawPost(one.url, 507, key);
    assert.equal(answer.status, 400, JSON.stringify(key));
  }
  assert.equal(await topicSize(kafka, sale.topic), before);
});

/** A POST with an Idempotency-Key fetch would refuse to send (control characters): on a raw socket. */
async function rawPost(url: string, buyer: number, key: string): Promise<{ status: number }> {
  const { hostname, port } = new URL(url);
  const body = JSON.stringify({ event: sale.name, productId: 2 });
  const request =
    `POST /api/v1/seckill HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\n` +
    `authorization: Bearer ${await tokenOf(buyer)}\r\nidempotency-key: ${key}\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(request));
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(data.slice(9, 12)) }));
  });
}
