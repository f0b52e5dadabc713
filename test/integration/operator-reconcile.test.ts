// The operator reconciling SeckillEvents end to end, in-process, against the real kube-apiserver, Redis
// and Kafka: preload, topic, Deployment, status and conditions, edits, scaling from injected lag, phases
// moving with the clock, and the finalizer's cleanup per policy.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { consumerDeploymentName } from '../../operator/resources/consumer-deployment.js';
import { FINALIZER, type Condition, type SeckillEvent } from '../../operator/api/types.js';
import { deleteEvent, readEvent, readStock } from '../../workloads/shared/catalog.js';
import { keys } from '../../workloads/shared/keys.js';
import { createKafka } from '../../workloads/shared/kafka/client.js';
import { consumerGroup, deadLetterTopic, purchaseTopic } from '../../workloads/shared/kafka/topics.js';
import { createLogger } from '../../workloads/shared/log.js';
import {
  apiMessage,
  applyConnectionSecret,
  eventBody,
  installCrd,
  iso,
  kubeConfig,
  NAMESPACE,
  seckillApi,
  startOperator,
  type InProcessOperator,
} from '../helpers/operator-kube.js';
import { waitFor } from '../../tools/lib/wait.js';
import { stackEnv, testKafka, uniqueName } from '../../tools/lib/stack-env.js';
import { waitGone, waitStatus as waitObject } from '../helpers/kube.js';

const kc = kubeConfig();
const api = seckillApi(kc);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);
const created: { name: string; products: number[] }[] = [];
let op: InProcessOperator;

before(async () => {
  await installCrd(kc);
  // Real consumer pods on the stack's cluster: this build's image, and a connection Secret with the
  // addresses pods reach.
  await applyConnectionSecret(kc, NAMESPACE);
  op = await startOperator(kc, {
    consumerImage: stackEnv.images().consumer,
    consumerImagePullPolicy: 'Never',
  });
});

after(async () => {
  try {
    await removeCreated();
  } finally {
    await op.stop(); // else its loops keep the test process alive after a failed cleanup
  }
});

/** What the tests created: events, Deployments, Redis keys and topics (a topic already gone is fine). */
async function removeCreated(): Promise<void> {
  for (const { name, products } of created) {
    await api.purge(name);
    await apps
      .deleteNamespacedDeployment({ name: consumerDeploymentName(name), namespace: NAMESPACE })
      .catch(() => undefined);
    await deleteEvent(op.redis.redis, {
      name,
      products: products.map((id) => ({ id, stock: 0, perUserLimit: 1 })),
    });
    const topics = await op.admin.listTopics();
    const doomed = [purchaseTopic(name), deadLetterTopic(purchaseTopic(name))].filter((t) =>
      topics.includes(t),
    );
    if (doomed.length) await op.admin.deleteTopics({ topics: doomed }).catch(() => undefined);
  }
}

/**
 * Commits the topic's end offsets for the event's group, as consumers that drained it would, and waits
 * until Kafka reports them. kafkajs' setOffsets joins the group with a consumer of its own, which can get
 * an empty assignment right after the topic changed and then commits nothing: so it is checked and
 * repeated, from an admin of its own (the operator's is busy reconciling other events).
 */
async function commitEnds(name: string): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const topic = purchaseTopic(name);
    const groupId = consumerGroup(name);
    await waitFor(
      `the group ${groupId} committed at the end of ${topic}`,
      async () => {
        const ends = await admin.fetchTopicOffsets(topic);
        await admin.setOffsets({
          groupId,
          topic,
          partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })),
        });
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        const at = new Map(committed?.partitions.map((p) => [p.partition, p.offset]));
        return ends.every((e) => at.get(e.partition) === e.high) ? true : undefined;
      },
      20_000,
      500,
    );
  } finally {
    await admin.disconnect();
  }
}

function track(name: string, products: number[]): string {
  created.push({ name, products });
  return name;
}

async function partitionsOf(topic: string): Promise<number | undefined> {
  if (!(await op.admin.listTopics()).includes(topic)) return undefined;
  const meta = await op.admin.fetchTopicMetadata({ topics: [topic] });
  return meta.topics[0]?.partitions.length;
}

