// Operator failover with two REAL operator processes (`node dist/operator/main.js`, as the Deployment runs
// it with two replicas): leader election on a short Lease, both watching a fresh namespace. One leads and
// reconciles a SeckillEvent to Ready; it is SIGKILLed (no release: the standby must wait the lease out); the
// standby takes over within the lease duration and keeps reconciling an edit (stock and partitions). Then
// SIGTERM on the new leader releases the Lease and exits 0, and a third process takes the released Lease at
// once and runs the finalizer when the event is deleted (cleanupPolicy Delete).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import type { Admin } from 'kafkajs';
import { FINALIZER, GROUP, PLURAL, VERSION, type SeckillEvent } from '../../operator/api/types.js';
import { deleteEvent, readEvent, readStock } from '../../workloads/shared/catalog.js';
import { createKafka } from '../../workloads/shared/kafka/client.js';
import { deadLetterTopic, purchaseTopic } from '../../workloads/shared/kafka/topics.js';
import { createLogger } from '../../workloads/shared/log.js';
import {
  applyConnectionSecret,
  eventBody,
  installCrd,
  kubeConfig,
  seckillApi,
} from '../helpers/operator-kube.js';
import { repoFile } from '../../tools/lib/paths.js';
import { stackEnv, uniqueName } from '../../tools/lib/stack-env.js';
import { freePort } from '../../tools/lib/net.js';
import { Child } from '../helpers/child-process.js';
import { Cleanup } from '../helpers/cleanup.js';
import { deleteNamespace, waitGone, waitStatus as waitObject } from '../helpers/kube.js';
import { httpGet } from '../helpers/metrics.js';

const LEASE_S = 4;
const RENEW_S = 3;
const RETRY_S = 1;
const GRACE_MS = 5000;

const kc = kubeConfig();
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const core = kc.makeApiClient(k8s.CoreV1Api);
const coord = kc.makeApiClient(k8s.CoordinationV1Api);
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const log = createLogger({ test: 'operator-failover' }, 'error');

const namespace = uniqueName('failover');
const leaseName = uniqueName('failover-lease');
const event = uniqueName('fo');
const topic = purchaseTopic(event);
const tmp = mkdtempSync(join(tmpdir(), 'seckill-operator-failover-'));

interface Operator {
  identity: string;
  port: number;
  child: Child;
}
const operators: Operator[] = [];
let redis: Redis;
let admin: Admin;
let namespaceCreated = false;
let eventCreated = false;

async function spawnOperator(identity: string): Promise<Operator> {
  const port = await freePort();
  const child = new Child(
    identity,
    process.execPath,
    [repoFile('dist/operator/main.js')],
    {
      KUBECONFIG: stackEnv.kubeconfig(),
      KAFKA_BROKERS: stackEnv.kafkaBrokers().join(','),
      REDIS_URL: stackEnv.redisUrl(),
      LOG_LEVEL: 'info',
      WATCH_NAMESPACE: namespace,
      POD_NAMESPACE: namespace,
      HTTP_PORT: String(port),
      LEADER_ELECTION_IDENTITY: identity,
      TOPIC_REPLICATION_FACTOR: '1', // one broker on the local stack
      TOPIC_MIN_INSYNC_REPLICAS: '1',
      LEADER_ELECTION_LEASE_NAME: leaseName,
      LEADER_ELECTION_LEASE_DURATION_SECONDS: String(LEASE_S),
      LEADER_ELECTION_RENEW_DEADLINE_SECONDS: String(RENEW_S),
      LEADER_ELECTION_RETRY_PERIOD_SECONDS: String(RETRY_S),
      STATUS_REFRESH_ACTIVE_MS: '500',
      STATUS_REFRESH_IDLE_MS: '2000',
      RETRY_BASE_DELAY_MS: '100',
      RETRY_MAX_DELAY_MS: '2000',
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      // Real consumer pods on the stack's cluster, on this build's image (applyConnectionSecret: where they
      // reach Kafka, Redis and MariaDB).
      CONSUMER_IMAGE: stackEnv.images().consumer,
      CONSUMER_IMAGE_PULL_POLICY: 'Never',
    },
    join(tmp, `${identity}.log`),
  );
  const op = { identity, port, child };
  operators.push(op);
  return op;
}

