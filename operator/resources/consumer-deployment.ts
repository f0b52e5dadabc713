// The consumer Deployment of an event, built as a pure function of the event and the operator's settings
// and applied with server-side apply (field manager "seckill-operator"), so re-applying is idempotent and
// drift in the fields we own is corrected while fields others own are left alone.
//
// The consumer's environment contract (workloads/consumer reads these):
//   SECKILL_EVENT    the event name (Redis keys, consumer group consumerGroup(event))
//   KAFKA_TOPIC      the purchase topic (spec.kafka.topic or seckill.<event>.purchases)
//   CONSUMER_SHARDS  parallel ordered workers per pod (spec.consumer.shardsPerPod)
//   STOCK_GUARD      "lua" (the atomic Redis claim script)
//   HTTP_PORT        9102 (/healthz, /readyz, /metrics)
//   CLAIM_WAIT_REPLICAS, CLAIM_WAIT_TIMEOUT_MS  durable claims (the operator's CONSUMER_CLAIM_WAIT_*)
//   KAFKA_BROKERS, REDIS_URL, MYSQL_URL from the Secret spec.connection.secretName (same key names)
//   POD_NAME         the pod's name (downward API), a unique consumer id
import type { V1Container, V1Deployment, V1EnvVar, V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, KIND, objectKey, type ParsedEvent } from '../api/types.js';

export const CONSUMER_APP = 'seckill-consumer';
export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_EVENT = 'seckill.io/event';
export const CONSUMER_SELECTOR = `${LABEL_NAME}=${CONSUMER_APP}`;
export const CONSUMER_HTTP_PORT = 9102;
export const FIELD_MANAGER = 'seckill-operator';

export const consumerDeploymentName = (event: string): string => `${event}-consumer`;

export interface ConsumerResources {
  cpuRequest: string;
  memoryRequest: string;
  cpuLimit?: string;
  memoryLimit: string;
}

/** Redis replicas that must confirm each claim before the consumer acts on it, and how long to wait. */
export interface ClaimWait {
  replicas: number;
  timeoutMs: number;
}

export interface ConsumerDeploymentOptions {
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  replicas: number;
  resources: ConsumerResources;
  /** Durable claims; absent = the consumer's defaults (no wait). */
  claimWait?: ClaimWait;
  /** Extra environment of every consumer (the operator's CONSUMER_EXTRA_ENV); it overrides the above. */
  extraEnv?: Readonly<Record<string, string>>;
}

export function ownerReference(ev: Pick<ParsedEvent, 'name' | 'uid'>): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: ev.name,
    uid: ev.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

const fromSecret = (secret: string, key: string): V1EnvVar => ({
  name: key,
  valueFrom: { secretKeyRef: { name: secret, key } },
});

export function buildConsumerDeployment(ev: ParsedEvent, o: ConsumerDeploymentOptions): V1Deployment {
  const labels = {
    [LABEL_NAME]: CONSUMER_APP,
    'app.kubernetes.io/instance': ev.name,
    'app.kubernetes.io/component': 'consumer',
    'app.kubernetes.io/part-of': 'seckill',
    'app.kubernetes.io/managed-by': FIELD_MANAGER,
    [LABEL_EVENT]: ev.name,
  };
  const selector = { [LABEL_NAME]: CONSUMER_APP, [LABEL_EVENT]: ev.name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: consumerDeploymentName(ev.name),
      namespace: ev.namespace,
      labels,
      ownerReferences: [ownerReference(ev)],
    },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels,
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(CONSUMER_HTTP_PORT),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          // The consumer commits offsets only after Redis and MySQL: a drain on SIGTERM needs time.
          terminationGracePeriodSeconds: 60,
          // The chart's podSecurityContext for the operator and the front door, the same for consumers:
          // the image's non-root user, the runtime's default seccomp profile.
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            fsGroup: 65532,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          automountServiceAccountToken: false,
          containers: [consumerContainer(ev, o)],
        },
      },
    },
  };
}

/** The base environment with the extra variables applied (an extra one replaces a base one of its name). */
function withExtraEnv(base: V1EnvVar[], extra: Readonly<Record<string, string>> = {}): V1EnvVar[] {
  const names = new Set(Object.keys(extra));
  return [
    ...base.filter((e) => !names.has(e.name)),
    ...Object.entries(extra).map(([name, value]) => ({ name, value })),
  ];
}

/** The consumer container: the environment contract above, probes, resources, a locked-down context. */
function consumerContainer(ev: ParsedEvent, o: ConsumerDeploymentOptions): V1Container {
  const limits: Record<string, string> = { memory: o.resources.memoryLimit };
  if (o.resources.cpuLimit) limits.cpu = o.resources.cpuLimit;
  return {
    name: 'consumer',
    image: ev.consumer.image ?? o.image,
    ...(o.imagePullPolicy ? { imagePullPolicy: o.imagePullPolicy } : {}),
    env: withExtraEnv(
      [
        { name: 'SECKILL_EVENT', value: ev.name },
        { name: 'KAFKA_TOPIC', value: ev.topic },
        { name: 'CONSUMER_SHARDS', value: String(ev.consumer.shardsPerPod) },
        { name: 'STOCK_GUARD', value: 'lua' },
        { name: 'HTTP_PORT', value: String(CONSUMER_HTTP_PORT) },
        ...(o.claimWait
          ? [
              { name: 'CLAIM_WAIT_REPLICAS', value: String(o.claimWait.replicas) },
              { name: 'CLAIM_WAIT_TIMEOUT_MS', value: String(o.claimWait.timeoutMs) },
            ]
          : []),
        fromSecret(ev.secretName, 'KAFKA_BROKERS'),
        fromSecret(ev.secretName, 'REDIS_URL'),
        fromSecret(ev.secretName, 'MYSQL_URL'),
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ],
      o.extraEnv,
    ),
    ports: [{ name: 'http', containerPort: CONSUMER_HTTP_PORT, protocol: 'TCP' }],
    readinessProbe: {
      httpGet: { path: '/readyz', port: 'http' },
      periodSeconds: 5,
      failureThreshold: 2,
    },
    livenessProbe: {
      httpGet: { path: '/healthz', port: 'http' },
      periodSeconds: 10,
      failureThreshold: 3,
    },
    resources: {
      requests: { cpu: o.resources.cpuRequest, memory: o.resources.memoryRequest },
      limits,
    },
    securityContext: {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}

/** Whether a Deployment is ours for this event (controller owner reference with the event's uid). */
export function ownedBy(dep: V1Deployment, uid: string): boolean {
  return (dep.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.uid === uid);
}

/** The owning SeckillEvent's queue key of a Deployment, or undefined when a SeckillEvent does not own it. */
export function ownerKey(dep: V1Deployment): string | undefined {
  const ref = (dep.metadata?.ownerReferences ?? []).find((r) => r.controller === true && r.kind === KIND);
  if (!ref || !ref.apiVersion.startsWith('seckill.io/')) return undefined;
  return objectKey(dep.metadata?.namespace ?? 'default', ref.name);
}
