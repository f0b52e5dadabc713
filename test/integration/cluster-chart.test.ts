// The chart on the real local cluster: `helm upgrade --install` with this build's images brings up the
// operator and front door pods; `helm upgrade` with a changed value rolls them; and a SeckillEvent whose
// consumer pods cannot run says why in its ConsumersReady condition (a missing Secret, an image that
// cannot be pulled, a crash loop), in words a user can act on.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { SeckillEventClient } from '../../operator/api/client.js';
import type { SeckillEvent } from '../../operator/api/types.js';
import {
  API,
  OPERATOR,
  RELEASE_NAMESPACE,
  installRelease,
  localImages,
  podConnection,
  uninstallRelease,
} from '../../tools/demo/release.js';
import { uniqueName } from '../../tools/lib/stack-env.js';
import { waitFor } from '../../tools/lib/wait.js';
import { waitStatus } from '../helpers/kube.js';
import { eventBody, kubeConfig } from '../helpers/operator-kube.js';

const NS = 'seckill-it';
const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const events = new SeckillEventClient(kc);
const created: string[] = [];

async function applySecret(name: string, data: Record<string, string>): Promise<void> {
  const body: k8s.V1Secret = { metadata: { name, namespace: NS }, stringData: data };
  await core.deleteNamespacedSecret({ name, namespace: NS }).catch(() => undefined);
  await core.createNamespacedSecret({ namespace: NS, body });
}

/** An Active event (opened a minute ago) in the test namespace. */
async function createEvent(spec: Record<string, unknown>): Promise<string> {
  const name = uniqueName('it');
  const now = Date.now();
  const body: SeckillEvent = eventBody(name, {
    startTime: new Date(now - 60_000).toISOString(),
    endTime: new Date(now + 3_600_000).toISOString(),
    cleanupPolicy: 'Delete',
    ...spec,
  });
  await events.create({ ...body, metadata: { ...body.metadata, namespace: NS } });
  created.push(name);
  return name;
}

/** Waits for ConsumersReady with `reason`; returns its message. */
async function consumersReason(name: string, reason: string, timeoutMs = 120_000): Promise<string> {
  const condition = (ev: SeckillEvent) => ev.status?.conditions?.find((x) => x.type === 'ConsumersReady');
  const ev = await waitStatus(
    `ConsumersReady reason ${reason} on ${name}`,
    () => events.get(NS, name),
    (e) => condition(e)?.status === 'False' && condition(e)?.reason === reason,
    { timeoutMs },
  );
  return condition(ev)?.message ?? '';
}

const podsOf = async (selector: string): Promise<k8s.V1Pod[]> =>
  (await core.listNamespacedPod({ namespace: RELEASE_NAMESPACE, labelSelector: selector })).items;

/** The front door's key of this file's release: kept across its upgrades, so they roll only what they change. */
let jwtSecret: string | undefined;

before(async () => {
  ({ jwtSecret } = await installRelease());
  await core.createNamespace({ body: { metadata: { name: NS } } }).catch(() => undefined);
  const conn = podConnection();
  await applySecret('seckill-connection', {
    KAFKA_BROKERS: conn.kafkaBrokers,
    REDIS_URL: conn.redisUrl,
    MYSQL_URL: conn.mysqlUrl,
  });
});

after(async () => {
  for (const name of created) await events.delete(NS, name).catch(() => undefined);
  await waitFor(
    'the test events to be cleaned up',
    async () => ((await events.list(NS)).items.length === 0 ? true : undefined),
    60_000,
    500,
  ).catch(() => undefined);
  await uninstallRelease();
});

