// The front door, assembled: connections, catalog cache, sink (Batcher + Kafka), HTTP server, readiness
// and graceful stop. main.ts runs it from the environment; integration tests run it in-process.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { RedisClient } from '../shared/redis/client.js';
import type { Registry } from 'prom-client';
import { monotonicFactory } from 'ulid';
import { createKafka } from '../shared/kafka/client.js';
import { createLogger, type Logger } from '../shared/log.js';
import { sleep } from '../shared/lifecycle.js';
import { createRegistry } from '../shared/metrics.js';
import { createRedis } from '../shared/redis/client.js';
import { createAuthenticator, type Authenticator } from './auth/authenticator.js';
import { createBatcherMetrics } from './batcher-metrics.js';
import { CatalogCache } from './catalog-cache.js';
import type { ApiConfig } from './config.js';
import { createApiMetrics } from './metrics.js';
import { PurchaseService, TicketService } from './purchase.js';
import {
  createPerEventBatchedSink,
  createKafkaSend,
  createPerRequestSink,
  type PurchaseSink,
} from './purchase-producer.js';
import { createApiServer } from './server.js';
import { LimitGuard, UserThrottle } from './throttle.js';

export interface ApiDeps {
  /** A kafkajs client; default: createKafka(config.kafkaBrokers). Tests pass one with a socketFactory. */
  kafka?: Kafka;
  log?: Logger;
  registry?: Registry;
}

/** Retries of one produce: short and bounded, the buyer is waiting (then 503). */
const produceRetry = (retries: number) => ({ retries, initialRetryTime: 100, maxRetryTime: 1000 });

/**
 * The front door's producer. Not idempotent by default (KAFKA_IDEMPOTENT=false): kafkajs 2.2.4 gives a
 * failed request's sequence numbers back (src/producer/sendMessages.js) even when the broker appended it and
 * only the answer was lost (a leader killed mid-request); the next batch to that partition then carries the
 * same sequence, the broker takes it for a duplicate of the appended one and acknowledges it without
 * storing it: 202s for purchases Kafka never got (found by the HA chaos run, 112 tickets; pinned by
 * test/integration/api-kafka-in-doubt.test.ts). Without idempotence a retry may store a message twice,
 * which the consumer's claim answers as a replay. One request in flight per broker keeps a retried
 * request from overtaking a later one (per-product order).
 */
export function createProducer(kafka: Kafka, config: ApiConfig): Producer {
  return kafka.producer({
    idempotent: config.kafkaIdempotent,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false, // the operator creates topics; an unknown one is an error, not a new topic
    createPartitioner: Partitioners.DefaultPartitioner, // Java-compatible murmur2 of the key
    retry: produceRetry(config.kafkaRetries),
  });
}

export class ApiApp {
  readonly registry: Registry;
  readonly catalog: CatalogCache;
  readonly producer: Producer;
  readonly redis: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly sink: PurchaseSink;
  private readonly auth: Authenticator;
  private readonly server: Server;
  private readonly log: Logger;
  private producerConnected = false;
  /** Stopping: readiness false, every answer closes its connection (the lame duck, then the drain). */
  private draining = false;
  /** Past the lame duck: new purchases are refused (503). */
  private refusing = false;
  private stopping: Promise<void> | undefined;

