// Verified buyer tokens, remembered so a buyer's next request with the same token costs a map lookup
// instead of a signature check. Buyers poll their tickets and retry with one token, so most requests hit.
// Bounded (least recently used goes first) and each entry expires with its token: a cached token is never
// accepted after the moment jose would refuse it.

export interface CachedBuyer {
  buyerId: number;
  /** epoch ms after which the token is refused (its exp plus the clock tolerance). */
  expiresAtMs: number;
}

export class TokenCache {
  // A Map iterates in insertion order: re-inserting on every hit keeps the least recently used first.
  private readonly entries = new Map<string, CachedBuyer>();

  constructor(private readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) {
      throw new RangeError(`maxEntries must be an integer >= 0, got ${maxEntries}`);
    }
  }

  /** The buyer a still-valid cached token stands for; undefined when unknown or expired (then dropped). */
  get(token: string, nowMs: number): number | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    this.entries.delete(token);
    if (entry.expiresAtMs <= nowMs) return undefined;
    this.entries.set(token, entry);
    return entry.buyerId;
  }

  set(token: string, entry: CachedBuyer): void {
    if (this.maxEntries === 0) return;
    this.entries.delete(token);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(token, entry);
  }

  get size(): number {
    return this.entries.size;
  }
}
