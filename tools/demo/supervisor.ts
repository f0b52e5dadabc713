// The demo's kubelet: the local stack has an API server but no controller-manager, scheduler or kubelet,
// so a Deployment never gets pods by itself. This supervisor plays that part for the consumer Deployments
// the operator creates (label app.kubernetes.io/name=seckill-consumer):
//   - for each Deployment it keeps spec.replicas local processes (`node dist/workloads/consumer/main.js`)
//     running with the container's environment (valueFrom.secretKeyRef resolved from the Secret through
//     the API, fieldRef metadata.name = a unique POD_NAME, HTTP_PORT = a free port per process);
//   - restarts crashed processes (with a short CrashLoopBackOff), stops extra ones with SIGTERM
//     (SIGKILL after terminationGracePeriodSeconds), rolls processes whose template changed (maxSurge 1,
//     maxUnavailable 0);
//   - probes each process's /readyz every second and writes the Deployment's status subresource
//     (replicas, readyReplicas, availableReplicas, updatedReplicas, observedGeneration), so the
//     operator's scaling is real and visible;
//   - writes each process's output to RUN_DIR/<pod>.log and its state to RUN_DIR/supervisor-state.json
//     (the chaos run reads the pids from there).
//
//   node dist/tools/demo/supervisor.js --run-dir DIR [--namespace NS] [--env KEY=VALUE ...]
// Env: KUBECONFIG. --env overrides a container variable in every process (the benchmark uses it to run
// the seed-style consumer modes). SIGTERM/SIGINT: stops every process, then exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { openSync, closeSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { freePort, httpOk } from '../lib/net.js';
import { sleep } from '../lib/wait.js';

export const CONSUMER_SELECTOR = 'app.kubernetes.io/name=seckill-consumer';
const CONSUMER_MAIN = fileURLToPath(new URL('../../workloads/consumer/main.js', import.meta.url));
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

export interface SupervisorOptions {
  kc: k8s.KubeConfig;
  runDir: string;
  /** Only Deployments of this namespace; empty = all namespaces. */
  namespace: string;
  /** Overrides applied on top of every container environment. */
  envOverrides: Record<string, string>;
  pollMs?: number;
  log?: (msg: string) => void;
}

interface Proc {
  pod: string;
  hash: string;
  port: number;
  child?: ChildProcess;
  pid?: number;
  ready: boolean;
  restarts: number;
  /** When the next start may happen (backoff after a crash). */
  notBefore: number;
  terminating: boolean;
  startedAt: number;
}

interface Managed {
  key: string;
  namespace: string;
  name: string;
  procs: Proc[];
  lastStatus: string;
}

export interface SupervisorState {
  deployments: {
    namespace: string;
    name: string;
    processes: {
      pod: string;
      pid?: number;
      port: number;
      ready: boolean;
      restarts: number;
      terminating: boolean;
    }[];
  }[];
}

const randomSuffix = (): string => Math.random().toString(36).slice(2, 7).padEnd(5, 'x');

export class Supervisor {
  private readonly apps: k8s.AppsV1Api;
  private readonly core: k8s.CoreV1Api;
  private readonly managed = new Map<string, Managed>();
  private stopped = false;
  private loop?: Promise<void>;
  private readonly log: (msg: string) => void;

