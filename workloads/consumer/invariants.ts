// A sale's invariants, judged from the records themselves (Redis and MySQL), never from a process's own
// counters. `npm run reconcile`, the demo and the end-to-end tests all judge a sale with this module.
//   per product: MySQL sold = count(orders) = Redis seckill, none of them above the stock total;
//   event-wide: no ticket with two orders; per product: no buyer with more orders than the limit;
//   given the accepted (202) tickets: every one resolved won or lost, every won ticket has exactly one
//   order, no lost ticket has one, and every order's ticket is recorded as won (an order whose 202 never
//   reached the client is fine, but it must be a win).
// The ticket checks need the tickets the clients were given and their results (kept RESULT_TTL_SECONDS),
// so they run only when the caller has the tickets. judgeProducts, judgeTickets, verdict and verdictText
// are pure; the read* functions and checkInvariants read the records.
import { decodeResult } from '../shared/outcomes.js';
import type { RedisClient } from '../shared/redis/client.js';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { readStock } from '../shared/catalog.js';
import { keys } from '../shared/keys.js';

/** One product's records: the counters and what the orders table says. */
export interface ProductLedger {
  id: number;
  total: number;
  redisSold: number;
  mysqlSold: number;
  orders: number;
  /** Tickets of the event (not only this product) with more than one order. */
  duplicateTickets: number;
  /** Buyers with more orders of this product than its per-user limit. */
  buyersOverLimit: number;
}

/** One product's counts as a verdict reports them. */
export interface ProductCounts {
  id: number;
  stock: number;
  /** MySQL product_stock.sold. */
  sold: number;
  /** Redis `seckill`. */
  redisSold: number;
  orders: number;
}

export interface ProductVerdict {
  products: ProductCounts[];
  oversold: number;
  duplicateOrders: number;
  buyersOverLimit: number;
  violations: string[];
}

export interface TicketVerdict {
  unresolvedTickets: number;
  wonTickets: number;
  lostTickets: number;
  wonWithoutOrder: number;
  lostWithOrder: number;
  ordersWithoutWin: number;
  violations: string[];
}

/** The whole verdict; `ok` when `violations` is empty. */
export type InvariantVerdict = Omit<ProductVerdict, 'violations'> &
  Omit<TicketVerdict, 'violations'> & { violations: string[]; ok: boolean };

/** Ticket counts when the accepted tickets are not known: nothing checked, nothing counted. */
export const NO_TICKETS: Readonly<TicketVerdict> = Object.freeze({
  unresolvedTickets: 0,
  wonTickets: 0,
  lostTickets: 0,
  wonWithoutOrder: 0,
  lostWithOrder: 0,
  ordersWithoutWin: 0,
  violations: [],
});

/** The per-product and event-wide checks over the ledgers read. */
export function judgeProducts(ledgers: readonly ProductLedger[]): ProductVerdict {
  const violations: string[] = [];
  const products: ProductCounts[] = [];
  let oversold = 0;
  let buyersOverLimit = 0;
  for (const l of ledgers) {
    products.push({ id: l.id, stock: l.total, sold: l.mysqlSold, redisSold: l.redisSold, orders: l.orders });
    const over = Math.max(0, l.orders - l.total, l.mysqlSold - l.total, l.redisSold - l.total);
    oversold += over;
    buyersOverLimit += l.buyersOverLimit;
    if (over > 0) violations.push(`product ${l.id}: oversold by ${over} (total ${l.total})`);
    if (!(l.mysqlSold === l.orders && l.orders === l.redisSold)) {
      violations.push(
        `product ${l.id}: MySQL sold ${l.mysqlSold}, orders ${l.orders}, Redis seckill ${l.redisSold} differ`,
      );
    }
  }
  // Event-wide: every ledger carries the same count (read at slightly different times).
  const duplicateOrders = Math.max(0, ...ledgers.map((l) => l.duplicateTickets));
  if (duplicateOrders > 0) violations.push(`${duplicateOrders} ticket(s) with more than one order`);
  if (buyersOverLimit > 0) violations.push(`${buyersOverLimit} buyer(s) over the per-user limit`);
  return { products, oversold, duplicateOrders, buyersOverLimit, violations };
}

/**
 * The ticket checks: `tickets` the accepted ones with their stored `results` (outcome codes, read
 * through shared/outcomes.ts: won, or lost to the sell-out or the limit; anything else unresolved), `orders` the order count per ticket of the event, `orderResults` the results of those
 * orders' tickets.
 */
export function judgeTickets(
  tickets: readonly string[],
  results: ReadonlyMap<string, string | null>,
  orders: ReadonlyMap<string, number>,
  orderResults: ReadonlyMap<string, string | null>,
): TicketVerdict {
  const v: TicketVerdict = { ...NO_TICKETS, violations: [] };
  for (const ticket of tickets) {
    const result = decodeResult(results.get(ticket))?.outcome;
    if (result === 'won') {
      v.wonTickets++;
      if (orders.get(ticket) !== 1) v.wonWithoutOrder++;
    } else if (result !== undefined) {
      v.lostTickets++;
      if (orders.has(ticket)) v.lostWithOrder++;
    } else v.unresolvedTickets++;
  }
  for (const ticket of orders.keys())
    if (decodeResult(orderResults.get(ticket))?.outcome !== 'won') v.ordersWithoutWin++;
  const count = (n: number, what: string): void => {
    if (n > 0) v.violations.push(`${n} ${what}`);
  };
  count(v.unresolvedTickets, 'accepted ticket(s) never resolved');
  count(v.wonWithoutOrder, 'won ticket(s) without exactly one order');
  count(v.lostWithOrder, 'lost ticket(s) with an order');
  count(v.ordersWithoutWin, 'order(s) whose ticket is not recorded as won');
  return v;
}

