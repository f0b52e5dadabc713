// Step 3, the topic: the event's Kafka topic with at least the partitions the spec asks for (never
// lowered), and the consumer group's lag that the scaling rule reads.
import { consumerGroup } from '../../../workloads/shared/kafka/topics.js';
import type { ParsedEvent } from '../../api/types.js';
import { consumerLag, type LagAdmin } from '../../resources/lag.js';
import { ensureTopic, type TopicAdmin, type TopicState } from '../../resources/topic.js';
import { errMessage } from '../../runtime/kube.js';
import { ownerUnknown } from './name.js';
import { emptyReport, type StepReport } from './step.js';

export interface TopicOutcome extends StepReport {
  /** Partitions the topic has, undefined when Kafka could not be asked. */
  partitions?: number;
  /** Total lag of the event's consumer group, undefined when unknown. */
  lag?: number;
}

export async function topicStep(
  kafka: TopicAdmin & LagAdmin,
  ev: ParsedEvent,
  allowed: boolean,
): Promise<TopicOutcome> {
  const out: TopicOutcome = emptyReport();
  if (!allowed) {
    out.conditions.push(ownerUnknown('TopicReady', ev.name, 'topic'));
    return out;
  }
  try {
    const topic = await ensureTopic(kafka, ev.topic, ev.partitions, ev.replicationFactor);
    out.partitions = topic.partitions;
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
    const message = `created topic ${ev.topic} with ${topic.partitions} partitions`;
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
