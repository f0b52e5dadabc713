// Slow and abusive clients at the front door (real Kafka and Redis behind it): a body or headers that
// trickle are answered 408 and cut off; headers over the cap are 431; connections over the cap are closed
// at once. Each refusal is counted. The time bounds below only guard against a hang: what is checked is
// the answer and the disconnect.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import type { ApiApp } from '../../workloads/api/app.js';
import type { EventSpec } from '../../workloads/shared/catalog.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { apiConfig, stackEnv, testKafka } from '../../tools/lib/stack-env.js';
import { freshEvent, get, post, startApp, tokenOf, topicSize } from '../helpers/api.js';

const REQUEST_TIMEOUT_MS = 1000;
const redis = createRedis(stackEnv.redisUrl(), 'api-slow-test');
const kafka = testKafka();
let app: ApiApp;
let url: string;
let port: number;
let sale: EventSpec;

before(async () => {
  sale = await freshEvent(redis, kafka, [{ id: 1, stock: 100, perUserLimit: 1 }]);
  ({ app, url } = await startApp(
    apiConfig({
      http: {
        headersTimeoutMs: 500,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        maxHeaderBytes: 8192,
        maxConnections: 6,
      },
    }),
  ));
  port = Number(new URL(url).port);
});
after(async () => {
  await app?.stop();
  await redis.quit();
});

interface Trickled {
  answer: string;
  /** ms from the first byte sent to the server closing the connection. */
  closedAfterMs: number;
}

/** Sends `head` at once, then `rest` one byte every `everyMs`, until the server closes the connection. */
function trickle(head: string, rest: string, everyMs: number): Promise<Trickled> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let answer = '';
    let i = 0;
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    const timer = setInterval(() => {
      if (i < rest.length && socket.writable) socket.write(rest[i++]!);
    }, everyMs);
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => undefined); // a reset after the answer is the point
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ answer, closedAfterMs: performance.now() - started });
    });
    setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept a trickling client for 10 s; answer so far: ${answer}`));
    }, 10_000).unref();
  });
}

async function refusals(reason: string): Promise<number> {
  const text = String((await get(url, '/metrics')).body);
  const m = new RegExp(`seckill_api_connection_refusals_total\\{reason="${reason}"[^}]*\\} (\\d+)`).exec(
    text,
  );
  return Number(m?.[1] ?? NaN);
}

test('a body that trickles is answered 408 and disconnected, and nothing reaches Kafka', async () => {
  const before = await topicSize(kafka, sale.topic);
  const counted = await refusals('request_timeout');
  const body = JSON.stringify({ event: sale.name, productId: 1 });
  const head =
    `POST /api/v1/seckill HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
    `authorization: Bearer ${await tokenOf(601)}\r\ncontent-length: ${body.length}\r\n\r\n`;
  const r = await trickle(head, body, 200); // ~10 s for the whole body at this pace
  assert.match(r.answer, /^HTTP\/1\.1 408 /);
  assert.match(r.answer, /"code":"request_timeout"/);
  assert.match(r.answer, /connection: close/i);
  assert.ok(r.closedAfterMs < 5 * REQUEST_TIMEOUT_MS, `closed after ${Math.round(r.closedAfterMs)} ms`);
  assert.equal(await topicSize(kafka, sale.topic), before);
  assert.equal(await refusals('request_timeout'), counted + 1);
});

test('headers that trickle are answered 408 too', async () => {
  const r = await trickle('POST /api/v1/seckill HTTP/1.1\r\n', 'host: x\r\nx-slow: ' + 'a'.repeat(100), 100);
  assert.match(r.answer, /^HTTP\/1\.1 408 /);
  assert.ok(r.closedAfterMs < 5 * REQUEST_TIMEOUT_MS, `closed after ${Math.round(r.closedAfterMs)} ms`);
});

test('headers over the cap are 431, counted', async () => {
  const counted = await refusals('headers_too_large');
  const a = await post(url, { event: sale.name, productId: 1 }, undefined, {
    buyer: 602,
    headers: { 'x-padding': 'p'.repeat(9000) },
  });
  assert.equal(a.status, 431);
  assert.equal(await refusals('headers_too_large'), counted + 1);
});

test('connections over the cap are closed at once and counted; the others are served', async () => {
  const counted = await refusals('max_connections');
  // Ten at once against a cap of 6 (the test's own keep-alive fetch connections may hold some of it).
  const sockets = await Promise.all(
    Array.from(
      { length: 10 },
      () =>
        new Promise<{ socket: net.Socket; answer: Promise<string> }>((resolve) => {
          const socket = net.connect(port, '127.0.0.1');
          let data = '';
          socket.on('data', (c: Buffer) => (data += c.toString()));
          socket.on('error', () => undefined);
          const answer = new Promise<string>((done) => socket.on('close', () => done(data)));
          socket.on('connect', () => resolve({ socket, answer }));
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, 100)); // let the server accept (or drop) every one
  for (const { socket } of sockets) {
    if (socket.writable) socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
  }
  const answers = await Promise.all(sockets.map((s) => s.answer));
  const served = answers.filter((a) => a.startsWith('HTTP/1.1 200')).length;
  const dropped = answers.filter((a) => a === '').length;
  assert.equal(served + dropped, 10, 'each connection was either served or closed without an answer');
  assert.ok(served >= 1 && served <= 6, `served ${served}`);
  assert.ok(dropped >= 4, `dropped ${dropped}`);
  assert.equal(await refusals('max_connections'), counted + dropped);
  assert.equal((await get(url, '/healthz')).status, 200);
});
