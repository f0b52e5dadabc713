// Child processes for tests that run the real binaries (`node dist/...main.js`, prometheus): logs to a
// file, bounded waits that fail with the log's tail, SIGTERM/SIGKILL, and no orphan left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { waitFor } from '../../tools/lib/wait.js';

const live = new Set<ChildProcess>();
let exitHook = false;

/**
 * A child process whose stdout and stderr go to a log file; stop() is SIGTERM, then SIGKILL. Children still
 * running when the test process exits (a failed `before`, a timeout) are killed with it.
 */
export class Child {
  private readonly proc: ChildProcess;
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    env: Record<string, string>,
    readonly logFile: string,
  ) {
    const fd = openSync(logFile, 'a');
    try {
      this.proc = spawn(command, args, {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    live.add(this.proc);
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => {
        for (const p of live) p.kill('SIGKILL');
      });
    }
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        live.delete(this.proc);
        this.exitCode = code ?? (signal ? -1 : null);
        resolve();
      });
      this.proc.once('error', () => {
        this.exitCode = -1;
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The last lines of its log, for error messages. */
  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Polls `probe`, failing at once (with the log) if the process died, or after timeoutMs. */
  async waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    try {
      return await waitFor(
        `${this.name}: ${what}`,
        async () => {
          if (!this.running) throw new Error(`${this.name} exited with ${this.exitCode}`);
          return probe();
        },
        timeoutMs,
        200,
      );
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new Error(`${msg}\n--- ${this.name} log (${this.logFile}) ---\n${this.logTail()}`, {
        cause: err,
      });
    }
  }

  /** A crash: SIGKILL, no chance to clean up. */
  async kill(): Promise<void> {
    if (this.running) this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, wait up to graceMs, then SIGKILL. Returns the exit code (-1 when killed by a signal). */
  async stop(graceMs = 15_000): Promise<number | null | undefined> {
    if (this.running) {
      this.proc.kill('SIGTERM');
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if ((await Promise.race([this.exited.then(() => 'exited' as const), timer])) === 'timeout') {
        this.proc.kill('SIGKILL');
        await this.exited;
      }
    }
    return this.exitCode;
  }
}
