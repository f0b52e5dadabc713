// Turns the winners of a product run into MySQL orders, in one transaction:
//   1. make sure the product's stock row exists with the current total,
//   2. insert all orders in one multi-row statement keyed by the unique ticket; a replayed ticket
//      hits ON DUPLICATE KEY and changes nothing (INSERT IGNORE would also hide real errors),
//   3. move `sold` by exactly the rows inserted, guarded so it can never pass `total`.
import type { Pool, PoolConnection, ResultSetHeader } from 'mysql2/promise';
import type { PurchaseEntry } from '../shared/kafka/codec.js';
import { runKey } from '../shared/names.js';

export class OversellRefusedError extends Error {
  constructor(event: string, productId: number, adding: number) {
    super(
      `MySQL refused ${adding} more orders for ${runKey(event, productId)}: sold would pass total ` +
        `(Redis and MySQL disagree; run the reconciliation)`,
    );
    this.name = 'OversellRefusedError';
  }
}

export interface OrderBatch {
  event: string;
  productId: number;
  total: number;
  winners: PurchaseEntry[];
}

/** Writes the batch; returns how many orders were new (replays count 0). */
export async function writeOrders(pool: Pool, batch: OrderBatch): Promise<number> {
  if (batch.winners.length === 0) return 0;
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    const inserted = await insertOrders(conn, batch);
    await moveSold(conn, batch, inserted);
    await conn.commit();
    return inserted;
  } catch (err) {
    await conn.rollback().catch(() => undefined);
    throw err;
  } finally {
    conn.release();
  }
}

/** The seed-style comparison mode: one statement and one transaction per order. */
export async function writeOrdersOneByOne(pool: Pool, batch: OrderBatch): Promise<number> {
  let inserted = 0;
  for (const winner of batch.winners) inserted += await writeOrders(pool, { ...batch, winners: [winner] });
  return inserted;
}

async function insertOrders(
  conn: PoolConnection,
  { event, productId, winners }: OrderBatch,
): Promise<number> {
  const rows = winners.map((w) => [w.ticket, event, productId, w.userId, new Date(w.acceptedAt)]);
  const [result] = await conn.query<ResultSetHeader>(
    'INSERT INTO orders (ticket, event, product_id, user_id, accepted_at) VALUES ? ' +
      'ON DUPLICATE KEY UPDATE ticket = ticket',
    [rows],
  );
  return result.affectedRows;
}

async function moveSold(
  conn: PoolConnection,
  { event, productId, total }: OrderBatch,
  inserted: number,
): Promise<void> {
  // The row may not exist yet (first orders of the product); total follows the operator's preload.
  await conn.query(
    'INSERT INTO product_stock (event, product_id, total) VALUES (?, ?, ?) ' +
      'ON DUPLICATE KEY UPDATE total = GREATEST(sold, VALUES(total))',
    [event, productId, total],
  );
  if (inserted === 0) return;
  const [result] = await conn.query<ResultSetHeader>(
    'UPDATE product_stock SET sold = sold + ? WHERE event = ? AND product_id = ? AND sold + ? <= total',
    [inserted, event, productId, inserted],
  );
  if (result.affectedRows !== 1) throw new OversellRefusedError(event, productId, inserted);
}
