// `npm run bench:system [-- DEMO OPTIONS]`: the whole-system benchmark (issue 7, benchmarks 1 and 2).
// Runs the demo's sale twice with the same load, one run each:
//   ours        PRODUCER_MODE=batched,     STOCK_GUARD=lua,           ORDER_WRITE_MODE=batch
//   seed-style  PRODUCER_MODE=per-request, STOCK_GUARD=lua-per-entry, ORDER_WRITE_MODE=per-order
// and prints the figures side by side with the ratios (how many times better ours is), as text and as a Markdown
// section for docs/BENCHMARKS.md. --json: the last stdout line is one JSON object with both results.
// Exit 1 when an invariant fails in either run.
import { spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { DemoResult } from '../demo/result.js';
import { textTable } from '../demo/charts.js';

const DEMO = fileURLToPath(new URL('../demo/demo.js', import.meta.url));

function runOnce(args: string[]): Promise<DemoResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO, ...args, '--json'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as DemoResult);
      } catch {
        reject(new Error(`demo ${args.join(' ')} printed no result (exit ${code})`));
      }
    });
  });
}

const passthrough = process.argv.slice(2).filter((a) => a !== '--json');
const json = process.argv.includes('--json');
process.stderr.write('[bench] run 1/2: our pipeline\n');
const ours = await runOnce(passthrough);
process.stderr.write('[bench] run 2/2: seed-style pipeline\n');
const seed = await runOnce([...passthrough, '--seed-style']);

type Metric = [string, (r: DemoResult) => number | null, 'higher' | 'lower'];
const metrics: Metric[] = [
  ['answered / s', (r) => r.answeredPerSec, 'higher'],
  ['accepted / s while accepting', (r) => r.acceptedPerSecWhileAccepting, 'higher'],
  ['latency p50 (ms)', (r) => r.p50Ms, 'lower'],
  ['latency p99 (ms)', (r) => r.p99Ms, 'lower'],
  ['latency p99.9 (ms)', (r) => r.p999Ms, 'lower'],
  ['time to sell out (s)', (r) => r.sellOutSeconds, 'lower'],
  ['time to drain after the load (s)', (r) => r.drainSeconds, 'lower'],
  ['max Kafka lag (messages)', (r) => r.maxLag, 'lower'],
  ['max consumer replicas', (r) => r.maxReplicas, 'lower'],
  ['accepted (202)', (r) => r.accepted, 'higher'],
  [
    '503 / 429 answers',
    (r) => (r.rejectedByReason.unavailable ?? 0) + (r.rejectedByReason.busy ?? 0),
    'lower',
  ],
];
const fmt = (v: number | null): string => (v === null ? 'n/a' : String(Math.round(v * 100) / 100));
const rows = metrics.map(([name, get, better]) => {
  const a = get(ours);
  const b = get(seed);
  // How many times better ours is: ours / seed when higher is better, seed / ours when lower is better.
  const factor =
    a === null || b === null ? null : better === 'higher' ? (b === 0 ? null : a / b) : a === 0 ? null : b / a;
  const ratio = factor === null ? 'n/a' : `${(Math.round(factor * 100) / 100).toString()}x`;
  return [name, fmt(a), fmt(b), ratio];
});
const header = ['metric', 'ours', 'seed-style', 'ours better by'];
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const settings = passthrough.length
  ? passthrough.join(' ')
  : 'demo defaults (3 x 1000 stock, 50,000 buyers, 200,000 requests at 10,000/s)';
process.stderr.write(`\nmachine: ${machine}\nload: ${settings}\n${textTable(rows, header)}\n`);
const md = [
  `Machine: ${machine} (everything on it: Kafka, Redis, MariaDB, kube-apiserver, the load generator).`,
  `Load: ${settings}.`,
  '',
  `| ${header.join(' | ')} |`,
  `| ${header.map(() => '---').join(' | ')} |`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
  '',
  `Invariants: ours ${ours.ok ? 'all hold' : `VIOLATED (${ours.violations.join('; ')})`}, seed-style ${seed.ok ? 'all hold' : `VIOLATED (${seed.violations.join('; ')})`}.`,
].join('\n');
process.stderr.write(`\n${md}\n`);
if (json) process.stdout.write(`${JSON.stringify({ machine, settings, ours, seedStyle: seed })}\n`);
process.exit(ours.ok && seed.ok ? 0 : 1);
