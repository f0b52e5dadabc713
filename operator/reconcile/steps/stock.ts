// Step 2, the stock: the per-product stock hashes and the event's catalog entry the front doors read.
// Skipped when Redis already holds exactly this event (the common case of a periodic refresh): then the
// products' totals and sold counts are only read back for status.
import { readEvent, type EventSpec } from '../../../workloads/shared/catalog.js';
import type { ScriptedRedis } from '../../../workloads/shared/redis/scripts.js';
import type { ParsedEvent, ProductStatus } from '../../api/types.js';
import { preloadStock, readProducts, type BelowSold } from '../../resources/stock.js';
import { errMessage } from '../../runtime/kube.js';
import type { ConditionUpdate } from '../status.js';
import type { NameClaim } from './name.js';
import { emptyReport, type StepReport } from './step.js';

export interface StockOutcome extends StepReport {
  /** Per-product totals and sold counts, undefined when Redis could not be read. */
  products?: ProductStatus[];
  /** The stock and the event's window are in Redis (something is for sale). */
  preloaded: boolean;
}

export async function stockStep(
  redis: ScriptedRedis,
  ev: ParsedEvent,
  claim: NameClaim,
): Promise<StockOutcome> {
  const out: StockOutcome = { ...emptyReport(), preloaded: false };
  if (claim.state === 'unknown') return unavailable(out, claim.error);
  try {
    const stored = await readEvent(redis.redis, ev.name).catch(() => undefined);
    if (stored && sameCatalogEntry(stored, ev)) {
      out.products = await readProducts(redis.redis, ev);
      out.conditions.push(stockCondition(ev, out.products));
    } else {
      const res = await preloadStock(redis, ev);
      out.products = res.products;
      reportPreload(out, ev, res.products, res.belowSold);
    }
    out.preloaded = true;
    return out;
  } catch (err) {
    return unavailable(out, `Redis: ${errMessage(err)}`);
  }
}

function unavailable(out: StockOutcome, message: string): StockOutcome {
  out.conditions.push({ type: 'StockPreloaded', status: 'False', reason: 'RedisUnavailable', message });
  out.errors.push(message);
  return out;
}

function reportPreload(
  out: StockOutcome,
  ev: ParsedEvent,
  products: ProductStatus[],
  belowSold: BelowSold[],
): void {
  if (belowSold.length > 0) {
    const message = belowSold
      .map(
        (b) =>
          `product ${b.id}: stock ${b.requested} is below the ${b.sold} units already sold, kept ${b.kept}`,
      )
      .join('; ');
    out.conditions.push({ type: 'StockPreloaded', status: 'False', reason: 'StockBelowSold', message });
    out.events.push({ type: 'Warning', reason: 'StockBelowSold', message });
    return;
  }
  out.conditions.push(stockCondition(ev, products));
  const units = products.reduce((s, p) => s + p.total, 0);
  out.events.push({
    type: 'Normal',
    reason: 'StockPreloaded',
    message: `preloaded ${products.length} products, ${units} units`,
  });
}

/** Whether Redis already holds exactly this event's window, topic and products. */
function sameCatalogEntry(stored: EventSpec, ev: ParsedEvent): boolean {
  if (stored.topic !== ev.topic || stored.startMs !== ev.startMs || stored.endMs !== ev.endMs) return false;
  if (stored.products.length !== ev.products.length) return false;
  return ev.products.every((p, i) => {
    const s = stored.products[i];
    return s !== undefined && s.id === p.id && s.stock === p.stock && s.perUserLimit === p.perUserLimit;
  });
}

function stockCondition(ev: ParsedEvent, products: ProductStatus[]): ConditionUpdate {
  const short = products.filter((p, i) => p.total !== ev.products[i]?.stock);
  if (short.length > 0) {
    return {
      type: 'StockPreloaded',
      status: 'False',
      reason: 'StockMismatch',
      message: `Redis totals differ from the spec for products ${short.map((p) => p.id).join(', ')}`,
    };
  }
  const units = products.reduce((s, p) => s + p.total, 0);
  return {
    type: 'StockPreloaded',
    status: 'True',
    reason: 'Preloaded',
    message: `${products.length} products, ${units} units`,
  };
}
