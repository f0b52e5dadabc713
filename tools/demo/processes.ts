// The demo's commands (kubectl, helm, stack.sh), each run to completion. Everything long-running is a pod.
import { spawn } from 'node:child_process';
import { ROOT } from '../lib/paths.js';

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
    // A command that exits before reading its stdin (redis-cli, say) makes this write fail with EPIPE:
    // its exit status is what counts, not an unhandled 'error' that would crash the demo.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}