const condition = (ev: SeckillEvent, type: string): Condition | undefined =>
  ev.status?.conditions?.find((c) => c.type === type);

const waitStatus = (
  name: string,
  what: string,
  ok: (ev: SeckillEvent) => boolean,
  timeoutMs = 20_000,
): Promise<SeckillEvent> => waitObject(what, () => api.get(name), ok, { timeoutMs });

async function eventsOf(name: string): Promise<k8s.CoreV1Event[]> {
  const list = await core.listNamespacedEvent({
    namespace: NAMESPACE,
    fieldSelector: `involvedObject.name=${name}`,
  });
  return list.items;
}

test('create: stock preloaded, topic created, Deployment owned and pre-warmed, status and conditions; then Ready', async () => {
  const name = track(uniqueName('ske'), [1, 2, 3]);
  const t0 = Date.now();
  const start = Date.now() + 3_600_000;
  const createdEv = await api.create(
    eventBody(name, {
      products: [
        { id: 1, stock: 1000 },
        { id: 2, stock: 1000, perUserLimit: 2 },
        { id: 3, stock: 1000 },
      ],
      startTime: iso(start),
      endTime: iso(start + 3_600_000),
      kafka: { partitions: 3 },
      consumer: { minReplicas: 2, maxReplicas: 4 },
    }),
  );

  const scheduled = await waitStatus(name, 'phase Scheduled', (ev) => ev.status?.phase === 'Scheduled');
  assert.equal(scheduled.status?.observedGeneration, 1);
  assert.equal(scheduled.status?.partitions, 3);
  // The operator's defaults on the one-broker stack (TOPIC_REPLICATION_FACTOR / TOPIC_MIN_INSYNC_REPLICAS 1),
  // as Kafka reports them.
  assert.equal(scheduled.status?.replicationFactor, 1);
  assert.equal(scheduled.status?.minInSyncReplicas, 1);
  assert.equal(scheduled.status?.totalStock, 3000);
  assert.equal(scheduled.status?.totalSold, 0);
  assert.deepEqual(scheduled.status?.products, [
    { id: 1, total: 1000, sold: 0 },
    { id: 2, total: 1000, sold: 0 },
    { id: 3, total: 1000, sold: 0 },
  ]);
  assert.deepEqual(scheduled.status?.consumers, {
    deployment: `${name}-consumer`,
    desired: 2,
    ready: 0,
    summary: '0/2',
  });
  for (const type of ['StockPreloaded', 'TopicReady']) {
    const c = condition(scheduled, type);
    assert.equal(c?.status, 'True', `${type}: ${JSON.stringify(c)}`);
    assert.equal(c?.observedGeneration, 1);
  }
  assert.equal(condition(scheduled, 'ConsumersReady')?.reason, 'Progressing');
  assert.equal(condition(scheduled, 'Ready')?.status, 'False');
  assert.equal(condition(scheduled, 'SoldOut')?.status, 'False');
  assert.ok(scheduled.metadata?.finalizers?.includes(FINALIZER), 'finalizer added');

  // The front door's view of the event.
  const catalog = await readEvent(op.redis.redis, name);
  assert.ok(catalog, 'event published in Redis');
  assert.equal(catalog.topic, purchaseTopic(name));
  assert.equal(catalog.startMs, Date.parse(iso(start)));
  assert.deepEqual(catalog.products, [
    { id: 1, stock: 1000, perUserLimit: 1 },
    { id: 2, stock: 1000, perUserLimit: 2 },
    { id: 3, stock: 1000, perUserLimit: 1 },
  ]);
  assert.ok((await op.redis.redis.smembers(keys.events())).includes(name));
  assert.deepEqual(await readStock(op.redis.redis, name, 1), { total: 1000, sold: 0 });
  assert.equal(await partitionsOf(purchaseTopic(name)), 3);
  assert.equal(await partitionsOf(deadLetterTopic(purchaseTopic(name))), 1);

  // The consumer Deployment.
  const dep = await apps.readNamespacedDeployment({ name: `${name}-consumer`, namespace: NAMESPACE });
  assert.equal(dep.spec?.replicas, 2);
  const owner = dep.metadata?.ownerReferences?.[0];
  assert.equal(owner?.kind, 'SeckillEvent');
  assert.equal(owner?.uid, createdEv.metadata?.uid);
  assert.equal(owner?.controller, true);
  assert.equal(dep.metadata?.labels?.['app.kubernetes.io/name'], 'seckill-consumer');
  assert.equal(dep.metadata?.labels?.['seckill.io/event'], name);
  const env = dep.spec?.template.spec?.containers[0]?.env ?? [];
  const value = (n: string): string | undefined => env.find((e) => e.name === n)?.value;
  assert.equal(value('SECKILL_EVENT'), name);
  assert.equal(value('KAFKA_TOPIC'), purchaseTopic(name));
  assert.equal(value('CONSUMER_SHARDS'), '8');
  assert.equal(value('STOCK_GUARD'), 'lua');
  assert.equal(value('HTTP_PORT'), '9102');
  for (const key of ['KAFKA_BROKERS', 'REDIS_URL', 'MYSQL_URL']) {
    assert.deepEqual(
      { ...env.find((e) => e.name === key)?.valueFrom?.secretKeyRef },
      { name: 'seckill-connection', key },
    );
  }

  // The kubelet runs the two consumer pods; once their probes pass: ConsumersReady and Ready.
  const ready = await waitStatus(name, 'Ready', (ev) => condition(ev, 'Ready')?.status === 'True', 90_000);
  assert.equal(ready.status?.consumers?.ready, 2);
  console.log(`# apply -> Ready: ${Date.now() - t0} ms (two real consumer pods started and ready)`);

  const reasons = (await eventsOf(name)).map((e) => e.reason);
  for (const r of ['StockPreloaded', 'TopicCreated', 'DeploymentCreated', 'Phase'])
    assert.ok(reasons.includes(r), `Event ${r} in ${reasons.join(',')}`);
});

