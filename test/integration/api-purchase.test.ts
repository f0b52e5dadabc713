// The front door against the real stack: Kafka and Redis, no mocks.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { EventSpec } from '../../workloads/shared/catalog.js';
import { keys } from '../../workloads/shared/keys.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import type { ApiApp } from '../../workloads/api/app.js';
import { apiConfig, stackEnv, testKafka } from '../../tools/lib/stack-env.js';
import {
  errorCode,
  freshEvent,
  get,
  post,
  readTopic,
  startApp,
  ticketCounts,
  ticketOf,
  topicSize,
  within,
} from '../helpers/api.js';

const redis = createRedis(stackEnv.redisUrl(), 'api-test');
const kafka = testKafka();
let app: ApiApp;
let url: string;
let sale: EventSpec;

before(async () => {
  sale = await freshEvent(redis, kafka, [
    { id: 1, stock: 1000, perUserLimit: 1 },
    { id: 2, stock: 1000, perUserLimit: 2 },
    { id: 3, stock: 10, perUserLimit: 1 },
    { id: 4, stock: 10, perUserLimit: 1 },
  ]);
  ({ app, url } = await startApp(
    apiConfig({ batch: { size: 100, intervalMs: 20, workers: 4, buffer: 10_000 } }),
  ));
});
after(async () => {
  await app?.stop();
  await redis.quit();
});

test('readiness: ready once Kafka, Redis and the catalog are up; health always answers', async () => {
  assert.equal((await get(url, '/readyz')).status, 200);
  assert.deepEqual((await get(url, '/healthz')).body, { status: 'ok' });
});

