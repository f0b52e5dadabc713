// Benchmark: producing purchases into the real Kafka of the local stack (eval "$(npm run -s stack -- env)").
//   1. the producer alone: idempotent (maxInFlightRequests 1) vs not, 8 concurrent flushes of one
//      100-entry message each (the Batcher's default workers and size): sends/s, p50/p99 send latency;
//   2. the front door end to end (HTTP in, 202 after the Kafka ack), in a child process of its own:
//      batched vs per-request (one send per purchase), idempotent vs not: accepted/s and Kafka messages per
//      accepted purchase, same closed-loop load.
//   --products N spreads the purchases over N products (one Kafka message per product per flush, each its
//   own send: workloads/api/purchase-producer.ts createKafkaSend).
//   node dist/tools/bench/produce-kafka.js [--seconds 5] [--connections 256] [--products 1] [--json]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Partitioners } from 'kafkajs';
import { ApiApp } from '../../workloads/api/app.js';
import type { ProducerMode } from '../../workloads/api/config.js';
import { preloadEvent } from '../../workloads/shared/catalog.js';
import { encodeBatch, messageKey } from '../../workloads/shared/kafka/codec.js';
import { purchaseTopic } from '../../workloads/shared/kafka/topics.js';
import { createLogger } from '../../workloads/shared/log.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { withScripts } from '../../workloads/shared/redis/scripts.js';
import { apiConfig, testKafka, uniqueName } from '../lib/stack-env.js';
import { load, purchaseRequest } from './http-load.js';
import { positiveArg } from './args.js';

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

async function createTopic(topic: string): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 8 }], waitForLeaders: true });
  await admin.disconnect();
}

// ------------------------------------------------------------- 1. the producer alone

async function producerAlone(idempotent: boolean, seconds: number, topic: string) {
  const producer = testKafka().producer({
    idempotent,
    ...(idempotent ? { maxInFlightRequests: 1 } : {}),
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  await producer.connect();
  const entries = Array.from({ length: 100 }, (_, i) => ({
    ticket: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
    userId: i + 1,
    acceptedAt: Date.now(),
  }));
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 8 }, async (_, worker) => {
      while (performance.now() < deadline) {
        const productId = worker + 1;
        const value = encodeBatch({ event: 'bench', productId, entries });
        const t = performance.now();
        await producer.sendBatch({
          acks: -1,
          topicMessages: [{ topic, messages: [{ key: messageKey(productId), value }] }],
        });
        latencies.push(performance.now() - t);
      }
    }),
  );
  await producer.disconnect();
  latencies.sort((a, b) => a - b);
  return {
    sendsPerSec: Math.round(latencies.length / seconds),
    entriesPerSec: Math.round((latencies.length * 100) / seconds),
    p50Ms: +percentile(latencies, 0.5).toFixed(2),
    p99Ms: +percentile(latencies, 0.99).toFixed(2),
  };
}

// ------------------------------------------------------------- 2. the front door end to end

interface Variant {
  mode: ProducerMode;
  idempotent: boolean;
}

async function serveChild(variant: Variant): Promise<void> {
  const config = apiConfig({
    producerMode: variant.mode,
    kafkaIdempotent: variant.idempotent,
    batch: { size: 100, intervalMs: 5, workers: 8, buffer: 100_000 },
  });
  // The producer's batching is measured here, not token checks (bench:http measures those): one buyer in
  // the body, believed.
  config.auth = { ...config.auth, mode: 'none' };
  const app = new ApiApp(config, { log: createLogger({ bench: 'produce' }, 'error') });
  const port = await app.start();
  process.send?.({ port });
  process.on('message', (msg: unknown) => {
    if (msg === 'exit') void app.stop().then(() => process.exit(0));
  });
}

