// The front door's in-memory view of the catalog: events, their windows and products, and a sold-out flag
// per product. A purchase is checked against it with no I/O. It is refreshed from Redis every
// `refreshMs`; sold-out flags are also set at once by the consumer's pub/sub announcement
// (the run key "<event>/<productId>" on keys.soldOutChannel()), on a separate connection in subscriber mode.
import type { RedisClient } from '../shared/redis/client.js';
import { listEventNames, readEvent, readStock, type EventSpec, type ProductSpec } from '../shared/catalog.js';
import { keys } from '../shared/keys.js';
import { parseRunKey } from '../shared/names.js';
import type { Logger } from '../shared/log.js';

export interface CachedProduct {
  readonly spec: ProductSpec;
  soldOut: boolean;
  /** Refresh generation when a pub/sub message set soldOut; a refresh started before it cannot clear it. */
  soldOutAnnouncedIn: number;
}

export interface CachedEvent {
  readonly spec: EventSpec;
  readonly products: ReadonlyMap<number, CachedProduct>;
}

export type CatalogCheck =
  | { ok: true; event: CachedEvent; product: CachedProduct }
  | { ok: false; reason: 'unknown_event' | 'unknown_product' | 'not_started' | 'ended' | 'sold_out' };

/** Where a request stands against an event: pure, so the window rules are unit-tested alone. */
export function checkPurchase(event: CachedEvent | undefined, productId: number, now: number): CatalogCheck {
  if (event === undefined) return { ok: false, reason: 'unknown_event' };
  const product = event.products.get(productId);
  if (product === undefined) return { ok: false, reason: 'unknown_product' };
  // The window is [startMs, endMs): a request at endMs is too late.
  if (now < event.spec.startMs) return { ok: false, reason: 'not_started' };
  if (now >= event.spec.endMs) return { ok: false, reason: 'ended' };
  if (product.soldOut) return { ok: false, reason: 'sold_out' };
  return { ok: true, event, product };
}

export interface CatalogCacheOptions {
  redis: RedisClient;
  /** A connection of its own: SUBSCRIBE puts it in subscriber mode, where it can run nothing else. */
  subscriber: RedisClient;
  refreshMs: number;
  log: Logger;
  /** Told when an event leaves the catalog (to forget per-event state). */
  onEventRemoved?: (event: string) => void;
}

export class CatalogCache {
  private events = new Map<string, CachedEvent>();
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private loaded = false;
  private refreshing: Promise<void> | undefined;
  private followUp: Promise<void> | undefined;
  private stopped = false;
  private readonly onMessage = (channel: string, message: string): void => this.announced(channel, message);

  constructor(private readonly options: CatalogCacheOptions) {}

  /** Subscribes, loads the catalog once (rejects if that fails), then refreshes periodically. */
  async start(): Promise<void> {
    const { subscriber, refreshMs, log } = this.options;
    subscriber.on('message', this.onMessage);
    // Subscribe before the first load, so no announcement falls between the load and the subscription.
    await subscriber.subscribe(keys.soldOutChannel());
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) =>
        log.warn('catalog refresh failed; serving the last one', { err }),
      );
    }, refreshMs);
    this.timer.unref();
  }

  /** True once the catalog was loaded at least once. */
  isLoaded(): boolean {
    return this.loaded;
  }

  get(event: string): CachedEvent | undefined {
    return this.events.get(event);
  }

  check(event: string, productId: number, now = Date.now()): CatalogCheck {
    return checkPurchase(this.events.get(event), productId, now);
  }

  eventNames(): string[] {
    return [...this.events.keys()];
  }

  /**
   * Reads every event and stock hash; resolves after a load that started after this call. One load runs at
   * a time: callers during a load share one follow-up load.
   */
  refresh(): Promise<void> {
    if (this.refreshing === undefined) {
      this.refreshing = this.load().finally(() => (this.refreshing = undefined));
      return this.refreshing;
    }
    this.followUp ??= this.refreshing
      .catch(() => undefined)
      .then(() => {
        this.followUp = undefined;
        return this.refresh();
      });
    return this.followUp;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.options.subscriber.off('message', this.onMessage);
    await this.followUp?.catch(() => undefined);
    await this.refreshing?.catch(() => undefined);
  }

  private async load(): Promise<void> {
    const { redis, log } = this.options;
    const generation = ++this.generation;
    const names = await listEventNames(redis);
    // Concurrent reads: on a single Redis ioredis auto-pipelines them (one round trip per stage).
    const specs = await Promise.all(
      names.map(async (name) => {
        try {
          return await readEvent(redis, name);
        } catch (err) {
          // One bad event (e.g. a half-written hash) must not hide the others; keep its last good version.
          log.warn('skipping an event that does not parse', { event: name, err });
          return this.events.get(name)?.spec;
        }
      }),
    );
    const next = new Map<string, CachedEvent>();
    await Promise.all(
      specs.map(async (spec) => {
        if (spec === undefined || this.stopped) return;
        const stocks = await Promise.all(spec.products.map((p) => readStock(redis, spec.name, p.id)));
        const products = new Map<number, CachedProduct>();
        spec.products.forEach((p, i) => {
          const stock = stocks[i] ?? { total: 0, sold: 0 };
          products.set(p.id, { spec: p, soldOut: stock.sold >= stock.total, soldOutAnnouncedIn: 0 });
        });
        next.set(spec.name, { spec, products });
      }),
    );
    if (this.stopped) return;
    // Announcements that arrived while this refresh ran were recorded on the old objects, and what this
    // refresh read may predate them: carry them over.
    for (const [name, event] of next) {
      const old = this.events.get(name);
      if (old === undefined) continue;
      for (const [id, product] of event.products) {
        const previous = old.products.get(id);
        if (previous !== undefined && previous.soldOut && previous.soldOutAnnouncedIn >= generation) {
          product.soldOut = true;
          product.soldOutAnnouncedIn = previous.soldOutAnnouncedIn;
        }
      }
    }
    for (const name of this.events.keys()) if (!next.has(name)) this.options.onEventRemoved?.(name);
    this.events = next;
    if (!this.loaded) log.info('catalog loaded', { events: next.size });
    this.loaded = true;
  }

  private announced(channel: string, message: string): void {
    if (channel !== keys.soldOutChannel()) return;
    const parsed = parseRunKey(message);
    if (parsed === undefined) {
      this.options.log.warn('ignoring a malformed sold-out announcement', { message });
      return;
    }
    const product = this.events.get(parsed.event)?.products.get(parsed.productId);
    if (product === undefined) return; // not loaded yet: the next refresh reads the stock itself
    product.soldOut = true;
    // Tag it with the newest generation, so a refresh already running keeps the flag.
    product.soldOutAnnouncedIn = this.generation;
  }
}
