// --chaos on the cluster: during the sale, one after another, delete a consumer pod, delete a front door
// pod, kill -9 a consumer container's process on the node, delete the leader operator pod (the standby
// takes over), restart the kubelet, then restart Redis, the Kafka broker and MariaDB. Each action is
// recorded with when it started (seconds since the load started), how long it took and what it did.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { LABEL_EVENT } from '../../operator/resources/consumer-deployment.js';
import { ROOT } from '../lib/paths.js';
import { sleep } from '../lib/wait.js';
import { NAMESPACE } from './cluster.js';
import { podUid } from './cpu.js';
import { run } from './processes.js';
import { OPERATOR, RELEASE_NAMESPACE } from './release.js';
import { round } from './result.js';

export interface ChaosAction {
  atSeconds: number;
  action: string;
  tookSeconds: number;
  detail: string;
}

export interface ChaosDeps {
  kc: k8s.KubeConfig;
  event: string;
  loadStart: () => number;
  say: (msg: string) => void;
  actions: ChaosAction[];
}

const stack = (cmd: string, service: string): Promise<string> =>
  run('bash', [join(ROOT, 'tools/stack/stack.sh'), cmd, service], undefined, 180_000);

async function restart(service: string): Promise<string> {
  await stack('stop', service);
  await stack('start', service);
  return `${service} stopped and started`;
}

async function runningPods(kc: k8s.KubeConfig, namespace: string, selector: string): Promise<k8s.V1Pod[]> {
  const list = await kc
    .makeApiClient(k8s.CoreV1Api)
    .listNamespacedPod({ namespace, labelSelector: selector });
  return list.items.filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
}

const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

/** `kubectl delete pod` of one pod matching the selector (its controller starts a new one). */
async function deletePod(kc: k8s.KubeConfig, namespace: string, selector: string): Promise<string> {
  const pod = pick(await runningPods(kc, namespace, selector));
  if (!pod?.metadata?.name) return `no running pod for ${selector}`;
  await run('kubectl', ['-n', namespace, 'delete', 'pod', pod.metadata.name, '--wait=false']);
  return `deleted pod ${namespace}/${pod.metadata.name}`;
}

/** The pids on this node of a pod's containers (cgroup v1 paths carry pod<uid>), pause excluded. */
function containerPids(uid: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cgroup = readFileSync(`/proc/${entry}/cgroup`, 'utf8');
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (comm !== 'pause' && podUid(cgroup) === uid) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

/** SIGKILL to a consumer container's process on the node: the kubelet restarts the container. */
async function killContainer(kc: k8s.KubeConfig, event: string): Promise<string> {
  const pod = pick(await runningPods(kc, NAMESPACE, `${LABEL_EVENT}=${event}`));
  const uid = pod?.metadata?.uid;
  if (!uid) return 'no running consumer pod';
  const pid = containerPids(uid).sort((a, b) => a - b)[0];
  if (pid === undefined) return `no process found for pod ${pod.metadata?.name}`;
  process.kill(pid, 'SIGKILL');
  return `SIGKILL pid ${pid} of pod ${pod.metadata?.name}`;
}

/** Deletes the operator pod holding the Lease; the standby replica takes over. */
async function deleteLeader(kc: k8s.KubeConfig): Promise<string> {
  const lease = await kc
    .makeApiClient(k8s.CoordinationV1Api)
    .readNamespacedLease({ name: OPERATOR, namespace: RELEASE_NAMESPACE });
  const leader = lease.spec?.holderIdentity;
  if (!leader) return 'no operator holds the Lease';
  await run('kubectl', ['-n', RELEASE_NAMESPACE, 'delete', 'pod', leader, '--wait=false']);
  return `deleted the leader operator pod ${leader}`;
}

export async function runChaos(d: ChaosDeps): Promise<void> {
  const act = async (action: string, fn: () => Promise<string>): Promise<void> => {
    const started = Date.now();
    const at = round((started - d.loadStart()) / 1000, 1);
    d.say(`chaos t=${at}s: ${action}`);
    let detail: string;
    try {
      detail = await fn();
    } catch (err) {
      detail = `FAILED: ${err instanceof Error ? err.message : String(err)}`;
    }
    d.actions.push({ atSeconds: at, action, tookSeconds: round((Date.now() - started) / 1000, 1), detail });
  };
  const consumers = `${LABEL_EVENT}=${d.event}`;
  await sleep(1500);
  await act('kubectl delete pod (a consumer)', () => deletePod(d.kc, NAMESPACE, consumers));
  await sleep(1500);
  await act('kubectl delete pod (a front door)', () =>
    deletePod(d.kc, RELEASE_NAMESPACE, 'app.kubernetes.io/component=api'),
  );
  await sleep(1500);
  await act("kill -9 a consumer container's process", () => killContainer(d.kc, d.event));
  await sleep(1500);
  await act('delete the leader operator pod', () => deleteLeader(d.kc));
  await sleep(1500);
  await act('restart the kubelet', () => restart('kubelet'));
  await sleep(1000);
  await act('restart Redis', () => restart('redis'));
  await sleep(1000);
  await act('restart the Kafka broker', () => restart('kafka'));
  await sleep(1000);
  await act('restart MariaDB', () => restart('mariadb'));
}
