// --chaos: during the sale, one after another, kill -9 a consumer, kill -9 and restart the front door,
// restart Redis, kill -9 a consumer again, restart the Kafka broker, restart MariaDB. Each action is recorded
// with when it started (seconds since the load started), how long it took and what it did.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../lib/paths.js';
import { sleep } from '../lib/wait.js';
import { run } from './processes.js';
import { round } from './result.js';
import type { SupervisorState } from './supervisor.js';

export interface ChaosAction {
  atSeconds: number;
  action: string;
  tookSeconds: number;
  detail: string;
}

export interface ChaosDeps {
  loadStart: () => number;
  say: (msg: string) => void;
  actions: ChaosAction[];
  runDir: string;
  /** kill -9 the front door; what was killed. */
  killApi: () => Promise<string>;
  /** Starts it again and waits until it is ready; what was started. */
  startApi: () => Promise<string>;
}

const stack = (cmd: string, service: string): Promise<string> =>
  run('bash', [join(ROOT, 'tools/stack/stack.sh'), cmd, service], undefined, 180_000);

async function restart(service: string): Promise<string> {
  await stack('stop', service);
  await stack('start', service);
  return `${service} stopped and started`;
}

/** SIGKILL to one consumer process the supervisor runs (its pids are in supervisor-state.json). */
async function killConsumer(runDir: string): Promise<string> {
  await sleep(0);
  const state = JSON.parse(readFileSync(join(runDir, 'supervisor-state.json'), 'utf8')) as SupervisorState;
  const victims = state.deployments.flatMap((dep) =>
    dep.processes.filter((p) => p.pid !== undefined && !p.terminating),
  );
  const v = victims[Math.floor(Math.random() * victims.length)];
  if (!v?.pid) return 'no consumer process to kill';
  process.kill(v.pid, 'SIGKILL');
  return `SIGKILL ${v.pod} (pid ${v.pid})`;
}

export async function runChaos(d: ChaosDeps): Promise<void> {
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
  await sleep(1500);
  await act('kill -9 a consumer', () => killConsumer(d.runDir));
  await sleep(1500);
  await act('kill -9 the front door and restart it', async () => {
    const killed = await d.killApi();
    await sleep(500);
    return `${killed} killed; restarted as ${await d.startApi()}`;
  });
  await sleep(1000);
  await act('restart Redis', () => restart('redis'));
  await sleep(1000);
  await act('kill -9 a consumer', () => killConsumer(d.runDir));
  await sleep(1000);
  await act('restart the Kafka broker', () => restart('kafka'));
  await sleep(1000);
  await act('restart MariaDB', () => restart('mariadb'));
}
