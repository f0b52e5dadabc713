// The chart's alerts and dashboard: promtool checks the rules and runs their unit tests (every alert fires
// when it should and stays quiet when it should), and every metric the rules and the dashboard query is one
// the operator, the front door, the Batcher or the consumer registers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { createOperatorMetrics } from '../../operator/metrics.js';
import { createBatcherMetrics } from '../../workloads/api/batcher-metrics.js';
import { createApiMetrics } from '../../workloads/api/metrics.js';
import { createConsumerMetrics } from '../../workloads/consumer/metrics.js';
import { repoFile } from '../../tools/lib/paths.js';
import { baseMetric, metricNames, readRepoFile, run } from '../helpers/chart.js';

const ALERTS = 'charts/seckill/files/alerts.yaml';
const ALERT_TESTS = 'charts/seckill/tests/alerts.test.yaml';
const DASHBOARD = 'charts/seckill/files/dashboard.json';

interface RuleGroup {
  name: string;
  rules: { alert?: string; record?: string; expr: string; for?: string }[];
}
interface AlertTests {
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}
interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
}

const rules = (): RuleGroup['rules'] =>
  k8s.loadYaml<{ groups: RuleGroup[] }>(readRepoFile(ALERTS)).groups.flatMap((g) => g.rules);
const dashboard = (): Dashboard => JSON.parse(readRepoFile(DASHBOARD)) as Dashboard;

test('promtool check rules accepts the alerts file', () => {
  const r = run('promtool', ['check', 'rules', repoFile(ALERTS)]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: 8 rules found/);
});

test('promtool test rules: every alert unit test passes', () => {
  const r = run('promtool', ['test', 'rules', repoFile(ALERT_TESTS)], { timeoutMs: 45_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS/);
});

test('the issue alerts exist, and each has a firing case and a quiet case in the unit tests', () => {
  const alerts = rules().map((r) => r.alert);
  assert.deepEqual([...alerts].sort(), [
    'SeckillBatchFlushesFailing',
    'SeckillBuyerKeysUnavailable',
    'SeckillConsumerLagHigh',
    'SeckillDeadLettersGrowing',
    'SeckillFrontDoor5xxRatioHigh',
    'SeckillOperatorNoLeader',
    'SeckillOversold',
    'SeckillReconcileErrors',
  ]);
  const cases = k8s
    .loadYaml<AlertTests>(readRepoFile(ALERT_TESTS))
    .tests.flatMap((t) => t.alert_rule_test ?? []);
  for (const alert of alerts) {
    const mine = cases.filter((c) => c.alertname === alert);
    assert.ok(
      mine.some((c) => c.exp_alerts.length > 0),
      `${alert} has a test where it fires`,
    );
    assert.ok(
      mine.some((c) => c.exp_alerts.length === 0),
      `${alert} has a test where it stays quiet`,
    );
  }
  // Oversell is a bug, never a load condition: it fires at once, and as critical.
  const oversold = rules().find((r) => r.alert === 'SeckillOversold');
  assert.equal(oversold?.for, undefined);
  assert.match(readRepoFile(ALERTS), /alert: SeckillOversold[\s\S]*?severity: critical/);
});

test('the dashboard has the panels the issue lists, each with a query', () => {
  const d = dashboard();
  const titles = d.panels.map((p) => p.title);
  for (const wanted of [
    'Purchases by outcome',
    'Purchase latency percentiles',
    'Entries per batch',
    'Kafka produce latency',
    'Consumer lag and replicas',
    'Claims by outcome',
    'Orders per second',
    'Stock remaining',
    'Reconciles by result',
  ]) {
    const panel = d.panels.find((p) => p.title === wanted);
    assert.ok(panel, `panel "${wanted}" in ${titles.join(', ')}`);
    assert.ok(panel.targets.length > 0 && panel.targets.every((t) => t.expr.length > 0));
  }
});

test('every metric the rules and the dashboard use is registered by the code', async () => {
  const registry = new Registry();
  createOperatorMetrics(registry);
  createApiMetrics(registry);
  createBatcherMetrics(registry);
  createConsumerMetrics(registry);
  const registered = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));

  const used = new Map<string, string>();
  for (const r of rules())
    for (const n of metricNames(r.expr)) used.set(n, `alert ${r.alert ?? r.record ?? ''}`);
  for (const p of dashboard().panels) {
    for (const t of p.targets) for (const n of metricNames(t.expr)) used.set(n, `panel "${p.title}"`);
  }
  assert.ok(used.size >= 15, `found ${used.size} metric names`);
  const missing = [...used].filter(([name]) => !registered.has(baseMetric(name)));
  assert.deepEqual(missing, [], 'metrics used but not registered by any component');
});
