// The chaos run's faults of the HA engines (`--ha --chaos`): kill -9 the Kafka broker that leads the
// partition a hot product's purchases go to (found with the admin API), kill -9 the Redis Cluster master
// that owns that product's slot (its replica takes over), both at once, and the restarts (the broker
// rejoins, the old master comes back as a replica). Each kill is measured: a write probe (write-probe.ts)
// on the same partition leader and the same slot tells how long writes paused until the engine failed over.
// The nodes are the stack's (tools/stack: `stack.sh kill|start kafka-ha-N / redis-ha-N`).
import { join } from 'node:path';
import { Partitioners, type Admin, type Kafka, type Producer } from 'kafkajs';
import { messageKey } from '../../workloads/shared/kafka/codec.js';
import { keys } from '../../workloads/shared/keys.js';
import type { RedisClient } from '../../workloads/shared/redis/client.js';
import { ROOT } from '../lib/paths.js';
import { run } from './processes.js';
import { round } from './result.js';
import { WriteProbe } from './write-probe.js';

/** How long a probe waits for writes to resume before it calls the failover failed. */
const RESUME_TIMEOUT_MS = 60_000;
/** A probe write that takes longer failed (the next probe write tries again). */
const PROBE_WRITE_TIMEOUT_MS = 2_000;

export interface HaEngines {
  /** A client of the HA Kafka for host processes (requestTimeout short: a dead leader fails fast). */
  kafka: Kafka;
  admin: Admin;
  /** The brokers' host addresses in node order: broker N of the stack is kafka-ha-N. */
  kafkaBrokers: string[];
  /** A Redis Cluster client of its own (probe writes queue behind a failover: not the demo's ledger). */
  redis: RedisClient;
  /** The nodes' host addresses in node order: node N is redis-ha-N (matched by port). */
  redisNodes: string[];
  event: string;
  topic: string;
}

/** One kill's outcome: the node(s) killed and how long writes paused (null: they did not resume). */
export interface KillResult {
  nodes: string[];
  detail: string;
  pausedSeconds: number | null;
}

const stack = (cmd: string, node: string): Promise<string> =>
  run('bash', [join(ROOT, 'tools/stack/stack.sh'), cmd, node], undefined, 240_000);

const portOf = (hostPort: string): number => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));

function nodeByPort(kind: 'kafka-ha' | 'redis-ha', nodes: string[], port: number): string {
  const i = nodes.findIndex((n) => portOf(n) === port);
  if (i < 0) throw new Error(`no ${kind} node of the stack listens on port ${port}`);
  return `${kind}-${i + 1}`;
}

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    p.then(resolve, reject).finally(() => clearTimeout(timer));
  });

/** A partition's leader and the broker ids, from the topic's metadata. */
async function partitionOf(h: HaEngines, productId: number) {
  const [meta] = (await h.admin.fetchTopicMetadata({ topics: [h.topic] })).topics;
  if (!meta) throw new Error(`topic ${h.topic} has no metadata`);
  // The front door's partitioner (workloads/api/app.ts): murmur2 of the product's message key.
  const partition = Partitioners.DefaultPartitioner()({
    topic: h.topic,
    partitionMetadata: meta.partitions,
    message: { key: messageKey(productId), value: null },
  });
  const leader = meta.partitions.find((p) => p.partitionId === partition)?.leader;
  if (leader === undefined || leader < 0)
    throw new Error(`partition ${partition} of ${h.topic} has no leader`);
  return { partition, leader };
}

/** The stack node name of a broker id (matched by the port the cluster advertises for it). */
async function brokerNode(h: HaEngines, brokerId: number): Promise<string> {
  const broker = (await h.admin.describeCluster()).brokers.find((b) => b.nodeId === brokerId);
  if (!broker) throw new Error(`broker ${brokerId} is not in the cluster's metadata`);
  return nodeByPort('kafka-ha', h.kafkaBrokers, broker.port);
}

/** The key every probe write sets: it starts with the product's hash tag (keys.ts), so the product's slot. */
const probeKey = (event: string, productId: number): string => `${keys.stock(event, productId)}:chaos-probe`;

/** The stack node name of the master that owns `key`'s slot (CLUSTER KEYSLOT, CLUSTER SLOTS). */
async function slotMaster(h: HaEngines, key: string): Promise<string> {
  const slot = Number(await h.redis.call('CLUSTER', 'KEYSLOT', key));
  const ranges = (await h.redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
  if (!owner) throw new Error(`no master serves slot ${slot}`);
  return nodeByPort('redis-ha', h.redisNodes, Number(owner[2][1]));
}

/**
 * A probe on the partition leader `leader`: a one-partition topic whose only replica set starts with that
 * broker (so it leads it, as it leads the sale's partition), RF 3, min ISR 2, written with acks=all.
 */
async function kafkaProbe(
  h: HaEngines,
  leader: number,
  n: number,
): Promise<{ probe: WriteProbe; close: () => Promise<void> }> {
  const brokers = (await h.admin.describeCluster()).brokers.map((b) => b.nodeId);
  const topic = `seckill-chaos-probe-${h.event}-${n}`;
  await h.admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        replicaAssignment: [{ partition: 0, replicas: [leader, ...brokers.filter((b) => b !== leader)] }],
        configEntries: [{ name: 'min.insync.replicas', value: '2' }],
      },
    ],
  });
  const producer: Producer = h.kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200 },
  });
  await producer.connect();
  const probe = new WriteProbe(() =>
    withTimeout(
      producer.send({ topic, acks: -1, timeout: PROBE_WRITE_TIMEOUT_MS, messages: [{ value: 'probe' }] }),
      PROBE_WRITE_TIMEOUT_MS,
    ),
  );
  probe.start();
  return {
    probe,
    close: async () => {
      probe.stop();
      await producer.disconnect().catch(() => undefined);
      await h.admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    },
  };
}

