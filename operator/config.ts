// The operator's settings, from environment variables, validated at start (every bad value at once).
import { hostname } from 'node:os';
import { ConfigError, EnvReader } from '../workloads/shared/config.js';
import type { ClaimWait, ConsumerResources } from './resources/consumer-deployment.js';

export interface OperatorConfig {
  /** Path of a kubeconfig; empty means in-cluster (service account). */
  kubeconfig: string;
  kafkaBrokers: string[];
  redisUrl: string;
  /** Only this namespace is watched; empty means all namespaces. */
  watchNamespace: string;
  /** Namespace of the leader-election Lease. */
  podNamespace: string;
  consumerImage: string;
  consumerImagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  consumerResources: ConsumerResources;
  /** Durable claims of every consumer (its CLAIM_WAIT_REPLICAS / CLAIM_WAIT_TIMEOUT_MS). */
  consumerClaimWait: ClaimWait;
  /** CONSUMER_EXTRA_ENV "NAME=value;NAME=value": settings every consumer gets (e.g. the seed-style run's). */
  consumerExtraEnv: Record<string, string>;
  httpPort: number;
  maxConcurrentReconciles: number;
  leaderElection: {
    enabled: boolean;
    leaseName: string;
    identity: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
  /** Status refresh while a sale is Active or Ended. */
  activeRefreshMs: number;
  /** Status refresh while Scheduled or Completed. */
  idleRefreshMs: number;
  queue: { baseDelayMs: number; maxDelayMs: number; qps: number; burst: number };
  informer: { watchTimeoutSeconds: number; staleAfterMs: number };
  shutdownGraceMs: number;
  /** Replication of the topics the operator creates when a SeckillEvent does not say (spec.kafka). */
  topicReplication: TopicReplication;
}

export interface TopicReplication {
  replicationFactor: number;
  minInSyncReplicas: number;
}

// A declarative table of settings (one line each, with its default and bounds), then the cross-checks:
// long, but read as a list.
export function readOperatorConfig(env: Record<string, string | undefined> = process.env): OperatorConfig {
  const r = new EnvReader(env);
  const cfg: OperatorConfig = {
    kubeconfig: r.string('KUBECONFIG', ''),
    kafkaBrokers: r.list('KAFKA_BROKERS'),
    redisUrl: r.redisUrl('REDIS_URL'),
    watchNamespace: r.string('WATCH_NAMESPACE', ''),
    podNamespace: r.string('POD_NAMESPACE', 'default'),
    consumerImage: r.string('CONSUMER_IMAGE', 'seckill/consumer:latest'),
    consumerImagePullPolicy: r.oneOf(
      'CONSUMER_IMAGE_PULL_POLICY',
      ['Always', 'IfNotPresent', 'Never'],
      'IfNotPresent',
    ),
    consumerResources: {
      cpuRequest: r.string('CONSUMER_CPU_REQUEST', '250m'),
      memoryRequest: r.string('CONSUMER_MEMORY_REQUEST', '256Mi'),
      memoryLimit: r.string('CONSUMER_MEMORY_LIMIT', '512Mi'),
    },
    // 0 by default: on a Redis without replicas a WAIT for one would stop every claim. With replicas
    // (a Redis Cluster, a primary with replicas) 1 makes a claim survive its master's crash.
    consumerClaimWait: {
      replicas: r.int('CONSUMER_CLAIM_WAIT_REPLICAS', 0, 0, 16),
      timeoutMs: r.int('CONSUMER_CLAIM_WAIT_TIMEOUT_MS', 1000, 1, 60_000),
    },
    consumerExtraEnv: parseExtraEnv(r.string('CONSUMER_EXTRA_ENV', '')),
    httpPort: r.int('HTTP_PORT', 9101, 0, 65535),
    maxConcurrentReconciles: r.int('MAX_CONCURRENT_RECONCILES', 4, 1, 64),
    leaderElection: {
      enabled: r.oneOf('LEADER_ELECT', ['true', 'false'], 'true') === 'true',
      leaseName: r.string('LEADER_ELECTION_LEASE_NAME', 'seckill-operator'),
      identity: r.string('LEADER_ELECTION_IDENTITY', `${hostname()}_${process.pid}`),
      leaseDurationMs: r.int('LEADER_ELECTION_LEASE_DURATION_SECONDS', 15, 2, 3600) * 1000,
      renewDeadlineMs: r.int('LEADER_ELECTION_RENEW_DEADLINE_SECONDS', 10, 1, 3600) * 1000,
      retryPeriodMs: r.int('LEADER_ELECTION_RETRY_PERIOD_SECONDS', 2, 1, 3600) * 1000,
    },
    activeRefreshMs: r.int('STATUS_REFRESH_ACTIVE_MS', 5000, 100, 3_600_000),
    idleRefreshMs: r.int('STATUS_REFRESH_IDLE_MS', 30_000, 100, 86_400_000),
    queue: {
      baseDelayMs: r.int('RETRY_BASE_DELAY_MS', 200, 1, 3_600_000),
      maxDelayMs: r.int('RETRY_MAX_DELAY_MS', 60_000, 1, 3_600_000),
      qps: r.int('RECONCILE_QPS', 10, 1, 10_000),
      burst: r.int('RECONCILE_BURST', 100, 1, 100_000),
    },
    informer: {
      watchTimeoutSeconds: r.int('WATCH_TIMEOUT_SECONDS', 60, 5, 3600),
      staleAfterMs: r.int('INFORMER_STALE_SECONDS', 180, 10, 86_400) * 1000,
    },
    shutdownGraceMs: r.int('SHUTDOWN_GRACE_MS', 20_000, 1000, 600_000),
    // Production defaults: three copies, a write acknowledged by two (acks=all), so one broker may die.
    // The single-node local stack sets 1 and 1.
    topicReplication: {
      replicationFactor: r.int('TOPIC_REPLICATION_FACTOR', 3, 1, 7),
      minInSyncReplicas: r.int('TOPIC_MIN_INSYNC_REPLICAS', 2, 1, 7),
    },
  };
  const cpuLimit = env.CONSUMER_CPU_LIMIT?.trim();
  if (cpuLimit) cfg.consumerResources.cpuLimit = cpuLimit;
  const le = cfg.leaderElection;
  const problems: string[] = [];
  if (le.renewDeadlineMs >= le.leaseDurationMs) {
    problems.push(
      'LEADER_ELECTION_RENEW_DEADLINE_SECONDS must be less than LEADER_ELECTION_LEASE_DURATION_SECONDS',
    );
  }
  if (le.retryPeriodMs >= le.renewDeadlineMs) {
    problems.push(
      'LEADER_ELECTION_RETRY_PERIOD_SECONDS must be less than LEADER_ELECTION_RENEW_DEADLINE_SECONDS',
    );
  }
  if (cfg.topicReplication.minInSyncReplicas > cfg.topicReplication.replicationFactor)
    problems.push('TOPIC_MIN_INSYNC_REPLICAS must be <= TOPIC_REPLICATION_FACTOR');
  if (cfg.queue.baseDelayMs > cfg.queue.maxDelayMs)
    problems.push('RETRY_BASE_DELAY_MS must be <= RETRY_MAX_DELAY_MS');
  try {
    r.done();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.unshift(...err.problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return cfg;
}

/** "NAME=value;NAME=value" (names in upper snake case); throws ConfigError naming a bad entry. */
export function parseExtraEnv(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of raw.split(';').filter((e) => e.trim() !== '')) {
    const i = entry.indexOf('=');
    const name = i > 0 ? entry.slice(0, i).trim() : '';
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) {
      throw new ConfigError([
        `CONSUMER_EXTRA_ENV: "${entry}" is not NAME=value with NAME in upper snake case`,
      ]);
    }
    out[name] = entry.slice(i + 1);
  }
  return out;
}
