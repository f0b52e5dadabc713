// --chaos on the cluster: during the sale, one after another, delete a consumer pod, delete a front door
// pod, kill -9 a consumer container's process on the node, delete the leader operator pod (the standby
// takes over), restart the kubelet, then restart Redis, the Kafka broker and MariaDB. With --ha the sale
// runs on the HA engines and their faults come first, while purchases pour in (ha-faults.ts): kill -9 the
// Kafka leader of a hot product's partition and start it again, the same for that product's Redis master,
// then a broker and a master at once; the cluster's faults run while the first killed broker starts again.
// The single Redis and Kafka are not the sale's then, so they are not restarted. Each action is recorded
// with its kind, when it started (seconds since the load started), how long it took, what it did and, for
// a kill of an HA node, how long writes paused.
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
import {
  killKafkaLeader,
  killKafkaLeaderAndRedisMaster,
  killRedisMaster,
  restartNodes,
  type HaEngines,
  type KillResult,
} from './ha-faults.js';
import { round } from './result.js';

/** What a chaos action did to which part: the --json `kind`. */
export type ChaosKind =
  | 'consumer-pod-delete'
  | 'front-door-pod-delete'
  | 'consumer-process-kill'
  | 'operator-leader-delete'
  | 'kubelet-restart'
  | 'redis-restart'
  | 'kafka-restart'
  | 'mariadb-restart'
  | 'kafka-leader-kill'
  | 'redis-master-kill'
  | 'kafka-leader-and-redis-master-kill'
  | 'ha-nodes-restart';

/** The kills of an HA node: the actions whose writes pause is measured (writesPausedSeconds). */
const HA_KILLS: ReadonlySet<ChaosKind> = new Set([
  'kafka-leader-kill',
  'redis-master-kill',
  'kafka-leader-and-redis-master-kill',
]);
export const isHaKill = (kind: ChaosKind): boolean => HA_KILLS.has(kind);

/** The sale's answers while an action's effect lasted (sale.ts counts them from the load's timeline). */
export interface ChaosRefusals {
  /** 503: the front door could not hand purchases to Kafka in time. */
  unavailable: number;
  /** 429: throttled. */
  throttled: number;
  /** Requests that got no answer (connection refused or reset, client timeout). */
  failed: number;
}

export interface ChaosAction {
  atSeconds: number;
  action: string;
  kind: ChaosKind;
  tookSeconds: number;
  detail: string;
  /** A kill of an HA node: seconds until writes resumed (null: they did not); null for other actions. */
  writesPausedSeconds: number | null;
  /** From atSeconds until the action's effect ended (its time or its pause, whichever is longer) + 2 s. */
  refusals?: ChaosRefusals;
}

export interface ChaosDeps {
  kc: k8s.KubeConfig;
  event: string;
  productIds: number[];
  /** The HA engines the sale runs on (--ha); absent: the single-node stack. */
  ha?: HaEngines;
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

/** Runs one action and records it; a failure is recorded as the detail, never thrown (undefined then). */
type Act = <T extends string | KillResult>(
  action: string,
  kind: ChaosKind,
  fn: () => Promise<T>,
) => Promise<T | undefined>;

function recorder(d: ChaosDeps): Act {
  return async <T extends string | KillResult>(action: string, kind: ChaosKind, fn: () => Promise<T>) => {
    const started = Date.now();
    const at = round((started - d.loadStart()) / 1000, 1);
    d.say(`chaos t=${at}s: ${action}`);
    let done: T | undefined;
    let detail: string;
    let writesPausedSeconds: number | null = null;
    try {
      done = await fn();
      if (typeof done === 'string') detail = done;
      else ({ detail, pausedSeconds: writesPausedSeconds } = done);
    } catch (err) {
      detail = `FAILED: ${err instanceof Error ? err.message : String(err)}`;
    }
    const took = round((Date.now() - started) / 1000, 1);
    d.actions.push({ atSeconds: at, action, kind, tookSeconds: took, detail, writesPausedSeconds });
    return done;
  };
}

/** The cluster's faults: pods, a container's process, the operator's leader, the kubelet. */
async function podFaults(act: Act, d: ChaosDeps): Promise<void> {
  const consumers = `${LABEL_EVENT}=${d.event}`;
  await act('kubectl delete pod (a consumer)', 'consumer-pod-delete', () =>
    deletePod(d.kc, NAMESPACE, consumers),
  );
  await sleep(1500);
  await act('kubectl delete pod (a front door)', 'front-door-pod-delete', () =>
    deletePod(d.kc, RELEASE_NAMESPACE, 'app.kubernetes.io/component=api'),
  );
  await sleep(1500);
  await act("kill -9 a consumer container's process", 'consumer-process-kill', () =>
    killContainer(d.kc, d.event),
  );
  await sleep(1500);
  await act('delete the leader operator pod', 'operator-leader-delete', () => deleteLeader(d.kc));
  await sleep(1500);
  await act('restart the kubelet', 'kubelet-restart', () => restart('kubelet'));
}

/**
 * The HA engines' faults, on the first two products' partition leaders and slot masters, with the cluster's
 * faults while the killed broker starts again (a JVM takes tens of seconds on this busy machine): so they
 * all land while purchases pour in. Both engines at once only once that broker is back: with two of the
 * three down, acks=all writes would stop (by design), which is another fault than the one asked for.
 */
async function haAndPodFaults(act: Act, d: ChaosDeps, h: HaEngines): Promise<void> {
  const hot = d.productIds[0]!;
  const other = d.productIds[1] ?? hot;
  // What a kill took down, to start again (nothing when the kill failed).
  const nodesOf = (r: KillResult | undefined): string[] => r?.nodes ?? [];
  const broker = nodesOf(
    await act('kill -9 the Kafka leader of a sale partition', 'kafka-leader-kill', () =>
      killKafkaLeader(h, hot),
    ),
  );
  const brokerBack = act('start the killed Kafka broker', 'ha-nodes-restart', () => restartNodes(h, broker));
  await sleep(1000);
  const master = nodesOf(
    await act("kill -9 the Redis master of a hot product's slot", 'redis-master-kill', () =>
      killRedisMaster(h, hot),
    ),
  );
  await act('start the killed Redis master (it rejoins as a replica)', 'ha-nodes-restart', () =>
    restartNodes(h, master),
  );
  await sleep(1000);
  await podFaults(act, d);
  await brokerBack;
  await sleep(1000);
  const both = nodesOf(
    await act('kill -9 a Kafka leader and a Redis master at once', 'kafka-leader-and-redis-master-kill', () =>
      killKafkaLeaderAndRedisMaster(h, other),
    ),
  );
  await act('start both again', 'ha-nodes-restart', () => restartNodes(h, both));
}

export async function runChaos(d: ChaosDeps): Promise<void> {
  const act = recorder(d);
  await sleep(1500);
  if (d.ha) {
    await haAndPodFaults(act, d, d.ha);
  } else {
    await podFaults(act, d);
    await sleep(1000);
    await act('restart Redis', 'redis-restart', () => restart('redis'));
    await sleep(1000);
    await act('restart the Kafka broker', 'kafka-restart', () => restart('kafka'));
  }
  await sleep(1000);
  await act('restart MariaDB', 'mariadb-restart', () => restart('mariadb'));
  // An action that ran beside others (the broker's restart) ends after them: the record is by start time.
  d.actions.sort((a, b) => a.atSeconds - b.atSeconds);
}
