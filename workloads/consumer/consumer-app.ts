// Assembles the consumer from its parts; main.ts runs it as a process, tests run it in-process.
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import { startHealthServer } from '../shared/health.js';
import { createKafka } from '../shared/kafka/client.js';
import type { PurchaseBatch } from '../shared/kafka/codec.js';
import { consumerGroup, deadLetterTopic } from '../shared/kafka/topics.js';
import type { Logger } from '../shared/log.js';
import { createRegistry } from '../shared/metrics.js';
import { runKey } from '../shared/names.js';
import { migrate } from '../shared/mysql/migrations.js';
import { createMysqlPool } from '../shared/mysql/pool.js';
import { createRedis } from '../shared/redis/client.js';
import { withScripts } from '../shared/redis/scripts.js';
import type { ConsumerConfig } from './config.js';
import { runConsumerLoop } from './consumer-loop.js';
import { createEtcdLockGuard } from './etcd-lock-guard.js';
import { createConsumerMetrics } from './metrics.js';
import { createRunProcessor } from './run-processor.js';
import { SaleTerms } from './sale-terms.js';
import { ShardPool } from './shard-pool.js';
import { luaGuard, type StockGuard } from './stock-guard.js';

export interface ConsumerApp {
  start(): Promise<void>;
  /** Stops fetching, finishes in-flight work, commits, leaves the group. */
  stop(): Promise<void>;
  ready(): boolean;
  registry: Registry;
  httpServer(): Server | undefined;
}

/**
 * Long on purpose: the consumer's composition root. It builds each part once and start/stop close over
 * them in dependency order; split up, the same parts would only be passed around between the pieces.
 */
export function createConsumerApp(
  config: ConsumerConfig,
  log: Logger,
  registry = createRegistry('consumer'),
): ConsumerApp {
  const metrics = createConsumerMetrics(registry);
  const redis = createRedis(config.redisUrl, `consumer-${config.event}`);
  const scripts = withScripts(redis);
  const pool = createMysqlPool(config.mysqlUrl, config.shards + 2);
  const kafka = createKafka(config.kafkaBrokers, `seckill-consumer-${config.event}`, log);
  // The consumer never creates its topic: the operator does (with the event's partitions and replication).
  // One still draining after its event was deleted would otherwise bring the deleted topic back on a
  // broker that auto-creates, by merely asking for its metadata. (The dead-letter producer still may: a
  // missing .dlq topic is better created than a poison message left blocking its partition.)
  const consumer = kafka.consumer({
    groupId: consumerGroup(config.event),
    maxWaitTimeInMs: 100,
    allowAutoTopicCreation: false,
  });
  const dlqProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const terms = new SaleTerms(redis, config.event);
  const abort = new AbortController();
  const guard: StockGuard =
    config.guard === 'etcd'
      ? createEtcdLockGuard(config.etcdEndpoints, scripts)
      : luaGuard(scripts, config.guard === 'lua-per-entry', {
          replicas: config.claimWaitReplicas,
          timeoutMs: config.claimWaitTimeoutMs,
          observe: (seconds, confirmed) => {
            metrics.claimWaitDuration.observe(seconds);
            if (!confirmed) metrics.claimWaitShortfalls.inc();
          },
        });

  const processRun = createRunProcessor({
    redis,
    pool,
    guard,
    terms: (_event, productId) => terms.terms(productId),
    writeMode: config.writeMode,
    metrics,
    log,
    signal: abort.signal,
  });
  const shards = new ShardPool<PurchaseBatch>({
    shards: config.shards,
    capacity: config.shardCapacity,
    maxRun: config.maxRun,
    runKey: (b) => runKey(b.event, b.productId),
    size: (b) => b.entries.length,
    handle: (_shard, batches) => processRun(batches),
  });

  let running = false;
  let server: Server | undefined;
  consumer.on(consumer.events.CRASH, ({ payload }) =>
    log.error('kafka consumer crashed', { err: payload.error }),
  );

  return {
    registry,
    httpServer: () => server,
    ready: () => running,
    async start() {
      server = await startHealthServer(config.httpPort, registry, { ready: () => running });
      // Idempotent and serialised by a named lock, so every replica may run it: a cluster needs no job.
      await migrate(pool);
      await terms.refresh();
      await Promise.all([consumer.connect(), dlqProducer.connect()]);
      await runConsumerLoop({
        consumer,
        dlqProducer,
        topic: config.topic,
        dlqTopic: deadLetterTopic(config.topic),
        shards,
        reject: (b) => terms.reject(b.event, b.productId),
        partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
        metrics,
        log,
      });
      running = true;
      log.info('consumer running', {
        event: config.event,
        topic: config.topic,
        shards: config.shards,
        guard: config.guard,
      });
    },
    async stop() {
      running = false;
      // kafkajs waits for the batch in hand (our eachBatch commits before returning), then leaves the group.
      // A batch stuck retrying (Redis or MySQL down) is abandoned near the end of the grace period: its
      // offsets stay uncommitted, so it is redelivered, and the claims and inserts replay as no-ops.
      const giveUp = setTimeout(() => abort.abort(), Math.floor(config.shutdownGraceMs * 0.8));
      await consumer.disconnect();
      clearTimeout(giveUp);
      abort.abort();
      await dlqProducer.disconnect();
      await guard.close();
      await Promise.allSettled([redis.quit(), pool.end()]);
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
}
