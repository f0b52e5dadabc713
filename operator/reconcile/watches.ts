// What the SeckillEvent controller watches (controller-runtime's For + Owns): the SeckillEvents (key =
// the event) and the consumer Deployments (label app.kubernetes.io/name=seckill-consumer; key = the
// owning event), so a Deployment changed or deleted behind our back, or one whose pods became ready,
// brings its event back to the reconciler.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../../workloads/shared/log.js';
import { SeckillEventClient } from '../api/client.js';
import { GROUP, PLURAL, VERSION, objectKey, type SeckillEvent } from '../api/types.js';
import type { OperatorConfig } from '../config.js';
import type { OperatorMetrics } from '../metrics.js';
import { CONSUMER_SELECTOR, ownerKey } from '../resources/consumer-deployment.js';
import type { Watch } from '../runtime/controller.js';
import { ResilientInformer } from '../runtime/informer.js';

export interface WatchDeps {
  kc: k8s.KubeConfig;
  metrics: OperatorMetrics;
  log: Logger;
  config: Pick<OperatorConfig, 'watchNamespace' | 'informer'>;
}

// The watch path carries timeoutSeconds: the API server ends each watch, the informer reconnects, and
// that reconnect is the heartbeat the staleness guard looks for.
const withTimeout = (path: string, s: number): string => `${path}?timeoutSeconds=${s}`;

export function seckillEventWatches(d: WatchDeps, enqueue: (key: string) => void): Watch[] {
  const { kc, config, metrics, log } = d;
  const ns = config.watchNamespace;
  const client = new SeckillEventClient(kc);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const common = {
    log,
    watchTimeoutSeconds: config.informer.watchTimeoutSeconds,
    staleAfterMs: config.informer.staleAfterMs,
  };
  const eventsPath = ns
    ? `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`
    : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
  const events = new ResilientInformer<SeckillEvent>({
    ...common,
    resource: PLURAL,
    make: (s) => k8s.makeInformer<SeckillEvent>(kc, withTimeout(eventsPath, s), () => client.list(ns)),
    onEvent: (_type, obj) => {
      const md = obj.metadata;
      if (md?.name) enqueue(objectKey(md.namespace ?? 'default', md.name));
    },
    onRestart: (reason) => metrics.informerRestarts.inc({ resource: PLURAL, reason }),
  });
  const deploymentsPath = ns ? `/apis/apps/v1/namespaces/${ns}/deployments` : '/apis/apps/v1/deployments';
  const listDeployments = (): Promise<k8s.KubernetesListObject<k8s.V1Deployment>> =>
    ns
      ? apps.listNamespacedDeployment({ namespace: ns, labelSelector: CONSUMER_SELECTOR })
      : apps.listDeploymentForAllNamespaces({ labelSelector: CONSUMER_SELECTOR });
  const deployments = new ResilientInformer<k8s.V1Deployment>({
    ...common,
    resource: 'deployments',
    make: (s) =>
      k8s.makeInformer<k8s.V1Deployment>(
        kc,
        withTimeout(deploymentsPath, s),
        listDeployments,
        CONSUMER_SELECTOR,
      ),
    onEvent: (_type, dep) => {
      const key = ownerKey(dep);
      if (key) enqueue(key);
    },
    onRestart: (reason) => metrics.informerRestarts.inc({ resource: 'deployments', reason }),
  });
  return [events, deployments];
}
