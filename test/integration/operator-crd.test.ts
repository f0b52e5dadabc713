// The SeckillEvent CRD against the real kube-apiserver: defaults, printer columns, and the API server
// refusing bad specs with a clear message (schema bounds, uniqueness, CEL rules, transition rules).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import {
  apiMessage,
  eventBody,
  installCrd,
  iso,
  kubeConfig,
  NAMESPACE,
  repoFile,
  seckillApi,
} from '../helpers/operator-kube.js';
import { uniqueName } from '../../tools/lib/stack-env.js';

const kc = kubeConfig();
const api = seckillApi(kc);
const created: string[] = [];
const run = promisify(execFile);

before(async () => {
  await installCrd(kc);
});

after(async () => {
  for (const name of created) await api.purge(name);
});

const now = Date.now();
const products = [{ id: 1, stock: 10 }];

/** [what, spec overrides, expected message] */
const badSpecs: [string, Record<string, unknown>, RegExp][] = [
  [
    'negative stock',
    { products: [{ id: 1, stock: -1 }] },
    /spec\.products\[0\]\.stock.*greater than or equal to 0/,
  ],
  ['no products', { products: [] }, /spec\.products.*should have at least 1 items/],
  [
    'duplicate product ids',
    {
      products: [
        { id: 7, stock: 1 },
        { id: 7, stock: 2 },
      ],
    },
    /spec\.products\[1\].*Duplicate value.*"id":7/,
  ],
  [
    'product id 0',
    { products: [{ id: 0, stock: 1 }] },
    /spec\.products\[0\]\.id.*greater than or equal to 1/,
  ],
  [
    'product id above 2^31-1',
    { products: [{ id: 2 ** 31, stock: 1 }] },
    /spec\.products\[0\]\.id.*less than or equal to 2147483647/,
  ],
  [
    'per-user limit 0',
    { products: [{ id: 1, stock: 1, perUserLimit: 0 }] },
    /spec\.products\[0\]\.perUserLimit.*greater than or equal to 1/,
  ],
  [
    'end before start',
    { startTime: iso(now + 7_200_000), endTime: iso(now + 3_600_000) },
    /spec\.endTime must be after spec\.startTime/,
  ],
  [
    'end equal to start',
    { startTime: iso(now), endTime: iso(now) },
    /spec\.endTime must be after spec\.startTime/,
  ],
  ['start not a time', { startTime: 'tomorrow morning' }, /spec\.startTime.*date-time/],
  [
    'neither partitions nor rate',
    { kafka: {} },
    /spec\.kafka must set exactly one of partitions or expectedPeakRate/,
  ],
  [
    'both partitions and rate',
    { kafka: { partitions: 3, expectedPeakRate: 10_000 } },
    /exactly one of partitions or expectedPeakRate/,
  ],
  ['zero partitions', { kafka: { partitions: 0 } }, /spec\.kafka\.partitions.*greater than or equal to 1/],
  [
    'min in-sync replicas above the replication factor',
    { kafka: { partitions: 1, replicationFactor: 2, minInSyncReplicas: 3 } },
    /minInSyncReplicas must be <= spec\.kafka\.replicationFactor/,
  ],
  [
    'too many partitions',
    { kafka: { partitions: 1001 } },
    /spec\.kafka\.partitions.*less than or equal to 1000/,
  ],
  ['bad topic name', { kafka: { partitions: 1, topic: 'no spaces!' } }, /spec\.kafka\.topic.*should match/],
  [
    'max below min replicas',
    { consumer: { minReplicas: 5, maxReplicas: 2 } },
    /spec\.consumer\.maxReplicas must be >= spec\.consumer\.minReplicas/,
  ],
  [
    'zero lag per replica',
    { consumer: { lagPerReplica: 0 } },
    /spec\.consumer\.lagPerReplica.*greater than or equal to 1/,
  ],
  [
    'batcher buffer below size',
    { batcher: { size: 500, buffer: 100 } },
    /spec\.batcher\.buffer must be >= spec\.batcher\.size/,
  ],
  [
    'unknown cleanup policy',
    { cleanupPolicy: 'Nuke' },
    /spec\.cleanupPolicy.*Unsupported value: "Nuke".*"Retain", "Delete"/,
  ],
  ['missing connection secret', { connection: {} }, /spec\.connection\.secretName: Required value/],
  ['unknown field', { discount: 50 }, /unknown field "spec\.discount"/],
];

for (const [what, spec, expected] of badSpecs) {
  test(`the API server rejects a SeckillEvent with ${what}`, async () => {
    const body = eventBody(uniqueName('bad'), { products, ...spec });
    await assert.rejects(api.create(body, { dryRun: true }), (err: unknown) => {
      const message = apiMessage(err);
      assert.match(message, expected);
      return true;
    });
  });
}

