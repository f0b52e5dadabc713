// Event names are global in Redis (seckill:event:{name}, stock keys) and Kafka (seckill.<name>.purchases)
// while SeckillEvents are namespaced. Two operators (in-process, one per namespace, as two installs sharing
// Redis and Kafka would run) and one name in two namespaces: the first owns the name (catalog field
// `owner`), the second is refused (Failed, StockPreloaded False NameConflict, a Warning Event) without a
// write to Redis or Kafka; deleting the refused one (Delete or Retain) leaves the owner's data alone; a
// re-created event in the owner's namespace adopts the name; once the owner is deleted, the waiting
// event takes the name over.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type SeckillEvent } from '../../operator/api/types.js';
import { consumerDeploymentName } from '../../operator/resources/consumer-deployment.js';
import { deleteEvent, OWNER_FIELD, readEvent, readStock } from '../../workloads/shared/catalog.js';
import { keys } from '../../workloads/shared/keys.js';
import { deadLetterTopic, purchaseTopic } from '../../workloads/shared/kafka/topics.js';
import {
  eventBody,
  installCrd,
  kubeConfig,
  startOperator,
  type InProcessOperator,
} from '../helpers/operator-kube.js';
import { uniqueName } from '../../tools/lib/stack-env.js';
import { waitFor } from '../../tools/lib/wait.js';
import { deleteNamespace, isNotFound, waitGone, waitStatus as waitObject } from '../helpers/kube.js';

const kc = kubeConfig();
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

const ns1 = uniqueName('conflict-a');
const ns2 = uniqueName('conflict-b');
const name = uniqueName('same');
const topic = purchaseTopic(name);
const namespaces: string[] = [];
let op1: InProcessOperator;
let op2: InProcessOperator;

const base = (namespace: string): { group: string; version: string; namespace: string; plural: string } => ({
  group: GROUP,
  version: VERSION,
  namespace,
  plural: PLURAL,
});

async function create(namespace: string, spec: Record<string, unknown>): Promise<SeckillEvent> {
  return (await custom.createNamespacedCustomObject({
    ...base(namespace),
    body: eventBody(name, spec, { metadata: { name, namespace } }),
  })) as SeckillEvent;
}

const get = async (namespace: string): Promise<SeckillEvent | undefined> =>
  (await custom.getNamespacedCustomObject({ ...base(namespace), name }).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  })) as SeckillEvent | undefined;

const waitStatus = (
  namespace: string,
  what: string,
  ok: (ev: SeckillEvent) => boolean,
  timeoutMs = 20_000,
): Promise<SeckillEvent> =>
  waitObject(`${namespace}/${name}: ${what}`, () => get(namespace), ok, { timeoutMs });

async function deleteAndWait(namespace: string): Promise<void> {
  await custom.deleteNamespacedCustomObject({ ...base(namespace), name });
  await waitGone(`${namespace}/${name} to be finalized and gone`, () => get(namespace));
}

/** Drops the finalizer and deletes: the object goes without any cleanup. */
async function purge(namespace: string): Promise<void> {
  await custom
    .patchNamespacedCustomObject(
      { ...base(namespace), name, body: { metadata: { finalizers: null } } },
      merge,
    )
    .catch(() => undefined);
  await custom.deleteNamespacedCustomObject({ ...base(namespace), name }).catch(() => undefined);
  await waitGone(`${namespace}/${name} to be gone`, () => get(namespace));
}

const cond = (ev: SeckillEvent, type: string): { status?: string; reason?: string; message?: string } =>
  ev.status?.conditions?.find((c) => c.type === type) ?? {};

const owner = (): Promise<string | null> => op1.redis.redis.hget(keys.event(name), OWNER_FIELD);

async function partitionsOf(t: string): Promise<number | undefined> {
  if (!(await op1.admin.listTopics()).includes(t)) return undefined;
  const meta = await op1.admin.fetchTopicMetadata({ topics: [t] });
  return meta.topics[0]?.partitions.length;
}

/** Everything the owner has in Redis and Kafka, to show a refused event changed none of it. */
async function globalState(): Promise<unknown> {
  const r = op1.redis.redis;
  return {
    catalog: await r.hgetall(keys.event(name)),
    listed: await r.sismember(keys.events(), name),
    stock: [await readStock(r, name, 1), await readStock(r, name, 2), await readStock(r, name, 3)],
    partitions: await partitionsOf(topic),
  };
}

async function warnings(namespace: string, uid: string | undefined): Promise<k8s.CoreV1Event[]> {
  const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
  return list.items.filter((e) => e.involvedObject.uid === uid && e.type === 'Warning');
}

async function noDeployment(namespace: string): Promise<boolean> {
  return apps
    .readNamespacedDeployment({ name: consumerDeploymentName(name), namespace })
    .then(() => false)
    .catch((err: unknown) => isNotFound(err));
}

before(async () => {
  await installCrd(kc);
  for (const ns of [ns1, ns2]) {
    await core.createNamespace({ body: { metadata: { name: ns } } });
    namespaces.push(ns);
  }
  op1 = await startOperator(kc, { watchNamespace: ns1 });
  op2 = await startOperator(kc, { watchNamespace: ns2 });
});

after(async () => {
  for (const ns of namespaces) await purge(ns).catch(() => undefined);
  if (op1) {
    await deleteEvent(op1.redis.redis, {
      name,
      products: [1, 2, 3].map((id) => ({ id, stock: 0, perUserLimit: 1 })),
    }).catch(() => undefined);
    const existing = await op1.admin.listTopics().catch(() => [] as string[]);
    const doomed = [topic, deadLetterTopic(topic)].filter((t) => existing.includes(t));
    if (doomed.length) await op1.admin.deleteTopics({ topics: doomed }).catch(() => undefined);
  }
  await op1?.stop();
  await op2?.stop();
  for (const ns of namespaces) await deleteNamespace(kc, ns);
});

