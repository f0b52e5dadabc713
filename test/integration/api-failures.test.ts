// Overload and Kafka failure, against the real stack. Kafka is made unreachable for this client only,
// through kafkajs' socketFactory (a cut network), so the shared broker keeps serving other tests.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import type { ISocketFactory } from 'kafkajs';
import { ApiApp } from '../../workloads/api/app.js';
import type { EventSpec } from '../../workloads/shared/catalog.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { apiConfig, stackEnv, testKafka } from '../../tools/lib/stack-env.js';
import {
  errorCode,
  freshEvent,
  get,
  post,
  quietLog,
  readTopic,
  startApp,
  ticketCounts,
  ticketOf,
  topicSize,
} from '../helpers/api.js';

const redis = createRedis(stackEnv.redisUrl(), 'api-test');
const kafka = testKafka();
let sale: EventSpec;

before(async () => {
  sale = await freshEvent(redis, kafka, [
    { id: 1, stock: 100_000, perUserLimit: 1 },
    { id: 2, stock: 100_000, perUserLimit: 1 },
  ]);
});
after(() => redis.quit());

test('429 busy with Retry-After when the Batcher bucket is full; every 202 is in Kafka', async () => {
  // One bucket holding one entry: while a flush is at Kafka, the next purchase finds it full.
  const { app, url } = await startApp(
    apiConfig({ batch: { size: 1, intervalMs: 1, workers: 1, buffer: 1 } }),
  );
  try {
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => post(url, { event: sale.name, productId: 1, userId: 10_000 + i })),
    );
    const busy = answers.filter((a) => a.status === 429);
    const accepted = answers.filter((a) => a.status === 202);
    assert.equal(busy.length + accepted.length, 40, JSON.stringify(answers.map((a) => a.status)));
    assert.ok(busy.length > 0, 'some purchases found the bucket full');
    assert.ok(accepted.length > 0, 'some purchases got through');
    for (const a of busy) {
      assert.equal(errorCode(a), 'busy');
      assert.ok(Number(a.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
    }
    const counts = ticketCounts(await readTopic(kafka, sale.topic));
    for (const a of accepted) assert.equal(counts.get(ticketOf(a)), 1);
    // A buyer told 429 may retry at once: the failed attempt did not use up their per-user limit.
    const refusedUser = 10_000 + answers.findIndex((a) => a.status === 429);
    const retried = await post(url, { event: sale.name, productId: 1, userId: refusedUser });
    assert.equal(retried.status, 202);
  } finally {
    await app.stop();
  }
});

/** A socket factory whose network can be cut: live sockets destroyed, new ones refused. */
function cuttableNetwork(): { socketFactory: ISocketFactory; cut: () => void; heal: () => void } {
  let up = true;
  const sockets = new Set<net.Socket>();
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = up
      ? net.connect({ host, port }, onConnect)
      : net.connect({ host: '127.0.0.1', port: 1 }, onConnect);
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return socket;
  };
  return {
    socketFactory,
    cut: () => {
      up = false;
      for (const s of sockets) s.destroy(new Error('network cut by the test'));
    },
    heal: () => {
      up = true;
    },
  };
}

test('Kafka unreachable mid-run: 503 unavailable, no 202 for anything Kafka lacks; recovers when it returns', async () => {
  const network = cuttableNetwork();
  const appKafka = testKafka({
    clientId: 'api-test-cut',
    socketFactory: network.socketFactory,
    connectionTimeout: 500,
    requestTimeout: 2000,
    retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200 },
  });
  const { app, url } = await startApp(apiConfig({ kafkaRetries: 2, kafkaAckTimeoutMs: 1000 }), {
    kafka: appKafka,
  });
  try {
    const first = await post(url, { event: sale.name, productId: 2, userId: 20_000 });
    assert.equal(first.status, 202);
    const sizeBefore = await topicSize(kafka, sale.topic);

    network.cut();
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(url, { event: sale.name, productId: 2, userId: 20_001 + i })),
    );
    const took = Date.now() - started;
    assert.deepEqual(
      [...new Set(answers.map((a) => a.status))],
      [503],
      JSON.stringify(answers.map((a) => a.body)),
    );
    for (const a of answers) {
      assert.equal(errorCode(a), 'unavailable');
      assert.ok(a.headers.get('retry-after'));
      // The failed send carries its ticket: nothing reached Kafka, so polling it says pending.
      const ticket = (a.body as { error?: { ticket?: unknown } }).error?.ticket;
      assert.equal(typeof ticket, 'string', JSON.stringify(a.body));
      assert.equal(
        ((await get(url, `/api/v1/tickets/${String(ticket)}`)).body as { status?: string }).status,
        'pending',
      );
    }
    assert.ok(took < 15_000, `503 within bounded retries (took ${took} ms)`);
    assert.equal(
      await topicSize(kafka, sale.topic),
      sizeBefore,
      'nothing reached Kafka while it was cut off',
    );
    const metrics = String((await get(url, '/metrics')).body);
    assert.match(metrics, /seckill_kafka_produce_errors_total\{component="api"\} [1-9]/);

    network.heal();
    // The 503'd buyers may retry: their per-user slots were given back.
    const retry = await post(url, { event: sale.name, productId: 2, userId: 20_001 });
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    const counts = ticketCounts(await readTopic(kafka, sale.topic));
    assert.equal(counts.get(ticketOf(retry)), 1);
    assert.equal(counts.get(ticketOf(first)), 1);
  } finally {
    network.heal();
    await app.stop();
  }
});

test('Kafka unreachable at start: not ready, purchases 503, start fails with a clear error', async () => {
  const network = cuttableNetwork();
  network.cut();
  const appKafka = testKafka({
    clientId: 'api-test-down',
    socketFactory: network.socketFactory,
    connectionTimeout: 300,
    retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
  });
  const app = new ApiApp(apiConfig({ kafkaRetries: 1 }), { kafka: appKafka, log: quietLog });
  const port = await app.listen();
  const url = `http://127.0.0.1:${port}`;
  try {
    const connecting = app.connect();
    assert.equal((await get(url, '/readyz')).status, 503);
    await assert.rejects(connecting);
    assert.equal(app.ready(), false);
    assert.equal((await get(url, '/readyz')).status, 503);
    assert.equal((await get(url, '/healthz')).status, 200, 'alive, only not ready');
    await app.catalog.refresh();
    const a = await post(url, { event: sale.name, productId: 2, userId: 30_000 });
    assert.equal(a.status, 503);
    assert.equal(errorCode(a), 'unavailable');
  } finally {
    await app.stop();
  }
});
