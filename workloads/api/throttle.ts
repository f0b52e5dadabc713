// In-memory, per-pod request guards in front of the Batcher. Neither is authoritative: the consumer's
// atomic Redis claim enforces the per-user limit across all pods. These only stop obviously useless work
// early, so their memory is bounded and, when a bound is hit, they fail open (let requests through).

/**
 * At most one purchase attempt per user per `windowMs`. Two generations of maps: a user's mark lives in
 * the current one and is dropped wholesale two windows later, so memory is bounded by the users seen in
 * the last two windows, and by `maxUsers` (reaching it starts a new generation early: fail open).
 * `windowMs` 0 disables the throttle.
 */
export class UserThrottle {
  private current = new Map<number, number>();
  private previous = new Map<number, number>();
  private rotatedAt: number;

  constructor(
    readonly windowMs: number,
    private readonly maxUsers = 1_000_000,
    now = Date.now(),
  ) {
    if (!Number.isInteger(windowMs) || windowMs < 0)
      throw new RangeError(`windowMs must be >= 0, got ${windowMs}`);
    if (!Number.isInteger(maxUsers) || maxUsers < 1)
      throw new RangeError(`maxUsers must be >= 1, got ${maxUsers}`);
    this.rotatedAt = now;
  }

  /** Takes the user's slot; returns 0 when allowed, else the ms until the user may try again. */
  acquire(userId: number, now = Date.now()): number {
    if (this.windowMs === 0) return 0;
    this.rotate(now);
    const until = this.current.get(userId) ?? this.previous.get(userId) ?? 0;
    if (until > now) return until - now;
    if (this.current.size >= this.maxUsers) this.startGeneration(now);
    this.current.set(userId, now + this.windowMs);
    return 0;
  }

  /** Gives the slot back, when the attempt failed for reasons not the buyer's (busy, Kafka down). */
  release(userId: number): void {
    this.current.delete(userId);
    this.previous.delete(userId);
  }

  /** Users currently remembered (for tests and metrics). */
  size(): number {
    return this.current.size + this.previous.size;
  }

  private rotate(now: number): void {
    if (now - this.rotatedAt < this.windowMs) return;
    // Every mark in `previous` was set more than one window ago: all expired.
    if (now - this.rotatedAt >= 2 * this.windowMs) this.current = new Map();
    this.startGeneration(now);
  }

  private startGeneration(now: number): void {
    this.previous = this.current;
    this.current = new Map();
    this.rotatedAt = now;
  }
}

/**
 * Counts the tickets this pod handed out per (event, product, user), to answer 409 "limit" at once when a
 * buyer asks for more than the per-user limit. Sound because every 202 ticket ends won or lost, and a lost
 * one means the product sold out or the buyer hit the limit: either way a further request cannot win.
 * Bounded by `maxEntries`; at the bound it forgets everything (fail open: the consumer still enforces).
 */
export class LimitGuard {
  private readonly counts = new Map<string, number>();
  constructor(private readonly maxEntries = 1_000_000) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be >= 1, got ${maxEntries}`);
    }
  }

  /** Reserves one unit for the buyer; false when they already hold `limit` tickets. */
  reserve(event: string, productId: number, userId: number, limit: number): boolean {
    const key = `${event}\u0000${productId}\u0000${userId}`;
    const held = this.counts.get(key) ?? 0;
    if (held >= limit) return false;
    if (held === 0 && this.counts.size >= this.maxEntries) this.counts.clear();
    this.counts.set(key, held + 1);
    return true;
  }

  /** Returns a reservation whose request got no ticket (busy, Kafka down). */
  release(event: string, productId: number, userId: number): void {
    const key = `${event}\u0000${productId}\u0000${userId}`;
    const held = this.counts.get(key) ?? 0;
    if (held <= 1) this.counts.delete(key);
    else this.counts.set(key, held - 1);
  }

  /** Forgets an event's counts (it ended or was deleted). */
  forgetEvent(event: string): void {
    const prefix = `${event}\u0000`;
    for (const key of this.counts.keys()) if (key.startsWith(prefix)) this.counts.delete(key);
  }

  size(): number {
    return this.counts.size;
  }
}
