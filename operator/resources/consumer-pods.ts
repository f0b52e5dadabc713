// Why an event's consumer pods are not ready, in words a user can act on. A Deployment's status only
// says "0/1 ready"; the pods say why: a Secret that does not exist, an image that cannot be pulled, a
// container that keeps crashing, a pod no node can take. Pure: the consumers step lists the pods (label
// seckill.io/event=<name>) and passes them in.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';

export type PodProblemReason =
  'SecretMissing' | 'ImagePullFailed' | 'CrashLooping' | 'Unschedulable' | 'ConfigError';

export interface PodProblem {
  reason: PodProblemReason;
  message: string;
}

const IMAGE_PULL = new Set(['ErrImagePull', 'ImagePullBackOff', 'ErrImageNeverPull', 'InvalidImageName']);

/** The most telling problem among the pods (a Secret or image problem before a crash loop), if any. */
export function diagnoseConsumerPods(pods: readonly V1Pod[], secretName: string): PodProblem | undefined {
  const problems = pods.flatMap((p) => podProblem(p, secretName) ?? []);
  const order: PodProblemReason[] = [
    'SecretMissing',
    'ConfigError',
    'ImagePullFailed',
    'CrashLooping',
    'Unschedulable',
  ];
  problems.sort((a, b) => order.indexOf(a.reason) - order.indexOf(b.reason));
  return problems[0];
}

function podProblem(pod: V1Pod, secretName: string): PodProblem | undefined {
  const name = pod.metadata?.name ?? '?';
  const where = { pod: name, namespace: pod.metadata?.namespace ?? 'default' };
  for (const c of pod.status?.containerStatuses ?? []) {
    const found = containerProblem(where, c, secretName);
    if (found) return found;
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return {
      reason: 'Unschedulable',
      message: `consumer pod ${name} cannot be scheduled: ${scheduled.message ?? 'no node fits'}`,
    };
  }
  return undefined;
}

function containerProblem(
  { pod, namespace }: { pod: string; namespace: string },
  c: V1ContainerStatus,
  secretName: string,
): PodProblem | undefined {
  const waiting = c.state?.waiting;
  const reason = waiting?.reason ?? '';
  const detail = waiting?.message ?? '';
  if (reason === 'CreateContainerConfigError') {
    if (/secret/i.test(detail) && /not found/i.test(detail)) {
      return {
        reason: 'SecretMissing',
        message:
          `consumer pod ${pod} cannot start: ${detail}. Create the Secret ${secretName} with the keys ` +
          "KAFKA_BROKERS, REDIS_URL and MYSQL_URL in the event's namespace, or point spec.connection.secretName at one",
      };
    }
    return { reason: 'ConfigError', message: `consumer pod ${pod} cannot start: ${detail || reason}` };
  }
  if (IMAGE_PULL.has(reason)) {
    return {
      reason: 'ImagePullFailed',
      message:
        `consumer pod ${pod} cannot pull its image ${c.image}: ${reason}${detail ? ` (${detail})` : ''}. ` +
        "Check spec.consumer.image or the operator's CONSUMER_IMAGE, and that the node can reach the registry",
    };
  }
  if (reason === 'CrashLoopBackOff') {
    const last = c.lastState?.terminated;
    const exit = last ? `exit code ${last.exitCode}${last.reason ? `, ${last.reason}` : ''}` : 'no exit code';
    return {
      reason: 'CrashLooping',
      message:
        `consumer pod ${pod} keeps crashing (${exit}, ${c.restartCount} restarts): ` +
        `see kubectl logs -n ${namespace} ${pod} --previous`,
    };
  }
  return undefined;
}
