// The demo's run, step by step: schema, CRD, namespace and Secret; the operator, the supervisor (which plays
// the kubelet for the consumer Deployment) and the front door; a SeckillEvent built from examples/ (a
// unique name per run, the window opening in a few seconds) applied with kubectl; once it is Active, the
// sale (sale.ts: the load, the chaos actions, the drain, the invariants); the report; then everything
// stopped, or left running with --keep-running.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { SeckillEvent } from '../../operator/api/types.js';
import { readEvent } from '../../workloads/shared/catalog.js';
import { purchaseTopic } from '../../workloads/shared/kafka/topics.js';
import { migrate } from '../../workloads/shared/mysql/migrations.js';
import { createMysqlPool } from '../../workloads/shared/mysql/pool.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { freePort } from '../lib/net.js';
import { ROOT } from '../lib/paths.js';
import { requireEnv } from '../lib/stack-env.js';
import { sleep, waitFor } from '../lib/wait.js';
import type { LoadReport } from '../load/open-loop.js';
import * as cluster from './cluster.js';
import type { DemoOptions } from './options.js';
import { ProcessGroup, type Proc } from './processes.js';
import { renderHtml, renderText } from './report.js';
import type { DemoResult } from './result.js';
import { sell, waitReady, type DemoRun, type FrontDoor } from './sale.js';
import type { Sampler } from './sampling.js';

const ENV_HINT = 'run through demo.sh, or eval "$(bash tools/stack/stack.sh env)"';

function openRun(o: DemoOptions): DemoRun {
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

/** The operator, the supervisor and the front door; returns the operator's Lease name and the front door. */
async function startProcesses(
  r: DemoRun,
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
async function waitForSale(r: DemoRun, api: FrontDoor): Promise<string> {
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

function writeReports(r: DemoRun, demo: DemoResult, load: LoadReport, sampler: Sampler): void {
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
async function finish(r: DemoRun, api: FrontDoor, leaseName: string): Promise<void> {
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
