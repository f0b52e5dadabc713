// The demo's Kubernetes side: clients, the CRD + namespace + connection Secret, the SeckillEvent built from
// examples/seckillevent.yaml, the environments of the processes that play the cluster's workloads, and
// reads of the event and of its consumer Deployment.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type SeckillEvent } from '../../operator/api/types.js';
import { ROOT } from '../lib/paths.js';
import type { DemoOptions } from './options.js';
import { run } from './processes.js';

export const NAMESPACE = 'seckill-demo';

/** Where the stack's services are (demo.sh exports them). */
export interface DemoEnv {
  kubeconfig: string;
  kafkaBrokers: string;
  redisUrl: string;
  mysqlUrl: string;
}

export interface Kube {
  kc: k8s.KubeConfig;
  custom: k8s.CustomObjectsApi;
  apps: k8s.AppsV1Api;
}

export function kubeClients(kubeconfig: string): Kube {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return { kc, custom: kc.makeApiClient(k8s.CustomObjectsApi), apps: kc.makeApiClient(k8s.AppsV1Api) };
}

export const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const kubectlApply = (obj: object): Promise<string> =>
  run('kubectl', ['apply', '-f', '-'], k8s.dumpYaml(obj));

/** Installs the CRD, the namespace and the connection Secret (examples/); returns the Secret's name. */
export async function installBasics(env: DemoEnv): Promise<string> {
  await run('kubectl', ['apply', '--server-side', '--force-conflicts', '-f', join(ROOT, 'crds/')]);
  await run('kubectl', [
    'wait',
    '--for',
    'condition=established',
    '--timeout=60s',
    'crd/seckillevents.seckill.io',
  ]);
  await kubectlApply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  const secret = k8s.loadYaml<k8s.V1Secret>(
    readFileSync(join(ROOT, 'examples/connection-secret.yaml'), 'utf8'),
  );
  secret.metadata = { ...secret.metadata, namespace: NAMESPACE };
  secret.stringData = { KAFKA_BROKERS: env.kafkaBrokers, REDIS_URL: env.redisUrl, MYSQL_URL: env.mysqlUrl };
  await kubectlApply(secret);
  return secret.metadata.name ?? 'seckill-connection';
}

export function readTemplate(): SeckillEvent {
  return k8s.loadYaml<SeckillEvent>(readFileSync(join(ROOT, 'examples/seckillevent.yaml'), 'utf8'));
}

/** The sale: the template with the demo's products, window (opening in a few seconds) and scaling. */
export function saleBody(
  template: SeckillEvent,
  o: DemoOptions,
  sale: { event: string; productIds: number[]; secretName: string; now: number },
): SeckillEvent {
  return {
    ...template,
    metadata: { name: sale.event, namespace: NAMESPACE, labels: { 'seckill.io/demo': 'true' } },
    spec: {
      ...template.spec!,
      products: sale.productIds.map((id) => ({ id, stock: o.stock, perUserLimit: o.perUserLimit })),
      startTime: iso(sale.now + o.startInSeconds * 1000),
      endTime: iso(sale.now + 3600_000),
      kafka: { partitions: o.partitions },
      consumer: {
        ...template.spec!.consumer,
        maxReplicas: o.maxReplicas,
        minReplicas: 1,
        scaleDownStabilizationSeconds: 10,
        cooldownSeconds: 5,
      },
      connection: { secretName: sale.secretName },
      cleanupPolicy: o.cleanupPolicy,
    },
  };
}

export const applySale = (body: SeckillEvent): Promise<string> => kubectlApply(body);

/** The front door's environment: the template's Batcher settings as its defaults. */
export function apiEnv(
  o: DemoOptions,
  env: DemoEnv,
  template: SeckillEvent,
  port: number,
): Record<string, string> {
  const batcher = template.spec?.batcher ?? {};
  const out: Record<string, string> = {
    KAFKA_BROKERS: env.kafkaBrokers,
    REDIS_URL: env.redisUrl,
    HTTP_PORT: String(port),
    PRODUCER_MODE: o.seedStyle ? 'per-request' : 'batched',
    SHUTDOWN_GRACE_MS: '10000',
  };
  if (batcher.size) out.BATCH_SIZE = String(batcher.size);
  if (batcher.intervalMs) out.BATCH_INTERVAL_MS = String(batcher.intervalMs);
  if (batcher.workers) out.BATCH_WORKERS = String(batcher.workers);
  if (batcher.buffer) out.BATCH_BUFFER = String(batcher.buffer);
  return out;
}

export function operatorEnv(env: DemoEnv, port: number, leaseName: string): Record<string, string> {
  return {
    KUBECONFIG: env.kubeconfig,
    KAFKA_BROKERS: env.kafkaBrokers,
    REDIS_URL: env.redisUrl,
    HTTP_PORT: String(port),
    LEADER_ELECT: 'true',
    LEADER_ELECTION_LEASE_NAME: leaseName,
    POD_NAMESPACE: NAMESPACE,
    WATCH_NAMESPACE: NAMESPACE,
    STATUS_REFRESH_ACTIVE_MS: '1000',
  };
}

/** The supervisor's arguments: the seed-style run gives the consumers the seed's guard and writes. */
export function supervisorArgs(o: DemoOptions, runDir: string): string[] {
  const args = ['--run-dir', runDir, '--namespace', NAMESPACE];
  if (o.seedStyle) args.push('--env', 'STOCK_GUARD=lua-per-entry', '--env', 'ORDER_WRITE_MODE=per-order');
  return args;
}

export async function readSke(kube: Kube, event: string): Promise<SeckillEvent> {
  return (await kube.custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    namespace: NAMESPACE,
    name: event,
  })) as SeckillEvent;
}

export async function readDeployment(kube: Kube, event: string): Promise<k8s.V1Deployment | undefined> {
  try {
    return await kube.apps.readNamespacedDeployment({ name: `${event}-consumer`, namespace: NAMESPACE });
  } catch {
    return undefined;
  }
}

/** Deletes the event (its finalizer runs) and its consumer Deployment, as a garbage collector would. */
export async function deleteSale(event: string, say: (msg: string) => void): Promise<void> {
  await run('kubectl', ['-n', NAMESPACE, 'delete', 'ske', event, '--wait=true', '--timeout=90s']).catch(
    (err: unknown) => say(`delete failed: ${err instanceof Error ? err.message : String(err)}`),
  );
  // The local stack has no garbage collector: with cleanupPolicy Retain the consumer Deployment
  // (owned by the event) would stay; delete it as the GC would, before the supervisor stops.
  await run('kubectl', [
    '-n',
    NAMESPACE,
    'delete',
    'deployment',
    `${event}-consumer`,
    '--ignore-not-found',
    '--wait=true',
    '--timeout=60s',
  ]).catch(() => undefined);
}

export async function deleteLease(kube: Kube, leaseName: string): Promise<void> {
  await kube.kc
    .makeApiClient(k8s.CoordinationV1Api)
    .deleteNamespacedLease({ name: leaseName, namespace: NAMESPACE })
    .catch(() => undefined);
}
