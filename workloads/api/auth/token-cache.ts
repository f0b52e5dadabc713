// Verified buyer tokens, remembered so a buyer's next request with the same token costs a map lookup
// instead of a signature check. Buyers poll their tickets and retry with one token, so most requests hit.
// Bounded, least recently used out first, and each entry expires with its token: a cached token is never
// accepted after the moment jose would refuse it.
//
// The LRU is two generations of maps (quick-lru's scheme): hits in the current one cost one lookup (a
// strict LRU's reordering on every hit costs as much again on the hot path); an entry found only in the
// previous one moves to the current; when the current is full it becomes the previous and the old
// previous is dropped whole. So at most `maxEntries` are kept and every entry used within the last
// `maxEntries / 2` insertions survives.

export interface CachedBuyer {
  buyerId: number;
  /** epoch ms after which the token is refused (its exp plus the clock tolerance). */
  expiresAtMs: number;
}

export class TokenCache {
  private current = new Map<string, CachedBuyer>();
  private previous = new Map<string, CachedBuyer>();
  private readonly generationSize: number;

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) {
      throw new RangeError(`maxEntries must be an integer >= 0, got ${maxEntries}`);
    }
    this.generationSize = Math.max(1, Math.floor(maxEntries / 2));
  }

  /** The buyer a still-valid cached token stands for; undefined when unknown or expired (then dropped). */
  get(token: string, nowMs: number): number | undefined {
    let entry = this.current.get(token);
    if (entry === undefined) {
      entry = this.previous.get(token);
      if (entry === undefined) return undefined;
      this.previous.delete(token);
      if (entry.expiresAtMs > nowMs) this.add(token, entry);
    }
    if (entry.expiresAtMs <= nowMs) {
      this.current.delete(token);
      return undefined;
    }
    return entry.buyerId;
  }

  set(token: string, entry: CachedBuyer): void {
    if (this.maxEntries === 0) return;
    this.previous.delete(token);
    this.add(token, entry);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  private add(token: string, entry: CachedBuyer): void {
    if (!this.current.has(token) && this.current.size >= this.generationSize) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(token, entry);
  }
}