function redisProbe(h: HaEngines, key: string): { probe: WriteProbe; close: () => Promise<void> } {
  const probe = new WriteProbe(() =>
    withTimeout(h.redis.set(key, String(Date.now()), 'PX', 600_000), PROBE_WRITE_TIMEOUT_MS),
  );
  probe.start();
  return {
    probe,
    close: async () => {
      probe.stop();
      await h.redis.del(key).catch(() => undefined);
    },
  };
}

/** The pause a probe saw after `since`, as the action's detail and seconds. */
async function measured(what: string, probe: WriteProbe, since: number) {
  const ms = await probe.pauseAfter(since, RESUME_TIMEOUT_MS);
  return ms === undefined
    ? {
        text: `${what}: writes did not resume in ${RESUME_TIMEOUT_MS / 1000} s (${probe.error})`,
        seconds: null,
      }
    : { text: `${what}: writes resumed after ${round(ms / 1000)} s`, seconds: round(ms / 1000) };
}

let probes = 0;

/** A Kafka fault's victim, with a probe already writing through it. */
async function kafkaVictim(h: HaEngines, productId: number) {
  const { partition, leader } = await partitionOf(h, productId);
  const node = await brokerNode(h, leader);
  const { probe, close } = await kafkaProbe(h, leader, ++probes);
  await probe.pauseAfter(Date.now(), 10_000); // the probe writes before the kill
  return {
    node,
    probe,
    close,
    what: `${node} (broker ${leader}, leader of ${h.topic}[${partition}], product ${productId})`,
  };
}

/** A Redis fault's victim, with a probe already writing to its slot. */
async function redisVictim(h: HaEngines, productId: number) {
  const key = probeKey(h.event, productId);
  const node = await slotMaster(h, key);
  const { probe, close } = redisProbe(h, key);
  await probe.pauseAfter(Date.now(), 10_000);
  return { node, probe, close, what: `${node} (master of product ${productId}'s slot)` };
}

type Victim = Awaited<ReturnType<typeof kafkaVictim>>;

/** SIGKILL to each victim at once, then how long writes paused at each; the probes closed. */
async function kill(victims: Victim[]): Promise<KillResult> {
  try {
    await Promise.all(victims.map((v) => stack('kill', v.node)));
    const since = Date.now();
    const pauses = await Promise.all(victims.map((v) => measured(`kill -9 ${v.what}`, v.probe, since)));
    const seconds = pauses.map((p) => p.seconds);
    return {
      nodes: victims.map((v) => v.node),
      detail: pauses.map((p) => p.text).join('; '),
      pausedSeconds: seconds.includes(null) ? null : Math.max(...(seconds as number[])),
    };
  } finally {
    await Promise.all(victims.map((v) => v.close()));
  }
}

/** kill -9 of the broker leading the partition `productId`'s purchases go to. */
export async function killKafkaLeader(h: HaEngines, productId: number): Promise<KillResult> {
  return kill([await kafkaVictim(h, productId)]);
}

/** kill -9 of the Redis master owning `productId`'s slot; its replica takes over. */
export async function killRedisMaster(h: HaEngines, productId: number): Promise<KillResult> {
  return kill([await redisVictim(h, productId)]);
}

/** Both at once: the partition leader and the slot master of `productId`. */
export async function killKafkaLeaderAndRedisMaster(h: HaEngines, productId: number): Promise<KillResult> {
  return kill([await kafkaVictim(h, productId), await redisVictim(h, productId)]);
}

/** Starts killed nodes again (side by side); each returns once its engine lists it again. */
export async function restartNodes(h: HaEngines, nodes: string[]): Promise<string> {
  await Promise.all(nodes.map((n) => stack('start', n)));
  const roles = await Promise.all(
    nodes.map(async (n) => {
      if (!n.startsWith('redis-ha-')) return `${n} back in the cluster`;
      const address = h.redisNodes[Number(n.slice('redis-ha-'.length)) - 1] ?? '';
      const host = address.slice(0, address.lastIndexOf(':'));
      const args = ['-h', host, '-p', String(portOf(address)), 'role'];
      const role = (await run('redis-cli', args)).split('\n');
      return role[0] === 'slave'
        ? `${n} rejoined as a replica of ${role[1]}:${role[2]}`
        : `${n} rejoined as ${role[0]}`;
    }),
  );
  return roles.join('; ');
}
