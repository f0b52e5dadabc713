// The event's Kafka topic: created with the partitions the spec asks for, raised when the spec raises
// them, never lowered (Kafka cannot remove partitions; like Strimzi the operator reports NotSupported and
// keeps the larger count). Partitions derived from expectedPeakRate: see partitionsForRate in api/types.ts.
import type { Admin, ConfigResourceTypes } from 'kafkajs';
import { deadLetterTopic } from '../../workloads/shared/kafka/topics.js';

export type TopicAdmin = Pick<
  Admin,
  | 'listTopics'
  | 'createTopics'
  | 'createPartitions'
  | 'fetchTopicMetadata'
  | 'deleteTopics'
  | 'deleteGroups'
  | 'describeCluster'
  | 'describeConfigs'
>;

export type TopicAction = 'created' | 'raised' | 'unchanged' | 'cannotLower' | 'tooFewBrokers';

/** How many copies of each partition, and how many must have a write before acks=all answers. */
export interface Replication {
  replicationFactor: number;
  minInSyncReplicas: number;
}

export interface TopicState {
  topic: string;
  /** Partitions the topic has now (0 when it could not be created). */
  partitions: number;
  action: TopicAction;
  /** Partitions before a raise (for the Event message). */
  previous?: number;
  /** What the topic has: replicas of its first partition and its min.insync.replicas. */
  replication?: Partial<Replication>;
  /** The brokers in the cluster (when the replication factor asked for is above it). */
  brokers?: number;
}

async function partitionCount(admin: TopicAdmin, topic: string): Promise<number | undefined> {
  const names = await admin.listTopics();
  if (!names.includes(topic)) return undefined;
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const found = meta.topics.find((t) => t.name === topic);
  return found?.partitions.length;
}

/**
 * Topic settings: min.insync.replicas with acks=all is what makes a write survive a broker; an unclean
 * leader election would let an out-of-sync replica lead and drop acknowledged purchases, so it is off.
 */
const topicConfig = (r: Replication): { name: string; value: string }[] => [
  { name: 'min.insync.replicas', value: String(r.minInSyncReplicas) },
  { name: 'unclean.leader.election.enable', value: 'false' },
];

/** kafkajs' ConfigResourceTypes.TOPIC (the enum is not a named ESM export of the CommonJS module). */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

/** The replication the topic really has (what status reports). */
export async function topicReplication(admin: TopicAdmin, topic: string): Promise<Partial<Replication>> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const replicas = meta.topics.find((t) => t.name === topic)?.partitions[0]?.replicas.length;
  const configs = await admin.describeConfigs({
    resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: ['min.insync.replicas'] }],
    includeSynonyms: false,
  });
  const value = configs.resources[0]?.configEntries.find((e) => e.configName === 'min.insync.replicas');
  const minIsr = Number(value?.configValue);
  return {
    ...(replicas !== undefined ? { replicationFactor: replicas } : {}),
    ...(Number.isInteger(minIsr) && minIsr > 0 ? { minInSyncReplicas: minIsr } : {}),
  };
}

/**
 * Makes the topic exist with at least `partitions` partitions and `replication` (a new topic; an
 * existing one keeps its replication); also makes its dead-letter topic exist. A replication factor above
 * the cluster's broker count creates nothing (Kafka would refuse it): 'tooFewBrokers'.
 */
export async function ensureTopic(
  admin: TopicAdmin,
  topic: string,
  partitions: number,
  replication: Replication,
): Promise<TopicState> {
  const state = await ensurePartitions(admin, topic, partitions, replication);
  if (state.action === 'tooFewBrokers') return state;
  return { ...state, replication: await topicReplication(admin, topic) };
}

async function ensurePartitions(
  admin: TopicAdmin,
  topic: string,
  partitions: number,
  replication: Replication,
): Promise<TopicState> {
  const dlq = deadLetterTopic(topic);
  const names = await admin.listTopics();
  if (!names.includes(topic) || !names.includes(dlq)) {
    const brokers = (await admin.describeCluster()).brokers.length;
    if (replication.replicationFactor > brokers)
      return { topic, partitions: 0, action: 'tooFewBrokers', brokers };
  }
  const create = (name: string, numPartitions: number) =>
    admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: name,
          numPartitions,
          replicationFactor: replication.replicationFactor,
          configEntries: topicConfig(replication),
        },
      ],
    });
  if (!names.includes(dlq)) await create(dlq, 1);
  const current = await partitionCount(admin, topic);
  if (current === undefined) {
    await create(topic, partitions);
    // createTopics answers false when a racing creator won; report what the broker really has.
    const now = (await partitionCount(admin, topic)) ?? partitions;
    if (now < partitions) return raise(admin, topic, now, partitions);
    return { topic, partitions: now, action: now > partitions ? 'cannotLower' : 'created' };
  }
  if (current < partitions) return raise(admin, topic, current, partitions);
  return { topic, partitions: current, action: current > partitions ? 'cannotLower' : 'unchanged' };
}

async function raise(admin: TopicAdmin, topic: string, from: number, to: number): Promise<TopicState> {
  await admin.createPartitions({ topicPartitions: [{ topic, count: to }] });
  return { topic, partitions: to, action: 'raised', previous: from };
}

/** Deletes the topic, its dead-letter topic and the consumer group (cleanupPolicy Delete). Idempotent. */
export async function deleteTopicAndGroup(admin: TopicAdmin, topic: string, group: string): Promise<void> {
  const names = await admin.listTopics();
  const doomed = [topic, deadLetterTopic(topic)].filter((t) => names.includes(t));
  if (doomed.length > 0) await admin.deleteTopics({ topics: doomed });
  try {
    await admin.deleteGroups([group]);
  } catch (err) {
    if (!isGroupNotFound(err)) throw err;
  }
}

/** kafkajs' KafkaJSDeleteGroupsError carries per-group results; a group that never existed is fine. */
function isGroupNotFound(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const groups = (err as { groups?: unknown }).groups;
  if (!Array.isArray(groups) || groups.length === 0) return false;
  return groups.every((g: unknown) => {
    const e = (g as { error?: { type?: unknown } } | null)?.error;
    return e?.type === 'GROUP_ID_NOT_FOUND';
  });
}