test('the API server rejects a name that is not a DNS label', async () => {
  const body = eventBody(`${uniqueName('dotted')}.sale`, { products });
  await assert.rejects(api.create(body, { dryRun: true }), (err: unknown) => {
    assert.match(apiMessage(err), /metadata\.name must be a DNS label/);
    return true;
  });
});

test('the API server rejects a missing spec field (kubectl apply --dry-run=server)', async () => {
  const yaml = [
    'apiVersion: seckill.io/v1alpha1',
    'kind: SeckillEvent',
    `metadata: {name: ${uniqueName('kubectl')}, namespace: ${NAMESPACE}}`,
    'spec:',
    '  products: [{id: 1, stock: 5}]',
    `  startTime: "${iso(now + 60_000)}"`,
    `  endTime: "${iso(now + 120_000)}"`,
    '  kafka: {partitions: 1}',
    '',
  ].join('\n');
  const child = run('kubectl', ['apply', '--dry-run=server', '-f', '-']);
  child.child.stdin?.end(yaml);
  await assert.rejects(child, (err: unknown) => {
    assert.match(String((err as { stderr?: unknown }).stderr), /spec\.connection: Required value/);
    return true;
  });
});

test('a valid SeckillEvent gets its defaults, and the examples pass server-side validation', async () => {
  const name = uniqueName('defaults');
  const got = await api.create(
    eventBody(name, { products: [{ id: 3, stock: 5 }], kafka: { expectedPeakRate: 12_000 } }),
    {
      dryRun: true,
    },
  );
  assert.deepEqual(got.spec?.products, [{ id: 3, stock: 5, perUserLimit: 1 }]);
  assert.equal(got.spec?.cleanupPolicy, 'Retain');
  assert.deepEqual(got.spec?.batcher, { size: 100, intervalMs: 5, workers: 8, buffer: 10_000 });
  assert.equal(got.spec?.consumer?.minReplicas, 1);
  assert.equal(got.spec?.consumer?.maxReplicas, 10);
  assert.equal(got.spec?.consumer?.lagPerReplica, 1000);
  assert.equal(got.spec?.consumer?.shardsPerPod, 8);
  assert.equal(
    got.spec?.kafka.replicationFactor,
    undefined,
    "the operator's TOPIC_REPLICATION_FACTOR applies",
  );

  const example = readFileSync(repoFile('examples/seckillevent.yaml'), 'utf8');
  const child = run('kubectl', ['apply', '--dry-run=server', '-n', NAMESPACE, '-f', '-']);
  child.child.stdin?.end(example);
  const { stdout } = await child;
  assert.match(stdout, /seckillevent\.seckill\.io\/\S+ created \(server dry run\)/);
});

test('partitions may rise but never fall; the topic is immutable (CEL transition rules)', async () => {
  const name = uniqueName('transition');
  created.push(name);
  await api.create(eventBody(name, { products, kafka: { partitions: 4 } }));
  const raised = await api.patch(name, { spec: { kafka: { partitions: 6 } } });
  assert.equal(raised.spec?.kafka.partitions, 6);
  await assert.rejects(api.patch(name, { spec: { kafka: { partitions: 5 } } }), (err: unknown) => {
    assert.match(
      apiMessage(err),
      /spec\.kafka\.partitions: Forbidden: spec\.kafka\.partitions cannot decrease/,
    );
    return true;
  });
  await assert.rejects(api.patch(name, { spec: { kafka: { topic: 'another.topic' } } }), (err: unknown) => {
    assert.match(apiMessage(err), /spec\.kafka\.topic is immutable/);
    return true;
  });
  const stored = await api.get(name);
  assert.equal(stored.spec?.kafka.partitions, 6);
  assert.equal(stored.spec?.kafka.topic, undefined);
});

test('kubectl get seckillevents shows the printer columns', async () => {
  const name = uniqueName('columns');
  created.push(name);
  await api.create(
    eventBody(name, {
      products: [
        { id: 1, stock: 10 },
        { id: 2, stock: 20 },
      ],
    }),
  );
  await api.patchStatus(name, {
    status: {
      phase: 'Active',
      productCount: 2,
      totalStock: 30,
      totalSold: 4,
      partitions: 2,
      consumers: { desired: 2, ready: 1, summary: '1/2' },
    },
  });
  const { stdout } = await run('kubectl', ['get', 'ske', name, '-n', NAMESPACE]);
  const [header, row] = stdout.trim().split('\n');
  assert.deepEqual(header?.split(/\s+/), [
    'NAME',
    'PHASE',
    'PRODUCTS',
    'STOCK',
    'SOLD',
    'PARTITIONS',
    'CONSUMERS',
    'AGE',
  ]);
  assert.deepEqual(row?.split(/\s+/).slice(0, 7), [name, 'Active', '2', '30', '4', '2', '1/2']);
});
