// Graceful shutdown: every purchase accepted before the stop is answered (202, in Kafka); none is lost.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { EventSpec } from '../../workloads/shared/catalog.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { sleep } from '../../workloads/shared/lifecycle.js';
import { purchaseRequest } from '../../tools/bench/http-load.js';
import { Conn } from '../../tools/load/open-loop.js';
import { apiConfig, stackEnv, testKafka } from '../../tools/lib/stack-env.js';
import {
  freshEvent,
  get,
  post,
  tokenOf,
  readTopic,
  startApp,
  ticketCounts,
  ticketOf,
  within,
  type Answer,
} from '../helpers/api.js';

const redis = createRedis(stackEnv.redisUrl(), 'api-test');
const kafka = testKafka();
let sale: EventSpec;

before(async () => {
  sale = await freshEvent(redis, kafka, [{ id: 1, stock: 100_000, perUserLimit: 1 }]);
});
after(() => redis.quit());

const inflight = async (url: string): Promise<number> => {
  const text = String((await get(url, '/metrics')).body);
  return Number(/seckill_api_inflight_requests\{component="api"\} (\d+)/.exec(text)?.[1] ?? -1);
};

test('stop(): readiness false at once, queued purchases flushed and answered 202, new ones refused', async () => {
  // A long interval and a large size: entries sit in the Batcher until the stop flushes them.
  const { app, url } = await startApp(
    apiConfig({ batch: { size: 1000, intervalMs: 60_000, workers: 2, buffer: 1000 } }),
  );
  const pending = Array.from({ length: 50 }, (_, i) =>
    post(url, { event: sale.name, productId: 1, userId: 1 + i }),
  );
  await within(5000, '50 purchases waiting in the Batcher', async () =>
    (await inflight(url)) === 50 ? true : undefined,
  );
  const stopped = app.stop();
  assert.equal(app.ready(), false, 'not ready as soon as draining starts');
  const answers = await Promise.all(pending);
  await stopped;
  assert.deepEqual([...new Set(answers.map((a) => a.status))], [202]);
  const counts = ticketCounts(await readTopic(kafka, sale.topic));
  for (const a of answers) assert.equal(counts.get(ticketOf(a)), 1);
  await assert.rejects(post(url, { event: sale.name, productId: 1, userId: 999 }), 'the listener is closed');
});

test('SIGTERM on the process: every waiting purchase gets its 202, exit code 0', async () => {
  const main = fileURLToPath(new URL('../../workloads/api/main.js', import.meta.url));
  const config = apiConfig();
  const child = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      KAFKA_BROKERS: config.kafkaBrokers.join(','),
      REDIS_URL: config.redisUrl,
      HTTP_PORT: '0',
      BATCH_SIZE: '1000',
      BATCH_BUFFER: '1000',
      BATCH_INTERVAL_MS: '60000',
      SHUTDOWN_GRACE_MS: '15000',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('front door did not start within 20 s')), 20_000);
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        const parsed = JSON.parse(line) as { msg?: string; port?: number };
        if (parsed.msg === 'listening' && typeof parsed.port === 'number') {
          clearTimeout(timer);
          resolve(parsed.port);
        }
      });
      child.once('exit', () => reject(new Error('front door exited during start')));
    });
    const url = `http://127.0.0.1:${port}`;
    const pending: Promise<Answer>[] = Array.from({ length: 30 }, (_, i) =>
      post(url, { event: sale.name, productId: 1, userId: 5000 + i }),
    );
    await within(5000, '30 purchases waiting', async () => ((await inflight(url)) === 30 ? true : undefined));
    child.kill('SIGTERM');
    const answers = await Promise.all(pending);
    const [code] = await exited;
    assert.equal(code, 0);
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [202]);
    const counts = ticketCounts(await readTopic(kafka, sale.topic));
    for (const a of answers) assert.equal(counts.get(ticketOf(a)), 1);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

/** One keep-alive connection of the load generator's kind, and its answers one at a time. */
async function keepAlive(
  url: string,
): Promise<{ ask: (bytes: Buffer) => Promise<Reply>; closed: Promise<void> }> {
  const { hostname, port } = new URL(url);
  let onClosed = (): void => undefined;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  let conn: Conn | undefined;
  await new Promise<void>((resolve, reject) => {
    conn = new Conn(hostname, Number(port), (_c, event, error) => {
      if (event === 'connected') resolve();
      if (event === 'closed') {
        onClosed();
        reject(new Error(`not connected: ${error}`));
      }
    });
  });
  const open = conn as Conn;
  const ask = (bytes: Buffer): Promise<Reply> =>
    open.closed
      ? Promise.resolve({ error: 'the server closed the connection before the request' })
      : new Promise<Reply>((resolve) => open.send(bytes, resolve));
  return { ask, closed };
}
type Reply = { status: number; body: string } | { error: string };

test('the lame duck: a keep-alive connection gets its next purchase served and closed, not reset', async () => {
  const { app, url } = await startApp(apiConfig({ lameDuckMs: 1500 }));
  const purchase = async (userId: number): Promise<Buffer> =>
    purchaseRequest(JSON.stringify({ event: sale.name, productId: 1, userId }), {
      authorization: `Bearer ${await tokenOf(userId)}`,
    });
  const conn = await keepAlive(url);
  const first = await conn.ask(await purchase(7001));
  assert.equal('status' in first && first.status, 202, 'served before the stop');

  const stopped = app.stop();
  assert.equal(app.ready(), false, 'not ready from the start of the lame duck');
  await sleep(100); // the old drain closed idle connections at once: this request then met a reset
  const second = await conn.ask(await purchase(7002));
  assert.ok('status' in second, `an answer, not ${JSON.stringify(second)}`);
  assert.equal(second.status, 202, 'a purchase in the lame duck is still served');
  await conn.closed; // the answer said connection: close, and the server ended the connection
  await stopped;

  const counts = ticketCounts(await readTopic(kafka, sale.topic));
  for (const reply of [first, second]) {
    const ticket = (JSON.parse('body' in reply ? reply.body : '{}') as { ticket: string }).ticket;
    assert.equal(counts.get(ticket), 1, `ticket ${ticket} is in Kafka once`);
  }
  await assert.rejects(post(url, { event: sale.name, productId: 1, userId: 7003 }), 'the listener is closed');
});
