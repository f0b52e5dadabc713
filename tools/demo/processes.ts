// The demo's processes: commands run to completion (kubectl, stack.sh), and the long-running node processes
// (operator, supervisor, front door), each in its own process group with its output in RUN_DIR/<name>.log,
// stopped with SIGTERM then SIGKILL, all of them killed when the demo is interrupted.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../lib/paths.js';
import { sleep } from '../lib/wait.js';

const DIST = join(ROOT, 'dist');

/** Runs a command to completion; rejects with its stderr when it fails. */
export function run(cmd: string, args: string[], input?: string, timeoutMs = 120_000): Promise<string> {
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

export interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
}

const running = (p: Proc): boolean =>
  p.child.exitCode === null && p.child.signalCode === null && p.child.pid !== undefined;

/** SIGKILL to a process group; quiet when it is gone. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

export class ProcessGroup {
  readonly procs: Proc[] = [];

  constructor(private readonly runDir: string) {}

  /** Starts `node dist/<script> args` with only PATH, HOME and `env`, in a process group of its own. */
  start(name: string, script: string, args: string[], env: Record<string, string>): Proc {
    const fd = openSync(join(this.runDir, `${name}.log`), 'a');
    const child = spawn(process.execPath, [join(DIST, script), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    closeSync(fd);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const p = { name, child, exited };
    this.procs.push(p);
    return p;
  }

  /** SIGTERM; SIGKILL to its group when it is still running after graceMs. */
  async stop(p: Proc, graceMs = 30_000): Promise<void> {
    if (!running(p) || p.child.pid === undefined) return;
    try {
      process.kill(p.child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timedOut = await Promise.race([p.exited.then(() => false), sleep(graceMs).then(() => true)]);
    if (timedOut) killGroup(p.child.pid);
  }

  /** A crash: SIGKILL to its group, then wait for it to exit. */
  async kill(p: Proc): Promise<void> {
    if (p.child.pid !== undefined) process.kill(-p.child.pid, 'SIGKILL');
    await p.exited;
  }

  killAll(): void {
    for (const p of this.procs) {
      if (p.child.pid !== undefined && p.child.exitCode === null) killGroup(p.child.pid);
    }
  }

  /** Lets the demo exit while they keep running (--keep-running). */
  detach(): void {
    for (const p of this.procs) p.child.unref();
  }

  pids(): string {
    return this.procs.map((p) => p.child.pid).join(' ');
  }
}
