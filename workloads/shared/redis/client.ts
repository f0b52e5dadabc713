// The one Redis connection factory of the project: the operator, the front door, the consumer and the
// tools all connect here, to a single Redis or to a Redis Cluster, from one setting:
//   redis://[user:password@]host:port[/db]               a single Redis (or rediss:// with TLS)
//   redis+cluster://[user:password@]host:port,host:port  a Redis Cluster, from any of its nodes (seeds)
// Every key of one product shares a hash tag (keys.ts), so each Lua script and each pipeline touches one
// slot and runs on a Cluster as it does on a single Redis.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A connection to a single Redis or to a Redis Cluster: the commands the project uses exist on both. */
export type RedisClient = Redis | Cluster;

export const CLUSTER_SCHEME = 'redis+cluster:';

/** The seed nodes and credentials of a redis+cluster:// URL; undefined for any other URL. */
export function parseClusterUrl(
  url: string,
): { nodes: { host: string; port: number }[]; username?: string; password?: string } | undefined {
  if (!url.startsWith(`${CLUSTER_SCHEME}//`)) return undefined;
  let rest = url.slice(CLUSTER_SCHEME.length + 2).replace(/\/.*$/, '');
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = auth.indexOf(':');
    username = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : auth) || undefined;
    password = colon >= 0 ? decodeURIComponent(auth.slice(colon + 1)) : undefined;
  }
  const nodes = rest.split(',').map((node) => {
    const m = /^([^:,\s]+):(\d{1,5})$/.exec(node.trim());
    if (!m) throw new Error(`${CLUSTER_SCHEME}// node "${node}" is not host:port`);
    return { host: m[1]!, port: Number(m[2]) };
  });
  return { nodes, ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

/**
 * RESP2 on purpose: ioredis 6 defaults to RESP3, and our Lua replies (nil/false, nested tables) are tested
 * against RESP2. Commands queue while reconnecting (bounded by maxRetriesPerRequest) instead of failing at
 * once.
 */
const connectionOptions = (name: string): RedisOptions => ({
  connectionName: name,
  protocol: 2,
  maxRetriesPerRequest: 3,
  retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
  lazyConnect: false,
});

/** A connection from a redis:// or redis+cluster:// URL (see the top of this file). */
export function createRedis(url: string, name: string): RedisClient {
  const cluster = parseClusterUrl(url);
  // A single Redis auto-pipelines: the hot path sends many small commands at once (not on a Cluster: below).
  if (cluster === undefined)
    return new Redis(url, { ...connectionOptions(name), enableAutoPipelining: true });
  const options: ClusterOptions = {
    redisOptions: {
      ...connectionOptions(name),
      ...(cluster.username ? { username: cluster.username } : {}),
      ...(cluster.password ? { password: cluster.password } : {}),
    },
    // No auto-pipelining on a Cluster: ioredis 6 groups auto-pipelined commands by node, and when a slot has
    // moved (a failover seen late, a reshard) a batch of several slots comes back part MOVED, part done,
    // which ioredis neither retries nor learns from: the moved slot's commands failed with MOVED forever
    // (redis/ioredis#2075; a consumer stuck on its results step after the HA chaos, pinned in
    // test/ha/ha-redis-cluster). Sent one by one, each command follows its own MOVED and refreshes the map;
    // they still share the connection without waiting for each other. Cost: docs/BENCHMARKS.md.
    enableAutoPipelining: false,
    // A failover moves slots: follow MOVED/ASK and refresh the slot map, retrying meanwhile.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnMoved: 50,
    slotsRefreshTimeout: 2000,
    // No slotsRefreshInterval: ioredis 6 (docs: every 5 s by default; the code: off) re-arms that timer from
    // a refresh still running when the client quits, and the process then never exits (seen in a test
    // run). The slot map is refreshed on every redirection ioredis follows, and by the claim path on a
    // pipeline's MOVED (scripts.ts claimBatchReplicated).
    clusterRetryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
    scaleReads: 'master', // results are read right after they are written: never from a lagging replica
  };
  return new Cluster(cluster.nodes, options);
}
