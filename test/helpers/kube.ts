// Waiting on Kubernetes objects of the local stack's bare kube-apiserver (a status to be reached, an object
// to be gone) and tearing a throwaway namespace down as the missing namespace controller would.
import * as k8s from '@kubernetes/client-node';
import { isNotFound } from '../../operator/runtime/kube.js';
import { waitFor } from '../../tools/lib/wait.js';

/** How to poll: waitFor by default; a test that runs the operator as a child passes its waitUntil. */
export type Poll = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number) => Promise<T>;

export interface WaitOptions {
  timeoutMs?: number;
  poll?: Poll;
}

const pollEvery100ms: Poll = (what, probe, timeoutMs) => waitFor(what, probe, timeoutMs, 100);

/** Waits until `read` returns an object `ok` accepts; a timeout names the last status seen. */
export async function waitStatus<T extends { status?: unknown }>(
  what: string,
  read: () => Promise<T | undefined>,
  ok: (obj: T) => boolean,
  { timeoutMs = 20_000, poll = pollEvery100ms }: WaitOptions = {},
): Promise<T> {
  let last: T | undefined;
  try {
    return await poll(
      what,
      async () => {
        last = await read();
        return last && ok(last) ? last : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status)}`, {
      cause: err,
    });
  }
}

export { isNotFound };

/** Waits until `read` finds nothing: it returns undefined or fails with 404 (other errors: poll again). */
export function waitGone(
  what: string,
  read: () => Promise<unknown>,
  { timeoutMs = 30_000, poll = pollEvery100ms }: WaitOptions = {},
): Promise<true> {
  return poll(
    what,
    async () => {
      try {
        return (await read()) === undefined ? true : undefined;
      } catch (err) {
        if (isNotFound(err)) return true;
        throw err;
      }
    },
    timeoutMs,
  );
}

/**
 * Deletes what this test leaves in a namespace, then the namespace. The stack has no controller-manager:
 * nothing would empty a Terminating namespace or drop its `kubernetes` finalizer, so this does both, as the
 * namespace controller would (objects first, then the finalize subresource).
 */
export async function deleteNamespace(kc: k8s.KubeConfig, namespace: string): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const coord = kc.makeApiClient(k8s.CoordinationV1Api);
  const ignore = (): undefined => undefined;
  await Promise.all([
    apps.deleteCollectionNamespacedDeployment({ namespace }).catch(ignore),
    coord.deleteCollectionNamespacedLease({ namespace }).catch(ignore),
    core.deleteCollectionNamespacedEvent({ namespace }).catch(ignore),
    core.deleteCollectionNamespacedSecret({ namespace }).catch(ignore),
  ]);
  await core.deleteNamespace({ name: namespace }).catch(ignore);
  const ns = await core.readNamespace({ name: namespace }).catch(ignore);
  if (!ns) return;
  await core
    .replaceNamespaceFinalize({
      name: namespace,
      body: { ...ns, spec: { ...ns.spec, finalizers: [] } },
    })
    .catch(ignore);
  await waitGone(`namespace ${namespace} to be gone`, () => core.readNamespace({ name: namespace }), {
    timeoutMs: 10_000,
  });
}
