// The front door's Kafka send through a partition leader's death, on the HA profile's three brokers: a
// flush that carries two products on two partitions led by two brokers, sent while one of those leaders is
// SIGKILLed, must either fail (the buyers get 503) or have both messages in Kafka, never resolve without
// one of them. kafkajs 2.2.4 does the latter with one multi-partition sendBatch when the dead leader's
// partition moves to the broker that already answered for the other (workloads/api/purchase-producer.ts
// createKafkaSend); this test failed with that sendBatch and passes with a send per partition.
// A message may be stored twice: the front door's producer is not idempotent (workloads/api/app.ts
// createProducer), so a retry after an answer lost in the failover appends again (the consumer's claim
// answers the copy as a replay). The test therefore asks for every ticket at least once, not for offsets.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { Kafka, Partitioners, logLevel, type PartitionMetadata } from 'kafkajs';
import { Registry } from 'prom-client';
import { createProducer } from '../../workloads/api/app.js';
import { createApiMetrics } from '../../workloads/api/metrics.js';
import { createKafkaSend, type PendingPurchase } from '../../workloads/api/purchase-producer.js';
import { messageKey } from '../../workloads/shared/kafka/codec.js';
import { ulid } from 'ulid';
import { apiConfig, stackEnv, uniqueName } from '../../tools/lib/stack-env.js';
import { waitFor } from '../../tools/lib/wait.js';
import { repoFile } from '../../tools/lib/paths.js';
import { readTopic, ticketCounts } from '../helpers/api.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const stack = (...args: string[]): void => {
  const r = spawnSync('bash', [repoFile('tools/stack/stack.sh'), ...args], {
    encoding: 'utf8',
    timeout: 180_000,
  });
  assert.equal(r.status, 0, `stack.sh ${args.join(' ')}: ${r.stderr.slice(-1500)}`);
};

/** A product id whose message key the front door's partitioner puts on `partition`. */
function productOn(partition: number, partitionMetadata: PartitionMetadata[], topic: string): number {
  const partitioner = Partitioners.DefaultPartitioner();
  for (let id = 1; id < 1000; id++) {
    if (
      partitioner({ topic, partitionMetadata, message: { key: messageKey(id), value: null } }) === partition
    )
      return id;
  }
  throw new Error(`no product id maps to partition ${partition}`);
}

const purchase = (topic: string, productId: number): PendingPurchase => ({
  event: 'ha-failover',
  topic,
  productId,
  ticket: ulid(),
  userId: 7,
  acceptedAt: Date.now(),
});

test(
  "a flush over two partitions loses neither when one partition's leader is killed mid-send",
  { timeout: 240_000 },
  async (t) => {
    const kafka = new Kafka({
      clientId: 'ha-failover',
      brokers: stackEnv.haKafkaBrokers(),
      logLevel: logLevel.NOTHING,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    // Partition 0 led by broker 1, partition 1 by broker 2; broker 2 is next in line for partition 0.
    const topic = uniqueName('ha-failover');
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          replicaAssignment: [
            { partition: 0, replicas: [1, 2, 3] },
            { partition: 1, replicas: [2, 3, 1] },
          ],
          configEntries: [{ name: 'min.insync.replicas', value: '2' }],
        },
      ],
    });
    cleanups.push(() => admin.deleteTopics({ topics: [topic] }));
    const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    assert.deepEqual(
      meta?.partitions.map((p) => p.leader).sort(),
      [1, 2],
      'each partition led by its first replica',
    );
    const broker1 = (await admin.describeCluster()).brokers.find((b) => b.nodeId === 1);
    assert.equal(`127.0.0.1:${broker1?.port}`, stackEnv.haKafkaBrokers()[0], 'broker 1 is kafka-ha-1');
    const onFirst = productOn(0, meta.partitions, topic);
    const onSecond = productOn(1, meta.partitions, topic);

    // The front door's producer (workloads/api/app.ts), with retries enough to outlast the fence.
    const producer = createProducer(kafka, apiConfig({ kafkaRetries: 12 }));
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const send = createKafkaSend(producer, 5000, createApiMetrics(new Registry()));
    // Each flush sends one purchase per partition; `sent` keeps the tickets of the flushes that resolved.
    const sent: { partition: number; ticket: string }[] = [];
    const flush = async () => {
      const first = purchase(topic, onFirst);
      const second = purchase(topic, onSecond);
      await send(
        new Map([
          ['a', [first]],
          ['b', [second]],
        ]),
      );
      sent.push({ partition: 0, ticket: first.ticket }, { partition: 1, ticket: second.ticket });
    };
    await flush(); // connections and metadata in place: one message on each partition

    stack('kill', 'kafka-ha-1');
    cleanups.push(() => Promise.resolve(stack('start', 'kafka-ha-1')));
    // Sent at once: its first attempt meets the dead leader, the retries the new one (broker 2).
    await flush();

    // Read once partition 0 has its new leader (a send that resolved early must not fail the read).
    await waitFor(
      'broker 2 to lead partition 0',
      async () => {
        const [now] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
        return now?.partitions.find((p) => p.partitionId === 0)?.leader === 2 ? true : undefined;
      },
      30_000,
      200,
    );
    await waitFor(
      'the offsets once the election is over',
      () => admin.fetchTopicOffsets(topic).catch(() => undefined),
      30_000,
      200,
    );
    const stored = await readTopic(kafka, topic);
    const onPartition = (partition: number, ticket: string) =>
      stored.some((m) => m.partition === partition && m.batch.entries.some((e) => e.ticket === ticket));
    const missing = sent.filter(({ partition, ticket }) => !onPartition(partition, ticket));
    assert.deepEqual(missing, [], 'every ticket of both resolved flushes is in Kafka, on its partition');
    const counts = ticketCounts(stored);
    const copies = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
    t.diagnostic(`${stored.length} messages for ${sent.length} tickets, copies from a retry ${copies}`);
    assert.equal(counts.size, sent.length, 'nothing in Kafka that was not sent');
  },
);
