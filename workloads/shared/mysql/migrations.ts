// Schema migrations, applied in order, each once, recorded in schema_migrations. Safe to run from
// several processes at once: a named lock serialises them and every statement is idempotent.
import type { Pool, RowDataPacket } from 'mysql2/promise';

interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'orders and product_stock',
    statements: [
      `CREATE TABLE IF NOT EXISTS orders (
         id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
         ticket CHAR(26) NOT NULL,
         event VARCHAR(63) NOT NULL,
         product_id INT UNSIGNED NOT NULL,
         user_id BIGINT UNSIGNED NOT NULL,
         accepted_at TIMESTAMP(3) NULL,
         created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
         UNIQUE KEY uq_orders_ticket (ticket),
         KEY ix_orders_event_product (event, product_id),
         KEY ix_orders_event_user (event, user_id)
       ) ENGINE=InnoDB`,
      // sold moves in the same transaction as the order rows; the CHECK is the last line against oversell.
      `CREATE TABLE IF NOT EXISTS product_stock (
         event VARCHAR(63) NOT NULL,
         product_id INT UNSIGNED NOT NULL,
         total INT UNSIGNED NOT NULL,
         sold INT UNSIGNED NOT NULL DEFAULT 0,
         updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
         PRIMARY KEY (event, product_id),
         CONSTRAINT ck_sold_within_total CHECK (sold <= total)
       ) ENGINE=InnoDB`,
    ],
  },
];

export async function migrate(pool: Pool): Promise<number[]> {
  const conn = await pool.getConnection();
  try {
    await conn.query(`SELECT GET_LOCK('seckill_migrations', 60)`);
    await conn.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INT NOT NULL PRIMARY KEY, name VARCHAR(200) NOT NULL,
      applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB`);
    const [rows] = await conn.query<RowDataPacket[]>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of migrations.filter((x) => !done.has(x.version))) {
      for (const sql of m.statements) await conn.query(sql);
      await conn.query('INSERT INTO schema_migrations (version, name) VALUES (?, ?)', [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  } finally {
    await conn.query(`SELECT RELEASE_LOCK('seckill_migrations')`).catch(() => undefined);
    conn.release();
  }
}