test('edit: partitions and stock raised, Deployment updated; lowering partitions refused; stock below sold refused', async () => {
  const name = track(uniqueName('edit'), [1, 2]);
  await api.create(eventBody(name, { kafka: { partitions: 2 } }));
  const first = await waitStatus(name, 'phase Scheduled', (ev) => ev.status?.phase === 'Scheduled');
  const readySince = condition(first, 'TopicReady')?.lastTransitionTime;

  await api.patch(name, {
    spec: {
      kafka: { partitions: 5 },
      products: [
        { id: 1, stock: 1500, perUserLimit: 1 },
        { id: 2, stock: 1000, perUserLimit: 1 },
      ],
      consumer: { shardsPerPod: 4 },
    },
  });
  const edited = await waitStatus(
    name,
    'generation 2 observed',
    (ev) => ev.status?.observedGeneration === 2 && ev.status.partitions === 5,
  );
  assert.equal(edited.status?.totalStock, 2500);
  assert.equal(condition(edited, 'TopicReady')?.observedGeneration, 2);
  assert.equal(
    condition(edited, 'TopicReady')?.lastTransitionTime,
    readySince,
    'no transition: status stayed True',
  );
  assert.equal(await partitionsOf(purchaseTopic(name)), 5);
  assert.deepEqual(await readStock(op.redis.redis, name, 1), { total: 1500, sold: 0 });
  const dep = await apps.readNamespacedDeployment({ name: `${name}-consumer`, namespace: NAMESPACE });
  assert.equal(
    dep.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'CONSUMER_SHARDS')?.value,
    '4',
  );

  await assert.rejects(api.patch(name, { spec: { kafka: { partitions: 3 } } }), (err: unknown) => {
    assert.match(apiMessage(err), /partitions cannot decrease/);
    return true;
  });

  // 600 units of product 2 sold; the spec now asks for 500: refused, total kept, a Warning Event.
  await op.redis.redis.hset(keys.stock(name, 2), 'seckill', 600);
  await api.patch(name, {
    spec: {
      products: [
        { id: 1, stock: 1500, perUserLimit: 1 },
        { id: 2, stock: 500, perUserLimit: 1 },
      ],
    },
  });
  const refused = await waitStatus(
    name,
    'StockBelowSold',
    (ev) => condition(ev, 'StockPreloaded')?.reason === 'StockBelowSold',
  );
  assert.equal(condition(refused, 'StockPreloaded')?.status, 'False');
  assert.match(
    condition(refused, 'StockPreloaded')?.message ?? '',
    /product 2: stock 500 is below the 600 units already sold, kept 1000/,
  );
  assert.deepEqual(await readStock(op.redis.redis, name, 2), { total: 1000, sold: 600 });
  assert.equal(refused.status?.phase, 'Scheduled', 'the sale keeps its schedule');
  const warning = await waitFor('a StockBelowSold Event', async () =>
    (await eventsOf(name)).find((e) => e.reason === 'StockBelowSold' && e.type === 'Warning'),
  );
  assert.match(warning.message ?? '', /below the 600 units already sold/);

  // Selling everything -> SoldOut.
  await op.redis.redis.hset(keys.stock(name, 1), 'seckill', 1500);
  await op.redis.redis.hset(keys.stock(name, 2), 'seckill', 1000);
  const soldOut = await waitStatus(
    name,
    'SoldOut',
    (ev) => condition(ev, 'SoldOut')?.status === 'True',
    10_000,
  );
  assert.equal(soldOut.status?.totalSold, 2500);
});

