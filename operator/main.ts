// The operator process: `npm run operator`. Reads its settings from the environment (operator/config.ts),
// serves /healthz /readyz /metrics, campaigns for the leader Lease, and runs the controller only while
// leading. SIGTERM: stop the controller, release the Lease, exit 0. Losing the Lease without being asked
// to stop exits 1 (as controller-runtime does): in-flight state is unknown, a restart is the clean way back.
import * as k8s from '@kubernetes/client-node';
import { createKafka } from '../workloads/shared/kafka/client.js';
import { startHealthServer } from '../workloads/shared/health.js';
import { onShutdown } from '../workloads/shared/lifecycle.js';
import { createLogger } from '../workloads/shared/log.js';
import { createRedis } from '../workloads/shared/redis/client.js';
import { withScripts } from '../workloads/shared/redis/scripts.js';
import { readOperatorConfig, type OperatorConfig } from './config.js';
import { Controller } from './controller/controller.js';
import { EventRecorder } from './controller/events.js';
import { LeaderElector } from './controller/leader-election.js';
import { Reconciler } from './controller/reconciler.js';
import { createOperatorMetrics } from './metrics.js';

const log = createLogger({ component: 'operator' });

function loadKubeConfig(cfg: OperatorConfig): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (cfg.kubeconfig) kc.loadFromFile(cfg.kubeconfig);
  else kc.loadFromCluster();
  return kc;
}

async function main(): Promise<void> {
  const cfg = readOperatorConfig();
  const kc = loadKubeConfig(cfg);
  const metrics = createOperatorMetrics();
  const redis = createRedis(cfg.redisUrl, 'seckill-operator');
  redis.on('error', (err: Error) => log.warn('redis error', { err: err.message }));
  const kafka = createKafka(cfg.kafkaBrokers, 'seckill-operator', log);
  const admin = kafka.admin();
  // Kafka may be down at start: the reconciler reports it in TopicReady and retries; kafkajs reconnects.
  await admin.connect().catch((err: unknown) => log.warn('kafka admin not connected yet', { err }));

  const recorder = new EventRecorder(
    kc.makeApiClient(k8s.CoreV1Api),
    'seckill-operator',
    cfg.leaderElection.identity,
    log,
  );
  const reconciler = new Reconciler({
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    redis: withScripts(redis),
    kafka: admin,
    recorder,
    metrics,
    log,
    config: cfg,
  });
  const controller = new Controller({ kc, reconciler, metrics, log, config: cfg });

  let stopping = false;
  const elector = new LeaderElector(
    kc.makeApiClient(k8s.CoordinationV1Api),
    { namespace: cfg.podNamespace, ...cfg.leaderElection },
    {
      onStartedLeading: async () => {
        metrics.leader.set(1);
        await controller.start();
      },
      onStoppedLeading: async () => {
        metrics.leader.set(0);
        await controller.stop();
        if (!stopping) {
          log.error('lost the leader lease, exiting to restart cleanly');
          process.exit(1);
        }
      },
      onNewLeader: (identity) => log.info('leader is', { identity }),
    },
    log,
  );

  const server = await startHealthServer(cfg.httpPort, metrics.registry, {
    // Ready: not draining, Redis connected, and (when leading) the informers have listed.
    ready: () => !stopping && redis.status === 'ready' && (!elector.isLeader() || controller.synced()),
  });
  log.info('operator started', {
    httpPort: cfg.httpPort,
    identity: cfg.leaderElection.identity,
    leaderElection: cfg.leaderElection.enabled,
    watchNamespace: cfg.watchNamespace || '(all)',
  });

  if (cfg.leaderElection.enabled) {
    elector.start();
  } else {
    metrics.leader.set(1);
    await controller.start();
  }

  onShutdown(log, cfg.shutdownGraceMs, async () => {
    stopping = true;
    if (cfg.leaderElection.enabled) await elector.stop({ release: true });
    else await controller.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await admin.disconnect().catch(() => undefined);
    redis.disconnect();
  });
}

main().catch((err: unknown) => {
  log.error('operator failed to start', { err });
  process.exit(1);
});
