// The demo's run, step by step: schema, CRD, namespace and Secret; the operator, the supervisor (which plays
// the kubelet for the consumer Deployment) and the front door; a SeckillEvent built from examples/ (a
// unique name per run, the window opening in a few seconds) applied with kubectl; the open-loop load from
// a worker thread (and the chaos actions with --chaos); the drain (lag 0 and every 202 ticket resolved);
// every invariant checked straight from MySQL and Redis (workloads/consumer/invariants.ts); the report;
// then everything stopped, or left running with --keep-running.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Pool } from 'mysql2/promise';
import type { SeckillEvent } from '../../operator/api/types.js';
import { checkInvariants, readResults, type InvariantVerdict } from '../../workloads/consumer/invariants.js';
import { readEvent } from '../../workloads/shared/catalog.js';
import { purchaseTopic } from '../../workloads/shared/kafka/topics.js';
import { migrate } from '../../workloads/shared/mysql/migrations.js';
import { createMysqlPool } from '../../workloads/shared/mysql/pool.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { freePort, httpOk } from '../lib/net.js';
import { ROOT } from '../lib/paths.js';
import { requireEnv } from '../lib/stack-env.js';
import { sleep, waitFor } from '../lib/wait.js';
import { progressLine } from '../load/format.js';
import type { LoadReport } from '../load/open-loop.js';
import { startLoadWorker } from '../load/worker.js';
import { runChaos, type ChaosAction } from './chaos.js';
import * as cluster from './cluster.js';
import type { DemoOptions } from './options.js';
import { ProcessGroup, type Proc } from './processes.js';
import { renderHtml, renderText } from './report.js';
import { demoResult, round, type DemoResult } from './result.js';
import { Sampler, kafkaLagNow, type SaleWatch } from './sampling.js';

/** Everything one run shares: its options, names, processes and clients. */
interface Run {
  o: DemoOptions;
  env: cluster.DemoEnv;
  event: string;
  runDir: string;
  productIds: number[];
  say: (msg: string) => void;
  procs: ProcessGroup;
  kube: cluster.Kube;
  redis: Redis;
  pool: Pool;
  admin: Admin;
}

/** The front door: restartable (the chaos run kills it). */
interface FrontDoor {
  url: string;
  proc: Proc;
  start: () => Proc;
}

const ENV_HINT = 'run through demo.sh, or eval "$(bash tools/stack/stack.sh env)"';

function openRun(o: DemoOptions): Run {
  const env: cluster.DemoEnv = {
    kubeconfig: requireEnv('KUBECONFIG', ENV_HINT),
    kafkaBrokers: requireEnv('KAFKA_BROKERS', ENV_HINT),
    redisUrl: requireEnv('REDIS_URL', ENV_HINT),
    mysqlUrl: requireEnv('MYSQL_URL', ENV_HINT),
  };
  const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296)
    .toString(36)
    .padStart(2, '0')}`;
  const event = `demo-${runId}`;
  const runDir = join(ROOT, 'tmp', event);
  mkdirSync(runDir, { recursive: true });
  const redis = createRedis(env.redisUrl, 'seckill-demo');
  redis.on('error', () => undefined);
  const kafka = new Kafka({
    clientId: 'seckill-demo',
    brokers: env.kafkaBrokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100 },
    connectionTimeout: 1000,
  });
  return {
    o,
    env,
    event,
    runDir,
    productIds: Array.from({ length: o.products }, (_, i) => 1001 + i),
    say: (msg) => {
      if (!o.quiet) process.stderr.write(`[demo] ${msg}\n`);
    },
    procs: new ProcessGroup(runDir),
    kube: cluster.kubeClients(env.kubeconfig),
    redis,
    pool: createMysqlPool(env.mysqlUrl, 4),
    admin: kafka.admin(),
  };
}

const waitReady = (what: string, url: string): Promise<true> =>
  waitFor(what, async () => ((await httpOk(`${url}/readyz`)) ? true : undefined), 60_000, 250);

/** The operator, the supervisor and the front door; returns the operator's Lease name and the front door. */
async function startProcesses(
  r: Run,
  template: SeckillEvent,
): Promise<{ leaseName: string; api: FrontDoor }> {
  const leaseName = `seckill-operator-${r.event}`;
  r.procs.start('operator', 'operator/main.js', [], cluster.operatorEnv(r.env, await freePort(), leaseName));
  r.procs.start('supervisor', 'tools/demo/supervisor.js', cluster.supervisorArgs(r.o, r.runDir), {
    KUBECONFIG: r.env.kubeconfig,
  });
  const apiPort = r.o.apiPort || (await freePort());
  const apiEnv = cluster.apiEnv(r.o, r.env, template, apiPort);
  const start = (): Proc => r.procs.start('api', 'workloads/api/main.js', [], apiEnv);
  const api: FrontDoor = { url: `http://127.0.0.1:${apiPort}`, proc: start(), start };
  r.say(`operator, supervisor and front door (${api.url}) started`);
  return { leaseName, api };
}

