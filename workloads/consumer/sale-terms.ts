// The consumer's view of its event: the products and their per-user limits, from the catalog the
// operator preloaded into Redis. Cached; a product it does not know triggers one fresh read before the
// message is declared poison.
import type { RedisClient } from '../shared/redis/client.js';
import { readEvent, type EventSpec } from '../shared/catalog.js';
import type { ProductTerms } from './run-processor.js';

export class SaleTerms {
  private spec: EventSpec | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly event: string,
  ) {}

  async refresh(): Promise<void> {
    this.spec = await readEvent(this.redis, this.event);
  }

  /** Why a batch cannot be processed here, or undefined when it can. */
  async reject(event: string, productId: number): Promise<string | undefined> {
    if (event !== this.event) return `event ${event} is not served by this consumer (${this.event})`;
    if (this.find(productId)) return undefined;
    await this.refresh();
    return this.find(productId) ? undefined : `unknown product ${productId} in event ${event}`;
  }

  terms(productId: number): ProductTerms {
    const product = this.find(productId);
    if (!product) throw new Error(`no terms for product ${productId} of ${this.event}`);
    return { perUserLimit: product.perUserLimit };
  }

  private find(productId: number) {
    return this.spec?.products.find((p) => p.id === productId);
  }
}
