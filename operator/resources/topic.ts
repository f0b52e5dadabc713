// The event's Kafka topic: created with the partitions the spec asks for, raised when the spec raises
// them, never lowered (Kafka cannot remove partitions; like Strimzi the operator reports NotSupported and
// keeps the larger count). Partitions derived from expectedPeakRate: see partitionsForRate in api/types.ts.
import type { Admin } from 'kafkajs';
import { deadLetterTopic } from '../../workloads/shared/kafka/topics.js';

export type TopicAdmin = Pick<
  Admin,
  'listTopics' | 'createTopics' | 'createPartitions' | 'fetchTopicMetadata' | 'deleteTopics' | 'deleteGroups'
>;

export type TopicAction = 'created' | 'raised' | 'unchanged' | 'cannotLower';

export interface TopicState {
  topic: string;
  /** Partitions the topic has now. */
  partitions: number;
  action: TopicAction;
  /** Partitions before a raise (for the Event message). */
  previous?: number;
}

async function partitionCount(admin: TopicAdmin, topic: string): Promise<number | undefined> {
  const names = await admin.listTopics();
  if (!names.includes(topic)) return undefined;
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const found = meta.topics.find((t) => t.name === topic);
  return found?.partitions.length;
}

/** Makes the topic exist with at least `partitions` partitions; also makes its dead-letter topic exist. */
export async function ensureTopic(
  admin: TopicAdmin,
  topic: string,
  partitions: number,
  replicationFactor: number,
): Promise<TopicState> {
  const dlq = deadLetterTopic(topic);
  const names = await admin.listTopics();
  if (!names.includes(dlq)) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: dlq, numPartitions: 1, replicationFactor }],
    });
  }
  const current = await partitionCount(admin, topic);
  if (current === undefined) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: partitions, replicationFactor }],
    });
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
