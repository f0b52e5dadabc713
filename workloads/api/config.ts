// The front door's settings, from environment variables, validated once at start (all problems at once).
import { ConfigError, EnvReader } from '../shared/config.js';
import { BATCHER_DEFAULTS, type BatcherSettings } from '../shared/batcher-settings.js';
import { MIN_SECRET_BYTES } from './auth/key-sources.js';

export const PRODUCER_MODES = ['batched', 'per-request'] as const;
export type ProducerMode = (typeof PRODUCER_MODES)[number];

export const AUTH_MODES = ['jwt', 'none'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** Who may buy: see auth/. In jwt mode at least one key source (secret, JWKS file or JWKS URL) is set. */
export interface AuthConfig {
  mode: AuthMode;
  /** HS256 shared secret (AUTH_JWT_SECRET, from a Secret), at least 32 bytes. */
  jwtSecret?: string;
  /** A JWKS document on disk (a mounted Secret or ConfigMap), re-read every jwksRefreshMs. */
  jwksFile?: string;
  /** The identity provider's JWKS endpoint, cached for jwksRefreshMs. */
  jwksUrl?: string;
  jwksRefreshMs: number;
  issuer?: string;
  audience?: string;
  clockToleranceSeconds: number;
  /** Verified tokens remembered (0 = verify every request). */
  cacheEntries: number;
}

/** Limits against slow and abusive clients (a buyer's request is a few hundred bytes). */
export interface HttpLimits {
  /** Time for the request headers to arrive (Node's headersTimeout). */
  headersTimeoutMs: number;
  /** Time for the whole request, body included, to arrive (Node's requestTimeout): then 408. */
  requestTimeoutMs: number;
  /** Request header bytes; above it 431 (Node's maxHeaderSize). */
  maxHeaderBytes: number;
  /** Open connections per process; more are closed at once (server.maxConnections). */
  maxConnections: number;
}

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
  /** The start of the drain during which purchases are still served and every answer closes its connection. */
  lameDuckMs: number;
  producerMode: ProducerMode;
  /** kafkajs idempotent producer (off by default: app.ts createProducer says why). */
  kafkaIdempotent: boolean;
  /** Retries of one Kafka send before the waiting buyers get 503. */
  kafkaRetries: number;
  /** How long the broker may take to gather acks=all before the send fails. */
  kafkaAckTimeoutMs: number;
  auth: AuthConfig;
  http: HttpLimits;
}

const optional = (value: string): string | undefined => (value === '' ? undefined : value);

function readAuthConfig(env: EnvReader): AuthConfig {
  return {
    mode: env.oneOf('AUTH_MODE', AUTH_MODES, 'jwt'),
    jwtSecret: optional(env.string('AUTH_JWT_SECRET', '')),
    jwksFile: optional(env.string('AUTH_JWKS_FILE', '')),
    jwksUrl: optional(env.url('AUTH_JWKS_URL', ['https:', 'http:'], '')),
    jwksRefreshMs: env.int('AUTH_JWKS_REFRESH_MS', 300_000, 1000, 86_400_000),
    issuer: optional(env.string('AUTH_ISSUER', '')),
    audience: optional(env.string('AUTH_AUDIENCE', '')),
    clockToleranceSeconds: env.int('AUTH_CLOCK_TOLERANCE_S', 5, 0, 300),
    cacheEntries: env.int('AUTH_CACHE_ENTRIES', 100_000, 0, 10_000_000),
  };
}

function authProblems(auth: AuthConfig): string[] {
  if (auth.mode !== 'jwt') return [];
  const problems: string[] = [];
  if (!auth.jwtSecret && !auth.jwksFile && !auth.jwksUrl) {
    problems.push(
      'AUTH_MODE=jwt needs a key: AUTH_JWT_SECRET (HS256), AUTH_JWKS_FILE or AUTH_JWKS_URL ' +
        '(or AUTH_MODE=none for a local run only)',
    );
  }
  if (auth.jwtSecret !== undefined && Buffer.byteLength(auth.jwtSecret) < MIN_SECRET_BYTES) {
    problems.push(`AUTH_JWT_SECRET must have at least ${MIN_SECRET_BYTES} bytes (256 bits for HS256)`);
  }
  if (auth.jwksFile !== undefined && auth.jwksUrl !== undefined) {
    problems.push('set AUTH_JWKS_FILE or AUTH_JWKS_URL, not both');
  }
  return problems;
}

function readHttpLimits(env: EnvReader): HttpLimits {
  return {
    headersTimeoutMs: env.int('HTTP_HEADERS_TIMEOUT_MS', 5000, 100, 300_000),
    requestTimeoutMs: env.int('HTTP_REQUEST_TIMEOUT_MS', 10_000, 100, 300_000),
    maxHeaderBytes: env.int('HTTP_MAX_HEADER_BYTES', 8192, 1024, 65_536),
    maxConnections: env.int('HTTP_MAX_CONNECTIONS', 10_000, 1, 1_000_000),
  };
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
    redisUrl: env.redisUrl('REDIS_URL'),
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
    lameDuckMs: env.int('LAME_DUCK_MS', 2000, 0, 600_000),
    producerMode: env.oneOf('PRODUCER_MODE', PRODUCER_MODES, 'batched'),
    // false: kafkajs' idempotent producer can acknowledge a batch it never stored (app.ts createProducer).
    kafkaIdempotent: env.oneOf('KAFKA_IDEMPOTENT', ['true', 'false'], 'false') === 'true',
    kafkaRetries: env.int('KAFKA_RETRIES', 5, 1, 100),
    kafkaAckTimeoutMs: env.int('KAFKA_ACK_TIMEOUT_MS', 5000, 100, 300_000),
    auth: readAuthConfig(env),
    http: readHttpLimits(env),
  };
  // Cross-variable checks, reported together with the per-variable ones.
  const problems: string[] = authProblems(config.auth);
  if (config.http.headersTimeoutMs > config.http.requestTimeoutMs) {
    problems.push('HTTP_HEADERS_TIMEOUT_MS must be <= HTTP_REQUEST_TIMEOUT_MS');
  }
  for (const broker of config.kafkaBrokers) {
    if (!/^[^\s:/]+:\d{1,5}$/.test(broker))
      problems.push(`KAFKA_BROKERS entries must be host:port, got "${broker}"`);
  }
  if (config.lameDuckMs >= config.shutdownGraceMs) {
    problems.push(
      `LAME_DUCK_MS (${config.lameDuckMs}) must be below SHUTDOWN_GRACE_MS (${config.shutdownGraceMs}): it is the drain's first part`,
    );
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
