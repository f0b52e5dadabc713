import { EnvReader, readConnections, type ConnectionConfig } from '../shared/config.js';
import { purchaseTopic } from '../shared/kafka/topics.js';

export const GUARD_MODES = ['lua', 'lua-per-entry', 'etcd'] as const;
export type GuardMode = (typeof GUARD_MODES)[number];

export interface ConsumerConfig extends ConnectionConfig {
  event: string;
  topic: string;
  shards: number;
  /** Entries a shard may queue before its partitions are paused. */
  shardCapacity: number;
  /** Largest run of entries covered by one claim. */
  maxRun: number;
  guard: GuardMode;
  writeMode: 'batch' | 'per-order';
  partitionsConsumedConcurrently: number;
  httpPort: number;
  shutdownGraceMs: number;
  etcdEndpoints: string[];
  /** Durable claims (stock-guard.ts): replicas that must confirm each claim (0 = off), and how long to wait. */
  claimWaitReplicas: number;
  claimWaitTimeoutMs: number;
}

export function readConsumerConfig(env = new EnvReader()): ConsumerConfig {
  const connections = readConnections(env);
  const event = env.string('SECKILL_EVENT');
  const config: ConsumerConfig = {
    ...connections,
    event,
    topic: env.string('KAFKA_TOPIC', event ? purchaseTopic(event) : ''),
    shards: env.int('CONSUMER_SHARDS', 8, 1, 256),
    shardCapacity: env.int('SHARD_CAPACITY', 5000, 1, 1_000_000),
    maxRun: env.int('CLAIM_MAX_ENTRIES', 1000, 1, 10_000),
    guard: env.oneOf('STOCK_GUARD', GUARD_MODES, 'lua'),
    writeMode: env.oneOf('ORDER_WRITE_MODE', ['batch', 'per-order'] as const, 'batch'),
    partitionsConsumedConcurrently: env.int('PARTITIONS_CONCURRENTLY', 4, 1, 1000),
    httpPort: env.int('HTTP_PORT', 9102, 0, 65535),
    shutdownGraceMs: env.int('SHUTDOWN_GRACE_MS', 25_000, 100, 600_000),
    etcdEndpoints: env.list('ETCD_ENDPOINTS', 'http://127.0.0.1:2379'),
    // 0 for a single Redis (nothing to wait for); 1 with Redis replicas (a Redis Cluster).
    claimWaitReplicas: env.int('CLAIM_WAIT_REPLICAS', 0, 0, 16),
    claimWaitTimeoutMs: env.int('CLAIM_WAIT_TIMEOUT_MS', 1000, 1, 60_000),
  };
  env.done();
  return config;
}