/** Both halves in one verdict (field order as the demo's --json prints it). */
export function verdict(p: ProductVerdict, t: Readonly<TicketVerdict>): InvariantVerdict {
  const violations = [...p.violations, ...t.violations];
  return {
    products: p.products,
    oversold: p.oversold,
    duplicateOrders: p.duplicateOrders,
    buyersOverLimit: p.buyersOverLimit,
    unresolvedTickets: t.unresolvedTickets,
    wonTickets: t.wonTickets,
    lostTickets: t.lostTickets,
    wonWithoutOrder: t.wonWithoutOrder,
    lostWithOrder: t.lostWithOrder,
    ordersWithoutWin: t.ordersWithoutWin,
    violations,
    ok: violations.length === 0,
  };
}

/** The verdict in one line, or a list of what is violated. */
export function verdictText(v: Pick<InvariantVerdict, 'ok' | 'violations'>): string {
  return v.ok ? 'INVARIANTS: all hold' : `INVARIANTS VIOLATED:\n  - ${v.violations.join('\n  - ')}`;
}

/**
 * The accepted tickets of a tickets file: one a line, bare or as a JSON object with a `ticket` field
 * (the demo's tickets.ndjson); blank lines are skipped.
 */
export function parseTickets(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line, i) => {
      if (!line.startsWith('{')) return line;
      const ticket = (JSON.parse(line) as { ticket?: unknown }).ticket;
      if (typeof ticket !== 'string') throw new Error(`line ${i + 1}: no "ticket" string in ${line}`);
      return ticket;
    });
}

/** One product's ledger, straight from Redis and MySQL. */
export async function readLedger(
  redis: RedisClient,
  pool: Pool,
  event: string,
  product: { id: number; perUserLimit: number },
): Promise<ProductLedger> {
  const stock = await readStock(redis, event, product.id);
  const [[row]] = await pool.query<RowDataPacket[]>(
    `SELECT
       (SELECT sold FROM product_stock WHERE event = ? AND product_id = ?) AS mysqlSold,
       (SELECT COUNT(*) FROM orders WHERE event = ? AND product_id = ?) AS orders,
       (SELECT COUNT(*) FROM (SELECT ticket FROM orders WHERE event = ? GROUP BY ticket HAVING COUNT(*) > 1) d) AS dups,
       (SELECT COUNT(*) FROM (SELECT user_id FROM orders WHERE event = ? AND product_id = ?
          GROUP BY user_id HAVING COUNT(*) > ?) o) AS overLimit`,
    [event, product.id, event, product.id, event, event, product.id, product.perUserLimit],
  );
  return {
    id: product.id,
    total: stock.total,
    redisSold: stock.sold,
    mysqlSold: Number(row?.mysqlSold ?? 0),
    orders: Number(row?.orders ?? 0),
    duplicateTickets: Number(row?.dups ?? 0),
    buyersOverLimit: Number(row?.overLimit ?? 0),
  };
}

/** How many orders each ticket of the event has. */
export async function readOrderCounts(pool: Pool, event: string): Promise<Map<string, number>> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT ticket, COUNT(*) AS n FROM orders WHERE event = ? GROUP BY ticket',
    [event],
  );
  return new Map(rows.map((r) => [String(r.ticket), Number(r.n)]));
}

/** Each ticket's result (null when there is none), read 1,000 at a time. */
export async function readResults(
  redis: RedisClient,
  tickets: readonly string[],
): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (let i = 0; i < tickets.length; i += 1000) {
    const chunk = tickets.slice(i, i + 1000);
    // GETs, not one MGET: on a Redis Cluster the tickets' keys are in different slots.
    const values = await Promise.all(chunk.map((t) => redis.get(keys.result(t))));
    chunk.forEach((t, j) => out.set(t, values[j] ?? null));
  }
  return out;
}

export interface InvariantInput {
  redis: RedisClient;
  pool: Pool;
  event: string;
  products: readonly { id: number; perUserLimit: number }[];
  /** The accepted (202) tickets; without them the ticket checks are skipped. */
  tickets?: readonly string[];
  /** Their results, when the caller has read them already; read here otherwise. */
  results?: ReadonlyMap<string, string | null>;
}

/** Reads the records and judges every invariant the input allows. */
export async function checkInvariants(i: InvariantInput): Promise<InvariantVerdict> {
  const ledgers: ProductLedger[] = [];
  for (const product of i.products) ledgers.push(await readLedger(i.redis, i.pool, i.event, product));
  const products = judgeProducts(ledgers);
  if (!i.tickets) return verdict(products, NO_TICKETS);
  const orders = await readOrderCounts(i.pool, i.event);
  const results = i.results ?? (await readResults(i.redis, i.tickets));
  const orderResults = await readResults(i.redis, [...orders.keys()]);
  return verdict(products, judgeTickets(i.tickets, results, orders, orderResults));
}
