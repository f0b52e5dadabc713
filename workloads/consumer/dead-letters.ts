// Poison messages go to the dead-letter topic with the reason and their origin in headers, so the
// consumer keeps going and a person can inspect or replay them. Never a crash, never a silent drop.
import type { KafkaMessage, Producer } from 'kafkajs';

export interface DeadLetterOrigin {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

export async function sendToDeadLetters(
  producer: Producer,
  dlqTopic: string,
  origin: DeadLetterOrigin,
  reason: string,
) {
  await producer.send({
    topic: dlqTopic,
    acks: -1,
    messages: [
      {
        key: origin.message.key,
        value: origin.message.value,
        headers: {
          'x-dead-letter-reason': reason,
          'x-original-topic': origin.topic,
          'x-original-partition': String(origin.partition),
          'x-original-offset': origin.message.offset,
        },
      },
    ],
  });
}
