// A typed client for SeckillEvents: client-node's CustomObjectsApi speaks `object`, so every caller would
// otherwise repeat the group/version/plural and cast the answer. The operator, the tools and the tests
// all go through this one.
import { CustomObjectsApi, type KubeConfig, type KubernetesListObject } from '@kubernetes/client-node';
import { ignoreNotFound, mergePatch } from '../runtime/kube.js';
import { GROUP, PLURAL, VERSION, type SeckillEvent } from './types.js';

export interface CreateOptions {
  /** Server-side dry run: validated by the schema and CEL rules, not stored. */
  dryRun?: boolean;
  /** Unknown fields are an error (the default) or dropped silently (false). */
  strict?: boolean;
}

export class SeckillEventClient {
  private readonly custom: CustomObjectsApi;

  constructor(kc: KubeConfig | CustomObjectsApi) {
    this.custom = kc instanceof CustomObjectsApi ? kc : kc.makeApiClient(CustomObjectsApi);
  }

  private base(namespace: string): { group: string; version: string; plural: string; namespace: string } {
    return { group: GROUP, version: VERSION, plural: PLURAL, namespace };
  }

  async get(namespace: string, name: string): Promise<SeckillEvent> {
    return (await this.custom.getNamespacedCustomObject({ ...this.base(namespace), name })) as SeckillEvent;
  }

  /** Every SeckillEvent of a namespace, or of the cluster when namespace is empty. */
  async list(namespace = ''): Promise<KubernetesListObject<SeckillEvent>> {
    const list = namespace
      ? this.custom.listNamespacedCustomObject(this.base(namespace))
      : this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL });
    return (await list) as KubernetesListObject<SeckillEvent>;
  }

  async create(body: SeckillEvent, opts: CreateOptions = {}): Promise<SeckillEvent> {
    const namespace = body.metadata?.namespace ?? 'default';
    return (await this.custom.createNamespacedCustomObject({
      ...this.base(namespace),
      body,
      ...(opts.dryRun ? { dryRun: 'All' } : {}),
      fieldValidation: opts.strict === false ? 'Ignore' : 'Strict',
    })) as SeckillEvent;
  }

  /** JSON merge patch of the object (spec, metadata). */
  async patch(namespace: string, name: string, body: object): Promise<SeckillEvent> {
    return (await this.custom.patchNamespacedCustomObject(
      { ...this.base(namespace), name, body },
      mergePatch,
    )) as SeckillEvent;
  }

  /** JSON merge patch of the status subresource: `body` is `{ status: {...} }`. */
  async patchStatus(namespace: string, name: string, body: object): Promise<SeckillEvent> {
    return (await this.custom.patchNamespacedCustomObjectStatus(
      { ...this.base(namespace), name, body },
      mergePatch,
    )) as SeckillEvent;
  }

  /** Sets the finalizer list, guarded by the resourceVersion the decision was made on (409 if stale). */
  async setFinalizers(obj: SeckillEvent, finalizers: string[]): Promise<void> {
    const md = obj.metadata ?? {};
    await this.patch(md.namespace ?? 'default', md.name ?? '', {
      metadata: { finalizers, resourceVersion: md.resourceVersion },
    });
  }

  /** Deletes; an object already gone is fine. */
  async delete(namespace: string, name: string): Promise<void> {
    await ignoreNotFound(this.custom.deleteNamespacedCustomObject({ ...this.base(namespace), name }));
  }
}
