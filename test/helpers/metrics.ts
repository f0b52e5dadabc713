// Metrics, live: GET with a bounded time and readiness waits for the real processes, the text exposition
// format, the chart's alert rules and dashboard queries, and a real Prometheus (its config, HTTP API,
// targets and rules). Used by metrics-live.test.ts and the operator tests that read /metrics.
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import type { Child } from './child-process.js';
import { repoFile } from '../../tools/lib/paths.js';
import { baseMetric, metricNames } from './chart.js';

/** GET a URL with a bounded time; the status and text body. */
export async function httpGet(url: string, timeoutMs = 5000): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, text: await res.text() };
}

/** Waits until GET url answers 200. */
export function waitHttpOk(child: Child, url: string, timeoutMs = 30_000): Promise<true> {
  return child.waitUntil(
    `GET ${url} to answer 200`,
    async () => ((await httpGet(url, 2000)).status === 200 ? true : undefined),
    timeoutMs,
  );
}

// --- The text exposition format -------------------------------------------------------------------------

/** What one /metrics page exports: metric families (# TYPE) and the names of sample lines. */
export interface Exposition {
  families: Map<string, string>;
  /** Base metric names that have at least one sample (histogram _bucket/_sum/_count folded in). */
  sampled: Set<string>;
}

export function parseExposition(text: string): Exposition {
  const families = new Map<string, string>();
  const sampled = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type?.[1] && type[2]) {
      families.set(type[1], type[2]);
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    const name = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)?.[1];
    if (!name) continue;
    sampled.add(name);
    if (families.get(baseMetric(name)) === 'histogram') sampled.add(baseMetric(name));
  }
  return { families, sampled };
}

// --- The chart's rules and dashboard -------------------------------------------------------------------

export const ALERTS_FILE = 'charts/seckill/files/alerts.yaml';
export const DASHBOARD_FILE = 'charts/seckill/files/dashboard.json';

export interface PanelQuery {
  panel: string;
  refId: string;
  expr: string;
}

interface DashboardJson {
  panels: { title: string; targets?: { expr: string; refId?: string }[] }[];
  templating?: { list: { name: string; definition?: string; query?: unknown }[] };
}

export function readDashboard(): DashboardJson {
  return JSON.parse(readFileSync(repoFile(DASHBOARD_FILE), 'utf8')) as DashboardJson;
}

export function panelQueries(d: DashboardJson = readDashboard()): PanelQuery[] {
  return d.panels.flatMap((p) =>
    (p.targets ?? []).map((t, i) => ({
      panel: p.title,
      refId: t.refId ?? String.fromCharCode(65 + i),
      expr: t.expr,
    })),
  );
}

/** The query expressions of the dashboard's template variables (e.g. label_values(metric, label)). */
export function variableQueries(d: DashboardJson = readDashboard()): { name: string; query: string }[] {
  return (d.templating?.list ?? []).flatMap((v) =>
    v.definition ? [{ name: v.name, query: v.definition }] : [],
  );
}

export function alertExprs(): { alert: string; expr: string }[] {
  const doc = k8s.loadYaml<{ groups: { rules: { alert?: string; record?: string; expr: string }[] }[] }>(
    readFileSync(repoFile(ALERTS_FILE), 'utf8'),
  );
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ alert: r.alert ?? r.record ?? '?', expr: r.expr })));
}

/** Every metric (base name) the rules and the dashboard use, with where each is used. */
export function usedMetrics(): Map<string, string[]> {
  const used = new Map<string, string[]>();
  const add = (expr: string, where: string): void => {
    for (const n of metricNames(expr)) {
      const base = baseMetric(n);
      used.set(base, [...(used.get(base) ?? []), where]);
    }
  };
  for (const a of alertExprs()) add(a.expr, `alert ${a.alert}`);
  for (const q of panelQueries()) add(q.expr, `panel "${q.panel}" ${q.refId}`);
  for (const v of variableQueries()) add(v.query, `variable $${v.name}`);
  return used;
}

/**
 * Grafana's template variables replaced as Grafana would: `$namespace` by the selected value (a regex
 * matcher), the interval variables by what a 1 s scrape interval gives.
 */
export function substitute(expr: string, vars: { namespace: string }): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '5s')
    .replaceAll('$__range', '5m')
    .replace(/\$\{?namespace\}?/g, vars.namespace)
    .replace(/\$\{?event\}?/g, '.*');
}

// --- Prometheus -------------------------------------------------------------------------------------------

export interface ScrapeJob {
  job: string;
  port: number;
  /** Target labels, as a ServiceMonitor/PodMonitor would attach them (namespace, pod, event). */
  labels: Record<string, string>;
}

/** A Prometheus config: every job scraped each second; target labels win over scraped ones (honor_labels false, as the chart's ServiceMonitors). */
export function prometheusConfig(jobs: ScrapeJob[], ruleFile?: string): string {
  const lines = ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', '  evaluation_interval: 1s'];
  if (ruleFile) lines.push('rule_files:', `  - ${JSON.stringify(ruleFile)}`);
  lines.push('scrape_configs:');
  for (const j of jobs) {
    lines.push(
      `  - job_name: ${JSON.stringify(j.job)}`,
      '    metrics_path: /metrics',
      '    static_configs:',
      `      - targets: ["127.0.0.1:${j.port}"]`,
      `        labels: ${JSON.stringify(j.labels)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query; throws on a query error (bad PromQL), returns the vector (scalars as one sample). */
export async function promQuery(base: string, query: string): Promise<PromSample[]> {
  const res = await fetch(`${base}/api/v1/query?${new URLSearchParams({ query }).toString()}`, {
    signal: AbortSignal.timeout(5000),
  });
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: PromSample[] | [number, string] };
  };
  if (body.status !== 'success' || !body.data)
    throw new Error(`query ${query} failed: ${body.error ?? res.status}`);
  const { resultType, result } = body.data;
  if (resultType === 'scalar' || resultType === 'string')
    return [{ metric: {}, value: result as [number, string] }];
  return result as PromSample[];
}

export interface PromTarget {
  labels: Record<string, string>;
  health: string;
  lastError: string;
}

export async function promTargets(base: string): Promise<PromTarget[]> {
  const { text } = await httpGet(`${base}/api/v1/targets?state=active`);
  return (JSON.parse(text) as { data: { activeTargets: PromTarget[] } }).data.activeTargets;
}

export interface PromRule {
  name: string;
  health: string;
  state?: string;
  lastError?: string;
  lastEvaluation: string;
}

export async function promRules(base: string): Promise<PromRule[]> {
  const { text } = await httpGet(`${base}/api/v1/rules`);
  return (JSON.parse(text) as { data: { groups: { rules: PromRule[] }[] } }).data.groups.flatMap(
    (g) => g.rules,
  );
}

export const isFiniteSample = (s: PromSample): boolean => Number.isFinite(Number(s.value[1]));