/** Waits until the front door is ready, the sale Active with a ready consumer; returns the topic. */
async function waitForSale(r: Run, api: FrontDoor): Promise<string> {
  await waitReady('the front door to be ready', api.url);
  await waitFor(
    'phase Active',
    async () => {
      const ske = await cluster.readSke(r.kube, r.event);
      if (ske.status?.phase === 'Failed') throw new Error(`event failed: ${ske.status.message ?? ''}`);
      return ske.status?.phase === 'Active' ? true : undefined;
    },
    90_000,
    250,
  );
  await waitFor(
    'a ready consumer',
    async () =>
      ((await cluster.readDeployment(r.kube, r.event))?.status?.readyReplicas ?? 0) >= 1 ? true : undefined,
    90_000,
    250,
  );
  await waitFor(
    'the front door to see the event',
    async () => ((await readEvent(r.redis, r.event)) ? true : undefined),
    30_000,
    250,
  );
  await sleep(1500); // the front door refreshes its catalog every second
  const topic = (await cluster.readSke(r.kube, r.event)).status?.topic ?? purchaseTopic(r.event);
  await r.admin.connect().catch(() => undefined);
  return topic;
}

function startLoad(r: Run, api: FrontDoor, sampler: Sampler): Promise<LoadReport> {
  const isTty = process.stderr.isTTY;
  const o = r.o;
  const options = {
    url: api.url,
    event: r.event,
    products: r.productIds,
    buyers: o.buyers,
    requests: o.requests,
    rate: o.rate,
    connections: o.connections,
    maxConnections: Math.max(o.connections, o.maxConnections),
    timeoutMs: 10_000,
    seed: 42,
    userBase: 1,
  };
  return startLoadWorker(options, (p) => {
    if (o.quiet) return;
    const s = sampler.latest();
    const extra = s ? ` | lag ${s.kafkaLag ?? '?'} consumers ${s.ready}/${s.desired} sold ${s.sold}` : '';
    process.stderr.write(
      isTty ? `\r[load] ${progressLine(p)}${extra}\x1b[K` : `[load] ${progressLine(p)}${extra}\n`,
    );
  }).done;
}

function chaosFor(r: Run, api: FrontDoor, sampler: Sampler, actions: ChaosAction[]): Promise<void> {
  if (!r.o.chaos) return Promise.resolve();
  return runChaos({
    loadStart: () => sampler.loadStart,
    say: r.say,
    actions,
    runDir: r.runDir,
    killApi: async () => {
      const p = api.proc;
      await r.procs.kill(p);
      return `pid ${p.child.pid}`;
    },
    startApi: async () => {
      api.proc = api.start();
      await waitReady('the restarted front door', api.url);
      return `pid ${api.proc.child.pid}`;
    },
  });
}

/** Waits for lag 0 and every 202 ticket resolved; returns when it drained (if it did) and the results. */
async function drain(r: Run, w: SaleWatch, tickets: string[], loadEnd: number) {
  let drainedAt: number | undefined;
  let results = new Map<string, string | null>();
  try {
    await waitFor(
      'the drain (lag 0, every ticket resolved)',
      async () => {
        const lag = await kafkaLagNow(w);
        results = await readResults(r.redis, tickets);
        const unresolved = [...results.values()].filter((v) => v !== 'W' && v !== 'S' && v !== 'L').length;
        return lag === 0 && unresolved === 0 ? true : undefined;
      },
      r.o.drainTimeoutSeconds * 1000,
      200,
    );
    drainedAt = Date.now();
    r.say(`drained ${round((drainedAt - loadEnd) / 1000)}s after the load ended`);
  } catch (err) {
    r.say(err instanceof Error ? err.message : String(err));
    results = await readResults(r.redis, tickets).catch(() => results);
  }
  return { drainedAt, results };
}

