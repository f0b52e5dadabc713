// The front door's settings, from environment variables, validated once at start (all problems at once).
import { ConfigError, EnvReader } from '../shared/config.js';
import { BATCHER_DEFAULTS, type BatcherSettings } from '../shared/batcher-settings.js';

export const PRODUCER_MODES = ['batched', 'per-request'] as const;
export type ProducerMode = (typeof PRODUCER_MODES)[number];

export interface ApiConfig {
  kafkaBrokers: string[];
  redisUrl: string;
  httpPort: number;
  /** Batcher settings for events whose spec.batcher says nothing; maxFlush for every event. */
  batch: BatcherSettings;
  /** Per-user throttle window in ms; 0 = off (the default, see below). */
  throttleMs: number;
  catalogRefreshMs: number;
  shutdownGraceMs: number;
  producerMode: ProducerMode;
  /** kafkajs idempotent producer (maxInFlightRequests 1). */
  kafkaIdempotent: boolean;
  /** Retries of one Kafka send before the waiting buyers get 503. */
  kafkaRetries: number;
  /** How long the broker may take to gather acks=all before the send fails. */
  kafkaAckTimeoutMs: number;
}

/**
 * Reads and validates every variable; throws a ConfigError listing all bad ones.
 *
 * THROTTLE_MS defaults to 0 (off): the per-user limit is enforced exactly by the consumer's atomic claim,
 * and the front door already refuses at once a buyer who holds `perUserLimit` tickets (LimitGuard). A
 * per-pod, in-memory time throttle is only an anti-abuse knob: its effect depends on the replica count
 * and load balancing, and at the seed's 10 s it would turn a buyer's honest retry after a 429 or 503, or a
 * load test's 4 requests per buyer, into refusals. Set it (e.g. 1000) when bots are a concern.
 */
export function readApiConfig(env: EnvReader = new EnvReader()): ApiConfig {
  const config: ApiConfig = {
    kafkaBrokers: env.list('KAFKA_BROKERS'),
    redisUrl: env.url('REDIS_URL', ['redis:', 'rediss:']),
    httpPort: env.int('HTTP_PORT', 8080, 0, 65535),
    batch: {
      size: env.int('BATCH_SIZE', BATCHER_DEFAULTS.size, 1, 10_000),
      intervalMs: env.int('BATCH_INTERVAL_MS', BATCHER_DEFAULTS.intervalMs, 1, 60_000),
      workers: env.int('BATCH_WORKERS', BATCHER_DEFAULTS.workers, 1, 1024),
      buffer: env.int('BATCH_BUFFER', BATCHER_DEFAULTS.buffer, 1, 10_000_000),
      // A backlog built during a slow Kafka round trip leaves in one message of up to 1000 entries (~50 KB):
      // a hot product's throughput then grows with load instead of stopping at BATCH_SIZE per round trip.
      maxFlush: env.int('BATCH_MAX_FLUSH', 1000, 1, 100_000),
    },
    throttleMs: env.int('THROTTLE_MS', 0, 0, 3_600_000),
    catalogRefreshMs: env.int('CATALOG_REFRESH_MS', 1000, 50, 600_000),
    shutdownGraceMs: env.int('SHUTDOWN_GRACE_MS', 25_000, 100, 3_600_000),
    producerMode: env.oneOf('PRODUCER_MODE', PRODUCER_MODES, 'batched'),
    kafkaIdempotent: env.oneOf('KAFKA_IDEMPOTENT', ['true', 'false'], 'true') === 'true',
    kafkaRetries: env.int('KAFKA_RETRIES', 5, 1, 100),
    kafkaAckTimeoutMs: env.int('KAFKA_ACK_TIMEOUT_MS', 5000, 100, 300_000),
  };
  // Cross-variable checks, reported together with the per-variable ones.
  const problems: string[] = [];
  for (const broker of config.kafkaBrokers) {
    if (!/^[^\s:/]+:\d{1,5}$/.test(broker))
      problems.push(`KAFKA_BROKERS entries must be host:port, got "${broker}"`);
  }
  if ((config.batch.maxFlush ?? config.batch.size) < config.batch.size) {
    problems.push(`BATCH_MAX_FLUSH (${config.batch.maxFlush}) must be >= BATCH_SIZE (${config.batch.size})`);
  }
  if (config.batch.buffer < config.batch.size) {
    problems.push(`BATCH_BUFFER (${config.batch.buffer}) must be >= BATCH_SIZE (${config.batch.size})`);
  }
  try {
    env.done();
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError([...err.problems, ...problems]);
    throw err;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
