// The rendered chart against the real kube-apiserver of the local stack: every manifest passes
// `kubectl apply --dry-run=server` (default values, every switch on, one watched namespace), the first
// SeckillEvent NOTES.txt describes is accepted, and the operator's RBAC, installed for real, allows exactly
// the calls the operator makes (checked as its ServiceAccount) and nothing else.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { installCrd, kubeConfig } from '../helpers/operator-kube.js';
import { uniqueName } from '../../tools/lib/stack-env.js';
import { repoFile } from '../../tools/lib/paths.js';
import { ALL_SWITCHES, helmTemplateArgs, readRepoFile, run, runOk } from '../helpers/chart.js';

const MONITORING_CRDS = repoFile('test/fixtures/chart/monitoring-crds.yaml');
const NS = 'default';

function dryRun(manifests: string): string {
  const r = run(
    'kubectl',
    [
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager=seckill-chart-test',
      '--dry-run=server',
      '-f',
      '-',
    ],
    { input: manifests, timeoutMs: 45_000 },
  );
  assert.equal(r.code, 0, `kubectl apply --dry-run=server failed:\n${r.stderr}`);
  return r.stdout;
}

/** Objects in the dry-run output: one "<kind>/<name> <verb> (server dry run)" line each. */
const applied = (out: string): string[] =>
  out
    .split('\n')
    .filter((l) => l.endsWith('(server dry run)'))
    .map((l) => l.split(' ')[0] ?? '');

before(async () => {
  // The SeckillEvent CRD (as the operator tests install it) and stand-ins for prometheus-operator's kinds.
  await installCrd(kubeConfig());
  runOk('kubectl', ['apply', '--server-side', '--field-manager=seckill-chart-test', '-f', MONITORING_CRDS]);
  runOk(
    'kubectl',
    [
      'wait',
      '--for=condition=Established',
      '--timeout=30s',
      'crd/servicemonitors.monitoring.coreos.com',
      'crd/podmonitors.monitoring.coreos.com',
      'crd/prometheusrules.monitoring.coreos.com',
    ],
    { timeoutMs: 40_000 },
  );
});

test('default values: every rendered object passes a server-side dry-run apply', () => {
  const out = dryRun(runOk('helm', helmTemplateArgs([], 'seckill', NS)));
  const objs = applied(out);
  assert.equal(objs.length, 14, out);
  for (const kind of [
    'deployment.apps',
    'horizontalpodautoscaler.autoscaling',
    'poddisruptionbudget.policy',
    'customresourcedefinition.apiextensions.k8s.io',
  ]) {
    assert.ok(
      objs.some((o) => o.startsWith(`${kind}/`)),
      `${kind} applied: ${objs.join(', ')}`,
    );
  }
});

test('every switch on: monitors, rules and the dashboard pass too', () => {
  const out = dryRun(runOk('helm', helmTemplateArgs(ALL_SWITCHES, 'seckill', NS)));
  const objs = applied(out);
  assert.equal(objs.length, 19, out);
  for (const o of [
    'servicemonitor.monitoring.coreos.com/seckill-operator',
    'servicemonitor.monitoring.coreos.com/seckill-api',
    'podmonitor.monitoring.coreos.com/seckill-consumers',
    'prometheusrule.monitoring.coreos.com/seckill-alerts',
    'configmap/seckill-dashboard',
  ]) {
    assert.ok(objs.includes(o), `${o} applied: ${objs.join(', ')}`);
  }
});

test('one watched namespace, an existing Secret, no CRD: a Role instead of a ClusterRole', () => {
  const out = dryRun(
    runOk(
      'helm',
      helmTemplateArgs(
        ['operator.watchNamespace=default', 'connection.existingSecret=shop-db', 'crds.install=false'],
        'shop',
        NS,
      ),
    ),
  );
  const objs = applied(out);
  assert.ok(objs.includes('role.rbac.authorization.k8s.io/shop-seckill-operator'), objs.join(', '));
  assert.ok(!objs.some((o) => o.startsWith('clusterrole')), objs.join(', '));
  assert.ok(!objs.some((o) => o.startsWith('secret/')), objs.join(', '));
});

