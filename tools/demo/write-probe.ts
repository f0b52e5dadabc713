// How long an engine's writes pause in a failover, seen from a client: a probe starts a small write every
// PROBE_EVERY_MS (not one after another: a write stuck on a dead node must not hold up the next) and keeps
// when each started and whether and when it succeeded. After a fault at time t, writes resumed at the
// first success of a write started at or after t; the pause is that time minus t.
// The chaos run (ha-faults.ts) probes the very place the sale writes to: the Kafka partition led by the
// broker it kills (a probe topic led by the same broker), the Redis slot of the product whose master it kills.
import { sleep } from '../lib/wait.js';

const PROBE_EVERY_MS = 50;
/** At most this many probe writes in flight (a dead node can hold each for a client timeout). */
const MAX_IN_FLIGHT = 40;

interface ProbeWrite {
  startedAt: number;
  succeededAt?: number;
}

export class WriteProbe {
  private readonly writes: ProbeWrite[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastError = '';

  constructor(
    /** One write; resolves when the engine acknowledged it. */
    private readonly write: () => Promise<unknown>,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.fire(), PROBE_EVERY_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The last failure a probe write reported (for the chaos action's detail). */
  get error(): string {
    return this.lastError;
  }

  private fire(): void {
    if (this.inFlight >= MAX_IN_FLIGHT) return;
    const w: ProbeWrite = { startedAt: Date.now() };
    this.writes.push(w);
    this.inFlight++;
    this.write()
      .then(() => (w.succeededAt = Date.now()))
      .catch((err: unknown) => (this.lastError = err instanceof Error ? err.message : String(err)))
      .finally(() => this.inFlight--);
  }

  /** When writes resumed after `since` (epoch ms), or undefined while none started since has succeeded. */
  resumedAt(since: number): number | undefined {
    let first: number | undefined;
    for (const w of this.writes) {
      if (w.startedAt < since || w.succeededAt === undefined) continue;
      if (first === undefined || w.succeededAt < first) first = w.succeededAt;
    }
    return first;
  }

  /** Waits up to `timeoutMs` for writes to resume after `since`; the pause in ms, undefined if they did not. */
  async pauseAfter(since: number, timeoutMs: number): Promise<number | undefined> {
    const deadline = since + timeoutMs;
    for (;;) {
      const at = this.resumedAt(since);
      if (at !== undefined) return at - since;
      if (Date.now() > deadline) return undefined;
      await sleep(PROBE_EVERY_MS);
    }
  }
}
