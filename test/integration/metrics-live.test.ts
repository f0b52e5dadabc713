// The chart's alerts and dashboard against live processes: the operator, the front door and a consumer run
// as real child processes (`node dist/...main.js`, configured by environment as in their Deployments) on
// the real stack, with a fresh SeckillEvent in a fresh namespace. Real purchases go through the front door
// (accepted, sold out, over the limit, invalid, unknown product) and a poison message through the
// consumer. Then:
//   1. every metric the rules and the dashboard use has samples on a live /metrics of one of the three;
//   2. a real Prometheus scrapes the three (1 s interval, target labels as the chart's ServiceMonitors and
//      PodMonitor attach them) and every dashboard panel query, with its template variables filled in as
//      Grafana would, returns data; it also loads the alert rules and evaluates every one without error.
// chart-alerts.test.ts checks the same names statically against the registries, and runs promtool.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type SeckillEvent } from '../../operator/api/types.js';
import { createKafka } from '../../workloads/shared/kafka/client.js';
import { deadLetterTopic, purchaseTopic } from '../../workloads/shared/kafka/topics.js';
import { createLogger } from '../../workloads/shared/log.js';
import { migrate } from '../../workloads/shared/mysql/migrations.js';
import { createMysqlPool } from '../../workloads/shared/mysql/pool.js';
import { eventBody, installCrd, iso, kubeConfig, seckillApi } from '../helpers/operator-kube.js';
import { repoFile } from '../../tools/lib/paths.js';
import { stackJwtSecret } from '../../tools/lib/buyer-tokens.js';
import { stackEnv, uniqueName } from '../../tools/lib/stack-env.js';
import { waitFor } from '../../tools/lib/wait.js';
import { errorCode, get, post, ticketOf, type Answer } from '../helpers/api.js';
import {
  ALERTS_FILE,
  httpGet,
  isFiniteSample,
  panelQueries,
  parseExposition,
  prometheusConfig,
  promQuery,
  promRules,
  promTargets,
  substitute,
  usedMetrics,
  variableQueries,
  waitHttpOk,
  type Exposition,
  type PromSample,
} from '../helpers/metrics.js';
import { freePort } from '../../tools/lib/net.js';
import { Child } from '../helpers/child-process.js';
import { Cleanup } from '../helpers/cleanup.js';
import { deleteNamespace, waitGone } from '../helpers/kube.js';

const kc = kubeConfig();
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const core = kc.makeApiClient(k8s.CoreV1Api);
const log = createLogger({ test: 'metrics-live' }, 'error');
const kafka = createKafka(stackEnv.kafkaBrokers(), 'metrics-live-test', log);

const namespace = uniqueName('metrics-live');
const event = uniqueName('mlive');
const topic = purchaseTopic(event);
const products = [
  { id: 1, stock: 1, perUserLimit: 1 }, // sells out at the first purchase
  { id: 2, stock: 100, perUserLimit: 1 },
];
const tmp = mkdtempSync(join(tmpdir(), 'seckill-metrics-live-'));
const node = process.execPath;
const dist = (rel: string): string => repoFile(`dist/${rel}`);

let operator: Child | undefined;
let consumer: Child | undefined;
let api: Child | undefined;
let prometheus: Child | undefined;
let namespaceCreated = false;
let eventCreated = false;
const ports = { operator: 0, consumer: 0, api: 0, prometheus: 0 };
const url = (port: number): string => `http://127.0.0.1:${port}`;
let promUrl = '';

/** What the test did, for the assertions. */
const traffic = {
  /** Accepted tickets with their buyers (a ticket's result is shown to its buyer only). */
  tickets: [] as { ticket: string; buyer: number }[],
  winner: '',
  codes: new Set<string>(),
};

const base = {
  KAFKA_BROKERS: stackEnv.kafkaBrokers().join(','),
  REDIS_URL: stackEnv.redisUrl(),
  LOG_LEVEL: 'info',
};

const readEvent = (): Promise<SeckillEvent> => seckillApi(kc, namespace).get(event);

async function buy(productId: number, userId: number): Promise<Answer> {
  return post(url(ports.api), { event, productId, userId });
}

/** The ticket's status as its buyer sees it (another buyer would get 404). */
async function ticketStatus(ticket: string, buyer: number): Promise<string> {
  const a = await get(url(ports.api), `/api/v1/tickets/${ticket}`, { buyer });
  return String((a.body as { status?: unknown } | undefined)?.status);
}

