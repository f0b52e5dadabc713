// The demo's Kubernetes side: clients, the event's namespace and connection Secret (the addresses pods
// reach), the SeckillEvent built from examples/seckillevent.yaml, and reads of the event, of its
// consumer Deployment and of the node.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type SeckillEvent } from '../../operator/api/types.js';
import { ROOT } from '../lib/paths.js';
import type { DemoOptions } from './options.js';
import { run } from './processes.js';

export const NAMESPACE = 'seckill-demo';

/** Where the stack's services are for the host (demo.sh exports them); the pods' are in release.ts. */
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

/**
 * The event's namespace and its connection Secret (examples/connection-secret.yaml with the addresses
 * the pods reach); returns the Secret's name. The CRD comes with the chart.
 */
export async function installBasics(conn: {
  kafkaBrokers: string;
  redisUrl: string;
  mysqlUrl: string;
}): Promise<string> {
  await kubectlApply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  const secret = k8s.loadYaml<k8s.V1Secret>(
    readFileSync(join(ROOT, 'examples/connection-secret.yaml'), 'utf8'),
  );
  secret.metadata = { ...secret.metadata, namespace: NAMESPACE };
  secret.stringData = {
    KAFKA_BROKERS: conn.kafkaBrokers,
    REDIS_URL: conn.redisUrl,
    MYSQL_URL: conn.mysqlUrl,
  };
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

/** Deletes the event: its finalizer runs, and the garbage collector removes its consumer Deployment. */
export async function deleteSale(event: string, say: (msg: string) => void): Promise<void> {
  await run('kubectl', ['-n', NAMESPACE, 'delete', 'ske', event, '--wait=true', '--timeout=90s']).catch(
    (err: unknown) => say(`delete failed: ${err instanceof Error ? err.message : String(err)}`),
  );
}

/** The node is Ready (the stack's single node). */
export async function nodeReady(kube: Kube): Promise<boolean> {
  const nodes = await kube.kc.makeApiClient(k8s.CoreV1Api).listNode();
  return nodes.items.some((n) =>
    n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
}
