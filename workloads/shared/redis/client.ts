import { Redis } from 'ioredis';

/**
 * A Redis connection from a redis:// URL. ioredis 5 speaks RESP2, which our Lua replies are tested
 * against. Commands queue while reconnecting (bounded by maxRetriesPerRequest) instead of failing at once.
 */
export function createRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true, // the hot path sends many small commands: let ioredis pipeline them
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    lazyConnect: false,
  });
}