async function endpoint(
  variant: Variant,
  event: string,
  seconds: number,
  connections: number,
  products: number,
) {
  const self = fileURLToPath(import.meta.url);
  const proc = fork(self, ['--serve', JSON.stringify(variant)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      proc.once('message', (m: unknown) => resolve((m as { port: number }).port));
      proc.once('exit', () => reject(new Error('front door exited')));
    });
    const scrape = async (): Promise<{ accepted: number; messages: number }> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const num = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
      return {
        accepted: num(
          /seckill_api_requests_total\{route="purchase",outcome="accepted",component="api"\} (\d+)/,
        ),
        messages: num(/seckill_kafka_messages_total\{component="api"\} (\d+)/),
      };
    };
    const request = Array.from({ length: products }, (_, i) =>
      purchaseRequest(JSON.stringify({ event, productId: i + 1, userId: 1 })),
    );
    const before = await scrape();
    const result = await load(port, connections, seconds, request);
    await new Promise((r) => setTimeout(r, 200));
    const after = await scrape();
    const accepted = after.accepted - before.accepted;
    return {
      acceptedPerSec: Math.round(result.requests / result.seconds),
      non2xx: result.non2xx,
      entriesPerMessage: +(accepted / Math.max(1, after.messages - before.messages)).toFixed(1),
    };
  } finally {
    proc.send('exit');
  }
}

async function main(): Promise<void> {
  const seconds = positiveArg('seconds', 5);
  const connections = positiveArg('connections', 256);
  const products = positiveArg('products', 1);
  const topic = uniqueName('bench-produce');
  await createTopic(topic);

  console.log(
    `1. producer alone: 8 concurrent sendBatch of one 100-entry message, acks=all, ${seconds} s each`,
  );
  const plain = await producerAlone(false, seconds, topic);
  const idem = await producerAlone(true, seconds, topic);
  const row = (name: string, r: typeof plain): void =>
    console.log(
      `   ${name.padEnd(34)} ${String(r.sendsPerSec).padStart(7)} sends/s ${String(r.entriesPerSec).padStart(8)} entries/s   p50 ${r.p50Ms} ms   p99 ${r.p99Ms} ms`,
    );
  row('not idempotent', plain);
  row('idempotent, maxInFlightRequests 1', idem);
  console.log(`   idempotent / not: ${(idem.sendsPerSec / plain.sendsPerSec).toFixed(2)}x throughput`);

  const redis = createRedis(process.env.REDIS_URL ?? '', 'bench');
  const event = uniqueName('bench');
  const eventTopic = purchaseTopic(event);
  await createTopic(eventTopic);
  await preloadEvent(withScripts(redis), {
    name: event,
    topic: eventTopic,
    startMs: Date.now() - 1000,
    endMs: Date.now() + 3_600_000,
    products: Array.from({ length: products }, (_, i) => ({
      id: i + 1,
      stock: 1_000_000_000,
      perUserLimit: 2 ** 31 - 1,
    })),
  });
  await redis.quit();

  console.log(
    `\n2. front door end to end (HTTP -> 202 after Kafka ack), ${connections} connections, ${products} product(s), ${seconds} s each`,
  );
  const variants: Variant[] = [
    { mode: 'batched', idempotent: true },
    { mode: 'batched', idempotent: false },
    { mode: 'per-request', idempotent: true },
    { mode: 'per-request', idempotent: false },
  ];
  const results: Record<string, Awaited<ReturnType<typeof endpoint>>> = {};
  for (const v of variants) {
    const name = `${v.mode}${v.idempotent ? ' idempotent' : ''}`;
    const r = await endpoint(v, event, seconds, connections, products);
    results[name] = r;
    console.log(
      `   ${name.padEnd(24)} ${String(r.acceptedPerSec).padStart(7)} accepted/s   ${String(r.entriesPerMessage).padStart(5)} purchases per Kafka message   non-2xx ${r.non2xx}`,
    );
  }
  const batched = results['batched idempotent'];
  const perRequest = results['per-request idempotent'];
  const summary = {
    producerSendsPerSec: plain.sendsPerSec,
    idempotentProducerSendsPerSec: idem.sendsPerSec,
    idempotentVsNot: +(idem.sendsPerSec / plain.sendsPerSec).toFixed(2),
    acceptedPerSec: batched?.acceptedPerSec,
    entriesPerKafkaMessage: batched?.entriesPerMessage,
    batchedVsUnbatchedRatio:
      batched && perRequest ? +(batched.acceptedPerSec / perRequest.acceptedPerSec).toFixed(2) : undefined,
    results,
  };
  if (process.argv.includes('--json')) console.log(JSON.stringify(summary));
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  await serveChild(JSON.parse(process.argv[serveAt + 1] ?? '{}') as Variant);
} else {
  await main();
}
