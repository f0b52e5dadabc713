// The Helm chart renders what the issue asks for: helm lint, helm template with default values and with
// every switch on, least-privilege RBAC, hardened pods, credentials from Secrets only, the CRD behind
// crds.install with a keep policy, and a schema that refuses bad values with a clear message. The front
// door's buyer-token key comes from a Secret the chart only names (auth.*), and its HTTP limits from api.http.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import type {
  V1ClusterRole,
  V1Container,
  V1Deployment,
  V1HorizontalPodAutoscaler,
  V1PodDisruptionBudget,
  V1Role,
  V1Secret,
} from '@kubernetes/client-node';
import * as k8s from '@kubernetes/client-node';
import {
  ALL_SWITCHES,
  CHART,
  find,
  helmTemplateArgs,
  kinds,
  parseManifests,
  readRepoFile,
  render,
  run,
  runOk,
  type RenderedObject,
} from '../helpers/chart.js';

const container = (d: V1Deployment): V1Container => {
  const c = d.spec?.template.spec?.containers[0];
  assert.ok(c, `${d.metadata?.name} has a container`);
  return c;
};
const envNames = (c: V1Container): string[] => (c.env ?? []).map((e) => e.name);
const envValue = (c: V1Container, name: string): string | undefined =>
  c.env?.find((e) => e.name === name)?.value;