test('202 only once Kafka has the message: the ticket is in a batch keyed by its product', async () => {
  const before = await topicSize(kafka, sale.topic);
  const answer = await post(url, { event: sale.name, productId: 1, userId: 1001 });
  assert.equal(answer.status, 202, JSON.stringify(answer.body));
  const ticket = ticketOf(answer);
  assert.match(ticket, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  // Checked right after the 202, before anything else: the broker already holds one more message.
  assert.equal(await topicSize(kafka, sale.topic), before + 1);
  const messages = await readTopic(kafka, sale.topic);
  const holding = messages.filter((m) => m.batch.entries.some((e) => e.ticket === ticket));
  assert.equal(holding.length, 1);
  const [m] = holding;
  assert.equal(m?.key, '1');
  assert.equal(m?.batch.event, sale.name);
  assert.equal(m?.batch.productId, 1);
  assert.equal(m?.batch.entries.find((e) => e.ticket === ticket)?.userId, 1001);
});

test('batching: 300 concurrent buyers of two products -> far fewer messages, one product per message, every ticket once', async () => {
  const before = await topicSize(kafka, sale.topic);
  const answers = await Promise.all(
    Array.from({ length: 300 }, (_, i) =>
      post(url, { event: sale.name, productId: 1 + (i % 2), userId: 2000 + i }),
    ),
  );
  const statuses = answers.map((a) => a.status);
  assert.deepEqual([...new Set(statuses)], [202]);
  const tickets = answers.map(ticketOf);
  assert.equal(new Set(tickets).size, 300, 'tickets are unique');
  const after = await topicSize(kafka, sale.topic);
  const produced = after - before;
  assert.ok(produced < 300 / 4, `expected batching: ${produced} messages for 300 purchases`);
  const messages = await readTopic(kafka, sale.topic);
  const counts = ticketCounts(messages);
  for (const t of tickets) assert.equal(counts.get(t), 1, `ticket ${t} in Kafka exactly once`);
  for (const m of messages) {
    assert.equal(m.key, String(m.batch.productId));
    assert.equal(m.batch.event, sale.name);
  }
  // A product's messages all land on one partition (key affinity for the consumer's shards).
  for (const product of [1, 2]) {
    const partitions = new Set(messages.filter((m) => m.batch.productId === product).map((m) => m.partition));
    assert.equal(partitions.size, 1, `product ${product} on partitions ${[...partitions].join(',')}`);
  }
});

test('refusals with no Kafka work: 400 bad input, 413 oversize, 404 unknown, 405 wrong method', async () => {
  const before = await topicSize(kafka, sale.topic);
  const cases: [string, string | undefined, unknown, number, string][] = [
    ['malformed JSON', '{"event":', undefined, 400, 'invalid_request'],
    ['not an object', '[]', undefined, 400, 'invalid_request'],
    ['empty', '', undefined, 400, 'invalid_request'],
    ['missing productId', undefined, { event: sale.name, userId: 1 }, 400, 'invalid_request'],
    ['string id', undefined, { event: sale.name, productId: '1', userId: 1 }, 400, 'invalid_request'],
    ['negative id', undefined, { event: sale.name, productId: 1, userId: -5 }, 400, 'invalid_request'],
    [
      'huge product id',
      undefined,
      { event: sale.name, productId: 2 ** 31, userId: 5 },
      400,
      'invalid_request',
    ],
    ['huge user id', undefined, { event: sale.name, productId: 1, userId: 2 ** 53 }, 400, 'invalid_request'],
    [
      'oversize',
      JSON.stringify({ event: sale.name, productId: 1, userId: 1, pad: 'x'.repeat(5000) }),
      undefined,
      413,
      'payload_too_large',
    ],
    ['unknown event', undefined, { event: 'no-such-sale', productId: 1, userId: 1 }, 404, 'unknown_event'],
    ['unknown product', undefined, { event: sale.name, productId: 99, userId: 1 }, 404, 'unknown_product'],
  ];
  for (const [name, raw, body, status, code] of cases) {
    const a = await post(url, body, raw);
    assert.equal(a.status, status, `${name}: ${JSON.stringify(a.body)}`);
    assert.equal(errorCode(a), code, name);
    assert.equal(typeof (a.body as { error: { message: unknown } }).error.message, 'string', name);
  }
  const put = await fetch(`${url}/api/v1/seckill`, { method: 'PUT' });
  assert.equal(put.status, 405);
  assert.equal((await get(url, '/no/such/path')).status, 404);
  assert.equal(await topicSize(kafka, sale.topic), before, 'no message for a refused request');
});

test('window: 425 before the start, 410 after the end', async () => {
  const early = await freshEvent(
    redis,
    kafka,
    [{ id: 1, stock: 5, perUserLimit: 1 }],
    {
      startMs: Date.now() + 3_600_000,
      endMs: Date.now() + 7_200_000,
    },
    1,
  );
  const late = await freshEvent(
    redis,
    kafka,
    [{ id: 1, stock: 5, perUserLimit: 1 }],
    {
      startMs: Date.now() - 7_200_000,
      endMs: Date.now() - 3_600_000,
    },
    1,
  );
  await app.catalog.refresh();
  const a = await post(url, { event: early.name, productId: 1, userId: 1 });
  assert.equal(a.status, 425);
  assert.equal(errorCode(a), 'not_started');
  const b = await post(url, { event: late.name, productId: 1, userId: 1 });
  assert.equal(b.status, 410);
  assert.equal(errorCode(b), 'ended');
  assert.equal(await topicSize(kafka, early.topic), 0);
  assert.equal(await topicSize(kafka, late.topic), 0);
});

test('sold out by announcement: 409 at once and no Kafka message', async () => {
  const ok = await post(url, { event: sale.name, productId: 3, userId: 3001 });
  assert.equal(ok.status, 202);
  await redis.hset(keys.stock(sale.name, 3), 'seckill', '10');
  await redis.publish(keys.soldOutChannel(), `${sale.name}/3`);
  const before = await topicSize(kafka, sale.topic);
  const refused = await within(2000, 'the announcement', async () => {
    const a = await post(url, { event: sale.name, productId: 3, userId: 3002 });
    return a.status === 409 ? a : undefined;
  });
  assert.equal(errorCode(refused), 'sold_out');
  for (let i = 0; i < 20; i++)
    assert.equal((await post(url, { event: sale.name, productId: 3, userId: 3100 + i })).status, 409);
  assert.equal(await topicSize(kafka, sale.topic), before, 'a sold-out product costs no Kafka message');
});

test('sold out by the periodic refresh alone (no announcement): 409', async () => {
  await redis.hset(keys.stock(sale.name, 4), 'seckill', '10');
  let user = 4000;
  const refused = await within(3000, 'the refresh', async () => {
    const a = await post(url, { event: sale.name, productId: 4, userId: user++ });
    assert.ok(a.status === 202 || a.status === 409, String(a.status));
    return a.status === 409 ? a : undefined;
  });
  assert.equal(errorCode(refused), 'sold_out');
});

test('per-user limit: a buyer holding perUserLimit tickets gets 409 limit', async () => {
  assert.equal((await post(url, { event: sale.name, productId: 2, userId: 5000 })).status, 202);
  assert.equal((await post(url, { event: sale.name, productId: 2, userId: 5000 })).status, 202);
  const third = await post(url, { event: sale.name, productId: 2, userId: 5000 });
  assert.equal(third.status, 409);
  assert.equal(errorCode(third), 'limit');
});

test('GET ticket: pending until the consumer writes the result, then won or lost', async () => {
  const ticket = ticketOf(await post(url, { event: sale.name, productId: 1, userId: 6000 }));
  assert.deepEqual((await get(url, `/api/v1/tickets/${ticket}`)).body, { ticket, status: 'pending' });
  await redis.set(keys.result(ticket), 'W', 'EX', 60);
  assert.deepEqual((await get(url, `/api/v1/tickets/${ticket}`)).body, { ticket, status: 'won' });
  const other = ticketOf(await post(url, { event: sale.name, productId: 1, userId: 6001 }));
  await redis.set(keys.result(other), 'S', 'EX', 60);
  assert.deepEqual((await get(url, `/api/v1/tickets/${other}`)).body, {
    ticket: other,
    status: 'lost',
    reason: 'sold_out',
  });
  const bad = await get(url, '/api/v1/tickets/not-a-ticket');
  assert.equal(bad.status, 400);
  assert.equal(errorCode(bad), 'invalid_request');
});

test('metrics: requests by route and outcome, Kafka and Batcher series', async () => {
  const text = String((await get(url, '/metrics')).body);
  const expected = [
    /seckill_api_requests_total\{route="purchase",outcome="accepted",component="api"\} [1-9]/,
    /seckill_api_requests_total\{route="purchase",outcome="sold_out",component="api"\} [1-9]/,
    /seckill_api_request_duration_seconds_bucket\{le="0.005",component="api",route="purchase"\} [1-9]/,
    /seckill_kafka_messages_total\{component="api"\} [1-9]/,
    /seckill_kafka_produce_duration_seconds_count\{component="api"\} [1-9]/,
    /seckill_kafka_produce_errors_total\{component="api"\} 0/,
    /seckill_api_inflight_requests\{component="api"\} 0/,
    /seckill_batcher_flushes_total\{reason="interval",component="api"\} [1-9]/,
  ];
  for (const re of expected) assert.match(text, re, re.source);
});
