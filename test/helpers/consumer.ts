// A consumer in-process on the stack (real Kafka, Redis, MariaDB), configured as its Deployment would be:
// from environment-style settings, `extra` on top (e.g. CONSUMER_SHARDS, CLAIM_WAIT_REPLICAS).
import type { Registry } from 'prom-client';
import { readConsumerConfig } from '../../workloads/consumer/config.js';
import { createConsumerApp, type ConsumerApp } from '../../workloads/consumer/consumer-app.js';
import { EnvReader } from '../../workloads/shared/config.js';
import type { Logger } from '../../workloads/shared/log.js';
import { stackEnv } from '../../tools/lib/stack-env.js';

export function stackConsumer(
  event: string,
  log: Logger,
  extra: Record<string, string> = {},
  registry?: Registry,
): ConsumerApp {
  const config = readConsumerConfig(
    new EnvReader({
      SECKILL_EVENT: event,
      KAFKA_BROKERS: stackEnv.kafkaBrokers().join(','),
      REDIS_URL: stackEnv.redisUrl(),
      MYSQL_URL: stackEnv.mysqlUrl(),
      HTTP_PORT: '0',
      ...extra,
    }),
  );
  return createConsumerApp(config, log, registry);
}
