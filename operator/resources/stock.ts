// The event's Redis state: stock hashes {total, seckill} per product and the event's window and products
// (keys.event / keys.events) where the front door reads them, written through catalog.preloadEvent.
//
// Idempotent and safe on a running sale: the set-stock script never resets `seckill` (units sold). A stock
// decrease below what is already sold is refused per product: that product keeps its current total, the
// others are applied, and the caller reports StockPreloaded=False reason StockBelowSold.
//
// Event names are global in Redis and Kafka (seckill:event:{name}, topic seckill.<name>.purchases) while
// SeckillEvents are namespaced: two events with one name in two namespaces would share stock and topic.
// So the catalog hash also records its owner (field OWNER_FIELD = "<namespace>/<uid>", ignored by the front
// door's parseEventSpec), claimed atomically before anything is written (lua/claim-event-name.lua); the
// reconciler refuses an event whose name another one owns (NameConflict), and cleanup touches Redis and
// Kafka only as the owner.
import {
  CatalogError,
  deleteEvent,
  preloadEvent,
  readStock,
  withdrawEvent as withdrawFromCatalog,
} from '../../workloads/shared/catalog.js';
import { withScripts, type ScriptedRedis } from '../../workloads/shared/redis/scripts.js';
import type { RedisClient } from '../../workloads/shared/redis/client.js';
import type { ParsedEvent, ProductStatus } from '../api/types.js';

export interface BelowSold {
  id: number;
  requested: number;
  sold: number;
  kept: number;
}

export interface StockResult {
  products: ProductStatus[];
  belowSold: BelowSold[];
}

/** The owner value of a SeckillEvent: "<namespace>/<uid>". */
export const ownerId = (ev: { namespace: string; uid: string }): string => `${ev.namespace}/${ev.uid}`;

/** "<namespace>/<uid>" split back (uid empty when the value has no slash). */
export function parseOwner(owner: string): { namespace: string; uid: string } {
  const i = owner.indexOf('/');
  return i < 0 ? { namespace: owner, uid: '' } : { namespace: owner.slice(0, i), uid: owner.slice(i + 1) };
}

/**
 * Claims an event name for a SeckillEvent, atomically (lua/claim-event-name.lua, registered once per
 * connection); returns the owner afterwards (the claimant's ownerId when the name is free, already its
 * own, or left by a deleted event of the same namespace).
 */
export async function claimEventName(
  redis: RedisClient,
  name: string,
  owner: { namespace: string; uid: string },
): Promise<string> {
  return withScripts(redis).claimEventName(name, ownerId(owner), `${owner.namespace}/`);
}

/** Thrown when sales moved between our check and the write: retried with backoff. */
export class StockRaceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StockRaceError';
  }
}

export async function preloadStock(scripted: ScriptedRedis, ev: ParsedEvent): Promise<StockResult> {
  const current = await Promise.all(ev.products.map((p) => readStock(scripted.redis, ev.name, p.id)));
  const belowSold: BelowSold[] = [];
  const products = ev.products.map((p, i) => {
    const now = current[i]!;
    if (p.stock >= now.sold) return p;
    const kept = Math.max(now.total, now.sold);
    belowSold.push({ id: p.id, requested: p.stock, sold: now.sold, kept });
    return { ...p, stock: kept };
  });
  try {
    await preloadEvent(scripted, {
      name: ev.name,
      topic: ev.topic,
      startMs: ev.startMs,
      endMs: ev.endMs,
      products,
      batcher: ev.batcher,
    });
  } catch (err) {
    if (err instanceof CatalogError && err.message.includes('BELOWSOLD'))
      throw new StockRaceError(err.message);
    throw err;
  }
  return { products: await readProducts(scripted.redis, ev), belowSold };
}

/** Per-product total and sold, as status reports them. */
export async function readProducts(
  redis: RedisClient,
  ev: Pick<ParsedEvent, 'name' | 'products'>,
): Promise<ProductStatus[]> {
  const stocks = await Promise.all(ev.products.map((p) => readStock(redis, ev.name, p.id)));
  return ev.products.map((p, i) => ({ id: p.id, total: stocks[i]!.total, sold: stocks[i]!.sold }));
}

/** cleanupPolicy Delete: every key of the event goes. */
export async function deleteStock(
  redis: RedisClient,
  ev: Pick<ParsedEvent, 'name' | 'products'>,
): Promise<void> {
  await deleteEvent(redis, ev);
}

/**
 * cleanupPolicy Retain: the sale's record (stock hashes: total and sold, buyers, claims) stays for audit
 * and reconciliation with MySQL, but the event is withdrawn from the front door, which then answers
 * 404 unknown event instead of selling from a SeckillEvent that no longer exists.
 */
export async function withdrawEvent(redis: RedisClient, name: string): Promise<void> {
  await withdrawFromCatalog(redis, name);
}
