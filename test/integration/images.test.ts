// The three images `npm run images` built and loaded, run as Pods on the real cluster with the chart's security
// context (read from charts/seckill/values.yaml): the operator and the api from the chart's own rendered pod
// templates (connection Secret, RBAC and ServiceAccounts applied from the same render), the consumer from the
// operator's consumer template for a sale made with createSale. Each must become Ready through the kubelet's
// probes, answer /healthz, /readyz and /metrics to another pod, and run as uid 65532 with no capabilities, no
// privilege escalation, seccomp filtering and a read-only root.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { parseSeckillEvent } from '../../operator/api/types.js';
import { buildConsumerDeployment } from '../../operator/resources/consumer-deployment.js';
import type { EventSpec } from '../../workloads/shared/catalog.js';
import { createKafka } from '../../workloads/shared/kafka/client.js';
import { createLogger } from '../../workloads/shared/log.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { stackEnv, uniqueName } from '../../tools/lib/stack-env.js';
import { CHART, parseManifests, readRepoFile, runOk, type RenderedObject } from '../helpers/chart.js';
import { Cleanup } from '../helpers/cleanup.js';
import { waitGone, waitStatus } from '../helpers/kube.js';
import { eventBody, installCrd, iso, kubeConfig } from '../helpers/operator-kube.js';
import { createSale } from '../../tools/lib/sale.js';

type Component = 'operator' | 'api' | 'consumer';
const COMPONENTS: Component[] = ['operator', 'api', 'consumer'];
const PORTS: Record<Component, number> = { operator: 9101, api: 8080, consumer: 9102 };
const UID = 65532;

const values = k8s.loadYaml<{
  podSecurityContext: k8s.V1PodSecurityContext;
  containerSecurityContext: k8s.V1SecurityContext;
}>(readRepoFile('charts/seckill/values.yaml'));
const images = stackEnv.images();
const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
const namespace = uniqueName('images');
const release = 'img';
const log = createLogger({ test: 'images' }, 'warn');
const redis = createRedis(stackEnv.redisUrl(), 'test-images');
const admin = createKafka(stackEnv.kafkaBrokers(), 'test-images', log).admin();
const pods: Partial<Record<Component, k8s.V1Pod>> = {};
let sale: EventSpec | undefined;

/** "localhost/seckill/api:0.1.0-abc" -> repository and tag (the tag is after the last colon). */
function splitRef(ref: string): { repository: string; tag: string } {
  const at = ref.lastIndexOf(':');
  return { repository: ref.slice(0, at), tag: ref.slice(at + 1) };
}

/** The front door's buyer-token key, as a user would hand it over (tools/demo/auth-secret.ts does the same). */
const AUTH_SECRET = 'images-test-auth';