test("helm install: two operator pods (one leads) and two front door pods Ready, on this build's images, non-root", async () => {
  const images = localImages();
  for (const [component, image] of [
    ['operator', images.operator],
    ['api', images.api],
  ] as const) {
    const pods = await podsOf(`app.kubernetes.io/component=${component}`);
    const ready = pods.filter((p) =>
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    assert.equal(ready.length, 2, `${component}: two Ready pods`);
    for (const p of ready) {
      assert.equal(p.spec?.containers[0]?.image, image);
      assert.equal(p.spec?.securityContext?.runAsUser, 65532);
      assert.equal(p.spec?.containers[0]?.securityContext?.readOnlyRootFilesystem, true);
    }
  }
  // One of them leads. The Lease outlives the pods (the operator makes it, not helm): when an earlier
  // release in this namespace (the demo's, say) was not let go cleanly, its holder keeps it until the lease
  // duration has passed without renewal, and only then does one of these pods take it over.
  const coordination = kc.makeApiClient(k8s.CoordinationV1Api);
  let holder: string | undefined;
  await waitFor(
    'an operator pod of this release to hold the Lease',
    async () => {
      const lease = await coordination.readNamespacedLease({ name: OPERATOR, namespace: RELEASE_NAMESPACE });
      holder = lease.spec?.holderIdentity ?? undefined;
      const operators = (await podsOf('app.kubernetes.io/component=operator')).map((p) => p.metadata?.name);
      return holder && operators.includes(holder) ? true : undefined;
    },
    45_000,
    500,
  ).catch((err: unknown) => {
    throw new Error(`the Lease holder ${holder} is not an operator pod of this release`, { cause: err });
  });
  const svc = await core.readNamespacedService({ name: API, namespace: RELEASE_NAMESPACE });
  assert.ok(svc.spec?.clusterIP, 'the front door Service has a ClusterIP');
});

test('helm upgrade with a changed value rolls the operator pods', async () => {
  const before = new Set((await podsOf('app.kubernetes.io/component=operator')).map((p) => p.metadata?.uid));
  await installRelease({ set: { 'operator.logLevel': 'debug' }, jwtSecret });
  const dep = await apps.readNamespacedDeployment({ name: OPERATOR, namespace: RELEASE_NAMESPACE });
  const env = dep.spec?.template.spec?.containers[0]?.env ?? [];
  assert.equal(env.find((e) => e.name === 'LOG_LEVEL')?.value, 'debug');
  const after = (await podsOf('app.kubernetes.io/component=operator')).filter(
    (p) => !p.metadata?.deletionTimestamp,
  );
  assert.equal(after.length, 2);
  for (const p of after) assert.ok(!before.has(p.metadata?.uid), `pod ${p.metadata?.name} is new`);
  await installRelease({ jwtSecret });
});

test('a missing Secret: ConsumersReady says which Secret and which keys', async () => {
  const name = await createEvent({ connection: { secretName: 'no-such-secret' } });
  const message = await consumersReason(name, 'SecretMissing');
  assert.match(message, /secret "no-such-secret" not found/);
  assert.match(
    message,
    /Create the Secret no-such-secret with the keys KAFKA_BROKERS, REDIS_URL and MYSQL_URL/,
  );
});

test('an image that cannot be pulled: ConsumersReady names the image', async () => {
  const image = 'localhost/seckill/consumer:does-not-exist';
  const name = await createEvent({ consumer: { image } });
  const message = await consumersReason(name, 'ImagePullFailed');
  assert.match(message, new RegExp(`cannot pull its image ${image.replace(/[/.:-]/g, '\\$&')}`));
});

test('a consumer that crash-loops: ConsumersReady gives the exit code and the logs command', async () => {
  await applySecret('bad-connection', {
    KAFKA_BROKERS: 'x:1',
    REDIS_URL: 'not-a-url',
    MYSQL_URL: 'mysql://x@x/x',
  });
  const name = await createEvent({ connection: { secretName: 'bad-connection' } });
  const message = await consumersReason(name, 'CrashLooping', 150_000);
  assert.match(message, /keeps crashing \(exit code [1-9]/);
  assert.match(message, new RegExp(`kubectl logs -n ${NS} ${name}-consumer-`));
});