before(async () => {
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  promUrl = url(ports.prometheus);

  await installCrd(kc);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  namespaceCreated = true;
  const pool = createMysqlPool(stackEnv.mysqlUrl());
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }

  // The operator, as its Deployment runs it: leader election on, watching its own namespace.
  operator = new Child(
    'operator',
    node,
    [dist('operator/main.js')],
    {
      ...base,
      KUBECONFIG: stackEnv.kubeconfig(),
      WATCH_NAMESPACE: namespace,
      POD_NAMESPACE: namespace,
      HTTP_PORT: String(ports.operator),
      LEADER_ELECTION_IDENTITY: 'metrics-live-operator',
      TOPIC_REPLICATION_FACTOR: '1', // one broker on the local stack
      TOPIC_MIN_INSYNC_REPLICAS: '1',
      STATUS_REFRESH_ACTIVE_MS: '500',
      STATUS_REFRESH_IDLE_MS: '2000',
      SHUTDOWN_GRACE_MS: '5000',
    },
    join(tmp, 'operator.log'),
  );
  await waitHttpOk(operator, `${url(ports.operator)}/readyz`);
  await operator.waitUntil(
    'leading',
    async () =>
      /^seckill_operator_leader(\{[^}]*\})? 1$/m.test((await httpGet(`${url(ports.operator)}/metrics`)).text)
        ? true
        : undefined,
    30_000,
  );

  // A sale open now (whole seconds: the spec's times have no milliseconds), in the watched namespace.
  const start = Math.floor(Date.now() / 1000) * 1000 - 2000;
  const body = eventBody(
    event,
    {
      products,
      startTime: iso(start),
      endTime: iso(start + 3_600_000),
      kafka: { partitions: 2 },
      consumer: { minReplicas: 1, maxReplicas: 2 },
      cleanupPolicy: 'Delete',
    },
    { metadata: { name: event, namespace } },
  );
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    body,
  });
  eventCreated = true;
  await operator.waitUntil(
    `SeckillEvent ${namespace}/${event} Active with its topic and stock`,
    async () => {
      const s = (await readEvent()).status;
      const topicReady = s?.conditions?.some((c) => c.type === 'TopicReady' && c.status === 'True');
      return s?.phase === 'Active' && topicReady && s.products?.length === products.length ? true : undefined;
    },
    30_000,
  );

  // The consumer the operator's Deployment would run (no kubelet here: it runs as a child process).
  consumer = new Child(
    'consumer',
    node,
    [dist('workloads/consumer/main.js')],
    {
      ...base,
      MYSQL_URL: stackEnv.mysqlUrl(),
      SECKILL_EVENT: event,
      HTTP_PORT: String(ports.consumer),
      CONSUMER_SHARDS: '2',
      SHUTDOWN_GRACE_MS: '5000',
    },
    join(tmp, 'consumer.log'),
  );
  api = new Child(
    'api',
    node,
    [dist('workloads/api/main.js')],
    {
      ...base,
      HTTP_PORT: String(ports.api),
      CATALOG_REFRESH_MS: '200',
      SHUTDOWN_GRACE_MS: '5000',
      AUTH_JWT_SECRET: stackJwtSecret(),
    },
    join(tmp, 'api.log'),
  );
  await Promise.all([
    waitHttpOk(consumer, `${url(ports.consumer)}/readyz`),
    waitHttpOk(api, `${url(ports.api)}/readyz`),
  ]);

  // Prometheus first, so the counters grow while it watches (rate() over the traffic is then > 0). Target
  // labels as the chart's monitors give them: namespace and pod on all three, event on the consumer.
  const config = join(tmp, 'prometheus.yml');
  writeFileSync(
    config,
    prometheusConfig(
      [
        { job: 'seckill-operator', port: ports.operator, labels: { namespace, pod: 'seckill-operator-0' } },
        { job: 'seckill-api', port: ports.api, labels: { namespace, pod: 'seckill-api-0' } },
        {
          job: 'seckill-consumer',
          port: ports.consumer,
          labels: { namespace, event, pod: `${event}-consumer-0` },
        },
      ],
      repoFile(ALERTS_FILE),
    ),
  );
  prometheus = new Child(
    'prometheus',
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(tmp, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${ports.prometheus}`,
      '--log.level=warn',
    ],
    {},
    join(tmp, 'prometheus.log'),
  );
  await waitHttpOk(prometheus, `${promUrl}/-/ready`);
  await prometheus.waitUntil(
    'all three targets up',
    async () => {
      const targets = await promTargets(promUrl);
      return targets.length === 3 && targets.every((t) => t.health === 'up') ? true : undefined;
    },
    30_000,
  );

  // Traffic: buyers of product 2, the one unit of product 1, a buyer over the limit, bad requests.
  const accepted = (a: Answer, buyer: number): void => {
    assert.equal(a.status, 202, JSON.stringify(a.body));
    traffic.tickets.push({ ticket: ticketOf(a), buyer });
  };
  for (let user = 1; user <= 8; user++) accepted(await buy(2, user), user);
  const win = await buy(1, 100);
  accepted(win, 100);
  traffic.winner = ticketOf(win);
  const refusals: [Answer, number, string][] = [
    [await buy(2, 1), 409, 'limit'],
    [await buy(99, 1), 404, 'unknown_product'],
    [await post(url(ports.api), undefined, '{"event": '), 400, 'invalid_request'],
  ];
  for (const [a, status, code] of refusals) {
    assert.equal(a.status, status, JSON.stringify(a.body));
    assert.equal(errorCode(a), code);
    traffic.codes.add(code);
  }
  await api.waitUntil(
    'the winner of product 1 to be told',
    async () => {
      const s = await ticketStatus(traffic.winner, 100);
      return s === 'won' ? s : undefined;
    },
    20_000,
  );
  // The consumer announced product 1 sold out: the front door now refuses it at once (409). Buyers who
  // got in before the announcement arrived hold tickets that will be lost.
  let user = 200;
  await api.waitUntil(
    'the front door to refuse product 1 as sold out',
    async () => {
      const buyer = user++;
      const a = await buy(1, buyer);
      if (a.status === 202) traffic.tickets.push({ ticket: ticketOf(a), buyer });
      return errorCode(a) === 'sold_out' ? true : undefined;
    },
    10_000,
  );
  traffic.codes.add('sold_out');

  // A poison message straight into the topic: the consumer dead-letters it.
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ key: '2', value: '{"v":99}' }] });
  } finally {
    await producer.disconnect();
  }
  await api.waitUntil(
    'every ticket to have its result',
    async () => {
      const statuses = await Promise.all(traffic.tickets.map((t) => ticketStatus(t.ticket, t.buyer)));
      return statuses.every((s) => s === 'won' || s === 'lost') ? true : undefined;
    },
    20_000,
  );
  await consumer.waitUntil(
    'the poison message to be dead-lettered',
    async () => {
      const text = (await httpGet(`${url(ports.consumer)}/metrics`)).text;
      return /^seckill_consumer_dead_letters_total\{[^}]*\} [1-9]/m.test(text) ? true : undefined;
    },
    20_000,
  );
});

after(async () => {
  const cleanup = new Cleanup();
  await cleanup.attempt('prometheus', async () => prometheus?.stop(5000));
  await cleanup.attempt('api', async () => api?.stop(10_000));
  await cleanup.attempt('consumer', async () => consumer?.stop(10_000));
  if (eventCreated) {
    // Deleting the event lets the operator's finalizer clean up (cleanupPolicy Delete: Deployment, Redis
    // keys, topics, consumer group). If that does not finish in time, drop the finalizer and clean by hand.
    const base = { group: GROUP, version: VERSION, namespace, plural: PLURAL, name: event };
    await cleanup.attempt('delete the event', () => custom.deleteNamespacedCustomObject(base));
    const gone = await waitGone('the SeckillEvent to be finalized', readEvent, { timeoutMs: 15_000 }).catch(
      () => false,
    );
    if (!gone) {
      await cleanup.attempt('purge the event', async () => {
        await custom.patchNamespacedCustomObject(
          { ...base, body: { metadata: { finalizers: null } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
      });
      await cleanup.attempt('delete the topics', async () => {
        const admin = kafka.admin();
        await admin.connect();
        try {
          const existing = await admin.listTopics();
          const doomed = [topic, deadLetterTopic(topic)].filter((t) => existing.includes(t));
          if (doomed.length) await admin.deleteTopics({ topics: doomed });
        } finally {
          await admin.disconnect();
        }
      });
    }
  }
  await cleanup.attempt('operator', async () => operator?.stop(10_000));
  if (namespaceCreated) await cleanup.attempt('namespace', () => deleteNamespace(kc, namespace));
  rmSync(tmp, { recursive: true, force: true });
  cleanup.done('metrics-live');
});

test('every metric the rules and the dashboard use is exported by the live operator, front door or consumer', async () => {
  const scraped = new Map<string, Exposition>();
  for (const [name, port] of [
    ['operator', ports.operator],
    ['api', ports.api],
    ['consumer', ports.consumer],
  ] as const) {
    const page = await httpGet(`${url(port)}/metrics`);
    assert.equal(page.status, 200, `${name} /metrics`);
    scraped.set(name, parseExposition(page.text));
  }
  const used = usedMetrics();
  assert.ok(used.size >= 15, `found ${used.size} metric names in the rules and the dashboard`);
  const missing: string[] = [];
  const rows: string[] = [];
  for (const [metric, where] of [...used].sort(([a], [b]) => a.localeCompare(b))) {
    const by = [...scraped].filter(([, e]) => e.sampled.has(metric)).map(([n]) => n);
    if (by.length === 0) {
      const declared = [...scraped].filter(([, e]) => e.families.has(metric)).map(([n]) => n);
      missing.push(
        `${metric} (used by ${where.join(', ')}; ${declared.length ? `declared without samples by ${declared.join(', ')}` : 'exported by none'})`,
      );
    }
    rows.push(`#   ${metric.padEnd(48)} ${by.join(', ') || '-'}`);
  }
  console.log(
    `# metrics used by the rules and the dashboard, and who exports them live:\n${rows.join('\n')}`,
  );
  assert.deepEqual(missing, [], 'metrics the rules or the dashboard use that no live process exports');
});

