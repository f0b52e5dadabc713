import { createPool, type Pool } from 'mysql2/promise';

/**
 * A connection pool from a mysql:// URL.
 * FOUND_ROWS is switched off so affectedRows counts rows really changed: an
 * `INSERT ... ON DUPLICATE KEY UPDATE ticket = ticket` then reports 1 per new order and 0 per replay,
 * which is how the consumer moves `sold` by exactly the orders it created.
 */
export function createMysqlPool(url: string, connectionLimit = 10): Pool {
  return createPool({
    uri: url,
    connectionLimit,
    waitForConnections: true,
    enableKeepAlive: true,
    timezone: 'Z',
    flags: ['-FOUND_ROWS'],
  });
}
