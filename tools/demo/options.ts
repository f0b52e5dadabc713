// The demo's command line: `node dist/tools/demo/demo.js [OPTIONS]` (demo.sh passes its arguments on).
//
//   [--products 3] [--stock 1000] [--per-user-limit 1] [--buyers 50000] [--requests 200000] [--rate 10000]
//   [--partitions 4] [--max-replicas 4] [--chaos] [--json]
//   (with --chaos the defaults are --stock 5000 (8000 with --ha) --requests 60000 --rate 1000: the sale
//   outlasts the chaos)
//   [--keep-running] [--cleanup-policy Delete|Retain] [--seed-style] [--api-port N] [--start-in S]
//   [--drain-timeout S] [--report-dir reports] [--quiet] [--connections 64] [--max-connections 512]
//   [--idempotent-percent 2]  (that share of purchases carry an Idempotency-Key and are retried once)
//   [--auth jwt|none]  (none: the front door believes the body's userId, for comparison; jwt: the default)
//   [--ha]  the sale on the HA engines (3 Kafka brokers, a Redis Cluster: `stack.sh up --ha`); with --chaos
//           their faults too (tools/demo/chaos.ts)
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../lib/paths.js';

export interface DemoOptions {
  products: number;
  stock: number;
  perUserLimit: number;
  buyers: number;
  requests: number;
  rate: number;
  partitions: number;
  maxReplicas: number;
  chaos: boolean;
  json: boolean;
  keepRunning: boolean;
  cleanupPolicy: 'Delete' | 'Retain';
  seedStyle: boolean;
  apiPort: number;
  startInSeconds: number;
  drainTimeoutSeconds: number;
  reportDir: string;
  quiet: boolean;
  connections: number;
  maxConnections: number;
  /** jwt: buyers send signed tokens (the default); none: the front door runs with AUTH_MODE=none. */
  auth: 'jwt' | 'none';
  /** Share (0..1) of purchases sent with an Idempotency-Key and retried once with it. */
  idempotentRatio: number;
  /** The sale on the stack's HA engines: three Kafka brokers, a Redis Cluster of 3 masters + 3 replicas. */
  ha: boolean;
}

/** A bad command line (exit 2, the message alone). */
export class UsageError extends Error {}

const OPTIONS = {
  products: { type: 'string', default: '3' },
  stock: { type: 'string' },
  'per-user-limit': { type: 'string', default: '1' },
  buyers: { type: 'string', default: '50000' },
  requests: { type: 'string' },
  rate: { type: 'string' },
  partitions: { type: 'string', default: '4' },
  'max-replicas': { type: 'string', default: '4' },
  chaos: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  'keep-running': { type: 'boolean', default: false },
  'cleanup-policy': { type: 'string', default: 'Delete' },
  'seed-style': { type: 'boolean', default: false },
  'api-port': { type: 'string', default: '0' },
  'start-in': { type: 'string', default: '5' },
  'drain-timeout': { type: 'string' },
  'report-dir': { type: 'string', default: join(ROOT, 'reports') },
  quiet: { type: 'boolean', default: false },
  connections: { type: 'string', default: '64' },
  'max-connections': { type: 'string', default: '512' },
  'idempotent-percent': { type: 'string', default: '2' },
  auth: { type: 'string', default: 'jwt' },
  ha: { type: 'boolean', default: false },
} as const;

function int(name: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

function percent(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 100)
    throw new UsageError(`--${name} must be 0 to 100, got "${raw}"`);
  return n;
}

export function parseOptions(argv: string[]): DemoOptions {
  const { values } = parseArgs({ args: argv, options: OPTIONS });
  const policy = values['cleanup-policy'];
  if (policy !== 'Delete' && policy !== 'Retain')
    throw new UsageError('--cleanup-policy must be Delete or Retain');
  const auth = values.auth;
  if (auth !== 'jwt' && auth !== 'none') throw new UsageError('--auth must be jwt or none');
  const chaos = values.chaos;
  // --chaos defaults: a sale that lasts through the chaos actions (about 30-40 s; with --ha about 50 s, a
  // killed broker's JVM takes long to start again), so purchases are in flight while parts crash: 3 x 5,000
  // stock (8,000 with --ha), 60,000 requests at 1,000/s.
  const stock = values.stock ?? (chaos ? (values.ha ? '8000' : '5000') : '1000');
  const requests = values.requests ?? (chaos ? '60000' : '200000');
  const rate = values.rate ?? (chaos ? '1000' : '10000');
  return {
    products: int('products', values.products, 1),
    stock: int('stock', stock, 0),
    perUserLimit: int('per-user-limit', values['per-user-limit'], 1),
    buyers: int('buyers', values.buyers, 1),
    requests: int('requests', requests, 1),
    rate: int('rate', rate, 1),
    partitions: int('partitions', values.partitions, 1),
    maxReplicas: int('max-replicas', values['max-replicas'], 1),
    chaos,
    json: values.json,
    keepRunning: values['keep-running'],
    cleanupPolicy: policy,
    seedStyle: values['seed-style'],
    apiPort: int('api-port', values['api-port'], 0),
    startInSeconds: int('start-in', values['start-in'], 0),
    drainTimeoutSeconds: int('drain-timeout', values['drain-timeout'] ?? (chaos ? '240' : '120'), 1),
    reportDir: values['report-dir'],
    quiet: values.quiet,
    connections: int('connections', values.connections, 1),
    maxConnections: int('max-connections', values['max-connections'], 1),
    auth,
    idempotentRatio: percent('idempotent-percent', values['idempotent-percent']) / 100,
    ha: values.ha,
  };
}
