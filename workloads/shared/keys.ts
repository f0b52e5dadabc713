// Redis key names: the contract between operator, front door and consumer.
// Every key of one product carries the hash tag {event:product}, so the claim script, which touches
// several of them atomically, also works on Redis Cluster (all keys of one call live in one slot).

const tag = (event: string, productId: number): string => `{${event}:${productId}}`;

export const keys = {
  /** Hash: total (stock the operator loaded) and seckill (units sold), as in the seed. */
  stock: (event: string, productId: number) => `seckill:${tag(event, productId)}:stock`,
  /** Hash: userId -> units that buyer won (the per-user limit). */
  buyers: (event: string, productId: number) => `seckill:${tag(event, productId)}:buyers`,
  /** Hash: ticket -> first claim outcome, so a redelivered ticket replays instead of claiming twice. */
  claims: (event: string, productId: number) => `seckill:${tag(event, productId)}:claims`,
  /** Hash: the event's window and products, written by the operator, read by the front door. */
  event: (event: string) => `seckill:event:{${event}}`,
  /** Set of event names the front door serves. */
  events: () => 'seckill:events',
  /** String with TTL: a ticket's final result, written by the consumer, read by GET /tickets/:ticket. */
  result: (ticket: string) => `seckill:result:${ticket}`,
  /** Pub/sub channel: the run key "event/productId" (names.ts runKey) when a product sells out. */
  soldOutChannel: () => 'seckill:soldout',
} as const;
