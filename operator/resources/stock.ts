// The event's Redis state: stock hashes {total, seckill} per product and the event's window and products
// (keys.event / keys.events) where the front door reads them, written through catalog.preloadEvent.
//
// Idempotent and safe on a running sale: the set-stock script never resets `seckill` (units sold). A stock
// decrease below what is already sold is refused per product: that product keeps its current total, the
// others are applied, and the caller reports StockPreloaded=False reason StockBelowSold.
import { CatalogError, deleteEvent, preloadEvent, readStock } from '../../workloads/shared/catalog.js';
import { keys } from '../../workloads/shared/keys.js';
import type { ScriptedRedis } from '../../workloads/shared/redis/scripts.js';
import type { Redis } from 'ioredis';
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
  redis: Redis,
  ev: Pick<ParsedEvent, 'name' | 'products'>,
): Promise<ProductStatus[]> {
  const stocks = await Promise.all(ev.products.map((p) => readStock(redis, ev.name, p.id)));
  return ev.products.map((p, i) => ({ id: p.id, total: stocks[i]!.total, sold: stocks[i]!.sold }));
}

/** cleanupPolicy Delete: every key of the event goes. */
export async function deleteStock(redis: Redis, ev: Pick<ParsedEvent, 'name' | 'products'>): Promise<void> {
  await deleteEvent(redis, ev);
}

/**
 * cleanupPolicy Retain: the sale's record (stock hashes: total and sold, buyers, claims) stays for audit
 * and reconciliation with MySQL, but the event is withdrawn from the front door, which then answers
 * 404 unknown event instead of selling from a SeckillEvent that no longer exists.
 */
export async function withdrawEvent(redis: Redis, name: string): Promise<void> {
  await redis.multi().del(keys.event(name)).srem(keys.events(), name).exec();
}