  // The front door's composition root: every part built and wired here, top to bottom, so the wiring
  // reads as one list (longer than our usual function on purpose).
  constructor(
    readonly config: ApiConfig,
    deps: ApiDeps = {},
  ) {
    const log = (this.log = deps.log ?? createLogger({ component: 'api' }));
    this.registry = deps.registry ?? createRegistry('api');
    const metrics = createApiMetrics(this.registry);

    this.redis = createRedis(config.redisUrl, 'seckill-api');
    this.subscriber = createRedis(config.redisUrl, 'seckill-api-soldout');
    for (const [name, conn] of [
      ['redis', this.redis],
      ['subscriber', this.subscriber],
    ] as const) {
      conn.on('error', (err: unknown) => log.warn('redis connection error', { connection: name, err }));
    }
    const limits = new LimitGuard();
    this.catalog = new CatalogCache({
      redis: this.redis,
      subscriber: this.subscriber,
      refreshMs: config.catalogRefreshMs,
      log,
      onEventRemoved: (event) => limits.forgetEvent(event),
    });

    this.producer = createProducer(
      deps.kafka ?? createKafka(config.kafkaBrokers, 'seckill-api', log),
      config,
    );
    this.producer.on(this.producer.events.CONNECT, () => (this.producerConnected = true));
    this.producer.on(this.producer.events.DISCONNECT, () => (this.producerConnected = false));

    const send = createKafkaSend(this.producer, config.kafkaAckTimeoutMs, metrics);
    this.sink =
      config.producerMode === 'batched'
        ? createPerEventBatchedSink(
            send,
            config.batch,
            (event) => this.catalog.get(event)?.spec.batcher,
            createBatcherMetrics(this.registry),
          )
        : createPerRequestSink(send, config.batch.buffer);

    this.auth = createAuthenticator(config.auth, metrics.auth, log);
    const ulid = monotonicFactory();
    const purchases = new PurchaseService({
      catalog: this.catalog,
      sink: this.sink,
      throttle: new UserThrottle(config.throttleMs),
      limits,
      newTicket: () => ulid(),
      accepting: () => !this.refusing,
    });
    this.server = createApiServer(
      {
        auth: this.auth,
        purchases,
        tickets: new TicketService(this.redis),
        metrics,
        registry: this.registry,
        ready: () => this.ready(),
        closeAfterAnswer: () => this.draining,
        log,
      },
      config.http,
    );
    this.server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeouts
  }

  /** Ready for traffic: Redis and Kafka connected, catalog loaded, not draining. */
  ready(): boolean {
    return (
      !this.draining && this.producerConnected && this.redis.status === 'ready' && this.catalog.isLoaded()
    );
  }

  /** Listens (health endpoints answer at once; readiness stays false until connect()). Returns the port. */
  listen(port = this.config.httpPort): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Connects Kafka, subscribes to sold-out announcements and loads the catalog; rejects if any fails. */
  async connect(): Promise<void> {
    await Promise.all([this.catalog.start(), this.producer.connect()]);
    this.log.info('front door ready', { port: this.port(), mode: this.config.producerMode });
  }

  async start(): Promise<number> {
    const port = await this.listen();
    await this.connect();
    return port;
  }

  port(): number | undefined {
    const address = this.server.address();
    return address !== null && typeof address === 'object' ? address.port : undefined;
  }

  /**
   * Graceful stop: readiness false; the lame duck (LAME_DUCK_MS: purchases still served, every answer
   * closes its connection); then new purchases 503, the Batcher flushed (every waiting buyer answered),
   * HTTP connections closed, Kafka and Redis disconnected. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    // Keep-alive clients (a load balancer's upstream pool, the load generator) hold connections to this
    // process after the endpoints dropped it. Closing an idle one races with the request its client is
    // writing on it, which that client sees as a reset with no answer (22 of them when the HA chaos run
    // deleted a front-door pod). In the lame duck each connection ends after its next answer instead, and
    // its client reconnects elsewhere; only connections idle all that time are closed below.
    this.log.info('stopping: lame duck, then the drain', { lameDuckMs: this.config.lameDuckMs });
    if (this.config.lameDuckMs > 0) await sleep(this.config.lameDuckMs);
    this.refusing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await this.sink.close();
    // The last waiters' answers are written in the microtasks after close() resolved; then close every
    // connection as soon as it is idle (keep-alive clients get 503 with the connection closed meanwhile).
    const deadline = Date.now() + 2000;
    let done = false;
    void closed.then(() => (done = true));
    while (!done && Date.now() < deadline) {
      this.server.closeIdleConnections();
      await sleep(20);
    }
    if (!done) this.server.closeAllConnections();
    await closed;
    await Promise.allSettled([this.producer.disconnect(), this.catalog.stop()]);
    await Promise.allSettled([this.subscriber.quit(), this.redis.quit()]);
    this.auth.close();
    this.log.info('front door stopped');
  }
}
