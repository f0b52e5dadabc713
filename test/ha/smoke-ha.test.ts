// The HA profile's engines (`npm run stack -- up --ha`, tools/stack/kafka-ha.sh and redis-cluster.sh): a
// three-node Kafka whose topics get three replicas, two of them in sync for acks=all, and a Redis Cluster of
// three masters with one replica each, reached through ioredis' Cluster client.
// The test command runs this suite last, with the HA engines started for it (tools/test.sh); alone:
// `npm run test:ha` against running HA engines. Like every suite, it fails, never skips, when their
// settings are missing.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { stackEnv, uniqueName } from '../../tools/lib/stack-env.js';
import { waitFor } from '../../tools/lib/wait.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

test('kafka-ha: all brokers are up, and a topic with RF 3 / min.insync.replicas 2 has 3 replicas in sync', async () => {
  const brokers = stackEnv.haKafkaBrokers();
  const count = stackEnv.haKafkaBrokerCount();
  assert.equal(brokers.length, count, 'HA_KAFKA_BROKERS lists HA_KAFKA_BROKER_COUNT brokers');
  const kafka = new Kafka({
    clientId: 'smoke-ha',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  assert.equal((await admin.describeCluster()).brokers.length, count, 'every broker is in the metadata');

  const topic = uniqueName('smoke-ha');
  assert.equal(
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 3,
          replicationFactor: 3,
          configEntries: [{ name: 'min.insync.replicas', value: '2' }],
        },
      ],
      waitForLeaders: true,
    }),
    true,
  );
  cleanups.push(() => admin.deleteTopics({ topics: [topic] }));

  const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
  assert.equal(meta?.partitions.length, 3);
  for (const p of meta.partitions) {
    assert.equal(p.replicas.length, 3, `partition ${p.partitionId} has 3 replicas`);
    assert.equal(new Set(p.replicas).size, 3, `partition ${p.partitionId}'s replicas are on 3 brokers`);
    assert.equal(p.isr.length, 3, `partition ${p.partitionId} has 3 replicas in sync`);
  }
  // Three partitions over three brokers: each broker leads one (the controller spreads the leaders).
  assert.equal(new Set(meta.partitions.map((p) => p.leader)).size, 3, 'the leaders are on 3 brokers');

  // The topic's own min.insync.replicas, and an acks=all write that needs two of the three replicas.
  const { resources } = await admin.describeConfigs({
    resources: [{ type: 2, name: topic, configNames: ['min.insync.replicas'] }], // 2: ConfigResourceTypes.TOPIC
    includeSynonyms: false,
  });
  assert.equal(
    resources[0]?.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue,
    '2',
  );
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  const [sent] = await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'replicated' }] });
  assert.equal(sent?.errorCode, 0);
});

test('redis-ha: a Cluster client SETs and GETs keys of different slots, one on each master', async () => {
  const nodes = stackEnv.haRedisNodes();
  // RESP2, as the project's single-node client (workloads/shared/redis/client.ts).
  const cluster = new Cluster(nodes, { redisOptions: { protocol: 2 }, slotsRefreshTimeout: 5000 });
  cleanups.push(() => cluster.quit());

  // CLUSTER SLOTS: [start, end, master, ...replicas] per range. Three masters, one replica each. Each node's
  // view comes by gossip, so the node asked may need a moment to list a fresh (or rejoined) replica.
  const ranges = await waitFor(
    'every slot range to show a master and one replica',
    async () => {
      const r = await cluster.cluster('SLOTS');
      return r.length > 0 && r.every((range) => range.length === 4) ? r : undefined;
    },
    20_000,
    250,
  );
  const masters = new Map<string, { start: number; end: number; replicas: number }[]>();
  for (const [start, end, master, ...replicas] of ranges) {
    assert.ok(master, `slots ${start}-${end} have a master`);
    const address = `${master[0]}:${master[1]}`;
    masters.set(address, [...(masters.get(address) ?? []), { start, end, replicas: replicas.length }]);
  }
  assert.equal(masters.size, 3, 'three masters serve the slots');
  for (const [address, owned] of masters) {
    for (const r of owned) assert.equal(r.replicas, 1, `master ${address} has one replica`);
  }

  // One key per master: hash tags {0}, {1}, ... until each master owns one of them.
  const prefix = uniqueName('smoke-ha');
  const keyOf = new Map<string, string>();
  for (let i = 0; keyOf.size < masters.size && i < 1000; i++) {
    const key = `${prefix}:{${i}}`;
    const slot = await cluster.cluster('KEYSLOT', key);
    const owner = [...masters].find(([, owned]) => owned.some((r) => r.start <= slot && slot <= r.end))?.[0];
    if (owner && !keyOf.has(owner)) keyOf.set(owner, key);
  }
  assert.equal(keyOf.size, 3, 'found a key for every master');

  for (const key of keyOf.values()) {
    assert.equal(await cluster.set(key, `value of ${key}`, 'EX', 600), 'OK');
    cleanups.push(() => cluster.del(key));
  }
  for (const key of keyOf.values()) assert.equal(await cluster.get(key), `value of ${key}`);

  // Each key is on the master that owns its slot, and reached its replica there (WAIT 1: one replica acked).
  for (const [address, key] of keyOf) {
    const [host = '', port = ''] = address.split(':');
    const master = new Redis({ host, port: Number(port), protocol: 2, lazyConnect: true });
    cleanups.push(() => master.quit());
    assert.equal(await master.get(key), `value of ${key}`, `${key} is on ${address}`);
    assert.equal(await master.wait(1, 5000), 1, `${address}'s replica has ${key}`);
  }
});