// helm lint renders in lint mode, where `required` and `fail` only log: the default values (auth.mode=jwt
// and no auth.existingSecret) lint clean, and the refusals are checked with `helm template` below.
test('helm lint passes with default values and with every switch on', () => {
  const plain = run('helm', ['lint', CHART, '--strict']);
  assert.equal(plain.code, 0, plain.stdout + plain.stderr);
  assert.match(plain.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  const all = run('helm', ['lint', CHART, '--strict', ...ALL_SWITCHES.flatMap((s) => ['--set', s])]);
  assert.equal(all.code, 0, all.stdout + all.stderr);
});

test('default values render the operator, the front door, RBAC, the Secret and the CRD, and no monitoring kinds', () => {
  const objs = render();
  assert.deepEqual(kinds(objs), [
    'ClusterRole',
    'ClusterRoleBinding',
    'CustomResourceDefinition',
    'Deployment',
    'Deployment',
    'HorizontalPodAutoscaler',
    'PodDisruptionBudget',
    'Role',
    'RoleBinding',
    'Secret',
    'Service',
    'Service',
    'ServiceAccount',
    'ServiceAccount',
  ]);
  for (const o of objs) {
    if (o.kind === 'CustomResourceDefinition' || o.kind?.startsWith('Cluster')) continue;
    assert.equal(o.metadata?.namespace, 'default', `${o.kind}/${o.metadata?.name} is namespaced`);
  }
});

test('every switch on adds the ServiceMonitors, the consumer PodMonitor, the PrometheusRule and the dashboard', () => {
  const objs = render(ALL_SWITCHES);
  for (const kind of ['ServiceMonitor', 'PodMonitor', 'PrometheusRule', 'ConfigMap']) find(objs, kind);
  assert.equal(objs.filter((o) => o.kind === 'ServiceMonitor').length, 2);

  // The rules are files/alerts.yaml verbatim.
  const rule = find(objs, 'PrometheusRule', 'seckill-alerts');
  const file = k8s.loadYaml<Record<string, unknown>>(readRepoFile('charts/seckill/files/alerts.yaml'));
  assert.deepEqual(rule.spec, file);

  // The dashboard ConfigMap: the sidecar label and files/dashboard.json verbatim.
  const cm = find<k8s.V1ConfigMap>(objs, 'ConfigMap', 'seckill-dashboard');
  assert.equal(cm.metadata?.labels?.grafana_dashboard, '1');
  assert.deepEqual(
    JSON.parse(cm.data?.['seckill.json'] ?? 'null'),
    JSON.parse(readRepoFile('charts/seckill/files/dashboard.json')),
  );

  // Consumers: found by the labels the operator puts on them, in every namespace, event name as a label.
  const pm = find<{ spec: Record<string, unknown> }>(objs, 'PodMonitor');
  assert.deepEqual(pm.spec.selector, {
    matchLabels: { 'app.kubernetes.io/name': 'seckill-consumer', 'app.kubernetes.io/component': 'consumer' },
  });
  assert.deepEqual(pm.spec.namespaceSelector, { any: true });
  assert.match(JSON.stringify(pm.spec.podMetricsEndpoints), /__meta_kubernetes_pod_label_seckill_io_event/);
});

test('the operator Deployment: 2 replicas, leader election, probes on 9101, settings and consumer config', () => {
  const dep = find<V1Deployment>(render(), 'Deployment', 'seckill-operator');
  assert.equal(dep.spec?.replicas, 2);
  const c = container(dep);
  assert.equal(envValue(c, 'LEADER_ELECT'), 'true');
  assert.equal(envValue(c, 'LEADER_ELECTION_LEASE_NAME'), 'seckill-operator');
  assert.equal(
    c.env?.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath,
    'metadata.namespace',
  );
  assert.equal(
    c.env?.find((e) => e.name === 'LEADER_ELECTION_IDENTITY')?.valueFrom?.fieldRef?.fieldPath,
    'metadata.name',
  );
  assert.deepEqual(c.ports, [{ name: 'http', containerPort: 9101, protocol: 'TCP' }]);
  assert.equal(envValue(c, 'HTTP_PORT'), '9101');
  assert.equal(c.livenessProbe?.httpGet?.path, '/healthz');
  assert.equal(c.readinessProbe?.httpGet?.path, '/readyz');
  assert.equal(c.readinessProbe?.httpGet?.port, 'http');
  assert.equal(envValue(c, 'CONSUMER_IMAGE'), 'seckill/consumer:0.1.0');
  assert.equal(envValue(c, 'CONSUMER_IMAGE_PULL_POLICY'), 'IfNotPresent');
  assert.equal(envValue(c, 'CONSUMER_CPU_REQUEST'), '250m');
  assert.equal(envValue(c, 'CONSUMER_MEMORY_REQUEST'), '256Mi');
  assert.equal(envValue(c, 'CONSUMER_MEMORY_LIMIT'), '512Mi');
  assert.ok(!envNames(c).includes('CONSUMER_CPU_LIMIT'), 'no CPU limit by default');
  assert.equal(envValue(c, 'CONSUMER_CLAIM_WAIT_REPLICAS'), '0', 'no WAIT unless the Redis has replicas');
  assert.equal(envValue(c, 'CONSUMER_CLAIM_WAIT_TIMEOUT_MS'), '1000');
  assert.equal(c.image, 'seckill/operator:0.1.0');

  // Every variable the chart sets is one the operator reads (operator/config.ts): a typo would be ignored.
  const source = readRepoFile('operator/config.ts');
  for (const name of envNames(c)) {
    assert.ok(
      source.includes(`'${name}'`) || source.includes(`env.${name}`) || name === 'LOG_LEVEL',
      `${name} is read by operator/config.ts`,
    );
  }

  const custom = find<V1Deployment>(
    render([
      'imageRegistry=registry.example.com/shop',
      'operator.consumer.image.tag=1.2.3',
      'operator.consumer.resources.limits.cpu=2',
      'operator.consumer.claimWait.replicas=1',
      'operator.watchNamespace=sales',
    ]),
    'Deployment',
    'seckill-operator',
  );
  const cc = container(custom);
  assert.equal(envValue(cc, 'CONSUMER_IMAGE'), 'registry.example.com/shop/seckill/consumer:1.2.3');
  assert.equal(envValue(cc, 'CONSUMER_CPU_LIMIT'), '2');
  assert.equal(envValue(cc, 'CONSUMER_CLAIM_WAIT_REPLICAS'), '1');
  assert.equal(envValue(cc, 'WATCH_NAMESPACE'), 'sales');
  assert.equal(cc.image, 'registry.example.com/shop/seckill/operator:0.1.0');
});

test('the front door: probes on 8080, preStop sleep before SIGTERM, grace covers the drain, HPA and PDB', () => {
  const objs = render();
  const dep = find<V1Deployment>(objs, 'Deployment', 'seckill-api');
  assert.equal(dep.spec?.replicas, undefined, 'the HPA owns the replica count');
  const c = container(dep);
  assert.deepEqual(c.ports, [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
  assert.equal(c.livenessProbe?.httpGet?.path, '/healthz');
  assert.equal(c.readinessProbe?.httpGet?.path, '/readyz');
  const sleep = c.lifecycle?.preStop?.sleep?.seconds;
  assert.equal(sleep, 5);
  assert.equal(c.lifecycle?.preStop?.exec, undefined, 'no shell in the image: no exec preStop');
  const grace = dep.spec?.template.spec?.terminationGracePeriodSeconds ?? 0;
  assert.ok(
    grace > 5 + Number(envValue(c, 'SHUTDOWN_GRACE_MS')) / 1000,
    `grace ${grace}s covers preStop + drain`,
  );
  assert.equal(dep.spec?.template.spec?.automountServiceAccountToken, false);

  // Every variable the chart sets is read by workloads/api/config.ts.
  const source = readRepoFile('workloads/api/config.ts') + readRepoFile('workloads/shared/config.ts');
  for (const name of envNames(c).filter((n) => n !== 'LOG_LEVEL')) {
    assert.ok(source.includes(`'${name}'`), `${name} is read by the front door's config`);
  }

  const svc = find<k8s.V1Service>(objs, 'Service', 'seckill-api');
  assert.equal(svc.spec?.ports?.[0]?.targetPort, 'http');
  assert.deepEqual(svc.spec?.selector, dep.spec?.selector.matchLabels);

  const hpa = find<V1HorizontalPodAutoscaler>(objs, 'HorizontalPodAutoscaler', 'seckill-api');
  assert.equal(hpa.spec?.scaleTargetRef.name, 'seckill-api');
  assert.equal(hpa.spec?.minReplicas, 2);
  assert.ok((c.resources?.requests?.cpu ?? '') !== '', 'CPU utilisation needs a CPU request');

  const pdb = find<V1PodDisruptionBudget>(objs, 'PodDisruptionBudget', 'seckill-api');
  assert.equal(pdb.spec?.minAvailable, 1);
  assert.deepEqual(pdb.spec?.selector?.matchLabels, dep.spec?.selector.matchLabels);

  const fixed = render([
    'api.autoscaling.enabled=false',
    'api.replicaCount=3',
    'api.podDisruptionBudget.enabled=false',
  ]);
  assert.equal(find<V1Deployment>(fixed, 'Deployment', 'seckill-api').spec?.replicas, 3);
  assert.ok(!fixed.some((o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'PodDisruptionBudget'));
});

test('pods run non-root, read-only root, no capabilities, seccomp RuntimeDefault', () => {
  for (const dep of render().filter((o) => o.kind === 'Deployment') as V1Deployment[]) {
    const pod = dep.spec?.template.spec;
    const name = dep.metadata?.name ?? '';
    assert.equal(pod?.securityContext?.runAsNonRoot, true, name);
    assert.ok((pod?.securityContext?.runAsUser ?? 0) > 0, name);
    assert.equal(pod?.securityContext?.seccompProfile?.type, 'RuntimeDefault', name);
    for (const c of pod?.containers ?? []) {
      const sc = c.securityContext;
      assert.equal(sc?.readOnlyRootFilesystem, true, name);
      assert.equal(sc?.allowPrivilegeEscalation, false, name);
      assert.equal(sc?.runAsNonRoot, true, name);
      assert.deepEqual(sc?.capabilities?.drop, ['ALL'], name);
      assert.equal(sc?.seccompProfile?.type, 'RuntimeDefault', name);
      assert.ok(c.resources?.limits?.memory, `${name} has a memory limit`);
    }
  }
});

test('credentials come from a Secret only: the chart Secret, or an existing one', () => {
  const connectionKeys = ['KAFKA_BROKERS', 'REDIS_URL', 'MYSQL_URL'];
  const check = (objs: RenderedObject[], secret: string): void => {
    for (const dep of objs.filter((o) => o.kind === 'Deployment') as V1Deployment[]) {
      for (const e of container(dep).env ?? []) {
        if (connectionKeys.includes(e.name)) {
          assert.equal(e.value, undefined, `${e.name} is not a literal`);
          assert.deepEqual(e.valueFrom?.secretKeyRef, { name: secret, key: e.name });
        }
        assert.doesNotMatch(e.value ?? '', /:\/\/[^/]*@|password/i, `${e.name} carries no credentials`);
      }
    }
  };
  const objs = render(['connection.mysqlUrl=mysql://seckill:s3cret@db:3306/seckill']);
  const secret = find<V1Secret>(objs, 'Secret', 'seckill-connection');
  assert.deepEqual(Object.keys(secret.stringData ?? {}).sort(), [...connectionKeys].sort());
  assert.equal(secret.stringData?.MYSQL_URL, 'mysql://seckill:s3cret@db:3306/seckill');
  check(objs, 'seckill-connection');
  const op = container(find<V1Deployment>(objs, 'Deployment', 'seckill-operator'));
  assert.ok(envNames(op).includes('KAFKA_BROKERS') && envNames(op).includes('REDIS_URL'));

  const existing = render(['connection.existingSecret=shop-db']);
  assert.ok(!existing.some((o) => o.kind === 'Secret'), 'no Secret made when an existing one is named');
  check(existing, 'shop-db');
});

test('RBAC: exactly the operator calls, namespaced when one namespace is watched, leases in its own namespace', () => {
  const objs = render();
  const role = find<V1ClusterRole>(objs, 'ClusterRole', 'seckill-operator');
  const rules = (role.rules ?? []).map((r) => ({
    groups: r.apiGroups,
    resources: r.resources,
    verbs: [...r.verbs].sort(),
  }));
  assert.deepEqual(rules, [
    { groups: ['seckill.io'], resources: ['seckillevents'], verbs: ['get', 'list', 'patch', 'watch'] },
    { groups: ['seckill.io'], resources: ['seckillevents/status'], verbs: ['patch'] },
    { groups: ['seckill.io'], resources: ['seckillevents/finalizers'], verbs: ['update'] },
    {
      groups: ['apps'],
      resources: ['deployments'],
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'watch'],
    },
    { groups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    // Only to say why consumer pods are not ready (ConsumersReady).
    { groups: [''], resources: ['pods'], verbs: ['list'] },
  ]);
  const text = JSON.stringify(objs.filter((o) => /Role/.test(o.kind ?? '')));
  assert.doesNotMatch(text, /secrets|"\*"|configmaps/, 'no secrets, configmaps or wildcards');

  const lease = find<V1Role>(objs, 'Role', 'seckill-operator-leader-election');
  assert.equal(lease.metadata?.namespace, 'default');
  assert.deepEqual(lease.rules, [
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    {
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      resourceNames: ['seckill-operator'],
      verbs: ['get', 'update'],
    },
  ]);
  const binding = find<k8s.V1ClusterRoleBinding>(objs, 'ClusterRoleBinding', 'seckill-operator');
  assert.deepEqual(binding.subjects, [
    { kind: 'ServiceAccount', name: 'seckill-operator', namespace: 'default' },
  ]);

  const scoped = render(['operator.watchNamespace=sales']);
  assert.ok(!scoped.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding'));
  const nsRole = find<V1Role>(scoped, 'Role', 'seckill-operator');
  assert.equal(nsRole.metadata?.namespace, 'sales');
  assert.equal(
    find<k8s.V1RoleBinding>(scoped, 'RoleBinding', 'seckill-operator').metadata?.namespace,
    'sales',
  );
});

test('the CRD is the repository CRD, behind crds.install, kept on uninstall', () => {
  assert.equal(
    readRepoFile('charts/seckill/files/crds/seckillevent.yaml'),
    readRepoFile('crds/seckillevent.yaml'),
    'charts/seckill/files/crds/seckillevent.yaml is a copy of crds/seckillevent.yaml: cp crds/seckillevent.yaml charts/seckill/files/crds/',
  );
  const crd = find<k8s.V1CustomResourceDefinition>(
    render(),
    'CustomResourceDefinition',
    'seckillevents.seckill.io',
  );
  assert.equal(crd.metadata?.annotations?.['helm.sh/resource-policy'], 'keep');
  const [repo] = parseManifests(
    readRepoFile('crds/seckillevent.yaml'),
  ) as unknown as k8s.V1CustomResourceDefinition[];
  assert.ok(repo);
  assert.deepEqual(crd.spec, repo.spec, 'same spec, large integer bounds included');
  assert.ok(!render(['crds.install=false']).some((o) => o.kind === 'CustomResourceDefinition'));
});

/** The NOTES a `helm install shop` into namespace sales prints, with `set` on top of crds.install=false. */
function installNotes(set: string): string {
  const out = runOk('helm', [
    ...['install', 'shop', CHART, '--dry-run=client', '--namespace', 'sales'],
    ...['--set', 'crds.install=false', '--set', set],
  ]);
  return out.slice(out.indexOf('NOTES:'));
}

test('NOTES.txt tells how to apply a first SeckillEvent from examples/', () => {
  const notes = installNotes('auth.existingSecret=shop-auth');
  assert.match(notes, /examples\/seckillevent\.yaml/);
  assert.match(notes, /kubectl -n sales apply -f -/);
  assert.match(notes, /secretName: shop-seckill-connection/);
  assert.match(notes, /get ske spring-sale/);
  assert.match(notes, /buyer auth JWT, Secret shop-auth/);
  assert.match(notes, /-H "Authorization: Bearer \$TOKEN"/);
  assert.doesNotMatch(notes, /WARNING/);
});

test('NOTES.txt warns loudly when buyers are not verified (auth.mode=none)', () => {
  const notes = installNotes('auth.mode=none');
  assert.match(notes, /WARNING: auth\.mode=none\. The front door does NOT verify buyer tokens/);
  assert.match(notes, /buyer auth NONE/);
  assert.match(notes, /"userId":42/);
});

test('the schema and the chart refuse bad values with a message naming the value', () => {
  const cases: [string, RegExp][] = [
    ['operator.replicaCount=0', /\/operator\/replicaCount': minimum: got 0, want 1/],
    [
      'operator.image.pullPolicy=Sometimes',
      /\/operator\/image\/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'/,
    ],
    ['api.batch.size=many', /\/api\/batch\/size': got string, want integer/],
    [
      'connection.redisUrl=http://redis:6379',
      /\/connection\/redisUrl': 'http:\/\/redis:6379' does not match pattern/,
    ],
    ['connection.kafkaBrokers=kafka', /\/connection\/kafkaBrokers': 'kafka' does not match pattern/],
    ['connection.mysqlUrl=', /\/connection\/mysqlUrl': minLength: got 0, want 1/],
    ['containerSecurityContext.readOnlyRootFilesystem=false', /readOnlyRootFilesystem': value must be true/],
    ['podSecurityContext.runAsUser=0', /\/podSecurityContext\/runAsUser': minimum: got 0, want 1/],
    ['operator.replicasCount=2', /\/operator': additional properties 'replicasCount' not allowed/],
    [
      'api.autoscaling.targetCPUUtilizationPercentage=150',
      /targetCPUUtilizationPercentage': maximum: got 150, want 100/,
    ],
    [
      'metrics.serviceMonitor.interval=soon',
      /\/metrics\/serviceMonitor\/interval': 'soon' does not match pattern/,
    ],
    ['api.batch.buffer=10', /api\.batch\.buffer \(10\) must be >= api\.batch\.size \(100\)/],
    [
      'api.autoscaling.minReplicas=30',
      /api\.autoscaling\.minReplicas \(30\) must be <= api\.autoscaling\.maxReplicas \(20\)/,
    ],
    [
      'operator.leaderElection.enabled=false',
      /leaderElection\.enabled must be true when operator\.replicaCount > 1/,
    ],
    ['api.terminationGracePeriodSeconds=20', /api\.terminationGracePeriodSeconds \(20\) must exceed/],
    ['api.lameDuckMs=25000', /api\.lameDuckMs \(25000\) must be below api\.shutdownGraceMs \(25000\)/],
    ['auth.mode=oidc', /\/auth\/mode': value must be one of 'jwt', 'none'/],
    [
      'auth.jwksUrl=ftp://id.example.com/jwks',
      /\/auth\/jwksUrl': 'ftp:\/\/id\.example\.com\/jwks' does not match/,
    ],
    ['auth.clockToleranceSeconds=301', /\/auth\/clockToleranceSeconds': maximum: got 301, want 300/],
    ['auth.cacheEntries=-1', /\/auth\/cacheEntries': minimum: got -1, want 0/],
    ['auth.jwksRefreshMs=10', /\/auth\/jwksRefreshMs': minimum: got 10, want 1,000/],
    // The chart never takes a key as a value: it lives in a Secret only.
    ['auth.jwtSecret=not-here', /\/auth': additional properties 'jwtSecret' not allowed/],
    ['api.http.maxHeaderBytes=512', /\/api\/http\/maxHeaderBytes': minimum: got 512, want 1,024/],
    ['api.http.maxConnections=0', /\/api\/http\/maxConnections': minimum: got 0, want 1/],
    [
      'api.http.requestTimeoutMs=300001',
      /\/api\/http\/requestTimeoutMs': maximum: got 300,001, want 300,000/,
    ],
    [
      'api.http.headersTimeoutMs=20000',
      /api\.http\.headersTimeoutMs \(20000\) must be <= api\.http\.requestTimeoutMs \(10000\)/,
    ],
  ];
  for (const [set, message] of cases) {
    const r = run('helm', helmTemplateArgs([set]));
    assert.notEqual(r.code, 0, `--set ${set} must be refused`);
    assert.match(r.stderr, message, `--set ${set}: ${r.stderr}`);
  }
  // An existing Secret makes the inline connection values optional; one operator may run without election.
  render(['connection.existingSecret=shop-db', 'connection.mysqlUrl=']);
  render(['operator.leaderElection.enabled=false', 'operator.replicaCount=1']);
});

// --- Buyer identity (auth.*) and the HTTP limits (api.http.*) ---------------------------------------

const apiContainer = (sets: string[]): V1Container =>
  container(find<V1Deployment>(render(sets), 'Deployment', 'seckill-api'));
const authEnv = (c: V1Container): string[] => envNames(c).filter((n) => n.startsWith('AUTH_'));

test('auth.mode=jwt without a Secret or a JWKS URL is refused, naming auth.existingSecret and the key', () => {
  for (const sets of [['auth.existingSecret='], ['auth.existingSecret=', 'auth.mode=jwt']]) {
    const r = run('helm', helmTemplateArgs(sets, 'shop', 'sales'));
    assert.notEqual(r.code, 0, `--set ${sets.join(' ')} must be refused`);
    assert.match(r.stderr, /auth\.existingSecret is required when auth\.mode=jwt/);
    assert.match(r.stderr, /a Secret in namespace sales with the key AUTH_JWT_SECRET/);
    assert.match(r.stderr, /or set auth\.jwksUrl/);
  }
  const both = run(
    'helm',
    helmTemplateArgs(['auth.jwksFromSecret=true', 'auth.jwksUrl=https://id.example.com/jwks']),
  );
  assert.notEqual(both.code, 0);
  assert.match(both.stderr, /set auth\.jwksFromSecret or auth\.jwksUrl, not both/);
  const noSecret = run(
    'helm',
    helmTemplateArgs([
      'auth.existingSecret=',
      'auth.jwksFromSecret=true',
      'auth.jwksUrl=https://id.example.com/j',
    ]),
  );
  assert.notEqual(noSecret.code, 0);
  assert.match(noSecret.stderr, /auth\.jwksFromSecret=true needs auth\.existingSecret/);
});

test('auth.existingSecret: AUTH_JWT_SECRET from its secretKeyRef (required), no key in any manifest', () => {
  const objs = render(['auth.existingSecret=shop-auth']);
  const c = container(find<V1Deployment>(objs, 'Deployment', 'seckill-api'));
  assert.equal(envValue(c, 'AUTH_MODE'), 'jwt');
  const secretEnv = c.env?.find((e) => e.name === 'AUTH_JWT_SECRET');
  assert.equal(secretEnv?.value, undefined, 'the key is never a literal');
  assert.deepEqual(secretEnv?.valueFrom?.secretKeyRef, { name: 'shop-auth', key: 'AUTH_JWT_SECRET' });
  assert.deepEqual(authEnv(c).sort(), [
    'AUTH_CACHE_ENTRIES',
    'AUTH_CLOCK_TOLERANCE_S',
    'AUTH_JWKS_REFRESH_MS',
    'AUTH_JWT_SECRET',
    'AUTH_MODE',
  ]);
  assert.equal(envValue(c, 'AUTH_CLOCK_TOLERANCE_S'), '5');
  assert.equal(envValue(c, 'AUTH_CACHE_ENTRIES'), '100000');
  assert.equal(envValue(c, 'AUTH_JWKS_REFRESH_MS'), '300000');
  // The chart neither makes the Secret nor carries its contents: the only Secret is the connection one.
  const secrets = objs.filter((o) => o.kind === 'Secret') as V1Secret[];
  assert.deepEqual(
    secrets.map((x) => x.metadata?.name),
    ['seckill-connection'],
  );
  for (const x of secrets) {
    for (const key of [...Object.keys(x.stringData ?? {}), ...Object.keys(x.data ?? {})]) {
      assert.ok(!/AUTH|jwks/i.test(key), `Secret ${x.metadata?.name} has no buyer-token key ${key}`);
    }
  }
  for (const dep of objs.filter((o) => o.kind === 'Deployment') as V1Deployment[]) {
    for (const e of container(dep).env ?? []) {
      if (e.name.startsWith('AUTH_JWT')) assert.equal(e.value, undefined, `${dep.metadata?.name}: ${e.name}`);
    }
  }
  assert.ok(
    !objs.some((o) => o.kind === 'ConfigMap' && /AUTH_JWT|jwks/i.test(JSON.stringify(o))),
    'no key in a ConfigMap',
  );
  assert.deepEqual(
    find<V1Deployment>(objs, 'Deployment', 'seckill-api').spec?.template.spec?.volumes?.map((v) => v.name),
    ['tmp'],
    'no JWKS volume unless auth.jwksFromSecret',
  );
});

test("auth.jwksFromSecret: the Secret's jwks.json mounted read-only, AUTH_JWKS_FILE names it", () => {
  const dep = find<V1Deployment>(
    render(['auth.existingSecret=shop-auth', 'auth.jwksFromSecret=true']),
    'Deployment',
    'seckill-api',
  );
  const c = container(dep);
  const file = envValue(c, 'AUTH_JWKS_FILE');
  assert.equal(file, '/etc/seckill/auth/jwks.json');
  assert.equal(envValue(c, 'AUTH_JWKS_URL'), undefined);
  // The JWKS gives keys too: the Secret may hold jwks.json alone.
  assert.deepEqual(c.env?.find((e) => e.name === 'AUTH_JWT_SECRET')?.valueFrom?.secretKeyRef, {
    name: 'shop-auth',
    key: 'AUTH_JWT_SECRET',
    optional: true,
  });
  const mount = c.volumeMounts?.find((m) => m.name === 'auth-jwks');
  assert.deepEqual(mount, { name: 'auth-jwks', mountPath: dirname(file), readOnly: true });
  const volume = dep.spec?.template.spec?.volumes?.find((v) => v.name === 'auth-jwks');
  assert.equal(volume?.secret?.secretName, 'shop-auth');
  assert.deepEqual(volume?.secret?.items, [{ key: 'jwks.json', path: 'jwks.json' }], 'only jwks.json');
  assert.equal(volume?.secret?.defaultMode, 0o440);
  assert.equal(volume?.secret?.optional, undefined, 'a missing jwks.json keeps the pod from starting');
});

test('auth.jwksUrl, issuer, audience and the token settings reach the front door', () => {
  const url = 'https://id.example.com/.well-known/jwks.json';
  const alone = apiContainer(['auth.existingSecret=', `auth.jwksUrl=${url}`]);
  assert.equal(envValue(alone, 'AUTH_JWKS_URL'), url);
  assert.ok(!envNames(alone).includes('AUTH_JWT_SECRET'), 'no Secret named: no AUTH_JWT_SECRET');
  assert.ok(!envNames(alone).includes('AUTH_JWKS_FILE'));

  const c = apiContainer([
    'auth.existingSecret=shop-auth',
    `auth.jwksUrl=${url}`,
    'auth.issuer=https://id.example.com/',
    'auth.audience=shop',
    'auth.clockToleranceSeconds=0',
    'auth.cacheEntries=0',
    'auth.jwksRefreshMs=60000',
  ]);
  assert.equal(c.env?.find((e) => e.name === 'AUTH_JWT_SECRET')?.valueFrom?.secretKeyRef?.optional, true);
  assert.equal(envValue(c, 'AUTH_ISSUER'), 'https://id.example.com/');
  assert.equal(envValue(c, 'AUTH_AUDIENCE'), 'shop');
  assert.equal(envValue(c, 'AUTH_CLOCK_TOLERANCE_S'), '0');
  assert.equal(envValue(c, 'AUTH_CACHE_ENTRIES'), '0');
  assert.equal(envValue(c, 'AUTH_JWKS_REFRESH_MS'), '60000');

  // Every AUTH_ variable the chart can set is one workloads/api/config.ts reads.
  const source = readRepoFile('workloads/api/config.ts');
  const file = apiContainer(['auth.existingSecret=shop-auth', 'auth.jwksFromSecret=true']);
  for (const name of new Set([...authEnv(c), ...authEnv(file)])) {
    assert.ok(source.includes(`'${name}'`), `${name} is read by the front door's config`);
  }
});

test('auth.mode=none: AUTH_MODE=none, no key and no Secret needed', () => {
  const c = apiContainer(['auth.existingSecret=', 'auth.mode=none']);
  assert.equal(envValue(c, 'AUTH_MODE'), 'none');
  assert.deepEqual(authEnv(c), ['AUTH_MODE'], 'the other auth settings mean nothing without verification');
  // Named anyway, the Secret is not wired in: nothing would check the tokens.
  assert.deepEqual(authEnv(apiContainer(['auth.mode=none'])), ['AUTH_MODE']);
});

test('api.http limits reach the front door, large values written as integers', () => {
  const defaults = apiContainer([]);
  assert.equal(envValue(defaults, 'HTTP_HEADERS_TIMEOUT_MS'), '5000');
  assert.equal(envValue(defaults, 'HTTP_REQUEST_TIMEOUT_MS'), '10000');
  assert.equal(envValue(defaults, 'HTTP_MAX_HEADER_BYTES'), '8192');
  assert.equal(envValue(defaults, 'HTTP_MAX_CONNECTIONS'), '10000');

  const set = apiContainer([
    'api.http.headersTimeoutMs=2000',
    'api.http.requestTimeoutMs=3000',
    'api.http.maxHeaderBytes=16384',
    'api.http.maxConnections=500',
  ]);
  assert.equal(envValue(set, 'HTTP_HEADERS_TIMEOUT_MS'), '2000');
  assert.equal(envValue(set, 'HTTP_REQUEST_TIMEOUT_MS'), '3000');
  assert.equal(envValue(set, 'HTTP_MAX_HEADER_BYTES'), '16384');
  assert.equal(envValue(set, 'HTTP_MAX_CONNECTIONS'), '500');

  // From a values file numbers are floats: the chart must not write 1e+06 (the front door would refuse it).
  const dir = mkdtempSync(join(tmpdir(), 'chart-render-'));
  try {
    const file = join(dir, 'values.yaml');
    writeFileSync(
      file,
      [
        'auth: {existingSecret: shop-auth, cacheEntries: 10000000, jwksRefreshMs: 86400000}',
        'api: {http: {maxConnections: 1000000}, batch: {buffer: 2000000}}',
        '',
      ].join('\n'),
    );
    const objs = parseManifests(runOk('helm', ['template', 'seckill', CHART, '-f', file]));
    const c = container(find<V1Deployment>(objs, 'Deployment', 'seckill-api'));
    assert.equal(envValue(c, 'HTTP_MAX_CONNECTIONS'), '1000000');
    assert.equal(envValue(c, 'AUTH_CACHE_ENTRIES'), '10000000');
    assert.equal(envValue(c, 'AUTH_JWKS_REFRESH_MS'), '86400000');
    assert.equal(envValue(c, 'BATCH_BUFFER'), '2000000');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
