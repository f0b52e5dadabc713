// The load generator's ticket poll bytes and answer parsing (a purchase's bytes are the HTTP benchmark's
// purchaseRequest, with the buyer's token and, for a keyed purchase, an Idempotency-Key as headers).

/** GET /api/v1/tickets/:ticket as buyer `token`. */
export function ticketBytes(host: string, ticket: string, token?: string): Buffer {
  const auth = token === undefined ? '' : `Authorization: Bearer ${token}\r\n`;
  return Buffer.from(`GET /api/v1/tickets/${ticket} HTTP/1.1\r\nHost: ${host}\r\n${auth}\r\n`);
}

/** The ticket a front door's answer names: a 202's, or a keyed refusal's (an earlier attempt's ticket). */
export const ticketIn = (body: string): string | undefined => /"ticket":"([^"]+)"/.exec(body)?.[1];
