// Connection settings of the running local stack, as `npm run stack -- env` exports them, and clients and
// configs pointed at it (for the tests, the benchmarks and the demo).
// A caller that needs a service fails with a clear message when its variable is missing, never skips.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { ApiConfig } from '../../workloads/api/config.js';

const STACK_HINT = 'start the stack and export its settings: eval "$(npm run -s stack -- env)"';
const HA_HINT =
  'start the HA engines and export their settings: eval "$(npm run -s stack -- up --ha)", or ' +
  'eval "$(npm run -s stack -- env)" while they run';

/** The variable's value; throws naming it and what to do (`hint`) when it is not set. */
export function requireEnv(name: string, hint = STACK_HINT): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: ${hint}`);
  }
  return value;
}

/** The project's images in the cluster's containerd, as `npm run images` built and loaded them. */
export interface StackImages {
  operator: string;
  api: string;
  consumer: string;
}

const IMAGES_HINT = 'build and load them: eval "$(npm run -s images)"';

/**
 * SECKILL_IMAGE_{OPERATOR,API,CONSUMER} from the environment, else from the file `npm run images` writes
 * ($SECKILL_RUN/images.env, `export NAME=value` lines); throws naming what is missing.
 */
export function stackImages(env: NodeJS.ProcessEnv = process.env): StackImages {
  const file = join(env.SECKILL_RUN ?? join(homedir(), '.cache/seckill/run'), 'images.env');
  let written: Record<string, string> = {};
  try {
    written = Object.fromEntries(
      [...readFileSync(file, 'utf8').matchAll(/^export (SECKILL_IMAGE_[A-Z]+)=(\S+)$/gm)].map((m) => [
        m[1] ?? '',
        m[2] ?? '',
      ]),
    );
  } catch {
    // No file yet: the variables must come from the environment.
  }
  const ref = (target: string): string => {
    const name = `SECKILL_IMAGE_${target.toUpperCase()}`;
    const value = env[name] || written[name];
    if (!value) throw new Error(`${name} is not set and ${file} does not name it: ${IMAGES_HINT}`);
    return value;
  };
  return { operator: ref('operator'), api: ref('api'), consumer: ref('consumer') };
}

export const stackEnv = {
  kafkaBrokers: (): string[] => requireEnv('KAFKA_BROKERS').split(','),
  redisUrl: (): string => requireEnv('REDIS_URL'),
  mysqlUrl: (): string => requireEnv('MYSQL_URL'),
  etcdEndpoints: (): string[] => requireEnv('ETCD_ENDPOINTS').split(','),
  kubeconfig: (): string => requireEnv('KUBECONFIG'),
  // The same services as pods in the stack's cluster reach them: at the node address (NODE_IP), where
  // Redis, MariaDB and etcd listen too and Kafka has a second listener advertising it. What the connection
  // Secret for pods carries; 127.0.0.1 means the pod itself there.
  podKafkaBrokers: (): string[] => requireEnv('POD_KAFKA_BROKERS').split(','),
  podRedisUrl: (): string => requireEnv('POD_REDIS_URL'),
  podMysqlUrl: (): string => requireEnv('POD_MYSQL_URL'),
  podEtcdEndpoints: (): string[] => requireEnv('POD_ETCD_ENDPOINTS').split(','),
  /** The cluster node's address (on the stack's own interface): the apiserver's and the services' for pods. */
  nodeIp: (): string => requireEnv('NODE_IP'),
  images: (): StackImages => stackImages(),
  // The HA profile (`stack up --ha`: three Kafka nodes, a Redis Cluster of six), exported while it runs; host
  // processes only (no pod addresses yet).
  haKafkaBrokers: (): string[] => requireEnv('HA_KAFKA_BROKERS', HA_HINT).split(','),
  haKafkaBrokerCount: (): number => Number(requireEnv('HA_KAFKA_BROKER_COUNT', HA_HINT)),
  /** Every node of the Redis Cluster, as ioredis' Cluster client takes its startup nodes. */
  haRedisNodes: (): { host: string; port: number }[] =>
    requireEnv('HA_REDIS_NODES', HA_HINT)
      .split(',')
      .map((hostPort) => {
        const [host = '', port = ''] = hostPort.split(':');
        return { host, port: Number(port) };
      }),
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

/**
 * The front door's settings on the stack: an ephemeral port, a 200 ms catalog refresh, 3 Kafka retries,
 * buyer tokens checked with the stack's HS256 key (tools/lib/buyer-tokens.ts signs them).
 */
export function apiConfig(overrides: Partial<ApiConfig> = {}): ApiConfig {
  return {
    kafkaBrokers: stackEnv.kafkaBrokers(),
    redisUrl: stackEnv.redisUrl(),
    httpPort: 0,
    batch: { size: 100, intervalMs: 5, workers: 8, buffer: 10_000 },
    throttleMs: 0,
    catalogRefreshMs: 200,
    shutdownGraceMs: 10_000,
    // Short: most tests stop the app; test/integration/api-shutdown.test.ts sets its own.
    lameDuckMs: 100,
    producerMode: 'batched',
    kafkaIdempotent: false,
    kafkaRetries: 3,
    kafkaAckTimeoutMs: 5000,
    auth: {
      mode: 'jwt',
      jwtSecret: requireEnv('AUTH_JWT_SECRET'),
      jwksRefreshMs: 300_000,
      clockToleranceSeconds: 5,
      cacheEntries: 100_000,
    },
    http: { headersTimeoutMs: 5000, requestTimeoutMs: 10_000, maxHeaderBytes: 8192, maxConnections: 10_000 },
    ...overrides,
  };
}
