// The bytes the load generator sends: a purchase (with the buyer's token and, for a keyed purchase, an
// Idempotency-Key) and a ticket poll. Built as strings once per request; the tokens are signed up front.

/** POST /api/v1/seckill for `body`, as buyer `token` (none: no Authorization header). */
export function purchaseBytes(body: string, token?: string, idempotencyKey?: string): Buffer {
  const auth = token === undefined ? '' : `Authorization: Bearer ${token}\r\n`;
  const key = idempotencyKey === undefined ? '' : `Idempotency-Key: ${idempotencyKey}\r\n`;
  return Buffer.from(
    `POST /api/v1/seckill HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${auth}${key}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** GET /api/v1/tickets/:ticket as buyer `token`. */
export function ticketBytes(host: string, ticket: string, token?: string): Buffer {
  const auth = token === undefined ? '' : `Authorization: Bearer ${token}\r\n`;
  return Buffer.from(`GET /api/v1/tickets/${ticket} HTTP/1.1\r\nHost: ${host}\r\n${auth}\r\n`);
}

/** The ticket a front door's answer names: a 202's, or a keyed refusal's (an earlier attempt's ticket). */
export const ticketIn = (body: string): string | undefined => /"ticket":"([^"]+)"/.exec(body)?.[1];
