// The operator's composition root: every part built and wired in one place, shared by the process
// (main.ts) and the tests, so what the tests run is what the cluster runs. Leader election, the health
// server and signal handling are the process's business and stay in main.ts.
import * as k8s from '@kubernetes/client-node';
import type { Admin } from 'kafkajs';
import type { RedisClient } from '../workloads/shared/redis/client.js';
import { createKafka } from '../workloads/shared/kafka/client.js';
import type { Logger } from '../workloads/shared/log.js';
import { createRedis } from '../workloads/shared/redis/client.js';
import { withScripts } from '../workloads/shared/redis/scripts.js';
import { SeckillEventClient } from './api/client.js';
import { API_VERSION, KIND } from './api/types.js';
import type { OperatorConfig } from './config.js';
import { controllerMetrics, createOperatorMetrics, type OperatorMetrics } from './metrics.js';
import { Reconciler } from './reconcile/reconciler.js';
import { seckillEventWatches } from './reconcile/watches.js';
import { Controller } from './runtime/controller.js';
import { EventRecorder } from './runtime/event-recorder.js';

export const COMPONENT = 'seckill-operator';

export interface Operator {
  kc: k8s.KubeConfig;
  metrics: OperatorMetrics;
  redis: RedisClient;
  admin: Admin;
  reconciler: Reconciler;
  controller: Controller;
  /** Stops the controller and closes the Kafka and Redis connections. */
  close(): Promise<void>;
}

export interface OperatorOptions {
  log: Logger;
  /** Defaults to the config's kubeconfig file, or the in-cluster service account when it is empty. */
  kc?: k8s.KubeConfig;
  /** Defaults to a fresh set on the operator's registry (tests pass their own registry). */
  metrics?: OperatorMetrics;
}

export function loadKubeConfig(cfg: Pick<OperatorConfig, 'kubeconfig'>): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (cfg.kubeconfig) kc.loadFromFile(cfg.kubeconfig);
  else kc.loadFromCluster();
  return kc;
}

export async function composeOperator(cfg: OperatorConfig, o: OperatorOptions): Promise<Operator> {
  const { log } = o;
  const kc = o.kc ?? loadKubeConfig(cfg);
  const metrics = o.metrics ?? createOperatorMetrics();
  const redis = createRedis(cfg.redisUrl, COMPONENT);
  redis.on('error', (err: Error) => log.warn('redis error', { err: err.message }));
  const admin = createKafka(cfg.kafkaBrokers, COMPONENT, log).admin();
  // Kafka may be down at start: the reconciler reports it in TopicReady and retries; kafkajs reconnects.
  await admin.connect().catch((err: unknown) => log.warn('kafka admin not connected yet', { err }));

  const recorder = new EventRecorder(
    kc.makeApiClient(k8s.CoreV1Api),
    { apiVersion: API_VERSION, kind: KIND },
    COMPONENT,
    cfg.leaderElection.identity,
    log,
  );
  const reconciler = new Reconciler({
    events: new SeckillEventClient(kc),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    core: kc.makeApiClient(k8s.CoreV1Api),
    redis: withScripts(redis),
    kafka: admin,
    recorder,
    metrics,
    log,
    config: cfg,
  });
  const controller = new Controller({
    reconciler,
    watches: (enqueue) => seckillEventWatches({ kc, metrics, log, config: cfg }, enqueue),
    workers: cfg.maxConcurrentReconciles,
    queue: cfg.queue,
    metrics: controllerMetrics(metrics),
    log,
  });
  return {
    kc,
    metrics,
    redis,
    admin,
    reconciler,
    controller,
    close: async () => {
      await controller.stop();
      await admin.disconnect().catch(() => undefined);
      redis.disconnect();
    },
  };
}
