// Benchmark: the same build under two Node versions, side by side. Runs bench:http and bench:producer
// (each with --json) once under this process's Node (24, from tools/node.sh) and once under OTHER_NODE
// (default /usr/bin/node, the machine's Node 20), and prints every figure with its 24/20 ratio.
// bench:producer needs the stack's Kafka (eval "$(npm run -s stack -- env)").
//
//   npm run bench:node [-- --seconds 5]
import { execFileSync } from 'node:child_process';
import { repoFile } from '../lib/paths.js';

const other = process.env.OTHER_NODE ?? '/usr/bin/node';
const secondsAt = process.argv.indexOf('--seconds');
const seconds = secondsAt >= 0 ? (process.argv[secondsAt + 1] ?? '5') : '5';

type Figures = Record<string, number>;

function version(node: string): string {
  return execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
}

/** Runs one benchmark under `node` and keeps the numeric fields of its --json summary line. */
function bench(node: string, script: string): Figures {
  const out = execFileSync(node, [repoFile(`dist/tools/bench/${script}`), '--seconds', seconds, '--json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const last = out.trim().split('\n').at(-1) ?? '{}';
  const parsed = JSON.parse(last) as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(parsed).filter((e): e is [string, number] => typeof e[1] === 'number'),
  );
}

const nodes = [process.execPath, other];
const [v24, v20] = nodes.map(version) as [string, string];
console.log(`same build, one run each: ${v24} (${process.execPath}) vs ${v20} (${other})\n`);
for (const script of ['http-hot-path.js', 'produce-kafka.js']) {
  const [a, b] = nodes.map((n) => bench(n, script)) as [Figures, Figures];
  console.log(`${script}`);
  console.log(`  ${'figure'.padEnd(30)} ${v24.padStart(12)} ${v20.padStart(12)}   ratio`);
  for (const key of Object.keys(a)) {
    const x = a[key]!;
    const y = b[key];
    const ratio = y ? (x / y).toFixed(2) : '-';
    console.log(`  ${key.padEnd(30)} ${String(x).padStart(12)} ${String(y ?? '-').padStart(12)}   ${ratio}x`);
  }
  console.log('');
}
