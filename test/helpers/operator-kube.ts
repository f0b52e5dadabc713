// Shared by the operator's integration tests: Kubernetes clients for the local stack, the CRD install,
// SeckillEvent builders and bounded waits.
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import type { Admin } from 'kafkajs';
import { Registry } from 'prom-client';
import { SeckillEventClient, type CreateOptions } from '../../operator/api/client.js';
import { GROUP, PLURAL, VERSION, type SeckillEvent } from '../../operator/api/types.js';
import { composeOperator } from '../../operator/app.js';
import { readOperatorConfig, type OperatorConfig } from '../../operator/config.js';
import { createOperatorMetrics, type OperatorMetrics } from '../../operator/metrics.js';
import type { Controller } from '../../operator/runtime/controller.js';
import { ignoreNotFound, isNotFound, statusMessage } from '../../operator/runtime/kube.js';
import { createLogger, type LogLevel } from '../../workloads/shared/log.js';
import { withScripts, type ScriptedRedis } from '../../workloads/shared/redis/scripts.js';
import { stackEnv } from '../../tools/lib/stack-env.js';
import { waitFor } from '../../tools/lib/wait.js';
import { repoFile } from '../../tools/lib/paths.js';

export const NAMESPACE = 'default';
/** The connection Secret the events of these tests name (eventBody); applyConnectionSecret makes it. */
export const CONNECTION_SECRET = 'seckill-connection';
export const CRD_NAME = `${PLURAL}.${GROUP}`;

export function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(stackEnv.kubeconfig());
  return kc;
}

export { repoFile };

export { waitFor };

/** Installs (or updates) crds/seckillevent.yaml and waits until it is Established. */
export async function installCrd(kc: k8s.KubeConfig): Promise<void> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(
    readFileSync(repoFile('crds/seckillevent.yaml'), 'utf8'),
  );
  try {
    const existing = await ext.readCustomResourceDefinition({ name: CRD_NAME });
    crd.metadata = { ...crd.metadata, resourceVersion: existing.metadata?.resourceVersion };
    await ext.replaceCustomResourceDefinition({ name: CRD_NAME, body: crd });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await ext.createCustomResourceDefinition({ body: crd });
  }
  await waitFor('the SeckillEvent CRD to be established', async () => {
    const got = await ext.readCustomResourceDefinition({ name: CRD_NAME });
    return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')
      ? true
      : undefined;
  });
  // A freshly (re)installed schema takes a moment to be served: wait until a dry-run create is validated.
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await waitFor('the SeckillEvent schema to be served', async () => {
    const body = eventBody('crd-probe', { products: [{ id: 1, stock: -1 }] });
    try {
      await custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: NAMESPACE,
        plural: PLURAL,
        body,
        dryRun: 'All',
      });
      return undefined;
    } catch (err) {
      return err instanceof k8s.ApiException && err.code === 422 ? true : undefined;
    }
  });
}

export const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A valid SeckillEvent body (start in 1 h, end in 2 h), with `spec` fields overridden. */
export function eventBody(
  name: string,
  spec: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): SeckillEvent {
  const now = Date.now();
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'SeckillEvent',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      products: [
        { id: 1, stock: 1000, perUserLimit: 1 },
        { id: 2, stock: 1000, perUserLimit: 1 },
      ],
      startTime: iso(now + 3_600_000),
      endTime: iso(now + 7_200_000),
      kafka: { partitions: 2 },
      connection: { secretName: CONNECTION_SECRET },
      ...spec,
    },
    ...extra,
  };
}

/** SeckillEvents of one namespace (the tests' default one unless told), through the operator's client. */
export function seckillApi(
  kc: k8s.KubeConfig,
  namespace = NAMESPACE,
): {
  create(body: SeckillEvent, opts?: CreateOptions): Promise<SeckillEvent>;
  get(name: string): Promise<SeckillEvent>;
  patch(name: string, body: object): Promise<SeckillEvent>;
  patchStatus(name: string, body: object): Promise<SeckillEvent>;
  remove(name: string): Promise<void>;
  /** Removes finalizers and deletes: test cleanup that never waits for an operator. */
  purge(name: string): Promise<void>;
} {
  const client = new SeckillEventClient(kc);
  return {
    create: (body, opts) => client.create({ ...body, metadata: { ...body.metadata, namespace } }, opts),
    get: (name) => client.get(namespace, name),
    patch: (name, body) => client.patch(namespace, name, body),
    patchStatus: (name, body) => client.patchStatus(namespace, name, body),
    remove: (name) => client.delete(namespace, name),
    purge: async (name) => {
      await ignoreNotFound(client.patch(namespace, name, { metadata: { finalizers: null } }));
      await client.delete(namespace, name);
    },
  };
}

/** The API server's message of a rejected request (the Status body), for assertions. */
export function apiMessage(err: unknown): string {
  if (err instanceof k8s.ApiException) return statusMessage(err);
  return err instanceof Error ? err.message : String(err);
}

/**
 * Creates or replaces the connection Secret in `namespace`, so that consumer pods the operator creates there
 * really start: on the stack's cluster they reach Kafka, Redis and MariaDB at the node address.
 */
export async function applyConnectionSecret(kc: k8s.KubeConfig, namespace: string): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const body: k8s.V1Secret = {
    metadata: { name: CONNECTION_SECRET, namespace },
    stringData: {
      KAFKA_BROKERS: stackEnv.podKafkaBrokers().join(','),
      REDIS_URL: stackEnv.podRedisUrl(),
      MYSQL_URL: stackEnv.podMysqlUrl(),
    },
  };
  try {
    await core.replaceNamespacedSecret({ name: CONNECTION_SECRET, namespace, body });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await core.createNamespacedSecret({ namespace, body });
  }
}

/** The operator's controller, in-process, against the local stack (no leader election). */
export interface InProcessOperator {
  controller: Controller;
  admin: Admin;
  redis: ScriptedRedis;
  metrics: OperatorMetrics;
  stop(): Promise<void>;
}

export async function startOperator(
  kc: k8s.KubeConfig,
  overrides: Partial<OperatorConfig> = {},
): Promise<InProcessOperator> {
  const log = createLogger(
    { component: 'operator-test' },
    (process.env.LOG_LEVEL as LogLevel | undefined) ?? 'warn',
  );
  const config = readOperatorConfig({
    KAFKA_BROKERS: stackEnv.kafkaBrokers().join(','),
    REDIS_URL: stackEnv.redisUrl(),
    WATCH_NAMESPACE: NAMESPACE,
    STATUS_REFRESH_ACTIVE_MS: '500',
    STATUS_REFRESH_IDLE_MS: '2000',
    RETRY_BASE_DELAY_MS: '100',
    RETRY_MAX_DELAY_MS: '2000',
    // The single-node stack has one broker.
    TOPIC_REPLICATION_FACTOR: '1',
    TOPIC_MIN_INSYNC_REPLICAS: '1',
  });
  const cfg: OperatorConfig = { ...config, ...overrides };
  const op = await composeOperator(cfg, { log, kc, metrics: createOperatorMetrics(new Registry()) });
  await op.controller.start();
  return {
    controller: op.controller,
    admin: op.admin,
    redis: withScripts(op.redis),
    metrics: op.metrics,
    stop: () => op.close(),
  };
}
