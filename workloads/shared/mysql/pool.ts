import { createPool, type Pool } from 'mysql2/promise';

/** A connection pool from a mysql:// URL. */
export function createMysqlPool(url: string, connectionLimit = 10): Pool {
  return createPool({
    uri: url,
    connectionLimit,
    waitForConnections: true,
    enableKeepAlive: true,
    timezone: 'Z',
  });
}