test('lag scales consumers (capped at partitions), phases move with the clock, drained -> Completed', async () => {
  const name = track(uniqueName('clock'), [1]);
  const start = Math.ceil((Date.now() + 3000) / 1000) * 1000; // whole seconds: the spec's times have no ms
  const end = start + 7000;
  await api.create(
    eventBody(name, {
      products: [{ id: 1, stock: 100 }],
      startTime: iso(start),
      endTime: iso(end),
      kafka: { partitions: 2 },
      consumer: {
        // The lag must stay where the test puts it: an image the node does not have (pull policy Never),
        // so the Deployment scales but no consumer ever runs.
        image: 'localhost/seckill/consumer:not-loaded',
        minReplicas: 1,
        maxReplicas: 10,
        lagPerReplica: 5,
        scaleDownStabilizationSeconds: 0,
        cooldownSeconds: 1,
      },
    }),
  );
  const seen: string[] = [];
  const watchPhases = setInterval(() => {
    api.get(name).then(
      (ev) => {
        const p = ev.status?.phase;
        if (p && seen.at(-1) !== p) seen.push(p);
      },
      () => undefined,
    );
  }, 100);
  try {
    await waitStatus(name, 'Scheduled', (ev) => ev.status?.phase === 'Scheduled');
    const depName = `${name}-consumer`;
    assert.equal(
      (await apps.readNamespacedDeployment({ name: depName, namespace: NAMESPACE })).spec?.replicas,
      1,
    );

    await waitStatus(name, 'Active', (ev) => ev.status?.phase === 'Active', 10_000);
    assert.ok(Date.now() >= start, 'Active not before the start');

    // 30 messages and no consumer: lag 30 -> ceil(30 / 5) = 6 replicas, capped at the 2 partitions.
    const producer = createKafka(
      stackEnv.kafkaBrokers(),
      'operator-test-producer',
      createLogger({}, 'error'),
    ).producer();
    await producer.connect();
    await producer.send({
      topic: purchaseTopic(name),
      messages: Array.from({ length: 30 }, (_, i) => ({ key: String(i % 7), value: 'x' })),
    });
    await producer.disconnect();
    const t0 = Date.now();
    const scaled = await waitStatus(
      name,
      'scaled to 2 on lag',
      (ev) => ev.status?.lag === 30 && ev.status.consumers?.desired === 2,
    );
    console.log(`# lag -> scale reaction: ${Date.now() - t0} ms`);
    assert.equal(
      (await apps.readNamespacedDeployment({ name: depName, namespace: NAMESPACE })).spec?.replicas,
      2,
    );
    assert.equal(scaled.status?.phase, 'Active');

    // The consumers "drain" the topic: the group commits the end offsets.
    await commitEnds(name);
    const completed = await waitStatus(name, 'Completed', (ev) => ev.status?.phase === 'Completed', 20_000);
    if (seen.at(-1) !== 'Completed') seen.push('Completed'); // the sampler may not have polled yet
    assert.ok(Date.now() >= end, 'Completed only after the end');
    assert.equal(completed.status?.lag, 0);
    assert.equal(completed.status?.consumers?.desired, 0);
    assert.equal(
      (await apps.readNamespacedDeployment({ name: depName, namespace: NAMESPACE })).spec?.replicas,
      0,
    );
    assert.deepEqual(
      seen.filter((p) => p !== 'Pending'),
      ['Scheduled', 'Active', 'Ended', 'Completed'],
    );
  } finally {
    clearInterval(watchPhases);
  }
});

