// Connection settings of the running local stack, as `npm run stack -- env` exports them, and clients and
// configs pointed at it (for the tests, the benchmarks and the demo).
// A caller that needs a service fails with a clear message when its variable is missing, never skips.
import { Kafka, logLevel } from 'kafkajs';
import type { ApiConfig } from '../../workloads/api/config.js';

const STACK_HINT = 'start the stack and export its settings: eval "$(npm run -s stack -- env)"';

/** The variable's value; throws naming it and what to do (`hint`) when it is not set. */
export function requireEnv(name: string, hint = STACK_HINT): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: ${hint}`);
  }
  return value;
}

export const stackEnv = {
  kafkaBrokers: (): string[] => requireEnv('KAFKA_BROKERS').split(','),
  redisUrl: (): string => requireEnv('REDIS_URL'),
  mysqlUrl: (): string => requireEnv('MYSQL_URL'),
  kubeconfig: (): string => requireEnv('KUBECONFIG'),
};

/** A name unique to this test run, so tests sharing one stack never see each other's data. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** A kafkajs client on the stack's brokers, quiet, with short retries. */
export function testKafka(extra: Partial<ConstructorParameters<typeof Kafka>[0]> = {}): Kafka {
  return new Kafka({
    clientId: 'api-test',
    brokers: stackEnv.kafkaBrokers(),
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
    ...extra,
  });
}

/** The front door's settings on the stack: an ephemeral port, a 200 ms catalog refresh, 3 Kafka retries. */
export function apiConfig(overrides: Partial<ApiConfig> = {}): ApiConfig {
  return {
    kafkaBrokers: stackEnv.kafkaBrokers(),
    redisUrl: stackEnv.redisUrl(),
    httpPort: 0,
    batch: { size: 100, intervalMs: 5, workers: 8, buffer: 10_000 },
    throttleMs: 0,
    catalogRefreshMs: 200,
    shutdownGraceMs: 10_000,
    producerMode: 'batched',
    kafkaIdempotent: true,
    kafkaRetries: 3,
    kafkaAckTimeoutMs: 5000,
    ...overrides,
  };
}