test('one name in two namespaces: the second is refused with NameConflict and changes nothing; cleanup only as the owner; adoption and takeover', async () => {
  // ns1 owns the name.
  const first = await create(ns1, {
    products: [
      { id: 1, stock: 100 },
      { id: 2, stock: 100 },
    ],
    kafka: { partitions: 2 },
    cleanupPolicy: 'Delete',
  });
  await waitStatus(ns1, 'Scheduled', (ev) => ev.status?.phase === 'Scheduled');
  assert.equal(await owner(), `${ns1}/${first.metadata?.uid}`);
  const owned = await globalState();
  assert.equal(
    (await readEvent(op1.redis.redis, name))?.products.length,
    2,
    'the front door still parses it',
  );

  // ns2, same name, other stock and partitions: refused, nothing written.
  const rival = await create(ns2, {
    products: [
      { id: 1, stock: 7 },
      { id: 3, stock: 7 },
    ],
    kafka: { partitions: 3 },
    cleanupPolicy: 'Delete',
  });
  const refused = await waitStatus(ns2, 'Failed', (ev) => ev.status?.phase === 'Failed');
  assert.equal(refused.status?.reason, 'NameConflict');
  const stock = cond(refused, 'StockPreloaded');
  assert.equal(stock.status, 'False');
  assert.equal(stock.reason, 'NameConflict');
  assert.match(stock.message ?? '', new RegExp(`already used by SeckillEvent ${ns1}/${name}`));
  assert.match(stock.message ?? '', /global across namespaces/);
  console.log(`# ${ns2}/${name}: ${stock.message}`);
  assert.equal(cond(refused, 'Ready').status, 'False');
  const warned = await waitFor('the NameConflict Warning Event', async () => {
    const w = await warnings(ns2, rival.metadata?.uid);
    return w.some((e) => e.reason === 'NameConflict') ? w : undefined;
  });
  assert.match(warned.find((e) => e.reason === 'NameConflict')?.message ?? '', /already used/);
  await new Promise((r) => setTimeout(r, 500)); // a few more reconciles of both
  assert.deepEqual(await globalState(), owned, 'Redis and Kafka unchanged by the refused event');
  assert.ok(await noDeployment(ns2), 'no consumer Deployment for the refused event');

  // Deleting the refused event (Delete policy) leaves the owner's keys and topic alone.
  await deleteAndWait(ns2);
  assert.deepEqual(await globalState(), owned, 'Delete cleanup of a non-owner touched nothing global');
  // ...and with Retain, the catalog entry stays listed for the front door.
  await create(ns2, { cleanupPolicy: 'Retain' });
  await waitStatus(ns2, 'Failed', (ev) => ev.status?.reason === 'NameConflict');
  await deleteAndWait(ns2);
  assert.deepEqual(await globalState(), owned, 'Retain cleanup of a non-owner touched nothing global');
  assert.equal(
    (await waitStatus(ns1, 'still Scheduled', (ev) => ev.status?.phase === 'Scheduled')).status
      ?.observedGeneration,
    1,
  );

  // The owner vanishes without cleanup (finalizer dropped by hand) and is re-created in its namespace:
  // the new uid adopts the name (the old object cannot exist any more).
  await purge(ns1);
  assert.equal(await owner(), `${ns1}/${first.metadata?.uid}`, 'the claim outlives a purge');
  const second = await create(ns1, {
    products: [
      { id: 1, stock: 100 },
      { id: 2, stock: 100 },
    ],
    kafka: { partitions: 2 },
    cleanupPolicy: 'Delete',
  });
  await waitStatus(
    ns1,
    'Scheduled after adopting the name',
    (ev) => ev.status?.phase === 'Scheduled' && cond(ev, 'StockPreloaded').status === 'True',
  );
  assert.equal(await owner(), `${ns1}/${second.metadata?.uid}`);

  // A rival waits in ns2; when the owner is deleted (its cleanup frees the name), it takes over.
  const waiting = await create(ns2, {
    products: [
      { id: 1, stock: 7 },
      { id: 3, stock: 7 },
    ],
    kafka: { partitions: 3 },
    cleanupPolicy: 'Delete',
  });
  await waitStatus(ns2, 'Failed', (ev) => ev.status?.reason === 'NameConflict');
  const t0 = Date.now();
  await deleteAndWait(ns1);
  const took = await waitStatus(
    ns2,
    'the waiting event to take the name over',
    (ev) => ev.status?.phase === 'Scheduled' && cond(ev, 'TopicReady').status === 'True',
    40_000,
  );
  console.log(`# the waiting event took the freed name over ${Date.now() - t0} ms after the owner's delete`);
  assert.equal(took.status?.reason, undefined);
  assert.equal(cond(took, 'StockPreloaded').status, 'True');
  assert.equal(await owner(), `${ns2}/${waiting.metadata?.uid}`);
  assert.deepEqual(await readStock(op1.redis.redis, name, 1), { total: 7, sold: 0 });
  assert.deepEqual(
    await readStock(op1.redis.redis, name, 2),
    { total: 0, sold: 0 },
    "the old owner's product gone",
  );
  assert.equal(await partitionsOf(topic), 3);

  // Its own Delete cleanup, as the owner, removes everything.
  await deleteAndWait(ns2);
  assert.equal(await op1.redis.redis.exists(keys.event(name)), 0);
  assert.equal(await partitionsOf(topic), undefined);
});