  constructor(private readonly o: SupervisorOptions) {
    this.apps = o.kc.makeApiClient(k8s.AppsV1Api);
    this.core = o.kc.makeApiClient(k8s.CoreV1Api);
    this.log = o.log ?? ((msg) => process.stderr.write(`[supervisor] ${new Date().toISOString()} ${msg}\n`));
    mkdirSync(o.runDir, { recursive: true });
  }

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          await this.tick();
        } catch (err) {
          this.log(`tick failed: ${err instanceof Error ? err.message : String(err)}`);
        }
        await sleep(this.o.pollMs ?? 1000);
      }
    })();
  }

  /** Stops every process (SIGTERM, SIGKILL after the grace period) and the loop. */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopped = true;
    await this.loop;
    const all = [...this.managed.values()].flatMap((m) => m.procs);
    await Promise.all(all.map((p) => this.terminate(p, graceMs)));
    this.managed.clear();
    this.writeState();
  }

  private async listDeployments(): Promise<k8s.V1Deployment[]> {
    const list = this.o.namespace
      ? await this.apps.listNamespacedDeployment({
          namespace: this.o.namespace,
          labelSelector: CONSUMER_SELECTOR,
        })
      : await this.apps.listDeploymentForAllNamespaces({ labelSelector: CONSUMER_SELECTOR });
    return list.items;
  }

  private async tick(): Promise<void> {
    const deployments = await this.listDeployments();
    const seen = new Set<string>();
    const secrets = new Map<string, Record<string, string>>();
    for (const dep of deployments) {
      const namespace = dep.metadata?.namespace ?? 'default';
      const name = dep.metadata?.name ?? '';
      const key = `${namespace}/${name}`;
      seen.add(key);
      let m = this.managed.get(key);
      if (!m) {
        m = { key, namespace, name, procs: [], lastStatus: '' };
        this.managed.set(key, m);
        this.log(`following deployment ${key}`);
      }
      try {
        await this.sync(m, dep, secrets);
      } catch (err) {
        this.log(`sync of ${key} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    for (const [key, m] of this.managed) {
      if (seen.has(key)) continue;
      this.log(`deployment ${key} is gone: stopping its ${m.procs.length} process(es)`);
      this.managed.delete(key);
      for (const p of m.procs) void this.terminate(p, 30_000);
    }
    this.writeState();
  }

  private async resolveEnv(
    namespace: string,
    container: k8s.V1Container,
    secrets: Map<string, Record<string, string>>,
  ): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    for (const e of container.env ?? []) {
      if (e.value !== undefined) {
        env[e.name] = e.value;
        continue;
      }
      const ref = e.valueFrom?.secretKeyRef;
      if (ref?.name) {
        const cacheKey = `${namespace}/${ref.name}`;
        let data = secrets.get(cacheKey);
        if (!data) {
          const secret = await this.core.readNamespacedSecret({ name: ref.name, namespace });
          data = {};
          for (const [k, v] of Object.entries(secret.data ?? {}))
            data[k] = Buffer.from(v, 'base64').toString('utf8');
          for (const [k, v] of Object.entries(secret.stringData ?? {})) data[k] = v;
          secrets.set(cacheKey, data);
        }
        const value = data[ref.key];
        if (value === undefined) {
          if (ref.optional) continue;
          throw new Error(`secret ${cacheKey} has no key ${ref.key}`);
        }
        env[e.name] = value;
      }
      // fieldRef (POD_NAME) is filled per process.
    }
    return { ...env, ...this.o.envOverrides };
  }

  private async sync(
    m: Managed,
    dep: k8s.V1Deployment,
    secrets: Map<string, Record<string, string>>,
  ): Promise<void> {
    m.procs = m.procs.filter((p) => !(p.terminating && !p.child));
    const desired = dep.spec?.replicas ?? 1;
    const container = dep.spec?.template.spec?.containers[0];
    if (!container) throw new Error('no container in the pod template');
    const env = await this.resolveEnv(m.namespace, container, secrets);
    const hash = createHash('sha256').update(JSON.stringify(env)).digest('hex').slice(0, 10);
    const graceMs = (dep.spec?.template.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
    const podEnvField = (container.env ?? []).find(
      (e) => e.valueFrom?.fieldRef?.fieldPath === 'metadata.name',
    );

    // Crashed processes come back (same pod name, restartCount + 1) after a short backoff.
    const now = Date.now();
    for (const p of m.procs) {
      if (!p.terminating && !p.child && now >= p.notBefore)
        await this.spawnProc(m, p, env, podEnvField?.name);
    }

    // Probe readiness.
    await Promise.all(
      m.procs.map(async (p) => {
        p.ready =
          !p.terminating && p.child !== undefined && (await httpOk(`http://127.0.0.1:${p.port}/readyz`));
      }),
    );

    const live = m.procs.filter((p) => !p.terminating);
    const updated = live.filter((p) => p.hash === hash);
    const outdated = live.filter((p) => p.hash !== hash);

    // Rolling update (maxSurge 1, maxUnavailable 0): replace an outdated process once a new one is ready.
    if (outdated.length > 0) {
      if (updated.length < desired && live.length < desired + 1) {
        await this.addProc(m, hash, env, podEnvField?.name);
      } else if (updated.filter((p) => p.ready).length > 0 || updated.length >= desired) {
        const victim = outdated[outdated.length - 1]!;
        this.log(`${m.key}: replacing ${victim.pod} (template changed)`);
        void this.terminate(victim, graceMs);
      }
    }
    const liveNow = m.procs.filter((p) => !p.terminating);
    if (outdated.length === 0 && liveNow.length < desired) {
      for (let i = liveNow.length; i < desired; i++) await this.addProc(m, hash, env, podEnvField?.name);
      this.log(`${m.key}: scaled up to ${desired}`);
    } else if (liveNow.length > desired) {
      // Scale down: the youngest (unready first) go, as the ReplicaSet controller prefers.
      const victims = [...liveNow]
        .sort((a, b) => Number(a.ready) - Number(b.ready) || b.startedAt - a.startedAt)
        .slice(0, liveNow.length - desired);
      for (const v of victims) void this.terminate(v, graceMs);
      this.log(`${m.key}: scaled down to ${desired} (stopping ${victims.map((v) => v.pod).join(', ')})`);
    }

    const current = m.procs.filter((p) => !p.terminating);
    const readyCount = current.filter((p) => p.ready).length;
    const status = {
      observedGeneration: dep.metadata?.generation ?? 0,
      replicas: current.length,
      updatedReplicas: current.filter((p) => p.hash === hash).length,
      readyReplicas: readyCount,
      availableReplicas: readyCount,
      unavailableReplicas: Math.max(0, desired - readyCount),
    };
    const text = JSON.stringify(status);
    if (text !== m.lastStatus || JSON.stringify(pickStatus(dep.status)) !== text) {
      await this.apps.patchNamespacedDeploymentStatus(
        { name: m.name, namespace: m.namespace, body: { status } },
        merge,
      );
      m.lastStatus = text;
    }
  }

  private async addProc(
    m: Managed,
    hash: string,
    env: Record<string, string>,
    podVar?: string,
  ): Promise<void> {
    const p: Proc = {
      pod: `${m.name}-${hash.slice(0, 6)}-${randomSuffix()}`,
      hash,
      port: 0,
      ready: false,
      restarts: -1,
      notBefore: 0,
      terminating: false,
      startedAt: Date.now(),
    };
    m.procs.push(p);
    await this.spawnProc(m, p, env, podVar);
  }

  private async spawnProc(m: Managed, p: Proc, env: Record<string, string>, podVar?: string): Promise<void> {
    p.port = await freePort();
    p.restarts++;
    p.startedAt = Date.now();
    const logFile = join(this.o.runDir, `${p.pod}.log`);
    const fd = openSync(logFile, 'a');
    const childEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
      ...(process.env.LOG_LEVEL ? { LOG_LEVEL: process.env.LOG_LEVEL } : {}),
      ...env,
      HTTP_PORT: String(p.port),
      ...(podVar ? { [podVar]: p.pod } : {}),
    };
    const child = spawn(process.execPath, [CONSUMER_MAIN], {
      env: childEnv,
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    closeSync(fd);
    p.child = child;
    p.pid = child.pid;
    this.log(
      `${m.key}: started ${p.pod} pid ${child.pid} port ${p.port}${p.restarts > 0 ? ` (restart ${p.restarts})` : ''}`,
    );
    child.on('exit', (code, signal) => {
      p.child = undefined;
      p.pid = undefined;
      p.ready = false;
      if (p.terminating) {
        this.log(`${m.key}: ${p.pod} stopped (${signal ?? code})`);
        m.procs = m.procs.filter((x) => x !== p);
        return;
      }
      // CrashLoopBackOff, shortened: 1 s, 2 s, 4 s ... capped at 10 s.
      const backoff = Math.min(10_000, 1000 * 2 ** Math.min(4, p.restarts));
      p.notBefore = Date.now() + backoff;
      this.log(`${m.key}: ${p.pod} exited (${signal ?? `code ${code}`}), restarting in ${backoff} ms`);
    });
  }

  private async terminate(p: Proc, graceMs: number): Promise<void> {
    p.terminating = true;
    p.ready = false;
    const child = p.child;
    if (!child || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
    if ((await Promise.race([exited, timer])) === 'timeout') {
      this.log(`${p.pod} did not stop in ${graceMs} ms: SIGKILL`);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await exited;
    }
  }

  state(): SupervisorState {
    return {
      deployments: [...this.managed.values()].map((m) => ({
        namespace: m.namespace,
        name: m.name,
        processes: m.procs.map((p) => ({
          pod: p.pod,
          ...(p.pid !== undefined ? { pid: p.pid } : {}),
          port: p.port,
          ready: p.ready,
          restarts: Math.max(0, p.restarts),
          terminating: p.terminating,
        })),
      })),
    };
  }

  private writeState(): void {
    const file = join(this.o.runDir, 'supervisor-state.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(this.state()));
    renameSync(`${file}.tmp`, file);
  }
}

function pickStatus(s: k8s.V1DeploymentStatus | undefined): Record<string, number> {
  return {
    observedGeneration: s?.observedGeneration ?? 0,
    replicas: s?.replicas ?? 0,
    updatedReplicas: s?.updatedReplicas ?? 0,
    readyReplicas: s?.readyReplicas ?? 0,
    availableReplicas: s?.availableReplicas ?? 0,
    unavailableReplicas: s?.unavailableReplicas ?? 0,
  };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      'run-dir': { type: 'string' },
      namespace: { type: 'string', default: '' },
      env: { type: 'string', multiple: true, default: [] },
    },
  });
  const overrides: Record<string, string> = {};
  for (const kv of values.env) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`--env expects KEY=VALUE, got "${kv}"`);
    overrides[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const kc = new k8s.KubeConfig();
  if (!process.env.KUBECONFIG) throw new Error('KUBECONFIG is required');
  kc.loadFromFile(process.env.KUBECONFIG);
  const sup = new Supervisor({
    kc,
    runDir: values['run-dir'] ?? join(process.cwd(), 'tmp', 'supervisor'),
    namespace: values.namespace,
    envOverrides: overrides,
  });
  sup.start();
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    sup.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`[supervisor] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
