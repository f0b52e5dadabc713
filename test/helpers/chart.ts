// Shared by the chart tests (chart-*.test.ts): run helm, kubectl and promtool with bounded time, render the
// chart, and find objects in the rendered manifests.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { repoFile } from '../../tools/lib/paths.js';

export const CHART = repoFile('charts/seckill');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (at most timeoutMs); a missing tool or a timeout is an error, not a result. */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): RunResult {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    input: opts.input,
    timeout: opts.timeoutMs ?? 30_000,
    maxBuffer: 64 * 1024 * 1024,
    env: process.env,
  });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status === null) throw new Error(`${cmd} ${args.join(' ')} was killed by ${r.signal ?? 'a signal'}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like run, but throws with the command's stderr when it exits non-zero. */
export function runOk(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): string {
  const r = run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Every switch of the chart on. */
export const ALL_SWITCHES = [
  'crds.install=true',
  'metrics.serviceMonitor.enabled=true',
  'metrics.prometheusRule.enabled=true',
  'metrics.grafanaDashboard.enabled=true',
  'api.autoscaling.enabled=true',
  'api.podDisruptionBudget.enabled=true',
  'operator.leaderElection.enabled=true',
];

/**
 * Values every render starts from: the Secret with the front door's buyer-token key, which the chart
 * requires in its default auth.mode=jwt. A test's own `--set`s come after them, so `auth.existingSecret=`
 * takes it away again.
 */
export const BASE_VALUES = ['auth.existingSecret=seckill-api-auth'];

export function helmTemplateArgs(sets: string[] = [], release = 'seckill', namespace = 'default'): string[] {
  return [
    'template',
    release,
    CHART,
    '--namespace',
    namespace,
    ...[...BASE_VALUES, ...sets].flatMap((s) => ['--set', s]),
  ];
}

/** `helm template` output, parsed; throws with helm's message when the render fails. */
export function render(sets: string[] = [], release = 'seckill', namespace = 'default'): RenderedObject[] {
  const text = runOk('helm', helmTemplateArgs(sets, release, namespace));
  return parseManifests(text);
}

export type RenderedObject = k8s.KubernetesObject & Record<string, unknown>;

/** Parses a multi-document manifest into plain objects (client-node's model classes, then plain JSON). */
export function parseManifests(text: string): RenderedObject[] {
  const docs = (k8s.loadAllYaml(text) as (RenderedObject | null)[]).filter(
    (o): o is RenderedObject => o !== null,
  );
  return JSON.parse(JSON.stringify(docs)) as RenderedObject[];
}

export function find<T = RenderedObject>(objs: RenderedObject[], kind: string, name?: string): T {
  const hit = objs.find((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (!hit) {
    const have = objs.map((o) => `${o.kind}/${o.metadata?.name ?? ''}`).join(', ');
    throw new Error(`no ${kind}${name ? `/${name}` : ''} in the rendered chart (have: ${have})`);
  }
  return hit as T;
}

export const kinds = (objs: RenderedObject[]): string[] => objs.map((o) => o.kind ?? '').sort();

export function readRepoFile(rel: string): string {
  return readFileSync(repoFile(rel), 'utf8');
}

/** Metric names a PromQL expression refers to (identifiers followed by `{`, `[`, `)` or an operator). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/\b(seckill_[a-z0-9_]+)\b/g)) if (m[1]) names.add(m[1]);
  return [...names];
}

/** A histogram's series name back to the metric it belongs to. */
export const baseMetric = (name: string): string => name.replace(/_(bucket|sum|count)$/, '');