test('the first SeckillEvent of NOTES.txt (examples/seckillevent.yaml with the chart Secret) is accepted', () => {
  const start = new Date(Date.now() + 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const end = new Date(Date.now() + 900_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const example = readRepoFile('examples/seckillevent.yaml')
    .replace('2099-01-01T10:00:00Z', start)
    .replace('2099-01-01T11:00:00Z', end)
    .replace('secretName: seckill-connection', 'secretName: seckill-seckill-connection')
    .replace('name: spring-sale', `name: ${uniqueName('notes')}`);
  assert.deepEqual(applied(dryRun(example)).length, 1);
});

// --- RBAC, installed for real and checked as the operator's ServiceAccount ---------------------------
const release = uniqueName('rbac').slice(0, 30);
const sa = `${release}-seckill-operator`;
const as = `--as=system:serviceaccount:${NS}:${sa}`;
let rbacManifests = '';

/** kubectl auth can-i as the operator; "resource#sub" asks about a subresource, "resource/name" one object. */
function canI(verb: string, resource: string, namespace?: string): boolean {
  const [res = '', sub] = resource.split('#');
  const args = ['auth', 'can-i', verb, res, as, ...(sub ? [`--subresource=${sub}`] : [])];
  args.push(...(namespace ? ['-n', namespace] : ['--all-namespaces']));
  const r = run('kubectl', args);
  return r.stdout.trim() === 'yes';
}

test('RBAC: the operator ServiceAccount may make exactly the operator calls', () => {
  // Only the RBAC documents (and the ServiceAccounts) of the render, created for real.
  const docs = runOk('helm', helmTemplateArgs([], release, NS))
    .split(/^---$/m)
    .filter((d) => /^kind: (ServiceAccount|ClusterRole|ClusterRoleBinding|Role|RoleBinding)$/m.test(d));
  assert.equal(docs.length, 6);
  rbacManifests = docs.map((d) => `---${d}`).join('\n');
  runOk('kubectl', ['apply', '-f', '-'], { input: rbacManifests });

  const allowed: [string, string, string?][] = [
    ['get', 'seckillevents.seckill.io', 'shop'],
    ['list', 'seckillevents.seckill.io'],
    ['watch', 'seckillevents.seckill.io'],
    ['patch', 'seckillevents.seckill.io', 'shop'],
    ['patch', 'seckillevents.seckill.io#status', 'shop'],
    ['update', 'seckillevents.seckill.io#finalizers', 'shop'],
    ['list', 'deployments.apps'],
    ['watch', 'deployments.apps'],
    ['get', 'deployments.apps', 'shop'],
    ['create', 'deployments.apps', 'shop'],
    ['patch', 'deployments.apps', 'shop'],
    ['delete', 'deployments.apps', 'shop'],
    ['create', 'events', 'shop'],
    ['patch', 'events', 'shop'],
    ['list', 'pods', 'shop'],
    ['create', 'leases.coordination.k8s.io', NS],
    ['get', `leases.coordination.k8s.io/${sa}`, NS],
    ['update', `leases.coordination.k8s.io/${sa}`, NS],
  ];
  for (const [verb, resource, ns] of allowed) assert.ok(canI(verb, resource, ns), `may ${verb} ${resource}`);

  const denied: [string, string, string?][] = [
    ['get', 'secrets', NS],
    ['list', 'secrets'],
    ['get', 'pods', 'shop'],
    ['create', 'pods', NS],
    ['delete', 'pods', 'shop'],
    ['delete', 'seckillevents.seckill.io', 'shop'],
    ['create', 'seckillevents.seckill.io', 'shop'],
    ['update', 'deployments.apps', 'shop'],
    ['update', 'leases.coordination.k8s.io/someone-elses-lease', NS],
    ['create', 'leases.coordination.k8s.io', 'shop'],
    ['list', 'configmaps', NS],
    ['create', 'clusterroles.rbac.authorization.k8s.io'],
    ['update', 'seckillevents.seckill.io#status', 'shop'],
  ];
  for (const [verb, resource, ns] of denied)
    assert.ok(!canI(verb, resource, ns), `may not ${verb} ${resource}`);

  // The operator's first server-side apply of a consumer Deployment (the API server authorizes it as create).
  const deployment = JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `${release}-consumer`, namespace: NS },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: release } },
      template: { metadata: { labels: { app: release } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    },
  });
  const ssa = run(
    'kubectl',
    ['apply', '--server-side', '--field-manager=seckill-operator', '--dry-run=server', as, '-f', '-'],
    { input: deployment },
  );
  assert.equal(ssa.code, 0, ssa.stderr);
  const secret = run('kubectl', ['get', 'secret', 'seckill-connection', '-n', NS, as]);
  assert.notEqual(secret.code, 0);
  assert.match(secret.stderr, /forbidden/i);
});

after(() => {
  if (rbacManifests)
    run('kubectl', ['delete', '--ignore-not-found', '--wait=false', '-f', '-'], { input: rbacManifests });
});
