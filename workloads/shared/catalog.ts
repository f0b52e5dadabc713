// The event catalog: what the operator preloads into Redis and what the front door and consumer read.
// One hash per event (window + products) and one stock hash per product. Preloading is idempotent and
// never resets the `seckill` (sold) field, so re-applying a running sale cannot resell its stock.
import type { RedisClient } from './redis/client.js';
import type { BatcherSettings } from './batcher-settings.js';
import { keys } from './keys.js';
import { MAX_PRODUCT_ID, TOPIC_NAME_PATTERN } from './names.js';
import type { ScriptedRedis } from './redis/scripts.js';

/** One product on sale: the SeckillEvent's spec.products[i], the catalog's copy, the consumer's terms. */
export interface ProductSpec {
  id: number;
  stock: number;
  perUserLimit: number;
}

export interface EventSpec {
  name: string;
  /** The Kafka topic purchases of this event go to. */
  topic: string;
  startMs: number;
  endMs: number;
  products: ProductSpec[];
  /** Absent: the front door's own defaults apply. Never carries maxFlush (the front door's own). */
  batcher?: BatcherSettings;
}

/**
 * The catalog hash field naming the SeckillEvent that owns an event name ("<namespace>/<uid>"): claimed by
 * the operator (scripts.ts claimEventName) before anything else is written, ignored by parseEventSpec.
 */
export const OWNER_FIELD = 'owner';

export interface ProductStock {
  total: number;
  sold: number;
}

export class CatalogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CatalogError';
  }
}

/** Validates what comes from outside (Redis, CRD) into an EventSpec, with a clear message. */
export function parseEventSpec(name: string, fields: Record<string, string>): EventSpec {
  const startMs = Number(fields.startMs);
  const endMs = Number(fields.endMs);
  if (!Number.isSafeInteger(startMs) || !Number.isSafeInteger(endMs) || endMs <= startMs) {
    throw new CatalogError(`event ${name}: bad window startMs=${fields.startMs} endMs=${fields.endMs}`);
  }
  let products: unknown;
  try {
    products = JSON.parse(fields.products ?? '');
  } catch {
    throw new CatalogError(`event ${name}: products is not JSON`);
  }
  if (!Array.isArray(products)) throw new CatalogError(`event ${name}: products is not a list`);
  const topic = fields.topic;
  if (!topic || !TOPIC_NAME_PATTERN.test(topic)) throw new CatalogError(`event ${name}: bad topic ${topic}`);
  const spec: EventSpec = {
    name,
    topic,
    startMs,
    endMs,
    products: products.map((p) => parseProduct(name, p)),
  };
  if (fields.batcher) spec.batcher = parseBatcher(name, fields.batcher);
  return spec;
}

function parseBatcher(event: string, raw: string): BatcherSettings {
  let b: unknown;
  try {
    b = JSON.parse(raw);
  } catch {
    throw new CatalogError(`event ${event}: batcher is not JSON`);
  }
  const o = (b ?? {}) as Record<string, unknown>;
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1;
  if (!ok(o.size) || !ok(o.intervalMs) || !ok(o.workers) || !ok(o.buffer) || o.buffer < o.size) {
    throw new CatalogError(`event ${event}: bad batcher settings ${raw}`);
  }
  return { size: o.size, intervalMs: o.intervalMs, workers: o.workers, buffer: o.buffer };
}

function parseProduct(event: string, value: unknown): ProductSpec {
  const p = (value ?? {}) as Record<string, unknown>;
  const ok = (n: unknown, min: number, max = MAX_PRODUCT_ID): n is number =>
    typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;
  if (!ok(p.id, 1) || !ok(p.stock, 0, Number.MAX_SAFE_INTEGER) || !ok(p.perUserLimit, 1)) {
    throw new CatalogError(`event ${event}: bad product ${JSON.stringify(value)}`);
  }
  return { id: p.id, stock: p.stock, perUserLimit: p.perUserLimit };
}

/**
 * Writes an event for the front door and consumer, and sets each product's stock total.
 * The set-stock script never resets `seckill` (units sold) and refuses a total below it.
 */
export async function preloadEvent(scripts: ScriptedRedis, spec: EventSpec): Promise<void> {
  for (const product of spec.products) {
    try {
      await scripts.setStock(spec.name, product.id, product.stock);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new CatalogError(`event ${spec.name} product ${product.id}: ${reason}`);
    }
  }
  const products = spec.products.map(({ id, stock, perUserLimit }) => ({ id, stock, perUserLimit }));
  // The hash, then its entry in the set: two slots on a Redis Cluster, so not one MULTI. A crash between
  // leaves a hash nobody lists (the next reconcile lists it), never a listed event without its hash.
  await scripts.redis.hset(keys.event(spec.name), {
    topic: spec.topic,
    startMs: String(spec.startMs),
    endMs: String(spec.endMs),
    products: JSON.stringify(products),
    ...(spec.batcher ? { batcher: JSON.stringify(spec.batcher) } : {}),
  });
  await scripts.redis.sadd(keys.events(), spec.name);
}

/** Reads one event, or undefined when the operator has not published it. */
export async function readEvent(redis: RedisClient, name: string): Promise<EventSpec | undefined> {
  const fields = await redis.hgetall(keys.event(name));
  if (Object.keys(fields).length === 0) return undefined;
  return parseEventSpec(name, fields);
}

export async function listEventNames(redis: RedisClient): Promise<string[]> {
  return redis.smembers(keys.events());
}

export async function readStock(redis: RedisClient, event: string, productId: number): Promise<ProductStock> {
  const [total, sold] = await redis.hmget(keys.stock(event, productId), 'total', 'seckill');
  return { total: Number(total ?? 0), sold: Number(sold ?? 0) };
}

/** Removes everything an event left in Redis (the operator's cleanup policy Delete). */
export async function deleteEvent(
  redis: RedisClient,
  spec: Pick<EventSpec, 'name' | 'products'>,
): Promise<void> {
  for (const p of spec.products) {
    await redis.del(keys.stock(spec.name, p.id), keys.buyers(spec.name, p.id), keys.claims(spec.name, p.id));
  }
  await withdrawEvent(redis, spec.name);
}

/** Takes an event out of the catalog the front doors serve (its hash and set entry); stock hashes stay. */
export async function withdrawEvent(redis: RedisClient, name: string): Promise<void> {
  // Unlisted first, then deleted (two slots on a Cluster; the reverse of preloadEvent's order).
  await redis.srem(keys.events(), name);
  await redis.del(keys.event(name));
}
