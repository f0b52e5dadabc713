import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { ulid } from 'ulid';
import { migrate } from '../../workloads/shared/mysql/migrations.js';
import { createMysqlPool } from '../../workloads/shared/mysql/pool.js';
import { stackEnv, uniqueName } from '../../tools/lib/stack-env.js';

const pool = createMysqlPool(stackEnv.mysqlUrl());
after(() => pool.end());

test('mysql: migrations run, are idempotent, and orders insert and query', async () => {
  await migrate(pool);
  assert.deepEqual(await migrate(pool), [], 'a second run applies nothing');
  const event = uniqueName('smoke');
  await pool.query('INSERT INTO product_stock (event, product_id, total) VALUES (?, 1, 10)', [event]);
  await pool.query('INSERT INTO orders (ticket, event, product_id, user_id) VALUES (?, ?, 1, 42)', [
    ulid(),
    event,
  ]);
  const [rows] = await pool.query<RowDataPacket[]>('SELECT user_id FROM orders WHERE event = ?', [event]);
  assert.deepEqual(
    rows.map((r) => Number(r.user_id)),
    [42],
  );
});

test('mysql: the CHECK constraint refuses sold above total', async () => {
  await migrate(pool);
  const event = uniqueName('smoke');
  await pool.query('INSERT INTO product_stock (event, product_id, total) VALUES (?, 1, 1)', [event]);
  await assert.rejects(
    pool.query('UPDATE product_stock SET sold = 2 WHERE event = ? AND product_id = 1', [event]),
    /CONSTRAINT|ck_sold_within_total/i,
  );
});
