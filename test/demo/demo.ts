// The demo: one flash sale through the whole system on the local stack (`npm run demo`, via demo.sh).
//
//   node dist/test/demo/demo.js [--products 3] [--stock 1000] [--per-user-limit 1] [--buyers 50000]
//     [--requests 200000] [--rate 10000] [--partitions 4] [--max-replicas 4] [--chaos] [--json]
//     (with --chaos the defaults are --stock 5000 --requests 60000 --rate 1000: the sale outlasts the chaos)
//     [--keep-running] [--cleanup-policy Delete|Retain] [--seed-style] [--api-port N] [--start-in S]
//     [--drain-timeout S] [--report-dir reports] [--quiet]
//
// It installs the CRD, applies the connection Secret and a SeckillEvent built from examples/ (a unique name
// per run, window opening in a few seconds) with kubectl, starts the operator, the supervisor (which plays
// the kubelet for the consumer Deployment) and the front door, waits for the sale to be Active, fires an
// open-loop load from a worker thread, waits for the drain (lag 0 and every 202 ticket resolved), checks
// every invariant of DESIGN.md straight from MySQL and Redis, prints a summary and writes an HTML report.
// --chaos kills and restarts parts of the system during the sale. --json: the LAST stdout line is one
// JSON object. Exit 1 when an invariant fails, 2 on a setup failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { GROUP, PLURAL, VERSION, type SeckillEvent } from '../../operator/api/types.js';
import { consumerLag } from '../../operator/resources/lag.js';
import { readEvent } from '../../workloads/shared/catalog.js';
import { keys } from '../../workloads/shared/keys.js';
import { consumerGroup, purchaseTopic } from '../../workloads/shared/kafka/topics.js';
import { migrate } from '../../workloads/shared/mysql/migrations.js';
import { createMysqlPool } from '../../workloads/shared/mysql/pool.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { readLedger, type ProductLedger } from '../helpers/sale.js';
import { waitFor } from '../helpers/wait.js';
import { progressLine } from '../load/format.js';
import type { AcceptedTicket, LoadReport } from '../load/open-loop.js';
import { startLoadWorker } from '../load/worker.js';
import { htmlPage, htmlTable, lineChart, textTable, type Marker } from './report.js';
import { freePort, type SupervisorState } from './supervisor.js';

/** waitFor with the timeout first, as the demo reads best: polls every 250 ms. */
const waitUntil = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 250) =>
  waitFor(what, probe, timeoutMs, everyMs);

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIST = join(ROOT, 'dist');
const NAMESPACE = 'seckill-demo';

// ------------------------------------------------------------------ options

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
}

function parseOptions(argv: string[]): DemoOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
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
    },
  });
  const int = (name: string, raw: string, min: number): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw new UsageError(`--${name} must be an integer >= ${min}, got "${raw}"`);
    return n;
  };
  const policy = values['cleanup-policy'];
  if (policy !== 'Delete' && policy !== 'Retain')
    throw new UsageError('--cleanup-policy must be Delete or Retain');
  const chaos = values.chaos;
  // --chaos defaults: a sale that lasts through the chaos actions (about 30-40 s), so purchases are in
  // flight while parts crash: 3 x 5,000 stock, 60,000 requests at 1,000/s.
  const stock = values.stock ?? (chaos ? '5000' : '1000');
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
  };
}

class UsageError extends Error {}

// ------------------------------------------------------------------ small helpers

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (n: number, d = 2): number => Math.round(n * 10 ** d) / 10 ** d;
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v)
    throw new UsageError(
      `${name} is not set: run through demo.sh, or eval "$(bash test/stack/stack.sh env)"`,
    );
  return v;
}