/** The chart rendered into the test namespace with our images and the pods' connection settings. */
function renderChart(): RenderedObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'images-test-'));
  try {
    const file = join(dir, 'values.json');
    writeFileSync(
      file,
      JSON.stringify({
        crds: { install: false },
        connection: {
          kafkaBrokers: stackEnv.podKafkaBrokers().join(','),
          redisUrl: stackEnv.podRedisUrl(),
          mysqlUrl: stackEnv.podMysqlUrl(),
        },
        operator: {
          image: splitRef(images.operator),
          consumer: { image: splitRef(images.consumer) },
          watchNamespace: namespace,
          kafka: { replicationFactor: 1, minInSyncReplicas: 1 },
        },
        api: { image: splitRef(images.api) },
        auth: { existingSecret: AUTH_SECRET },
      }),
    );
    return parseManifests(runOk('helm', ['template', release, CHART, '--namespace', namespace, '-f', file]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A Pod with a Deployment's pod template (what its ReplicaSet would create). */
function podOf(dep: k8s.V1Deployment, name: string): k8s.V1Pod {
  const template = dep.spec?.template;
  assert.ok(template?.spec, `Deployment ${dep.metadata?.name} has a pod template`);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels: template.metadata?.labels,
      annotations: template.metadata?.annotations,
    },
    spec: template.spec,
  };
}

function deployment(objs: RenderedObject[], component: string): k8s.V1Deployment {
  const dep = objs.find(
    (o) => o.kind === 'Deployment' && o.metadata?.labels?.['app.kubernetes.io/component'] === component,
  );
  assert.ok(dep, `the chart renders a ${component} Deployment`);
  return dep;
}

/** The consumer's pod as the operator would make it for `spec`, under the chart's security context. */
function consumerPod(spec: EventSpec, secretName: string): k8s.V1Pod {
  const ev = parseSeckillEvent(
    eventBody(
      spec.name,
      {
        products: spec.products,
        startTime: iso(spec.startMs),
        endTime: iso(spec.endMs),
        kafka: { partitions: 1 },
        connection: { secretName },
      },
      { metadata: { name: spec.name, namespace, uid: 'images-test' } },
    ),
  );
  const dep = buildConsumerDeployment(ev, {
    image: images.consumer,
    imagePullPolicy: 'IfNotPresent',
    replicas: 1,
    resources: { cpuRequest: '100m', memoryRequest: '128Mi', memoryLimit: '512Mi' },
  });
  const pod = podOf(dep, 'consumer');
  const podSpec = pod.spec as k8s.V1PodSpec;
  podSpec.securityContext = values.podSecurityContext;
  for (const c of podSpec.containers) c.securityContext = values.containerSecurityContext;
  return pod;
}

/** A client-node model object as the plain JSON the API server returned. */
const plain = (o: unknown): unknown => JSON.parse(JSON.stringify(o ?? null)) as unknown;

const readPod = (name: string): Promise<k8s.V1Pod> => core.readNamespacedPod({ name, namespace });
const isReady = (p: k8s.V1Pod): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Logs of a pod's container (for failure messages; empty when there are none yet). */
async function logsOf(name: string): Promise<string> {
  return core.readNamespacedPodLog({ name, namespace, tailLines: 30 }).catch((err: unknown) => String(err));
}

async function waitReady(name: string, timeoutMs: number): Promise<k8s.V1Pod> {
  try {
    return await waitStatus(`pod ${namespace}/${name} to be Ready`, () => readPod(name), isReady, {
      timeoutMs,
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlogs of ${name}:\n${await logsOf(name)}`, { cause: err });
  }
}

before(async () => {
  const nodes = await core.listNode();
  assert.ok(
    nodes.items.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')),
    `the cluster behind ${stackEnv.kubeconfig()} has no Ready node: the images need a node to run on`,
  );
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await installCrd(kc);
  await admin.connect();
  sale = await createSale(redis, admin, [{ id: 1, stock: 10, perUserLimit: 1 }], { prefix: 'images' });

  const rendered = renderChart();
  // The chart's ServiceAccounts, connection Secret and RBAC; the Deployments become single Pods below.
  const kinds = new Set(['ServiceAccount', 'Secret', 'Role', 'RoleBinding']);
  for (const obj of rendered.filter((o) => kinds.has(o.kind ?? ''))) await objects.create(obj);
  const secret = rendered.find((o) => o.kind === 'Secret');
  assert.ok(secret?.metadata?.name, 'the chart renders its connection Secret');
  await core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: AUTH_SECRET },
      stringData: { AUTH_JWT_SECRET: randomBytes(32).toString('hex') },
    },
  });

  pods.operator = podOf(deployment(rendered, 'operator'), 'operator');
  pods.api = podOf(deployment(rendered, 'api'), 'api');
  pods.consumer = consumerPod(sale, secret.metadata.name);
  for (const c of COMPONENTS) await core.createNamespacedPod({ namespace, body: pods[c] as k8s.V1Pod });
  for (const c of COMPONENTS) pods[c] = await waitReady(c, 120_000);
});

after(async () => {
  const cleanup = new Cleanup();
  await cleanup.attempt('delete the pods', async () => {
    await core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 5 });
    await waitGone(
      'the pods to be gone',
      async () => ((await core.listNamespacedPod({ namespace })).items.length ? true : undefined),
      { timeoutMs: 60_000 },
    );
  });
  // A real cluster: the namespace controller empties the namespace and finalizes it.
  await cleanup.attempt(`delete namespace ${namespace}`, async () => {
    await core.deleteNamespace({ name: namespace });
    await waitGone(`namespace ${namespace} to be gone`, () => core.readNamespace({ name: namespace }), {
      timeoutMs: 60_000,
    });
  });
  if (sale) {
    const topic = sale.topic;
    await cleanup.attempt(`delete topic ${topic}`, () => admin.deleteTopics({ topics: [topic] }));
  }
  await cleanup.attempt('disconnect', () => Promise.all([admin.disconnect(), redis.quit()]));
  cleanup.done('images');
});

test('the references name the three targets at <package version>-<content hash>', () => {
  const version = (JSON.parse(readRepoFile('package.json')) as { version: string }).version;
  for (const c of COMPONENTS) {
    assert.match(
      images[c],
      new RegExp(`^localhost/seckill/${c}:${version.replaceAll('.', '\\.')}-[0-9a-f]{12}$`),
    );
  }
  const tags = new Set(COMPONENTS.map((c) => splitRef(images[c]).tag));
  assert.equal(tags.size, 1, 'one content hash for the three images of one build');
});

test('each pod runs its image, Ready through the probes, with the chart security context', () => {
  for (const c of COMPONENTS) {
    const pod = pods[c];
    assert.ok(pod, `${c} pod started`);
    assert.deepEqual(
      plain(pod.spec?.securityContext),
      values.podSecurityContext,
      `${c}: pod securityContext`,
    );
    const [container] = pod.spec?.containers ?? [];
    assert.deepEqual(
      plain(container?.securityContext),
      values.containerSecurityContext,
      `${c}: container securityContext`,
    );
    assert.equal(container?.image, images[c]);
    const [status] = pod.status?.containerStatuses ?? [];
    assert.equal(status?.ready, true, `${c}: container ready`);
    assert.equal(status?.restartCount, 0, `${c}: never restarted`);
    assert.equal(status?.image, images[c], `${c}: the kubelet ran the loaded image`);
    assert.match(pod.status?.podIP ?? '', /^10\.244\.0\.\d+$/, `${c}: a pod IP on the pod network`);
  }
});

// Runs in the container (kubectl exec, no shell needed): the entry point's process is pid 1 of the container.
const INSPECT = `
const fs = require('node:fs');
const status = (pid) => Object.fromEntries(fs.readFileSync('/proc/' + pid + '/status', 'utf8').trim().split('\\n')
  .map((l) => l.split(/:\\s+/)));
const main = status(1);
let rootWrite = 'written';
try { fs.writeFileSync('/app/.write-probe', 'x'); } catch (e) { rootWrite = e.code; }
console.log(JSON.stringify({
  cmdline: fs.readFileSync('/proc/1/cmdline', 'utf8').split('\\0').filter(Boolean),
  uid: main.Uid, gid: main.Gid, capEff: main.CapEff, capPrm: main.CapPrm, capBnd: main.CapBnd,
  noNewPrivs: main.NoNewPrivs, seccomp: main.Seccomp, rootWrite,
  shell: fs.existsSync('/bin/sh') || fs.existsSync('/usr/bin/sh'),
}));`;

for (const c of COMPONENTS) {
  test(`${c}: the entry point runs as ${UID}, no capabilities, no new privileges, seccomp, read-only root`, () => {
    const out = runOk('kubectl', ['-n', namespace, 'exec', c, '--', '/nodejs/bin/node', '-e', INSPECT]);
    const got = JSON.parse(out) as Record<string, unknown>;
    const entry: Record<Component, string> = {
      operator: 'dist/operator/main.js',
      api: 'dist/workloads/api/main.js',
      consumer: 'dist/workloads/consumer/main.js',
    };
    assert.deepEqual(got.cmdline, ['/nodejs/bin/node', '--enable-source-maps', entry[c]]);
    assert.equal(got.uid, `${UID}\t${UID}\t${UID}\t${UID}`);
    assert.equal(got.gid, `${UID}\t${UID}\t${UID}\t${UID}`);
    assert.equal(got.capEff, '0000000000000000');
    assert.equal(got.capPrm, '0000000000000000');
    assert.equal(got.capBnd, '0000000000000000', 'capabilities drop ALL empties the bounding set');
    assert.equal(got.noNewPrivs, '1', 'allowPrivilegeEscalation false');
    assert.equal(got.seccomp, '2', 'seccomp RuntimeDefault: filter mode');
    assert.equal(got.rootWrite, 'EROFS', 'readOnlyRootFilesystem');
    assert.equal(got.shell, false, 'distroless: no shell');
  });
}

// Runs in a probe pod (the api image's node, no curl): fetches every URL, prints one JSON line.
const FETCH_ALL = `
const out = [];
for (const t of JSON.parse(process.env.TARGETS)) {
  try {
    const r = await fetch(t.url, { signal: AbortSignal.timeout(5000) });
    out.push({ ...t, status: r.status, body: await r.text() });
  } catch (e) { out.push({ ...t, error: String(e.cause ?? e) }); }
}
console.log(JSON.stringify(out));`;

interface Fetched {
  component: Component;
  path: string;
  url: string;
  status?: number;
  body?: string;
  error?: string;
}

test('/healthz, /readyz and /metrics of each answer another pod over the pod network', async () => {
  const targets = COMPONENTS.flatMap((component) =>
    ['/healthz', '/readyz', '/metrics'].map((path) => ({
      component,
      path,
      url: `http://${pods[component]?.status?.podIP}:${PORTS[component]}${path}`,
    })),
  );
  const probe: k8s.V1Pod = {
    metadata: { name: 'probe', namespace },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      securityContext: values.podSecurityContext,
      containers: [
        {
          name: 'probe',
          image: images.api,
          command: ['/nodejs/bin/node', '--input-type=module', '-e', FETCH_ALL],
          env: [{ name: 'TARGETS', value: JSON.stringify(targets) }],
          securityContext: values.containerSecurityContext,
        },
      ],
    },
  };
  await core.createNamespacedPod({ namespace, body: probe });
  const done = await waitStatus(
    'the probe pod to finish',
    () => readPod('probe'),
    (p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed',
    { timeoutMs: 60_000 },
  );
  const text = await logsOf('probe');
  assert.equal(done.status?.phase, 'Succeeded', `probe pod: ${text}`);
  const results = JSON.parse(text) as Fetched[];
  for (const r of results) {
    const what = `${r.component} ${r.path} (${r.url})`;
    assert.equal(r.error, undefined, `${what}: ${r.error}`);
    assert.equal(r.status, 200, `${what}: status ${r.status}, body ${r.body?.slice(0, 200)}`);
    if (r.path === '/healthz') assert.deepEqual(JSON.parse(r.body ?? ''), { status: 'ok' }, what);
    if (r.path === '/readyz') assert.deepEqual(JSON.parse(r.body ?? ''), { status: 'ready' }, what);
    if (r.path === '/metrics') {
      assert.match(
        r.body ?? '',
        new RegExp(`^process_cpu_user_seconds_total\\{component="${r.component}"\\} `, 'm'),
        what,
      );
    }
  }
  assert.equal(results.length, 9);
});
