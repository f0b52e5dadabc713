// The front door's integration tests: a fresh event and topic on the real stack, the app in-process on
// port 0, HTTP calls and their answers, and a reader that returns everything a topic holds, decoded.
import type { Kafka } from 'kafkajs';
import type { RedisClient } from '../../workloads/shared/redis/client.js';
import { ApiApp, type ApiDeps } from '../../workloads/api/app.js';
import type { ApiConfig } from '../../workloads/api/config.js';
import type { EventSpec, ProductSpec } from '../../workloads/shared/catalog.js';
import { decodeBatch, type PurchaseBatch } from '../../workloads/shared/kafka/codec.js';
import { createLogger } from '../../workloads/shared/log.js';
import { signBuyerToken, stackJwtSecret } from '../../tools/lib/buyer-tokens.js';
import { uniqueName } from '../../tools/lib/stack-env.js';
import { createSale } from '../../tools/lib/sale.js';

export const quietLog = createLogger({ test: 'api' }, 'error');

/** Creates a fresh topic and preloads a fresh event (window open now for an hour unless given). */
export async function freshEvent(
  redis: RedisClient,
  kafka: Kafka,
  products: ProductSpec[],
  window: { startMs?: number; endMs?: number } = {},
  partitions = 3,
): Promise<EventSpec> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await createSale(redis, admin, products, {
      prefix: 'api',
      partitions,
      startMs: window.startMs ?? Date.now() - 60_000,
      endMs: window.endMs,
    });
  } finally {
    await admin.disconnect();
  }
}

export async function startApp(config: ApiConfig, deps: ApiDeps = {}): Promise<{ app: ApiApp; url: string }> {
  const app = new ApiApp(config, { log: quietLog, ...deps });
  const port = await app.start();
  return { app, url: `http://127.0.0.1:${port}` };
}

export interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

export interface As {
  /** Sign the token for this buyer (default: the body's userId, else buyer 1). */
  buyer?: number;
  /** Send this Authorization header instead (null: none). */
  authorization?: string | null;
  headers?: Record<string, string>;
}

const tokens = new Map<number, Promise<string>>();
/** The stack-signed token of a buyer, signed once per test process. */
export function tokenOf(buyer: number): Promise<string> {
  let token = tokens.get(buyer);
  if (token === undefined) tokens.set(buyer, (token = signBuyerToken(stackJwtSecret(), buyer)));
  return token;
}

async function authHeaders(as: As, fallbackBuyer: number): Promise<Record<string, string>> {
  const headers: Record<string, string> = { ...as.headers };
  if (as.authorization === null) return headers;
  headers.authorization = as.authorization ?? `Bearer ${await tokenOf(as.buyer ?? fallbackBuyer)}`;
  return headers;
}

/** POSTs a purchase as a buyer with a valid token (the body's userId unless `as` says otherwise). */
export async function post(url: string, body: unknown, raw?: string, as: As = {}): Promise<Answer> {
  const userId = (body as { userId?: unknown } | undefined)?.userId;
  const res = await fetch(`${url}/api/v1/seckill`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(await authHeaders(as, Number.isSafeInteger(userId) && Number(userId) > 0 ? Number(userId) : 1)),
    },
    body: raw ?? JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined, headers: res.headers };
}

/** GETs a path as a buyer with a valid token (buyer 1 unless `as` says otherwise). */
export async function get(url: string, path: string, as: As = {}): Promise<Answer> {
  const res = await fetch(`${url}${path}`, {
    headers: await authHeaders(as, 1),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // /metrics is text
  }
  return { status: res.status, body, headers: res.headers };
}

export const ticketOf = (a: Answer): string => {
  const ticket = (a.body as { ticket?: unknown } | undefined)?.ticket;
  if (typeof ticket !== 'string') throw new Error(`no ticket in ${JSON.stringify(a.body)}`);
  return ticket;
};

export const errorCode = (a: Answer): string | undefined =>
  (a.body as { error?: { code?: string } } | undefined)?.error?.code;

/** Messages in a topic right now (sum of high watermarks). */
export async function topicSize(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

export interface ReadMessage {
  key: string;
  partition: number;
  batch: PurchaseBatch;
}

/** Everything the topic holds now, decoded (fails on an undecodable message). Bounded by `timeoutMs`. */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 30_000): Promise<ReadMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const want = new Map(offsets.map((p) => [p.partition, Number(p.high)]));
  const pending = new Set(offsets.filter((p) => Number(p.high) > Number(p.low)).map((p) => p.partition));
  const out: ReadMessage[] = [];
  if (pending.size === 0) return out;
  const consumer = kafka.consumer({ groupId: uniqueName('api-test-reader') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`topic ${topic} not read within ${timeoutMs} ms`)),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: ({ partition, message }) => {
            out.push({
              key: message.key?.toString() ?? '',
              partition,
              batch: decodeBatch(message.key, message.value),
            });
            if (Number(message.offset) + 1 >= (want.get(partition) ?? 0)) pending.delete(partition);
            if (pending.size === 0) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** Every ticket in the messages, with how many times it appears. */
export function ticketCounts(messages: ReadMessage[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages)
    for (const e of m.batch.entries) counts.set(e.ticket, (counts.get(e.ticket) ?? 0) + 1);
  return counts;
}

export async function within<T>(ms: number, what: string, poll: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await poll();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
