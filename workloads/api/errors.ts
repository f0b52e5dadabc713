// The front door's error vocabulary: one code per way a request can fail, its HTTP status, and the
// metrics outcome it counts as. Every error answer has the body { "error": { "code", "message" } }.

/** The `outcome` label of seckill_api_requests_total. */
export const OUTCOMES = [
  'accepted',
  'ok',
  'sold_out',
  'not_started',
  'ended',
  'unknown',
  'invalid',
  'busy',
  'unavailable',
  'throttled',
  'limit',
  'unauthorized',
  'forbidden',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

export type ErrorCode =
  | 'invalid_request' // 400: malformed JSON, wrong types, ids out of range, bad ticket
  | 'unauthorized' // 401: no buyer token, or one that is malformed, expired, not yet valid or badly signed
  | 'forbidden' // 403: the body names another buyer than the token
  | 'request_timeout' // 408: the request (headers or body) did not arrive in time
  | 'payload_too_large' // 413: body over the limit
  | 'headers_too_large' // 431: request headers over the cap
  | 'unknown_event' // 404
  | 'unknown_product' // 404
  | 'not_found' // 404: no such path
  | 'unknown_ticket' // 404: another buyer's ticket
  | 'method_not_allowed' // 405
  | 'sold_out' // 409
  | 'limit' // 409: the buyer already holds as many tickets as the per-user limit
  | 'not_started' // 425
  | 'ended' // 410
  | 'throttled' // 429: the per-user request throttle
  | 'busy' // 429: the Batcher bucket is full
  | 'unavailable' // 503: Kafka (or Redis) unreachable, or the pod is draining
  | 'internal'; // 500: a bug (logged)

interface ErrorKind {
  status: number;
  outcome: Outcome;
}

export const ERRORS: Readonly<Record<ErrorCode, ErrorKind>> = {
  invalid_request: { status: 400, outcome: 'invalid' },
  unauthorized: { status: 401, outcome: 'unauthorized' },
  forbidden: { status: 403, outcome: 'forbidden' },
  request_timeout: { status: 408, outcome: 'invalid' },
  payload_too_large: { status: 413, outcome: 'invalid' },
  headers_too_large: { status: 431, outcome: 'invalid' },
  unknown_event: { status: 404, outcome: 'unknown' },
  unknown_product: { status: 404, outcome: 'unknown' },
  not_found: { status: 404, outcome: 'unknown' },
  unknown_ticket: { status: 404, outcome: 'unknown' },
  method_not_allowed: { status: 405, outcome: 'invalid' },
  sold_out: { status: 409, outcome: 'sold_out' },
  limit: { status: 409, outcome: 'limit' },
  not_started: { status: 425, outcome: 'not_started' },
  ended: { status: 410, outcome: 'ended' },
  throttled: { status: 429, outcome: 'throttled' },
  busy: { status: 429, outcome: 'busy' },
  unavailable: { status: 503, outcome: 'unavailable' },
  internal: { status: 500, outcome: 'unavailable' },
};

/** A request failure the client is told about. `retryAfterMs` becomes a Retry-After header (seconds). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly outcome: Outcome;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterMs?: number,
    /**
     * Set when Kafka may have the purchase although its send failed (a timeout after the broker wrote it):
     * the buyer can poll this ticket; it resolves if the purchase got through and stays pending if not.
     */
    readonly ticket?: string,
  ) {
    super(message);
    this.status = ERRORS[code].status;
    this.outcome = ERRORS[code].outcome;
  }

  /** The JSON body of the answer. */
  body(): string {
    const ticket = this.ticket === undefined ? {} : { ticket: this.ticket };
    return JSON.stringify({ error: { code: this.code, message: this.message, ...ticket } });
  }

  /** The answer's extra headers: the Bearer challenge of a 401 (RFC 6750), Retry-After when there is a hint. */
  headers(): Record<string, string | number> {
    const headers: Record<string, string | number> = {};
    const retryAfter = this.retryAfterSeconds();
    if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
    if (this.code === 'unauthorized') {
      // error_description is a quoted-string without '"' or '\' (RFC 6750 3).
      const description = this.message.replace(/["\\]/g, "'");
      headers['www-authenticate'] = `Bearer error="invalid_token", error_description="${description}"`;
    }
    return headers;
  }

  /** Retry-After in whole seconds (HTTP has no finer unit), at least 1, when the error has a hint. */
  retryAfterSeconds(): number | undefined {
    return this.retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(this.retryAfterMs / 1000));
  }
}