test('a replication factor above the broker count creates no topic and says so in TopicReady', async () => {
  const name = track(uniqueName('rf'), [1, 2]);
  await api.create(eventBody(name, { kafka: { partitions: 2, replicationFactor: 3, minInSyncReplicas: 2 } }));
  const refused = await waitStatus(
    name,
    'TopicReady ReplicationFactorTooHigh',
    (ev) => condition(ev, 'TopicReady')?.reason === 'ReplicationFactorTooHigh',
  );
  assert.equal(condition(refused, 'TopicReady')?.status, 'False');
  assert.match(condition(refused, 'TopicReady')?.message ?? '', /replication factor of 3 .* 1 broker/);
  assert.equal(condition(refused, 'Ready')?.status, 'False');
  assert.ok(!(await op.admin.listTopics()).includes(purchaseTopic(name)), 'no topic was created');
});

test('delete with cleanupPolicy Delete removes Redis keys, topic, group and the finalizer', async () => {
  const name = track(uniqueName('del'), [1, 2]);
  await api.create(eventBody(name, { cleanupPolicy: 'Delete' }));
  await waitStatus(name, 'Scheduled', (ev) => ev.status?.phase === 'Scheduled');
  assert.ok(await readEvent(op.redis.redis, name));
  assert.equal(await partitionsOf(purchaseTopic(name)), 2);

  await api.remove(name);
  await waitGone('the event to be gone', () => api.get(name));
  assert.equal(await readEvent(op.redis.redis, name), undefined);
  assert.equal(await op.redis.redis.exists(keys.stock(name, 1), keys.stock(name, 2)), 0);
  assert.ok(!(await op.redis.redis.smembers(keys.events())).includes(name));
  const topics = await op.admin.listTopics();
  assert.ok(!topics.includes(purchaseTopic(name)), 'topic deleted');
  assert.ok(!topics.includes(deadLetterTopic(purchaseTopic(name))), 'dead-letter topic deleted');
  await assert.rejects(
    apps.readNamespacedDeployment({ name: `${name}-consumer`, namespace: NAMESPACE }),
    /404|not found/i,
  );
});

test('delete with cleanupPolicy Retain keeps the stock and topic but withdraws the event from the front door', async () => {
  const name = track(uniqueName('keep'), [1, 2]);
  await api.create(eventBody(name));
  await waitStatus(name, 'Scheduled', (ev) => ev.status?.phase === 'Scheduled');
  await op.redis.redis.hset(keys.stock(name, 1), 'seckill', 7);
  await api.remove(name);
  await waitGone('the event to be gone', () => api.get(name));
  assert.equal(await readEvent(op.redis.redis, name), undefined, 'withdrawn from the catalog');
  assert.ok(!(await op.redis.redis.smembers(keys.events())).includes(name));
  assert.deepEqual(await readStock(op.redis.redis, name, 1), { total: 1000, sold: 7 }, 'the record stays');
  assert.equal(await partitionsOf(purchaseTopic(name)), 2, 'topic kept');
});