/** The sale from the load to the verdict: load (and chaos), drain, the invariants, the result. */
async function sell(
  r: Run,
  api: FrontDoor,
  topic: string,
): Promise<{ demo: DemoResult; load: LoadReport; sampler: Sampler }> {
  const w: SaleWatch = {
    kube: r.kube,
    admin: r.admin,
    redis: r.redis,
    event: r.event,
    topic,
    productIds: r.productIds,
  };
  const sampler = new Sampler(w);
  sampler.start();
  const loading = startLoad(r, api, sampler);
  sampler.loadStart = Date.now();
  const chaosActions: ChaosAction[] = [];
  const chaos = chaosFor(r, api, sampler, chaosActions);
  const load = await loading;
  if (process.stderr.isTTY && !r.o.quiet) process.stderr.write('\n');
  sampler.loadStart = load.startedAtEpochMs;
  const loadEnd = load.startedAtEpochMs + load.seconds * 1000;
  r.say(`load done: ${load.offered} offered, ${load.accepted} accepted in ${load.seconds}s`);
  await chaos;

  const ticketsFile = join(r.runDir, 'tickets.ndjson');
  writeFileSync(
    ticketsFile,
    load.tickets.map((t) => JSON.stringify(t)).join('\n') + (load.tickets.length ? '\n' : ''),
  );
  const tickets = load.tickets.map((t) => t.ticket);
  const { drainedAt, results } = await drain(r, w, tickets, loadEnd);
  await sleep(2000); // a few more samples after the drain, so the charts show the lag at zero
  await sampler.stop();

  const products = r.productIds.map((id) => ({ id, perUserLimit: r.o.perUserLimit }));
  const verdict: InvariantVerdict = await checkInvariants({
    redis: r.redis,
    pool: r.pool,
    event: r.event,
    products,
    tickets,
    results,
  });
  const facts = {
    event: r.event,
    namespace: cluster.NAMESPACE,
    runDir: r.runDir,
    ticketsFile,
    chaos: r.o.chaos,
    seedStyle: r.o.seedStyle,
  };
  const demo = demoResult(
    {
      ...facts,
      loadStart: sampler.loadStart,
      loadEnd,
      sellOutAt: sampler.sellOutAt,
      drainedAt,
      samples: sampler.samples,
      maxLag: sampler.maxLag,
      chaosActions,
    },
    load,
    verdict,
  );
  return { demo, load, sampler };
}

function writeReports(r: Run, demo: DemoResult, load: LoadReport, sampler: Sampler): void {
  mkdirSync(r.o.reportDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  demo.reportFile = join(r.o.reportDir, `demo-${stamp}.html`);
  writeFileSync(demo.reportFile, renderHtml(demo, load, sampler.samples, r.o));
  writeFileSync(
    join(r.runDir, 'result.json'),
    `${JSON.stringify({ ...demo, samples: sampler.samples, timeline: load.timeline })}\n`,
  );
  if (!r.o.json || !r.o.quiet) process.stderr.write(`${renderText(demo, sampler.samples)}\n`);
  r.say(`report: ${demo.reportFile}`);
}

/** Leaves everything running (--keep-running), or deletes the sale and stops every process. */
async function finish(r: Run, api: FrontDoor, leaseName: string): Promise<void> {
  if (r.o.keepRunning) {
    r.say(
      `left running (--keep-running): front door ${api.url}; stop with: kubectl -n ${cluster.NAMESPACE} delete ske ${r.event}; kill ${r.procs.pids()}`,
    );
    r.procs.detach();
    return;
  }
  r.say(`deleting SeckillEvent ${r.event} and stopping everything`);
  await cluster.deleteSale(r.event, r.say);
  await sleep(1500); // the supervisor notices and stops its processes
  await r.procs.stop(api.proc);
  await Promise.all(r.procs.procs.filter((p) => p.name === 'supervisor').map((p) => r.procs.stop(p, 60_000)));
  await Promise.all(r.procs.procs.map((p) => r.procs.stop(p)));
  await cluster.deleteLease(r.kube, leaseName);
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const r = openRun(o);
  let stopped = false;
  const onSignal = (): void => {
    r.say('interrupted: stopping everything');
    r.procs.killAll();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    r.say(`run ${r.event}: logs in ${r.runDir}`);
    await migrate(r.pool);
    const secretName = await cluster.installBasics(r.env);
    r.say('CRD installed, Secret applied');
    const template = cluster.readTemplate();
    const { leaseName, api } = await startProcesses(r, template);
    const body = cluster.saleBody(template, o, {
      event: r.event,
      productIds: r.productIds,
      secretName,
      now: Date.now(),
    });
    await cluster.applySale(body);
    r.say(
      `SeckillEvent ${cluster.NAMESPACE}/${r.event} applied (${o.products} products x ${o.stock}, opens at ${body.spec!.startTime})`,
    );
    const topic = await waitForSale(r, api);
    r.say('sale Active, consumers ready: firing the load');
    const { demo, load, sampler } = await sell(r, api, topic);
    writeReports(r, demo, load, sampler);
    await finish(r, api, leaseName);
    stopped = true;
    return demo;
  } finally {
    if (!stopped) r.procs.killAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await r.admin.disconnect().catch(() => undefined);
    r.redis.disconnect();
    await r.pool.end().catch(() => undefined);
  }
}
