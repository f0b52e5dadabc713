import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { stackEnv, uniqueName } from '../../tools/lib/stack-env.js';
import { waitFor } from '../../tools/lib/wait.js';

const kc = new k8s.KubeConfig();
kc.loadFromFile(stackEnv.kubeconfig());
const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const group = 'smoke.seckill.io';
const plural = 'widgets';

interface Widget extends k8s.KubernetesObject {
  spec?: { size?: number };
}

const crd: k8s.V1CustomResourceDefinition = {
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural, singular: 'widget', kind: 'Widget' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: { size: { type: 'integer', minimum: 1 } },
                x_kubernetes_validations: [{ rule: 'self.size <= 100', message: 'size must be at most 100' }],
              },
            },
          },
        },
      },
    ],
  },
};

test('kube-apiserver: install a CRD, create and patch a custom object, see it through an informer', async (t) => {
  await ext.createCustomResourceDefinition({ body: crd }).catch((err: unknown) => {
    if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
  });
  await waitFor('the CRD to be established', async () => {
    const got = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
    return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')
      ? true
      : undefined;
  });

  const name = uniqueName('w');
  const path = `/apis/${group}/v1/namespaces/default/${plural}`;
  const informer = k8s.makeInformer<Widget>(
    kc,
    path,
    () =>
      custom.listNamespacedCustomObject({ group, version: 'v1', namespace: 'default', plural }) as Promise<
        k8s.KubernetesListObject<Widget>
      >,
  );
  const seen: number[] = [];
  const sawPatch = new Promise<void>((resolve) => {
    const onChange = (obj: Widget): void => {
      if (obj.metadata?.name !== name) return;
      seen.push(obj.spec?.size ?? 0);
      if (obj.spec?.size === 7) resolve();
    };
    informer.on('add', onChange);
    informer.on('update', onChange);
  });
  // client-node stops an informer on any error (a watch cut, a list before the CRD is served): restart it,
  // as the operator's ResilientInformer does.
  let stopped = false;
  informer.on('error', () => {
    if (!stopped) setTimeout(() => void informer.start().catch(() => undefined), 500);
  });
  // The CRD is Established before its REST endpoint always answers: list once before watching.
  await waitFor('the custom resource to be served', () =>
    custom
      .listNamespacedCustomObject({ group, version: 'v1', namespace: 'default', plural })
      .then(() => true),
  );
  await informer.start();
  after(async () => {
    stopped = true;
    await informer.stop();
  });

  await custom.createNamespacedCustomObject({
    group,
    version: 'v1',
    namespace: 'default',
    plural,
    body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name }, spec: { size: 3 } },
  });
  await custom.patchNamespacedCustomObject(
    { group, version: 'v1', namespace: 'default', plural, name, body: { spec: { size: 7 } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  await Promise.race([
    sawPatch,
    new Promise((_, rej) => setTimeout(() => rej(new Error(`informer saw only ${seen.join(',')}`)), 30_000)),
  ]);
  assert.equal(seen.at(-1), 7);

  await t.test('the API server enforces the CEL rule', async () => {
    await assert.rejects(
      custom.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace: 'default',
        plural,
        body: {
          apiVersion: `${group}/v1`,
          kind: 'Widget',
          metadata: { name: `${name}-big` },
          spec: { size: 101 },
        },
      }),
      /size must be at most 100/,
    );
  });
});
