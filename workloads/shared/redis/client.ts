import { Redis } from 'ioredis';

/**
 * A Redis connection from a redis:// URL. It speaks RESP2 on purpose: ioredis 6 defaults to RESP3, and our
 * Lua replies (nil/false, nested tables) are tested against RESP2. Commands queue while reconnecting
 * (bounded by maxRetriesPerRequest) instead of failing at once.
 */
export function createRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    protocol: 2,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true, // the hot path sends many small commands: let ioredis pipeline them
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    lazyConnect: false,
  });
}