/** The process's own view: seckill_operator_leader on its /metrics (undefined when it does not answer). */
async function leaderGauge(op: Operator): Promise<number | undefined> {
  try {
    const text = (await httpGet(`http://127.0.0.1:${op.port}/metrics`, 1000)).text;
    const m = /^seckill_operator_leader(?:\{[^}]*\})? (\d+)$/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function lease(): Promise<k8s.V1LeaseSpec | undefined> {
  return (await coord.readNamespacedLease({ name: leaseName, namespace }).catch(() => undefined))?.spec;
}

const getEvent = (): Promise<SeckillEvent> => seckillApi(kc, namespace).get(event);

async function partitionsOf(t: string): Promise<number | undefined> {
  if (!(await admin.listTopics()).includes(t)) return undefined;
  const meta = await admin.fetchTopicMetadata({ topics: [t] });
  return meta.topics[0]?.partitions.length;
}

/** Waits on the event's status through `op` (fails at once, with its log, if that process died). */
const waitStatus = (
  op: Operator,
  what: string,
  ok: (ev: SeckillEvent) => boolean,
  timeoutMs = 20_000,
): Promise<SeckillEvent> =>
  waitObject(what, getEvent, ok, { timeoutMs, poll: (w, probe, t) => op.child.waitUntil(w, probe, t) });

const cond = (ev: SeckillEvent, type: string): string | undefined =>
  ev.status?.conditions?.find((c) => c.type === type)?.status;

before(async () => {
  redis = new Redis(stackEnv.redisUrl(), { lazyConnect: false, maxRetriesPerRequest: 2 });
  admin = createKafka(stackEnv.kafkaBrokers(), 'operator-failover-test', log).admin();
  await admin.connect();
  await installCrd(kc);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  namespaceCreated = true;
  await applyConnectionSecret(kc, namespace);
});

after(async () => {
  const cleanup = new Cleanup();
  if (eventCreated) {
    // The test deletes the event through a live operator; if it failed before that, clean up by hand.
    const base = { group: GROUP, version: VERSION, namespace, plural: PLURAL, name: event };
    await cleanup.attempt('purge the event', async () => {
      await custom
        .patchNamespacedCustomObject({ ...base, body: { metadata: { finalizers: null } } }, merge)
        .catch(() => undefined);
      await custom.deleteNamespacedCustomObject(base).catch(() => undefined);
    });
    await cleanup.attempt('redis keys', () =>
      deleteEvent(redis, { name: event, products: [1, 2].map((id) => ({ id, stock: 0, perUserLimit: 1 })) }),
    );
    await cleanup.attempt('topics', async () => {
      const existing = await admin.listTopics();
      const doomed = [topic, deadLetterTopic(topic)].filter((t) => existing.includes(t));
      if (doomed.length) await admin.deleteTopics({ topics: doomed });
    });
  }
  for (const op of operators) await cleanup.attempt(op.identity, () => op.child.stop(GRACE_MS + 2000));
  if (namespaceCreated) await cleanup.attempt('namespace', () => deleteNamespace(kc, namespace));
  await admin.disconnect().catch(() => undefined);
  redis.disconnect();
  cleanup.done('operator-failover');
  rmSync(tmp, { recursive: true, force: true });
});

test('SIGKILL the leader: the standby takes over within the lease and keeps reconciling; SIGTERM releases the lease', async () => {
  const a = await spawnOperator('failover-a');
  const b = await spawnOperator('failover-b');

  // One of the two leads; the Lease and both processes' gauges agree.
  const leaderId = await a.child.waitUntil(
    'a leader among a and b',
    async () => {
      const holder = (await lease())?.holderIdentity;
      return holder === a.identity || holder === b.identity ? holder : undefined;
    },
    30_000,
  );
  const leader = leaderId === a.identity ? a : b;
  const standby = leader === a ? b : a;
  await leader.child.waitUntil(
    'the gauges to agree on the leader',
    async () => ((await leaderGauge(leader)) === 1 && (await leaderGauge(standby)) === 0 ? true : undefined),
    15_000,
  );
  console.log(`# leader ${leader.identity}, standby ${standby.identity}`);

  // A sale in an hour; reconciled by the leader to Ready (its consumer pod started and ready).
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    body: eventBody(
      event,
      {
        products: [
          { id: 1, stock: 100, perUserLimit: 1 },
          { id: 2, stock: 100, perUserLimit: 1 },
        ],
        kafka: { partitions: 2 },
        consumer: { minReplicas: 1, maxReplicas: 2 },
        cleanupPolicy: 'Delete',
      },
      { metadata: { name: event, namespace } },
    ),
  });
  eventCreated = true;
  await waitStatus(leader, 'phase Scheduled', (ev) => ev.status?.phase === 'Scheduled');
  const ready = await waitStatus(leader, 'Ready', (ev) => cond(ev, 'Ready') === 'True', 90_000);
  assert.equal(ready.status?.observedGeneration, 1);
  assert.ok(ready.metadata?.finalizers?.includes(FINALIZER), 'finalizer added');
  assert.equal(ready.status?.totalStock, 200);
  assert.equal(await partitionsOf(topic), 2);
  const before = await lease();
  assert.equal(before?.holderIdentity, leader.identity);

  // Crash: SIGKILL, no release. The standby must wait until the record has not changed for a lease.
  const killedAt = Date.now();
  await leader.child.kill();
  const takenOver = await standby.child.waitUntil(
    'the standby to take the lease',
    async () => ((await lease())?.holderIdentity === standby.identity ? Date.now() : undefined),
    LEASE_S * 1000 + 10_000,
  );
  const takeoverMs = takenOver - killedAt;
  await standby.child.waitUntil(
    'the standby to report leading',
    async () => ((await leaderGauge(standby)) === 1 ? true : undefined),
    5000,
  );
  const gaugeMs = Date.now() - killedAt;
  const bound = LEASE_S * 1000 + 2 * RETRY_S * 1200 + 1000;
  console.log(
    `# takeover after SIGKILL of the leader: lease taken in ${takeoverMs} ms, leading gauge 1 after ${gaugeMs} ms (lease ${LEASE_S * 1000} ms, retry ${RETRY_S * 1000} ms, bound ${bound} ms)`,
  );
  assert.ok(takeoverMs <= bound, `takeover took ${takeoverMs} ms, bound ${bound} ms`);
  // The standby dates the record from when it last saw it change (at most two of its polls before the kill).
  const floor = LEASE_S * 1000 - 2 * RETRY_S * 1200;
  assert.ok(takeoverMs >= floor, `took over after only ${takeoverMs} ms (< ${floor}): lease not honoured`);
  const after = await lease();
  assert.equal(after?.leaseTransitions, (before?.leaseTransitions ?? 0) + 1);

  // The new leader reconciles an edit: more stock for product 1, one more partition.
  const edited = (await custom.patchNamespacedCustomObject(
    {
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      name: event,
      body: {
        spec: {
          products: [
            { id: 1, stock: 150, perUserLimit: 1 },
            { id: 2, stock: 100, perUserLimit: 1 },
          ],
          kafka: { partitions: 3 },
        },
      },
    },
    merge,
  )) as SeckillEvent;
  assert.equal(edited.metadata?.generation, 2);
  const t0 = Date.now();
  const followed = await waitStatus(
    standby,
    'observedGeneration 2 with the new stock and partitions',
    (ev) => ev.status?.observedGeneration === 2 && ev.status.totalStock === 250 && ev.status.partitions === 3,
  );
  console.log(`# edit reconciled by the new leader in ${Date.now() - t0} ms`);
  assert.equal(cond(followed, 'StockPreloaded'), 'True');
  assert.equal(cond(followed, 'TopicReady'), 'True');
  assert.deepEqual(await readStock(redis, event, 1), { total: 150, sold: 0 });
  assert.deepEqual(await readStock(redis, event, 2), { total: 100, sold: 0 });
  assert.equal((await readEvent(redis, event))?.products[0]?.stock, 150);
  assert.equal(await partitionsOf(topic), 3);

  // SIGTERM: the new leader releases the Lease and exits 0 within its grace period.
  const termAt = Date.now();
  const code = await standby.child.stop(GRACE_MS + 2000);
  const stopMs = Date.now() - termAt;
  console.log(`# SIGTERM -> exit ${code} in ${stopMs} ms (grace ${GRACE_MS} ms)`);
  assert.equal(code, 0, standby.child.logTail());
  assert.ok(stopMs < GRACE_MS, `stopped in ${stopMs} ms`);
  const released = await lease();
  assert.ok(!released?.holderIdentity, `holder after SIGTERM: ${released?.holderIdentity}`);
  assert.equal(released?.leaseDurationSeconds, 1);

  // A fresh process takes the released Lease without waiting a lease out, and runs the finalizer.
  const c = await spawnOperator('failover-c');
  const spawnedAt = Date.now();
  await c.child.waitUntil(
    'c to lead',
    async () => ((await lease())?.holderIdentity === c.identity ? true : undefined),
    15_000,
  );
  const cMs = Date.now() - spawnedAt;
  console.log(`# a new process took the released lease ${cMs} ms after it was spawned`);
  await custom.deleteNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    name: event,
  });
  await waitGone('the event to be finalized and gone', getEvent, {
    timeoutMs: 20_000,
    poll: (w, probe, t) => c.child.waitUntil(w, probe, t),
  });
  eventCreated = false;
  assert.equal(await readEvent(redis, event), undefined);
  assert.deepEqual(await readStock(redis, event, 1), { total: 0, sold: 0 });
  assert.equal(await partitionsOf(topic), undefined);
});
