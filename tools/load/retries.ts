// Idempotent retries in the load: a share of the purchases carry an Idempotency-Key and are sent once
// more, with the same key, as soon as their first answer arrives (a buyer whose app retries after a
// timeout or a 503, or a double click). What the front door must show: the retry names the first
// attempt's ticket, and never wins a second unit (the demo checks that from Redis after the drain).

export interface RetryPair {
  /** The first attempt's ticket (its 202, or the ticket a keyed refusal names); null if none. */
  first: string | null;
  retry: string | null;
  /** The retry was answered 202 (its ticket is a purchase Kafka has); else a refusal naming the ticket. */
  retryAccepted: boolean;
}

export interface IdempotencyReport {
  /** Purchases sent with an Idempotency-Key. */
  keyed: number;
  /** Retries answered (or failed client-side). */
  retries: number;
  /** Retries answered with the first attempt's ticket. */
  sameTicket: number;
  /** Retries that named a ticket other than the first attempt's (must be 0). */
  otherTicket: number;
  /** Retry answers by "status code" / "error kind", like the load's outcomes. */
  retryOutcomes: Record<string, number>;
  pairs: RetryPair[];
}

export class IdempotentRetries {
  private readonly report: IdempotencyReport = {
    keyed: 0,
    retries: 0,
    sameTicket: 0,
    otherTicket: 0,
    retryOutcomes: {},
    pairs: [],
  };
  /** Retries queued or in flight. */
  pending = 0;

  keyed(): void {
    this.report.keyed++;
  }

  scheduled(): void {
    this.pending++;
  }

  answered(first: string | null, outcome: string, retry: string | null): void {
    this.pending--;
    const r = this.report;
    r.retries++;
    r.retryOutcomes[outcome] = (r.retryOutcomes[outcome] ?? 0) + 1;
    r.pairs.push({ first, retry, retryAccepted: outcome === '202 accepted' });
    if (first !== null && retry !== null) {
      if (first === retry) r.sameTicket++;
      else r.otherTicket++;
    }
  }

  result(): IdempotencyReport {
    return this.report;
  }
}
