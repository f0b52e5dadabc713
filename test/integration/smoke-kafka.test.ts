import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createKafka } from '../../workloads/shared/kafka/client.js';
import { createLogger } from '../../workloads/shared/log.js';
import { stackEnv, uniqueName } from '../../tools/lib/stack-env.js';

const kafka = createKafka(stackEnv.kafkaBrokers(), 'smoke', createLogger({ test: 'smoke-kafka' }, 'warn'));
const admin = kafka.admin();
after(() => admin.disconnect());

test('kafka: create a topic, produce with acks=all, consume in a group, add partitions', async () => {
  const topic = uniqueName('smoke');
  await admin.connect();
  assert.equal(
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true }),
    true,
  );

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [{ key: '1', value: 'hello' }] });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `${topic}-group` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message consumed within 30 s')), 30_000);
    void consumer.run({
      eachMessage: ({ message }) => {
        clearTimeout(timer);
        resolve(message.value?.toString() ?? '');
        return Promise.resolve();
      },
    });
  });
  await consumer.disconnect();
  assert.equal(received, 'hello');

  await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
  const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
  assert.equal(meta?.partitions.length, 3);
});
