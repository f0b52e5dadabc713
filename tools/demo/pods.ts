// The pods of a run, as the report shows them: every pod seen (by uid) in the event's namespace and the
// release's, with its image and its restarts, sampled once a second, so pods that came and went (chaos,
// scaling) are counted too.
import * as k8s from '@kubernetes/client-node';

export interface PodSeen {
  name: string;
  namespace: string;
  images: string[];
  restarts: number;
}

export class PodTracker {
  private readonly seen = new Map<string, PodSeen>();
  private readonly core: k8s.CoreV1Api;

  constructor(
    kc: k8s.KubeConfig,
    private readonly namespaces: readonly string[],
  ) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  /** One look at the pods (best effort: a failed list is skipped). */
  async sample(): Promise<void> {
    for (const namespace of this.namespaces) {
      const list = await this.core.listNamespacedPod({ namespace }).catch(() => undefined);
      for (const pod of list?.items ?? []) this.note(pod);
    }
  }

  private note(pod: k8s.V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const statuses = pod.status?.containerStatuses ?? [];
    this.seen.set(uid, {
      name: pod.metadata?.name ?? '?',
      namespace: pod.metadata?.namespace ?? '?',
      images: (pod.spec?.containers ?? []).map((c) => c.image ?? '?'),
      restarts: Math.max(
        this.seen.get(uid)?.restarts ?? 0,
        statuses.reduce((s, c) => s + c.restartCount, 0),
      ),
    });
  }

  /** Pod uid -> pod name, for every pod seen. */
  names(): Map<string, string> {
    return new Map([...this.seen.entries()].map(([uid, p]) => [uid, p.name]));
  }

  pods(): PodSeen[] {
    return [...this.seen.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Distinct images over every pod seen. */
  images(): string[] {
    return [...new Set(this.pods().flatMap((p) => p.images))].sort();
  }

  restarts(): number {
    return this.pods().reduce((s, p) => s + p.restarts, 0);
  }
}