/** Runs a command to completion; rejects with its stderr when it fails. */
function run(cmd: string, args: string[], input?: string, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err.trim() || out.trim()}`));
    });
    child.stdin.end(input ?? '');
  });
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
}

// ------------------------------------------------------------------ the demo

export interface ProductResult {
  id: number;
  stock: number;
  sold: number;
  redisSold: number;
  orders: number;
}

export interface DemoResult {
  event: string;
  namespace: string;
  runDir: string;
  reportFile: string;
  ticketsFile: string;
  chaos: boolean;
  seedStyle: boolean;
  offered: number;
  answered: number;
  accepted: number;
  rejectedByReason: Record<string, number>;
  outcomes: Record<string, number>;
  products: ProductResult[];
  oversold: number;
  duplicateOrders: number;
  buyersOverLimit: number;
  unresolvedTickets: number;
  wonTickets: number;
  lostTickets: number;
  wonWithoutOrder: number;
  lostWithOrder: number;
  ordersWithoutWin: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  offeredPerSec: number;
  answeredPerSec: number;
  acceptedPerSec: number;
  acceptedPerSecWhileAccepting: number;
  sellOutSeconds: number | null;
  loadSeconds: number;
  drainSeconds: number | null;
  maxReplicas: number;
  maxLag: number;
  chaosActions: ChaosAction[];
  violations: string[];
  ok: boolean;
}

export interface ChaosAction {
  atSeconds: number;
  action: string;
  tookSeconds: number;
  detail: string;
}

interface Sample {
  t: number;
  phase: string;
  kafkaLag: number | null;
  statusLag: number | null;
  desired: number;
  ready: number;
  sold: number;
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const env = {
    kubeconfig: requireEnv('KUBECONFIG'),
    kafkaBrokers: requireEnv('KAFKA_BROKERS'),
    redisUrl: requireEnv('REDIS_URL'),
    mysqlUrl: requireEnv('MYSQL_URL'),
  };
  const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296)
    .toString(36)
    .padStart(2, '0')}`;
  const event = `demo-${runId}`;
  const runDir = join(ROOT, 'tmp', event);
  mkdirSync(runDir, { recursive: true });
  const say = (msg: string): void => {
    if (!o.quiet) process.stderr.write(`[demo] ${msg}\n`);
  };
  const productIds = Array.from({ length: o.products }, (_, i) => 1001 + i);
  const procs: Proc[] = [];
  let apiProc: Proc | undefined;
  let stopped = false;

  const startNode = (
    name: string,
    script: string,
    args: string[],
    childEnv: Record<string, string>,
  ): Proc => {
    const fd = openSync(join(runDir, `${name}.log`), 'a');
    const child = spawn(process.execPath, [join(DIST, script), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...childEnv },
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    closeSync(fd);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const p = { name, child, exited };
    procs.push(p);
    return p;
  };
  const stopProc = async (p: Proc, graceMs = 30_000): Promise<void> => {
    if (p.child.exitCode !== null || p.child.signalCode !== null || p.child.pid === undefined) return;
    try {
      process.kill(p.child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timedOut = await Promise.race([p.exited.then(() => false), sleep(graceMs).then(() => true)]);
    if (timedOut) {
      try {
        process.kill(-p.child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  };
  const killAll = (): void => {
    for (const p of procs) {
      if (p.child.pid !== undefined && p.child.exitCode === null) {
        try {
          process.kill(-p.child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  };
  const onSignal = (): void => {
    say('interrupted: stopping everything');
    killAll();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.kubeconfig);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const redis: Redis = createRedis(env.redisUrl, 'seckill-demo');
  redis.on('error', () => undefined);
  const pool: Pool = createMysqlPool(env.mysqlUrl, 4);
  const kafka = new Kafka({
    clientId: 'seckill-demo',
    brokers: env.kafkaBrokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100 },
    connectionTimeout: 1000,
  });
  const admin: Admin = kafka.admin();

  try {
    // 1. Schema, CRD, namespace, Secret.
    say(`run ${event}: logs in ${runDir}`);
    await migrate(pool);
    await run('kubectl', ['apply', '--server-side', '--force-conflicts', '-f', join(ROOT, 'crds/')]);
    await run('kubectl', [
      'wait',
      '--for',
      'condition=established',
      '--timeout=60s',
      'crd/seckillevents.seckill.io',
    ]);
    await run(
      'kubectl',
      ['apply', '-f', '-'],
      k8s.dumpYaml({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }),
    );
    const secret = k8s.loadYaml<k8s.V1Secret>(
      readFileSync(join(ROOT, 'examples/connection-secret.yaml'), 'utf8'),
    );
    secret.metadata = { ...secret.metadata, namespace: NAMESPACE };
    secret.stringData = { KAFKA_BROKERS: env.kafkaBrokers, REDIS_URL: env.redisUrl, MYSQL_URL: env.mysqlUrl };
    const secretName = secret.metadata.name ?? 'seckill-connection';
    await run('kubectl', ['apply', '-f', '-'], k8s.dumpYaml(secret));
    say('CRD installed, Secret applied');

    // 2. The operator, the supervisor, the front door.
    const leaseName = `seckill-operator-${event}`;
    startNode('operator', 'operator/main.js', [], {
      KUBECONFIG: env.kubeconfig,
      KAFKA_BROKERS: env.kafkaBrokers,
      REDIS_URL: env.redisUrl,
      HTTP_PORT: String(await freePort()),
      LEADER_ELECT: 'true',
      LEADER_ELECTION_LEASE_NAME: leaseName,
      POD_NAMESPACE: NAMESPACE,
      WATCH_NAMESPACE: NAMESPACE,
      STATUS_REFRESH_ACTIVE_MS: '1000',
    });
    const supervisorArgs = ['--run-dir', runDir, '--namespace', NAMESPACE];
    if (o.seedStyle)
      supervisorArgs.push('--env', 'STOCK_GUARD=lua-per-entry', '--env', 'ORDER_WRITE_MODE=per-order');
    startNode('supervisor', 'test/demo/supervisor.js', supervisorArgs, { KUBECONFIG: env.kubeconfig });

    const template = k8s.loadYaml<SeckillEvent>(
      readFileSync(join(ROOT, 'examples/seckillevent.yaml'), 'utf8'),
    );
    const batcher = template.spec?.batcher ?? {};
    const apiPort = o.apiPort || (await freePort());
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const apiEnv: Record<string, string> = {
      KAFKA_BROKERS: env.kafkaBrokers,
      REDIS_URL: env.redisUrl,
      HTTP_PORT: String(apiPort),
      PRODUCER_MODE: o.seedStyle ? 'per-request' : 'batched',
      SHUTDOWN_GRACE_MS: '10000',
    };
    if (batcher.size) apiEnv.BATCH_SIZE = String(batcher.size);
    if (batcher.intervalMs) apiEnv.BATCH_INTERVAL_MS = String(batcher.intervalMs);
    if (batcher.workers) apiEnv.BATCH_WORKERS = String(batcher.workers);
    if (batcher.buffer) apiEnv.BATCH_BUFFER = String(batcher.buffer);
    const startApi = (): Proc => startNode('api', 'workloads/api/main.js', [], apiEnv);
    apiProc = startApi();
    say(`operator, supervisor and front door (${apiUrl}) started`);

    // 3. The sale, from examples/seckillevent.yaml, opening in a few seconds.
    const now = Date.now();
    const body: SeckillEvent = {
      ...template,
      metadata: { name: event, namespace: NAMESPACE, labels: { 'seckill.io/demo': 'true' } },
      spec: {
        ...template.spec!,
        products: productIds.map((id) => ({ id, stock: o.stock, perUserLimit: o.perUserLimit })),
        startTime: iso(now + o.startInSeconds * 1000),
        endTime: iso(now + 3600_000),
        kafka: { partitions: o.partitions },
        consumer: {
          ...template.spec!.consumer,
          maxReplicas: o.maxReplicas,
          minReplicas: 1,
          scaleDownStabilizationSeconds: 10,
          cooldownSeconds: 5,
        },
        connection: { secretName },
        cleanupPolicy: o.cleanupPolicy,
      },
    };
    await run('kubectl', ['apply', '-f', '-'], k8s.dumpYaml(body));
    say(
      `SeckillEvent ${NAMESPACE}/${event} applied (${o.products} products x ${o.stock}, opens at ${body.spec!.startTime})`,
    );

    const readSke = async (): Promise<SeckillEvent> =>
      (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: NAMESPACE,
        name: event,
      })) as SeckillEvent;
    const readDep = async (): Promise<k8s.V1Deployment | undefined> => {
      try {
        return await apps.readNamespacedDeployment({ name: `${event}-consumer`, namespace: NAMESPACE });
      } catch {
        return undefined;
      }
    };

    await waitUntil('the front door to be ready', 60_000, async () =>
      (await httpOk(`${apiUrl}/readyz`)) ? true : undefined,
    );
    await waitUntil('phase Active', 90_000, async () => {
      const ske = await readSke();
      if (ske.status?.phase === 'Failed') throw new Error(`event failed: ${ske.status.message ?? ''}`);
      return ske.status?.phase === 'Active' ? true : undefined;
    });
    await waitUntil('a ready consumer', 90_000, async () =>
      ((await readDep())?.status?.readyReplicas ?? 0) >= 1 ? true : undefined,
    );
    await waitUntil('the front door to see the event', 30_000, async () =>
      (await readEvent(redis, event)) ? true : undefined,
    );
    await sleep(1500); // the front door refreshes its catalog every second
    const topic = (await readSke()).status?.topic ?? purchaseTopic(event);
    await admin.connect().catch(() => undefined);
    say('sale Active, consumers ready: firing the load');

    // 4. Load (worker thread), sampling, chaos.
    const samples: Sample[] = [];
    let loadStart = Date.now();
    let sellOutAt: number | undefined;
    let maxLag = 0;
    const kafkaLagNow = async (): Promise<number | null> => {
      try {
        return await consumerLag(admin, consumerGroup(event), topic);
      } catch {
        return null;
      }
    };
    const soldNow = async (): Promise<{ sold: number; allSold: boolean } | undefined> => {
      try {
        const rows = await Promise.all(
          productIds.map((id) => redis.hmget(keys.stock(event, id), 'total', 'seckill')),
        );
        const sold = rows.reduce((s, [, v]) => s + Number(v ?? 0), 0);
        return { sold, allSold: rows.every(([t, v]) => Number(v ?? 0) >= Number(t ?? 0)) };
      } catch {
        return undefined;
      }
    };
    let sampling = true;
    const sampler = (async () => {
      let next = Date.now();
      while (sampling) {
        const [ske, dep, lag, sold] = await Promise.all([
          readSke().catch(() => undefined),
          readDep(),
          kafkaLagNow(),
          soldNow(),
        ]);
        if (lag !== null) maxLag = Math.max(maxLag, lag);
        samples.push({
          t: round((Date.now() - loadStart) / 1000, 1),
          phase: ske?.status?.phase ?? '?',
          kafkaLag: lag,
          statusLag: ske?.status?.lag ?? null,
          desired: dep?.spec?.replicas ?? 0,
          ready: dep?.status?.readyReplicas ?? 0,
          sold: sold?.sold ?? samples.at(-1)?.sold ?? 0,
        });
        next += 1000;
        await sleep(Math.max(0, next - Date.now()));
      }
    })();
    const sellOutWatch = (async () => {
      while (sampling && sellOutAt === undefined) {
        const s = await soldNow();
        if (s?.allSold) sellOutAt = Date.now();
        await sleep(100);
      }
    })();

    const isTty = process.stderr.isTTY;
    const load = startLoadWorker(
      {
        url: apiUrl,
        event,
        products: productIds,
        buyers: o.buyers,
        requests: o.requests,
        rate: o.rate,
        connections: o.connections,
        maxConnections: Math.max(o.connections, o.maxConnections),
        timeoutMs: 10_000,
        seed: 42,
        userBase: 1,
      },
      (p) => {
        if (o.quiet) return;
        const s = samples.at(-1);
        const extra = s ? ` | lag ${s.kafkaLag ?? '?'} consumers ${s.ready}/${s.desired} sold ${s.sold}` : '';
        process.stderr.write(
          isTty ? `\r[load] ${progressLine(p)}${extra}\x1b[K` : `[load] ${progressLine(p)}${extra}\n`,
        );
      },
    );
    loadStart = Date.now();

    const chaosActions: ChaosAction[] = [];
    const chaos = o.chaos
      ? runChaos({
          loadStart: () => loadStart,
          say,
          actions: chaosActions,
          runDir,
          killApi: async () => {
            const p = apiProc!;
            if (p.child.pid !== undefined) process.kill(-p.child.pid, 'SIGKILL');
            await p.exited;
            return `pid ${p.child.pid}`;
          },
          startApi: async () => {
            apiProc = startApi();
            await waitUntil('the restarted front door', 60_000, async () =>
              (await httpOk(`${apiUrl}/readyz`)) ? true : undefined,
            );
            return `pid ${apiProc.child.pid}`;
          },
        })
      : Promise.resolve();

    const report: LoadReport = await load.done;
    if (isTty && !o.quiet) process.stderr.write('\n');
    loadStart = report.startedAtEpochMs;
    const loadEnd = report.startedAtEpochMs + report.seconds * 1000;
    say(`load done: ${report.offered} offered, ${report.accepted} accepted in ${report.seconds}s`);
    await chaos;

    // 5. Drain: lag 0 and every 202 ticket resolved.
    const tickets = report.tickets;
    const ticketsFile = join(runDir, 'tickets.ndjson');
    writeFileSync(
      ticketsFile,
      tickets.map((t) => JSON.stringify(t)).join('\n') + (tickets.length ? '\n' : ''),
    );
    let drainedAt: number | undefined;
    let results = new Map<string, string | null>();
    try {
      await waitUntil(
        'the drain (lag 0, every ticket resolved)',
        o.drainTimeoutSeconds * 1000,
        async () => {
          const lag = await kafkaLagNow();
          results = await readResults(redis, tickets);
          const unresolved = [...results.values()].filter((v) => v !== 'W' && v !== 'S' && v !== 'L').length;
          return lag === 0 && unresolved === 0 ? true : undefined;
        },
        200,
      );
      drainedAt = Date.now();
      say(`drained ${round((drainedAt - loadEnd) / 1000)}s after the load ended`);
    } catch (err) {
      say(err instanceof Error ? err.message : String(err));
      results = await readResults(redis, tickets).catch(() => results);
    }
    // A few more samples after the drain, so the charts show the lag at zero.
    await sleep(2000);
    sampling = false;
    await Promise.all([sampler, sellOutWatch]);

    // 6. Invariants, straight from Redis and MySQL.
    const result = await checkInvariants({
      redis,
      pool,
      event,
      productIds,
      perUserLimit: o.perUserLimit,
      tickets,
      results,
    });
    const sellOutSeconds = sellOutAt !== undefined ? round((sellOutAt - loadStart) / 1000) : null;
    const demo: DemoResult = {
      event,
      namespace: NAMESPACE,
      runDir,
      reportFile: '',
      ticketsFile,
      chaos: o.chaos,
      seedStyle: o.seedStyle,
      offered: report.offered,
      answered: report.completed - report.errors,
      accepted: report.accepted,
      rejectedByReason: report.rejectedByReason,
      outcomes: report.outcomes,
      ...result,
      p50Ms: report.latencyMs.p50,
      p99Ms: report.latencyMs.p99,
      p999Ms: report.latencyMs.p999,
      maxMs: report.latencyMs.max,
      offeredPerSec: report.offeredPerSec,
      answeredPerSec: report.completedPerSec,
      acceptedPerSec: report.acceptedPerSec,
      acceptedPerSecWhileAccepting: report.acceptedPerSecDuringAccepting,
      sellOutSeconds,
      loadSeconds: report.seconds,
      drainSeconds: drainedAt !== undefined ? round((drainedAt - loadEnd) / 1000) : null,
      maxReplicas: Math.max(0, ...samples.map((s) => s.desired)),
      maxLag,
      chaosActions,
    };
    if (demo.drainSeconds === null) demo.violations.push('the sale did not drain in time');
    demo.ok = demo.violations.length === 0;

    // 7. Report.
    mkdirSync(o.reportDir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    demo.reportFile = join(o.reportDir, `demo-${stamp}.html`);
    writeFileSync(demo.reportFile, renderHtml(demo, report, samples, o));
    writeFileSync(
      join(runDir, 'result.json'),
      `${JSON.stringify({ ...demo, samples, timeline: report.timeline })}\n`,
    );
    if (!o.json || !o.quiet) process.stderr.write(`${renderText(demo, samples)}\n`);
    say(`report: ${demo.reportFile}`);

    // 8. Stop (or leave running).
    if (o.keepRunning) {
      say(
        `left running (--keep-running): front door ${apiUrl}; stop with: kubectl -n ${NAMESPACE} delete ske ${event}; kill ${procs.map((p) => p.child.pid).join(' ')}`,
      );
      for (const p of procs) p.child.unref();
      stopped = true;
    } else {
      say(`deleting SeckillEvent ${event} and stopping everything`);
      await run('kubectl', ['-n', NAMESPACE, 'delete', 'ske', event, '--wait=true', '--timeout=90s']).catch(
        (err: unknown) => say(`delete failed: ${err instanceof Error ? err.message : String(err)}`),
      );
      // The local stack has no garbage collector: with cleanupPolicy Retain the consumer Deployment
      // (owned by the event) would stay; delete it as the GC would, before the supervisor stops.
      await run('kubectl', [
        '-n',
        NAMESPACE,
        'delete',
        'deployment',
        `${event}-consumer`,
        '--ignore-not-found',
        '--wait=true',
        '--timeout=60s',
      ]).catch(() => undefined);
      await sleep(1500); // the supervisor notices and stops its processes
      await stopProc(apiProc);
      await Promise.all(procs.filter((p) => p.name === 'supervisor').map((p) => stopProc(p, 60_000)));
      await Promise.all(procs.map((p) => stopProc(p)));
      await kc
        .makeApiClient(k8s.CoordinationV1Api)
        .deleteNamespacedLease({ name: leaseName, namespace: NAMESPACE })
        .catch(() => undefined);
      stopped = true;
    }
    return demo;
  } finally {
    if (!stopped) killAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await admin.disconnect().catch(() => undefined);
    redis.disconnect();
    await pool.end().catch(() => undefined);
  }
}

async function readResults(redis: Redis, tickets: AcceptedTicket[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (let i = 0; i < tickets.length; i += 1000) {
    const chunk = tickets.slice(i, i + 1000).map((t) => t.ticket);
    const values = await redis.mget(chunk.map((t) => keys.result(t)));
    chunk.forEach((t, j) => out.set(t, values[j] ?? null));
  }
  return out;
}

// ------------------------------------------------------------------ invariants

export interface InvariantInput {
  redis: Redis;
  pool: Pool;
  event: string;
  productIds: number[];
  perUserLimit: number;
  tickets: AcceptedTicket[];
  results: Map<string, string | null>;
}

export type InvariantResult = Pick<
  DemoResult,
  | 'products'
  | 'oversold'
  | 'duplicateOrders'
  | 'buyersOverLimit'
  | 'unresolvedTickets'
  | 'wonTickets'
  | 'lostTickets'
  | 'wonWithoutOrder'
  | 'lostWithOrder'
  | 'ordersWithoutWin'
  | 'violations'
  | 'ok'
>;

/**
 * Every invariant of DESIGN.md, from Redis and MySQL: sold = count(orders) = Redis seckill <= total per
 * product; no ticket with two orders; no buyer over the limit; every 202 ticket resolved won or lost;
 * every won ticket has exactly one order, no lost ticket has one, and every order's ticket is a win.
 */
export async function checkInvariants(i: InvariantInput): Promise<InvariantResult> {
  const violations: string[] = [];
  const products: ProductResult[] = [];
  let oversold = 0;
  let duplicateOrders = 0;
  let buyersOverLimit = 0;
  for (const id of i.productIds) {
    const l: ProductLedger = await readLedger(i.redis, i.pool, i.event, {
      id,
      stock: 0,
      perUserLimit: i.perUserLimit,
    });
    products.push({ id, stock: l.total, sold: l.mysqlSold, redisSold: l.redisSold, orders: l.orders });
    const over = Math.max(0, l.orders - l.total, l.mysqlSold - l.total, l.redisSold - l.total);
    oversold += over;
    duplicateOrders = l.duplicateTickets; // event-wide
    buyersOverLimit += l.buyersOverLimit;
    if (over > 0) violations.push(`product ${id}: oversold by ${over} (total ${l.total})`);
    if (!(l.mysqlSold === l.orders && l.orders === l.redisSold)) {
      violations.push(
        `product ${id}: MySQL sold ${l.mysqlSold}, orders ${l.orders}, Redis seckill ${l.redisSold} differ`,
      );
    }
  }
  if (duplicateOrders > 0) violations.push(`${duplicateOrders} ticket(s) with more than one order`);
  if (buyersOverLimit > 0) violations.push(`${buyersOverLimit} buyer(s) over the per-user limit`);

  const [rows] = await i.pool.query<RowDataPacket[]>(
    'SELECT ticket, COUNT(*) AS n FROM orders WHERE event = ? GROUP BY ticket',
    [i.event],
  );
  const orders = new Map<string, number>(rows.map((r) => [String(r.ticket), Number(r.n)]));
  let unresolved = 0;
  let won = 0;
  let lost = 0;
  let wonWithoutOrder = 0;
  let lostWithOrder = 0;
  for (const t of i.tickets) {
    const v = i.results.get(t.ticket) ?? null;
    if (v === 'W') {
      won++;
      if (orders.get(t.ticket) !== 1) wonWithoutOrder++;
    } else if (v === 'S' || v === 'L') {
      lost++;
      if (orders.has(t.ticket)) lostWithOrder++;
    } else unresolved++;
  }
  // Orders whose ticket the client never saw (its 202 was lost in a crash) are fine, but must be wins.
  let ordersWithoutWin = 0;
  const orderTickets = [...orders.keys()];
  for (let k = 0; k < orderTickets.length; k += 1000) {
    const chunk = orderTickets.slice(k, k + 1000);
    const values = await i.redis.mget(chunk.map((t) => keys.result(t)));
    ordersWithoutWin += values.filter((v) => v !== 'W').length;
  }
  if (unresolved > 0) violations.push(`${unresolved} accepted ticket(s) never resolved`);
  if (wonWithoutOrder > 0) violations.push(`${wonWithoutOrder} won ticket(s) without exactly one order`);
  if (lostWithOrder > 0) violations.push(`${lostWithOrder} lost ticket(s) with an order`);
  if (ordersWithoutWin > 0)
    violations.push(`${ordersWithoutWin} order(s) whose ticket is not recorded as won`);
  return {
    products,
    oversold,
    duplicateOrders,
    buyersOverLimit,
    unresolvedTickets: unresolved,
    wonTickets: won,
    lostTickets: lost,
    wonWithoutOrder,
    lostWithOrder,
    ordersWithoutWin,
    violations,
    ok: violations.length === 0,
  };
}

// ------------------------------------------------------------------ chaos

interface ChaosDeps {
  loadStart: () => number;
  say: (msg: string) => void;
  actions: ChaosAction[];
  runDir: string;
  killApi: () => Promise<string>;
  startApi: () => Promise<string>;
}

/**
 * During the sale, one after another: kill -9 a consumer, kill -9 and restart the front door, restart
 * Redis, kill -9 a consumer again, restart the Kafka broker, restart MariaDB. Each action is recorded with
 * when it started (seconds since the load started) and how long it took.
 */
async function runChaos(d: ChaosDeps): Promise<void> {
  const stack = (cmd: string, service: string): Promise<string> =>
    run('bash', [join(ROOT, 'test/stack/stack.sh'), cmd, service], undefined, 180_000);
  const act = async (action: string, fn: () => Promise<string>): Promise<void> => {
    const started = Date.now();
    const at = round((started - d.loadStart()) / 1000, 1);
    d.say(`chaos t=${at}s: ${action}`);
    let detail: string;
    try {
      detail = await fn();
    } catch (err) {
      detail = `FAILED: ${err instanceof Error ? err.message : String(err)}`;
    }
    d.actions.push({ atSeconds: at, action, tookSeconds: round((Date.now() - started) / 1000, 1), detail });
  };
  const killConsumer = async (): Promise<string> => {
    await sleep(0);
    const state = JSON.parse(
      readFileSync(join(d.runDir, 'supervisor-state.json'), 'utf8'),
    ) as SupervisorState;
    const victims = state.deployments.flatMap((dep) =>
      dep.processes.filter((p) => p.pid !== undefined && !p.terminating),
    );
    const v = victims[Math.floor(Math.random() * victims.length)];
    if (!v?.pid) return 'no consumer process to kill';
    process.kill(v.pid, 'SIGKILL');
    return `SIGKILL ${v.pod} (pid ${v.pid})`;
  };
  const restart = async (service: string): Promise<string> => {
    await stack('stop', service);
    await stack('start', service);
    return `${service} stopped and started`;
  };
  await sleep(1500);
  await act('kill -9 a consumer', killConsumer);
  await sleep(1500);
  await act('kill -9 the front door and restart it', async () => {
    const killed = await d.killApi();
    await sleep(500);
    return `${killed} killed; restarted as ${await d.startApi()}`;
  });
  await sleep(1000);
  await act('restart Redis', () => restart('redis'));
  await sleep(1000);
  await act('kill -9 a consumer', killConsumer);
  await sleep(1000);
  await act('restart the Kafka broker', () => restart('kafka'));
  await sleep(1000);
  await act('restart MariaDB', () => restart('mariadb'));
}

// ------------------------------------------------------------------ output

function renderText(r: DemoResult, samples: Sample[]): string {
  const lines: string[] = [];
  lines.push(
    '',
    `=== flash sale ${r.event}${r.chaos ? ' (chaos)' : ''}${r.seedStyle ? ' (seed-style pipeline)' : ''} ===`,
  );
  lines.push(
    textTable(
      [
        ['offered', r.offered, `${r.offeredPerSec}/s`],
        ['answered', r.answered, `${r.answeredPerSec}/s`],
        [
          'accepted (202)',
          r.accepted,
          `${r.acceptedPerSec}/s overall, ${r.acceptedPerSecWhileAccepting}/s while accepting`,
        ],
        ...Object.entries(r.rejectedByReason)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => [`rejected: ${k}`, v, ''] as (string | number)[]),
        [
          'latency p50 / p99 / p99.9 / max',
          `${r.p50Ms} / ${r.p99Ms} / ${r.p999Ms} / ${r.maxMs} ms`,
          'from the due time (open loop)',
        ],
        ['time to sell out', r.sellOutSeconds ?? 'not sold out', 's since the load started'],
        ['load duration', r.loadSeconds, 's'],
        [
          'time to drain',
          r.drainSeconds ?? 'did not drain',
          's after the last answer (lag 0, all tickets resolved)',
        ],
        ['consumer replicas (max)', r.maxReplicas, `max Kafka lag ${r.maxLag} messages`],
      ],
      ['', 'value', ''],
    ),
  );
  lines.push('', 'per product (Redis and MySQL):');
  lines.push(
    textTable(
      r.products.map((p) => [p.id, p.stock, p.sold, p.redisSold, p.orders]),
      ['product', 'stock', 'sold (MySQL)', 'seckill (Redis)', 'orders'],
    ),
  );
  lines.push(
    '',
    textTable(
      [
        ['oversold', r.oversold],
        ['duplicate orders (tickets with > 1 order)', r.duplicateOrders],
        ['buyers over the limit', r.buyersOverLimit],
        ['unresolved 202 tickets', r.unresolvedTickets],
        ['won tickets without exactly one order', r.wonWithoutOrder],
        ['lost tickets with an order', r.lostWithOrder],
        ['orders whose ticket is not a win', r.ordersWithoutWin],
        ['tickets won / lost', `${r.wonTickets} / ${r.lostTickets}`],
      ],
      ['invariant check', 'count'],
    ),
  );
  const timeline = samples.filter((_, i) => i % Math.max(1, Math.ceil(samples.length / 30)) === 0);
  lines.push('', 'replicas and lag over time:');
  lines.push(
    textTable(
      timeline.map((s) => [s.t, s.phase, s.desired, s.ready, s.kafkaLag ?? '-', s.sold]),
      ['t (s)', 'phase', 'desired', 'ready', 'kafka lag', 'sold'],
    ),
  );
  if (r.chaosActions.length > 0) {
    lines.push('', 'chaos actions:');
    lines.push(
      textTable(
        r.chaosActions.map((a) => [a.atSeconds, a.tookSeconds, a.action, a.detail]),
        ['t (s)', 'took (s)', 'action', 'detail'],
      ),
    );
  }
  lines.push('', r.ok ? 'INVARIANTS: all hold' : `INVARIANTS VIOLATED:\n  - ${r.violations.join('\n  - ')}`);
  return lines.join('\n');
}

function renderHtml(r: DemoResult, load: LoadReport, samples: Sample[], o: DemoOptions): string {
  const markers: Marker[] = r.chaosActions.map((a) => ({ x: a.atSeconds, label: a.action }));
  const tl = load.timeline;
  const rate = lineChart(
    'Requests per second',
    'requests/s',
    [
      { name: 'offered', color: '#888', points: tl.map((s) => [s.second, s.offered]) },
      { name: 'answered', color: '#1f77b4', points: tl.map((s) => [s.second, s.completed - s.errors]) },
      { name: 'accepted (202)', color: '#2ca02c', points: tl.map((s) => [s.second, s.accepted]) },
      { name: 'client errors', color: '#d62728', points: tl.map((s) => [s.second, s.errors]) },
    ],
    markers,
  );
  const latency = lineChart(
    'Latency (from the due time)',
    'ms',
    [
      { name: 'p50', color: '#1f77b4', points: tl.map((s) => [s.second, s.p50Ms]) },
      { name: 'p99', color: '#ff7f0e', points: tl.map((s) => [s.second, s.p99Ms]) },
    ],
    markers,
  );
  const lag = lineChart(
    'Consumer lag (Kafka messages)',
    'messages',
    [
      {
        name: 'lag',
        color: '#9467bd',
        points: samples.filter((s) => s.kafkaLag !== null).map((s) => [s.t, s.kafkaLag ?? 0]),
      },
    ],
    markers,
  );
  const replicas = lineChart(
    'Consumer replicas',
    'replicas',
    [
      { name: 'desired (operator)', color: '#8c564b', points: samples.map((s) => [s.t, s.desired]) },
      { name: 'ready (supervisor)', color: '#2ca02c', points: samples.map((s) => [s.t, s.ready]) },
    ],
    markers,
    true,
  );
  const sold = lineChart(
    'Units sold (Redis)',
    'units',
    [{ name: 'sold', color: '#e377c2', points: samples.map((s) => [s.t, s.sold]) }],
    markers,
  );
  const verdict = r.ok
    ? '<p class="good">Every invariant holds.</p>'
    : `<p class="bad">Invariants violated:</p><ul>${r.violations.map((v) => `<li>${v}</li>`).join('')}</ul>`;
  return htmlPage(`Seckill demo ${r.event}${r.chaos ? ' (chaos)' : ''}`, [
    {
      heading: 'Summary',
      html:
        verdict +
        htmlTable(
          [
            [
              'settings',
              `${o.products} products x ${o.stock} stock, limit ${o.perUserLimit}/buyer, ${o.buyers} buyers, ${o.requests} requests at ${o.rate}/s, ${o.partitions} partitions, max ${o.maxReplicas} consumers${o.seedStyle ? ', seed-style pipeline' : ''}`,
            ],
            ['offered', `${r.offered} (${r.offeredPerSec}/s)`],
            ['answered', `${r.answered} (${r.answeredPerSec}/s)`],
            [
              'accepted',
              `${r.accepted} (${r.acceptedPerSec}/s overall, ${r.acceptedPerSecWhileAccepting}/s while accepting)`,
            ],
            ...Object.entries(r.rejectedByReason).map(([k, v]) => [`rejected: ${k}`, v]),
            ['latency p50 / p99 / p99.9 / max (ms)', `${r.p50Ms} / ${r.p99Ms} / ${r.p999Ms} / ${r.maxMs}`],
            ['time to sell out (s)', r.sellOutSeconds ?? 'not sold out'],
            ['time to drain after the load (s)', r.drainSeconds ?? 'did not drain'],
            [
              'oversold / duplicate orders / buyers over limit',
              `${r.oversold} / ${r.duplicateOrders} / ${r.buyersOverLimit}`,
            ],
            [
              'unresolved tickets / won without order / lost with order / orders not won',
              `${r.unresolvedTickets} / ${r.wonWithoutOrder} / ${r.lostWithOrder} / ${r.ordersWithoutWin}`,
            ],
          ],
          ['', ''],
        ) +
        htmlTable(
          r.products.map((p) => [p.id, p.stock, p.sold, p.redisSold, p.orders]),
          ['product', 'stock', 'sold (MySQL)', 'seckill (Redis)', 'orders'],
        ),
    },
    { heading: 'Charts', html: [rate, latency, lag, replicas, sold].join('<br>\n') },
    ...(r.chaosActions.length > 0
      ? [
          {
            heading: 'Chaos actions (red dashed lines in the charts)',
            html: htmlTable(
              r.chaosActions.map((a) => [a.atSeconds, a.tookSeconds, a.action, a.detail]),
              ['t (s)', 'took (s)', 'action', 'detail'],
            ),
          },
        ]
      : []),
    {
      heading: 'Outcomes',
      html: htmlTable(
        Object.entries(r.outcomes).sort((a, b) => b[1] - a[1]),
        ['outcome', 'count'],
      ),
    },
  ]);
}

// ------------------------------------------------------------------ CLI

async function main(): Promise<void> {
  let options: DemoOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  if (!existsSync(join(DIST, 'workloads/consumer/main.js'))) {
    process.stderr.write('dist/ is missing: run `npm run build` first (demo.sh does)\n');
    process.exit(2);
  }
  let result: DemoResult;
  try {
    result = await runDemo(options);
  } catch (err) {
    process.stderr.write(
      `[demo] FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(2);
  }
  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(result.ok ? 0 : 1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
