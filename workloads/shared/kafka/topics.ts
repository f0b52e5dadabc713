// Topic and group names derived from an event, shared by operator, front door and consumer.

export const purchaseTopic = (event: string): string => `seckill.${event}.purchases`;
export const deadLetterTopic = (topic: string): string => `${topic}.dlq`;
export const consumerGroup = (event: string): string => `seckill-${event}`;
