// The project installed the way a user installs it: `helm upgrade --install` of charts/seckill into the
// local cluster with tools/demo/values-local.yaml, the images built by tools/stack/images.sh and the
// connection settings the pods can reach (the stack's node address). The CRD is applied with kubectl
// (`crds.install=false`, the chart's documented alternative): the integration tests install it that way
// too, and helm refuses to adopt a CRD it did not create. The front door verifies buyer tokens: before
// helm runs, the Secret with its HS256 key is applied (auth-secret.ts), and the key is handed back so the
// load can sign tokens the front door accepts. Also where the front door answers:
// its Service's ClusterIP, reached from the host through kube-proxy (a port-forward is too slow for
// 10k requests a second).
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ROOT } from '../lib/paths.js';
import { requireEnv } from '../lib/stack-env.js';
import {
  AUTH_SECRET,
  applyAuthSecret,
  deleteAuthSecret,
  keyFingerprint,
  randomJwtSecret,
} from './auth-secret.js';
import { run } from './processes.js';

export const RELEASE = 'seckill';
export const RELEASE_NAMESPACE = 'seckill-system';
export const OPERATOR = `${RELEASE}-operator`;
export const API = `${RELEASE}-api`;

const HINT = 'run through demo.sh (it sources the stack env and the images built by tools/stack/images.sh)';

/** An image reference split as the chart wants it. */
export function splitImage(ref: string): { repository: string; tag: string } {
  const at = ref.lastIndexOf(':');
  if (at <= ref.lastIndexOf('/')) throw new Error(`image ${ref} has no tag`);
  return { repository: ref.slice(0, at), tag: ref.slice(at + 1) };
}

/** The three images of this build (tools/stack/images.sh exports them). */
export function localImages(): { operator: string; api: string; consumer: string } {
  return {
    operator: requireEnv('SECKILL_IMAGE_OPERATOR', HINT),
    api: requireEnv('SECKILL_IMAGE_API', HINT),
    consumer: requireEnv('SECKILL_IMAGE_CONSUMER', HINT),
  };
}

/**
 * Where the pods find Kafka, Redis and MySQL (the stack's services on its node address): the single-node
 * engines, or with `ha` the HA profile's three brokers and Redis Cluster (MySQL is one MariaDB either way).
 */
export function podConnection(ha = false): { kafkaBrokers: string; redisUrl: string; mysqlUrl: string } {
  const haHint = 'start the HA engines: bash tools/stack/stack.sh up --ha (demo.sh --ha does)';
  return {
    kafkaBrokers: ha ? requireEnv('POD_HA_KAFKA_BROKERS', haHint) : requireEnv('POD_KAFKA_BROKERS', HINT),
    redisUrl: ha ? requireEnv('POD_HA_REDIS_URL', haHint) : requireEnv('POD_REDIS_URL', HINT),
    mysqlUrl: requireEnv('POD_MYSQL_URL', HINT),
  };
}

export interface ReleaseOptions {
  /** Extra values (e.g. the seed-style run's settings): strings as `--set-string`, numbers as `--set`. */
  set?: Record<string, string | number>;
  /** The pods' connection settings on the HA engines (podConnection). */
  ha?: boolean;
  /** The front door's HS256 key (at least 32 bytes); default a new random one for each install. */
  jwtSecret?: string;
}

export interface InstalledRelease {
  /** helm's output. */
  output: string;
  /** The key the front door verifies buyer tokens with: sign them with it (tools/lib/buyer-tokens.ts). */
  jwtSecret: string;
}

function releaseValues(o: ReleaseOptions, jwtSecret: string): Record<string, string | number> {
  const images = localImages();
  const conn = podConnection(o.ha);
  const values: Record<string, string | number> = {
    'connection.kafkaBrokers': conn.kafkaBrokers,
    'connection.redisUrl': conn.redisUrl,
    'connection.mysqlUrl': conn.mysqlUrl,
    'auth.existingSecret': AUTH_SECRET,
    // The pods read the key when they start: a new key rolls them (helm --wait then waits for the new ones).
    'api.podAnnotations.seckill\\.io/auth-key-sha256': keyFingerprint(jwtSecret),
  };
  for (const [key, ref] of [
    ['operator.image', images.operator],
    ['api.image', images.api],
    ['operator.consumer.image', images.consumer],
  ] as const) {
    const { repository, tag } = splitImage(ref);
    values[`${key}.repository`] = repository;
    values[`${key}.tag`] = tag;
  }
  return { ...values, ...o.set };
}

/** The CRD from crds/, applied server-side, once it is Established. */
export async function installCrd(): Promise<void> {
  await run('kubectl', ['apply', '--server-side', '--force-conflicts', '-f', join(ROOT, 'crds/')]);
  await run('kubectl', [
    'wait',
    '--for',
    'condition=established',
    '--timeout=60s',
    'crd/seckillevents.seckill.io',
  ]);
}

/**
 * The CRD, the front door's key Secret, then helm upgrade --install, waiting until the operator and the
 * front door are Ready (on that key); answers helm's output and the key.
 */
export async function installRelease(o: ReleaseOptions = {}): Promise<InstalledRelease> {
  await installCrd();
  const jwtSecret = o.jwtSecret ?? randomJwtSecret();
  await applyAuthSecret(RELEASE_NAMESPACE, jwtSecret);
  // helm splits --set values at commas (a broker list has them): escape them. Numbers go as numbers (the
  // chart's schema wants integers where it says so).
  const sets = Object.entries(releaseValues(o, jwtSecret)).flatMap(([k, v]) =>
    typeof v === 'number' ? ['--set', `${k}=${v}`] : ['--set-string', `${k}=${v.replace(/,/g, '\\,')}`],
  );
  const output = await run(
    'helm',
    [
      'upgrade',
      '--install',
      RELEASE,
      join(ROOT, 'charts/seckill'),
      '--namespace',
      RELEASE_NAMESPACE,
      '--create-namespace',
      '-f',
      join(ROOT, 'tools/demo/values-local.yaml'),
      ...sets,
      '--wait',
      '--timeout',
      '180s',
    ],
    undefined,
    200_000,
  );
  return { output, jwtSecret };
}

/** helm uninstall, then the key Secret installRelease made. */
export async function uninstallRelease(): Promise<void> {
  await run(
    'helm',
    ['uninstall', RELEASE, '--namespace', RELEASE_NAMESPACE, '--wait', '--timeout', '120s'],
    undefined,
    130_000,
  );
  await deleteAuthSecret(RELEASE_NAMESPACE);
}

/** The front door's Service address, http://<ClusterIP>:<port>. */
export async function frontDoorUrl(kc: k8s.KubeConfig): Promise<string> {
  const svc = await kc
    .makeApiClient(k8s.CoreV1Api)
    .readNamespacedService({ name: API, namespace: RELEASE_NAMESPACE });
  const ip = svc.spec?.clusterIP;
  const port = svc.spec?.ports?.[0]?.port;
  if (!ip || !port) throw new Error(`Service ${RELEASE_NAMESPACE}/${API} has no ClusterIP or port`);
  return `http://${ip}:${port}`;
}
