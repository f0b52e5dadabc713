// The operator process: `npm run operator`. Reads its settings from the environment (operator/config.ts),
// serves /healthz /readyz /metrics, campaigns for the leader Lease, and runs the controller only while
// leading. SIGTERM: stop the controller, release the Lease, exit 0. Losing the Lease without being asked
// to stop exits 1 (as controller-runtime does): in-flight state is unknown, a restart is the clean way back.
import '../workloads/shared/require-node.js';
import * as k8s from '@kubernetes/client-node';
import { startHealthServer } from '../workloads/shared/health.js';
import { onShutdown } from '../workloads/shared/lifecycle.js';
import { createLogger } from '../workloads/shared/log.js';
import { composeOperator, type Operator } from './app.js';
import { readOperatorConfig, type OperatorConfig } from './config.js';
import { LeaderElector } from './runtime/leader-election.js';

const log = createLogger({ component: 'operator' });

function leaderElector(cfg: OperatorConfig, op: Operator, stopping: () => boolean): LeaderElector {
  const { metrics, controller } = op;
  return new LeaderElector(
    op.kc.makeApiClient(k8s.CoordinationV1Api),
    { namespace: cfg.podNamespace, ...cfg.leaderElection },
    {
      onStartedLeading: async () => {
        metrics.leader.set(1);
        await controller.start();
      },
      onStoppedLeading: async () => {
        metrics.leader.set(0);
        await controller.stop();
        if (!stopping()) {
          log.error('lost the leader lease, exiting to restart cleanly');
          process.exit(1);
        }
      },
      onNewLeader: (identity) => log.info('leader is', { identity }),
    },
    log,
  );
}

async function main(): Promise<void> {
  const cfg = readOperatorConfig();
  const op = await composeOperator(cfg, { log });
  let stopping = false;
  const elector = leaderElector(cfg, op, () => stopping);

  const server = await startHealthServer(cfg.httpPort, op.metrics.registry, {
    // Ready: not draining, Redis connected, and (when leading) the informers have listed.
    ready: () => !stopping && op.redis.status === 'ready' && (!elector.isLeader() || op.controller.synced()),
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
    op.metrics.leader.set(1);
    await op.controller.start();
  }

  onShutdown(log, cfg.shutdownGraceMs, async () => {
    stopping = true;
    if (cfg.leaderElection.enabled) await elector.stop({ release: true });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await op.close();
  });
}

main().catch((err: unknown) => {
  log.error('operator failed to start', { err });
  process.exit(1);
});