// "Reconciles by result" B is the error rate: a healthy reconcile loop has no errors, and the operator does
// not start seckill_operator_reconcile_total{result="error"} at 0 (prom-client exports a labelled series
// only once it is incremented; the consumer and the front door pre-create theirs), so it legitimately has
// no data here. For it the query must still be valid and the metric it reads scraped for this namespace.
// Every panel query must return data: counters start at 0 in every process, so even the error rates do.
const NO_DATA_EXPECTED: Record<string, { reason: string; metric: string }> = {};

test('Prometheus scrapes the three processes and every dashboard panel query returns data', async () => {
  // The namespace variable, as Grafana computes it: label_values(<metric>, namespace).
  const [variable] = variableQueries().filter((v) => v.name === 'namespace');
  const labelValues = /^label_values\((\w+),\s*(\w+)\)$/.exec(variable?.query ?? '');
  assert.ok(labelValues?.[1] && labelValues[2], `namespace variable query: ${variable?.query}`);
  const values = await promQuery(promUrl, `count by (${labelValues[2]}) (${labelValues[1]})`);
  assert.deepEqual(
    values.map((s) => s.metric[labelValues[2] ?? '']),
    [namespace],
    'the $namespace variable offers the namespace',
  );

  const queries = panelQueries().map((q) => ({
    ...q,
    key: `${q.panel}/${q.refId}`,
    promql: substitute(q.expr, { namespace }),
  }));
  assert.ok(queries.length >= 9);
  for (const q of queries) assert.doesNotMatch(q.promql, /\$/, `${q.key}: every variable substituted`);

  // Rates need two scrapes after the traffic: poll (bounded) until every panel has a finite value. Buyers
  // keep knocking meanwhile (a sold-out refusal a second), as on a dashboard watching a live sale: a
  // latency series that appears with its first burst already counted has no increase to rate() until the
  // next request (see seckill_api_request_duration_seconds in the report).
  let latecomer = 1000;
  const results = new Map<string, PromSample[]>();
  const last = new Map<string, PromSample[]>();
  const pending = (): typeof queries =>
    queries.filter((q) => !(q.key in NO_DATA_EXPECTED) && !results.has(q.key));
  await waitFor(
    'every dashboard panel query to return data',
    async () => {
      assert.equal(errorCode(await buy(1, latecomer++)), 'sold_out');
      for (const q of pending()) {
        const samples = await promQuery(promUrl, q.promql);
        last.set(q.key, samples);
        if (samples.length > 0 && samples.some(isFiniteSample)) results.set(q.key, samples);
      }
      return pending().length === 0 ? true : undefined;
    },
    30_000,
    1000,
  ).catch((err: unknown) => {
    const left = pending().map((q) => `${q.key}: ${q.promql} -> ${JSON.stringify(last.get(q.key))}`);
    throw new Error(`panels without data:\n${left.join('\n')}`, { cause: err });
  });

  for (const q of queries) {
    const expected = NO_DATA_EXPECTED[q.key];
    if (expected) {
      await promQuery(promUrl, q.promql); // a valid query (throws on a PromQL error)
      const metric = await promQuery(promUrl, `${expected.metric}{namespace=~"${namespace}"}`);
      assert.ok(metric.length > 0, `${q.key}: ${expected.metric} is scraped`);
      console.log(
        `# ${q.key}: no data expected (${expected.reason}); ${expected.metric} has ${metric.length} series`,
      );
      continue;
    }
    const samples = results.get(q.key) ?? [];
    const shown = samples.map((s) => `${JSON.stringify(s.metric)}=${s.value[1]}`).join(' ');
    console.log(`# ${q.key}: ${shown}`);
  }

  // The data is the sale's, not just any: outcomes, claims and stock as the traffic left them.
  const byLabel = (samples: PromSample[], label: string): Map<string, number> => {
    const sums = new Map<string, number>();
    for (const s of samples) {
      const value = s.metric[label] ?? '';
      sums.set(value, (sums.get(value) ?? 0) + Number(s.value[1]));
    }
    return sums;
  };
  // rate() needs an increase between two scrapes inside the window: keep a trickle of sold-out buys going
  // until every outcome the traffic produced shows a rate.
  const outcomesQuery = queries.find((q) => q.key === 'Purchases by outcome/A');
  assert.ok(outcomesQuery);
  let purchaseOutcomes = new Map<string, number>();
  await waitFor(
    'a rate for every purchase outcome the traffic produced',
    async () => {
      assert.equal(errorCode(await buy(1, latecomer++)), 'sold_out');
      purchaseOutcomes = byLabel(await promQuery(promUrl, outcomesQuery.promql), 'outcome');
      const wanted = ['accepted', 'sold_out', 'limit', 'invalid', 'unknown'];
      return wanted.every((o) => (purchaseOutcomes.get(o) ?? 0) > 0) ? true : undefined;
    },
    30_000,
    1000,
  ).catch((err: unknown) => {
    throw new Error(`purchase outcomes: ${JSON.stringify([...purchaseOutcomes])}`, { cause: err });
  });
  // The claim counters exist at 0 from the start, so the first answer may be a zero rate: poll.
  const claimsQuery = queries.find((q) => q.key === 'Claims by outcome/A');
  assert.ok(claimsQuery);
  let claims = new Map<string, number>();
  await waitFor(
    'a rate of won claims',
    async () => {
      claims = byLabel(await promQuery(promUrl, claimsQuery.promql), 'outcome');
      return (claims.get('won') ?? 0) > 0 ? true : undefined;
    },
    30_000,
    1000,
  ).catch((err: unknown) => {
    throw new Error(`won claims: ${JSON.stringify([...claims])}`, { cause: err });
  });
  const stockQuery = queries.find((q) => q.key === 'Stock remaining/A');
  assert.ok(stockQuery);
  await waitFor(
    'the stock remaining of both products',
    async () => {
      const left = new Map(
        (await promQuery(promUrl, stockQuery.promql))
          .filter((s) => s.metric.event === event)
          .map((s) => [s.metric.product, Number(s.value[1])]),
      );
      return left.get('1') === 0 && left.get('2') === 92 ? true : undefined; // 8 of 100 sold
    },
    15_000,
  );
});

test('Prometheus evaluates every alert rule without error; only the provoked dead-letter alert fires', async () => {
  // Rules are evaluated on their own clock: wait until the provoked alert fires, then check them all.
  const rules = await waitFor(
    'every rule evaluated and the dead-letter alert firing',
    async () => {
      const all = await promRules(promUrl);
      const evaluated = all.length > 0 && all.every((r) => !r.lastEvaluation.startsWith('0001-'));
      const dlq = all.find((r) => r.name === 'SeckillDeadLettersGrowing');
      return evaluated && dlq?.state === 'firing' ? all : undefined;
    },
    30_000,
  );
  assert.equal(rules.length, 8);
  for (const r of rules) {
    assert.equal(r.health, 'ok', `${r.name}: ${r.lastError ?? ''}`);
    // Dead letters are the one alert this run provokes on purpose (the poison message).
    if (r.name !== 'SeckillDeadLettersGrowing') assert.equal(r.state, 'inactive', `${r.name} is ${r.state}`);
  }
});
