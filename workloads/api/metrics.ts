// The front door's Prometheus metrics (the Batcher's own come from batcher-metrics.ts).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { OUTCOMES, type Outcome } from './errors.js';

export const ROUTES = ['purchase', 'ticket'] as const;
export type Route = (typeof ROUTES)[number];

/** Request latency: sub-millisecond for refusals, a batch interval plus a Kafka round trip for a 202. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Why a connection or request was refused before any handler ran (server.ts onClientError, 'drop'). */
export const REFUSALS = [
  'request_timeout',
  'headers_too_large',
  'invalid_request',
  'max_connections',
] as const;
export type Refusal = (typeof REFUSALS)[number];

/** Buyer token checks (auth/authenticator.ts): cached hits, fresh verifications, refusals, key outages. */
export interface AuthMetrics {
  cached(): void;
  verified(): void;
  refused(): void;
  unavailable(): void;
}

export interface ApiMetrics {
  /** Counts one answered request and its latency; `startedAt` from performance.now(). */
  answered(route: Route, outcome: Outcome, startedAt: number): void;
  inflight: Gauge;
  produceDuration: Histogram;
  produceErrors: Counter;
  kafkaMessages: Counter;
  auth: AuthMetrics;
  /** Counts a refusal of the connection layer; `reason` another ErrorCode is counted as invalid_request. */
  refused(reason: string): void;
}

function createAuthMetrics(registers: Registry[]): AuthMetrics {
  const checks = new Counter({
    name: 'seckill_api_auth_checks_total',
    help: 'Buyer token checks: cached (a token verified before), verified, refused (401), unavailable (keys could not be fetched).',
    labelNames: ['result'] as const,
    registers,
  });
  const child = (result: string): Counter.Internal => {
    const c = checks.labels(result);
    c.inc(0);
    return c;
  };
  const [cached, verified, refused, unavailable] = ['cached', 'verified', 'refused', 'unavailable'].map(
    child,
  );
  return {
    cached: () => cached!.inc(),
    verified: () => verified!.inc(),
    refused: () => refused!.inc(),
    unavailable: () => unavailable!.inc(),
  };
}

export function createApiMetrics(registry: Registry): ApiMetrics {
  const registers = [registry];
  const requests = new Counter({
    name: 'seckill_api_requests_total',
    help: 'Answered front-door requests, by route and outcome.',
    labelNames: ['route', 'outcome'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'seckill_api_request_duration_seconds',
    help: 'Time from request to answer, by route.',
    labelNames: ['route'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const inflight = new Gauge({
    name: 'seckill_api_inflight_requests',
    help: 'Hot-path requests being handled (waiting for Kafka included).',
    registers,
  });
  const produceDuration = new Histogram({
    name: 'seckill_kafka_produce_duration_seconds',
    help: 'Time of one Kafka send (acks=all), success or failure.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const produceErrors = new Counter({
    name: 'seckill_kafka_produce_errors_total',
    help: 'Kafka sends that failed after their retries (their buyers were answered 503).',
    registers,
  });
  const kafkaMessages = new Counter({
    name: 'seckill_kafka_messages_total',
    help: 'Kafka messages acknowledged (one per product per flush).',
    registers,
  });

  const refusals = new Counter({
    name: 'seckill_api_connection_refusals_total',
    help: 'Requests refused before a handler: request_timeout (408), headers_too_large (431), invalid_request (400), max_connections (closed at once).',
    labelNames: ['reason'] as const,
    registers,
  });
  for (const reason of REFUSALS) refusals.labels(reason).inc(0);

  // Bound children once: the hot path then does no label lookup, and every series exists from 0.
  const counters = new Map<string, Counter.Internal>();
  const timers = new Map<Route, Histogram.Internal<'route'>>();
  for (const route of ROUTES) {
    duration.zero({ route });
    timers.set(route, duration.labels(route));
    for (const outcome of OUTCOMES) {
      const child = requests.labels(route, outcome);
      child.inc(0);
      counters.set(`${route}/${outcome}`, child);
    }
  }
  return {
    answered(route, outcome, startedAt) {
      counters.get(`${route}/${outcome}`)?.inc();
      timers.get(route)?.observe((performance.now() - startedAt) / 1000);
    },
    inflight,
    produceDuration,
    produceErrors,
    kafkaMessages,
    auth: createAuthMetrics(registers),
    refused(reason) {
      refusals.inc({ reason: (REFUSALS as readonly string[]).includes(reason) ? reason : 'invalid_request' });
    },
  };
}
