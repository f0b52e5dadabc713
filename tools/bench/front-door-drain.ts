// Benchmark: what keep-alive buyers meet when a front door stops under load, without and with the lame
// duck (LAME_DUCK_MS) that starts its drain. The front door runs in a child process on the local stack;
// the open-loop load generator (tools/load/open-loop.ts: raw keep-alive sockets, like a load balancer's
// upstream pool) offers purchases at a fixed rate and the child is stopped (app.stop(), what SIGTERM
// runs) a moment into the run. Printed per variant and run: the answers before the listener closed
// (202 / 503), the requests that met a reset (a connection closed under a request: no answer at all), and
// those refused once the listener was gone (in Kubernetes the Service sends those to another pod).
//   node dist/tools/bench/front-door-drain.js [--runs 3] [--rate 400] [--stop-after 1.5] [--json]
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { ApiApp } from '../../workloads/api/app.js';
import { createLogger } from '../../workloads/shared/log.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { runOpenLoop } from '../load/open-loop.js';
import { createSale } from '../lib/sale.js';
import { apiConfig, stackEnv, testKafka } from '../lib/stack-env.js';
import { positiveArg } from './args.js';

/** Without, then with the lame duck (the default LAME_DUCK_MS). */
const LAME_DUCKS_MS = [0, 2000];
const variantName = (lameDuckMs: number): string =>
  lameDuckMs === 0 ? 'no lame duck' : `lame duck ${lameDuckMs} ms`;

/** The child: one front door that reports its port and stops (then exits) on 'stop'. */
async function serveChild(lameDuckMs: number): Promise<void> {
  const config = apiConfig({ lameDuckMs, shutdownGraceMs: 20_000 });
  config.auth = { ...config.auth, mode: 'none' }; // the drain is measured here, not token checks
  const app = new ApiApp(config, { log: createLogger({ bench: 'drain' }, 'error') });
  const port = await app.start();
  process.send?.({ port });
  process.on('message', (msg: unknown) => {
    if (msg === 'stop') void app.stop().then(() => process.exit(0));
  });
}

async function startChild(lameDuckMs: number): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', String(lameDuckMs)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: unknown) => resolve((m as { port: number }).port));
    child.once('exit', () => reject(new Error('front door exited during start')));
  });
  return { child, port };
}

interface RunFigures {
  accepted: number;
  unavailable: number;
  reset: number;
  refused: number;
  timeout: number;
  other: number;
}

async function oneRun(event: string, lameDuckMs: number, rate: number, stopAfterS: number) {
  const { child, port } = await startChild(lameDuckMs);
  const exited = once(child, 'exit');
  const stopTimer = setTimeout(() => child.send('stop'), stopAfterS * 1000);
  try {
    const report = await runOpenLoop({
      url: `http://127.0.0.1:${port}`,
      event,
      products: [1],
      buyers: 1_000_000,
      // Long enough to outlast the stop, the lame duck and the drain.
      requests: Math.round(rate * (stopAfterS + lameDuckMs / 1000 + 2)),
      rate,
      connections: 32,
      maxConnections: 256,
      timeoutMs: 5000,
    });
    const o = report.outcomes;
    const count = (key: string): number => o[key] ?? 0;
    const known = [
      '202 accepted',
      '503 unavailable',
      'error conn_reset',
      'error conn_refused',
      'error timeout',
    ];
    const figures: RunFigures = {
      accepted: report.accepted,
      unavailable: count('503 unavailable'),
      reset: count('error conn_reset'),
      refused: count('error conn_refused'),
      timeout: count('error timeout'),
      other: Object.entries(o)
        .filter(([k]) => !known.includes(k))
        .reduce((sum, [, n]) => sum + n, 0),
    };
    return figures;
  } finally {
    clearTimeout(stopTimer);
    await exited;
  }
}

async function main(): Promise<void> {
  const runs = positiveArg('runs', 3);
  const rate = positiveArg('rate', 400);
  const stopAfterS = positiveArg('stop-after', 1.5);
  const redis = createRedis(stackEnv.redisUrl(), 'bench');
  const admin = testKafka().admin();
  await admin.connect();
  const { name: event } = await createSale(
    redis,
    admin,
    [{ id: 1, stock: 1_000_000_000, perUserLimit: 2 ** 31 - 1 }],
    { prefix: 'bench-drain' },
  );
  await Promise.all([admin.disconnect(), redis.quit()]);
  console.log(
    `A front door stopped ${stopAfterS} s into an open-loop load of ${rate} purchases/s on keep-alive connections, ${runs} runs each`,
  );
  console.log(
    '   variant            run  202 accepted  503  reset (no answer)  refused (listener closed)  timeout  other',
  );
  const results: Record<string, RunFigures[]> = {};
  for (const lameDuckMs of LAME_DUCKS_MS) {
    const runsOf: RunFigures[] = (results[variantName(lameDuckMs)] = []);
    for (let run = 1; run <= runs; run++) {
      const f = await oneRun(event, lameDuckMs, rate, stopAfterS);
      runsOf.push(f);
      console.log(
        `   ${variantName(lameDuckMs).padEnd(18)} ${String(run).padStart(3)}  ${String(f.accepted).padStart(12)}  ${String(f.unavailable).padStart(3)}  ${String(f.reset).padStart(17)}  ${String(f.refused).padStart(25)}  ${String(f.timeout).padStart(7)}  ${String(f.other).padStart(5)}`,
      );
    }
  }
  const resets = (lameDuckMs: number): number =>
    (results[variantName(lameDuckMs)] ?? []).reduce((sum, f) => sum + f.reset, 0);
  const [before, after] = LAME_DUCKS_MS.map(resets) as [number, number];
  console.log(
    `   resets per stop: ${(before / runs).toFixed(1)} without, ${(after / runs).toFixed(1)} with the lame duck` +
      (after > 0 ? ` (${(before / after).toFixed(1)}x fewer)` : ''),
  );
  if (process.argv.includes('--json')) console.log(JSON.stringify({ rate, stopAfterS, runs, results }));
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  await serveChild(Number(process.argv[serveAt + 1]));
} else {
  await main();
}
