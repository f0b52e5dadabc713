// The demo's run, step by step, on the local cluster: the schema; `helm upgrade --install` of the chart
// (operator x2 with leader election, front door x2, CRD, RBAC) with the images built here; the event's
// namespace and connection Secret (the single-node engines, or with --ha the HA profile's); a SeckillEvent
// built from examples/ (a unique name per run, the window opening in a few seconds) applied with kubectl;
// once it is Active and its consumer pods are Ready, the sale at the front door's Service (sale.ts: the
// load, the chaos actions, the drain, the invariants); the report; then the event deleted and the release
// uninstalled, or all left running with --keep-running.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { readEvent } from '../../workloads/shared/catalog.js';
import { purchaseTopic } from '../../workloads/shared/kafka/topics.js';
import { migrate } from '../../workloads/shared/mysql/migrations.js';
import { createMysqlPool } from '../../workloads/shared/mysql/pool.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { ROOT } from '../lib/paths.js';
import { requireEnv } from '../lib/stack-env.js';
import { sleep, waitFor } from '../lib/wait.js';
import type { LoadReport } from '../load/open-loop.js';
import * as cluster from './cluster.js';
import type { DemoOptions } from './options.js';
import { PodTracker } from './pods.js';
import * as release from './release.js';
import { renderHtml, renderText } from './report.js';
import type { DemoResult } from './result.js';
import type { HaEngines } from './ha-faults.js';
import { sell, waitReady, type DemoRun, type FrontDoor } from './sale.js';
import type { Sampler } from './sampling.js';

const ENV_HINT = 'run through demo.sh, or eval "$(bash tools/stack/stack.sh env)"';
const HA_HINT = 'run through demo.sh --ha, or eval "$(bash tools/stack/stack.sh up --ha)"';

/** The engines' addresses for this process: the single-node stack's, or the HA profile's (--ha). */
function demoEnv(o: DemoOptions): cluster.DemoEnv {
  return {
    kubeconfig: requireEnv('KUBECONFIG', ENV_HINT),
    kafkaBrokers: o.ha ? requireEnv('HA_KAFKA_BROKERS', HA_HINT) : requireEnv('KAFKA_BROKERS', ENV_HINT),
    redisUrl: o.ha ? requireEnv('HA_REDIS_URL', HA_HINT) : requireEnv('REDIS_URL', ENV_HINT),
    mysqlUrl: requireEnv('MYSQL_URL', ENV_HINT),
  };
}

/** The clients the HA faults use (ha-faults.ts): their own, with short request timeouts. */
function haEngines(env: cluster.DemoEnv, event: string): HaEngines {
  const brokers = env.kafkaBrokers.split(',');
  const kafka = new Kafka({
    clientId: 'seckill-demo-chaos',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    connectionTimeout: 1000,
    requestTimeout: 2000,
  });
  const redis = createRedis(env.redisUrl, 'seckill-demo-chaos');
  redis.on('error', () => undefined);
  return {
    kafka,
    admin: kafka.admin(),
    kafkaBrokers: brokers,
    redis,
    redisNodes: requireEnv('HA_REDIS_NODES', HA_HINT).split(','),
    event,
    topic: purchaseTopic(event),
  };
}

function openRun(o: DemoOptions): DemoRun {
  const env = demoEnv(o);
  const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296)
    .toString(36)
    .padStart(2, '0')}`;
  const event = `demo-${runId}`;
  const runDir = join(ROOT, 'tmp', event);
  mkdirSync(runDir, { recursive: true });
  const kube = cluster.kubeClients(env.kubeconfig);
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
    pods: new PodTracker(kube.kc, [cluster.NAMESPACE, release.RELEASE_NAMESPACE]),
    kube,
    redis,
    pool: createMysqlPool(env.mysqlUrl, 4),
    admin: kafka.admin(),
    ...(o.chaos && o.ha ? { ha: haEngines(env, event) } : {}),
  };
}

/**
 * The HA profile's settings: topics with 3 copies of which 2 must have a write (so one broker may die), and
 * consumers that act on a claim only once a Redis replica has it (so one master may die).
 */
const HA_VALUES: Record<string, number> = {
  'operator.kafka.replicationFactor': 3,
  'operator.kafka.minInSyncReplicas': 2,
  'operator.consumer.claimWait.replicas': 1,
};

/**
 * The chart installed (or upgraded) with this build's images, operator and front door Ready; the seed-style
 * run gives the front door the per-request producer and the consumers the seed's guard and writes.
 */
async function installProject(r: DemoRun): Promise<FrontDoor> {
  const set: Record<string, string | number> = r.o.ha ? { ...HA_VALUES } : {};
  if (r.o.seedStyle) {
    set['api.extraEnv[0].name'] = 'PRODUCER_MODE';
    set['api.extraEnv[0].value'] = 'per-request';
    set['operator.extraEnv[0].name'] = 'CONSUMER_EXTRA_ENV';
    set['operator.extraEnv[0].value'] = 'STOCK_GUARD=lua-per-entry;ORDER_WRITE_MODE=per-order';
  }
  if (r.o.auth === 'none') set['auth.mode'] = 'none';
  const { jwtSecret } = await release.installRelease({ set, ha: r.o.ha });
  const url = await release.frontDoorUrl(r.kube.kc);
  r.say(
    `helm release ${release.RELEASE_NAMESPACE}/${release.RELEASE} ready: operator x2, front door x2 at ${url}` +
      (r.o.ha ? ' (HA engines)' : ''),
  );
  return { url, ...(r.o.auth === 'jwt' ? { jwtSecret } : {}) };
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
    'a ready consumer pod',
    async () =>
      ((await cluster.readDeployment(r.kube, r.event))?.status?.readyReplicas ?? 0) >= 1 ? true : undefined,
    180_000,
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
  if (r.ha) {
    r.ha.topic = topic;
    await r.ha.admin.connect();
  }
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

/** Leaves everything running (--keep-running), or deletes the sale and uninstalls the release. */
async function finish(r: DemoRun, api: FrontDoor): Promise<void> {
  if (r.o.keepRunning) {
    r.say(
      `left running (--keep-running): front door ${api.url}; stop with: kubectl -n ${cluster.NAMESPACE} delete ske ${r.event}; helm uninstall -n ${release.RELEASE_NAMESPACE} ${release.RELEASE}`,
    );
    return;
  }
  r.say(`deleting SeckillEvent ${r.event} and uninstalling the release`);
  await cluster.deleteSale(r.event, r.say);
  await release.uninstallRelease().catch((err: unknown) => r.say(`helm uninstall failed: ${String(err)}`));
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const r = openRun(o);
  const onSignal = (): void => {
    r.say(
      `interrupted: the release and the event stay; helm uninstall -n ${release.RELEASE_NAMESPACE} ${release.RELEASE}`,
    );
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    r.say(`run ${r.event}: logs in ${r.runDir}`);
    await migrate(r.pool);
    const api = await installProject(r);
    const secretName = await cluster.installBasics(release.podConnection(o.ha));
    r.say(`namespace ${cluster.NAMESPACE} and its connection Secret applied`);
    const template = cluster.readTemplate();
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
    await finish(r, api);
    return demo;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await r.admin.disconnect().catch(() => undefined);
    await r.ha?.admin.disconnect().catch(() => undefined);
    r.ha?.redis.disconnect();
    r.redis.disconnect();
    await r.pool.end().catch(() => undefined);
  }
}
