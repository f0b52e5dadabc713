// Step 3, the topic: the event's Kafka topic with at least the partitions the spec asks for (never
// lowered), and the consumer group's lag that the scaling rule reads.
import { consumerGroup } from '../../../workloads/shared/kafka/topics.js';
import type { ParsedEvent } from '../../api/types.js';
import { consumerLag, type LagAdmin } from '../../resources/lag.js';
import type { TopicReplication } from '../../config.js';
import { ensureTopic, type Replication, type TopicAdmin, type TopicState } from '../../resources/topic.js';
import { errMessage } from '../../runtime/kube.js';
import { ownerUnknown } from './name.js';
import { emptyReport, type StepReport } from './step.js';

export interface TopicOutcome extends StepReport {
  /** Partitions the topic has, undefined when Kafka could not be asked. */
  partitions?: number;
  /** Total lag of the event's consumer group, undefined when unknown. */
  lag?: number;
  /** What the topic has (status.replicationFactor / minInSyncReplicas). */
  replication?: Partial<Replication>;
}

/** The spec's replication, else the operator's defaults (min ISR never above the replication factor). */
export function replicationFor(ev: ParsedEvent, defaults: TopicReplication): Replication {
  const replicationFactor = ev.replicationFactor ?? defaults.replicationFactor;
  const minInSyncReplicas = ev.minInSyncReplicas ?? Math.min(defaults.minInSyncReplicas, replicationFactor);
  return { replicationFactor, minInSyncReplicas };
}

export async function topicStep(
  kafka: TopicAdmin & LagAdmin,
  ev: ParsedEvent,
  allowed: boolean,
  defaults: TopicReplication,
): Promise<TopicOutcome> {
  const out: TopicOutcome = emptyReport();
  if (!allowed) {
    out.conditions.push(ownerUnknown('TopicReady', ev.name, 'topic'));
    return out;
  }
  try {
    const replication = replicationFor(ev, defaults);
    const topic = await ensureTopic(kafka, ev.topic, ev.partitions, replication);
    if (topic.action === 'tooFewBrokers') {
      const message = `spec.kafka asks a replication factor of ${replication.replicationFactor} and the Kafka cluster has ${topic.brokers} broker(s): lower spec.kafka.replicationFactor (or TOPIC_REPLICATION_FACTOR) or add brokers`;
      out.conditions.push({
        type: 'TopicReady',
        status: 'False',
        reason: 'ReplicationFactorTooHigh',
        message,
      });
      out.events.push({ type: 'Warning', reason: 'ReplicationFactorTooHigh', message });
      return out;
    }
    out.partitions = topic.partitions;
    if (topic.replication) out.replication = topic.replication;
    reportTopic(out, ev, topic);
  } catch (err) {
    const message = `Kafka: ${errMessage(err)}`;
    out.conditions.push({ type: 'TopicReady', status: 'False', reason: 'KafkaUnavailable', message });
    out.errors.push(message);
    return out;
  }
  try {
    out.lag = await consumerLag(kafka, consumerGroup(ev.name), ev.topic);
  } catch (err) {
    // Right after a partition raise the new partitions may have no leader yet: retry soon.
    out.errors.push(`Kafka lag: ${errMessage(err)}`);
  }
  return out;
}

function reportTopic(out: TopicOutcome, ev: ParsedEvent, topic: TopicState): void {
  if (topic.action === 'created') {
    const r = topic.replication;
    const message = `created topic ${ev.topic} with ${topic.partitions} partitions, replication factor ${r?.replicationFactor ?? '?'}, min.insync.replicas ${r?.minInSyncReplicas ?? '?'}`;
    out.events.push({ type: 'Normal', reason: 'TopicCreated', message });
  } else if (topic.action === 'raised') {
    const message = `raised topic ${ev.topic} from ${topic.previous} to ${topic.partitions} partitions`;
    out.events.push({ type: 'Normal', reason: 'PartitionsRaised', message });
  }
  if (topic.action === 'cannotLower') {
    const message = `topic ${ev.topic} has ${topic.partitions} partitions and the spec asks ${ev.partitions}: Kafka cannot remove partitions, keeping ${topic.partitions}`;
    out.conditions.push({ type: 'TopicReady', status: 'False', reason: 'NotSupported', message });
    out.events.push({ type: 'Warning', reason: 'NotSupported', message });
    return;
  }
  out.conditions.push({
    type: 'TopicReady',
    status: 'True',
    reason: 'TopicReady',
    message: `topic ${ev.topic} has ${topic.partitions} partitions`,
  });
}
