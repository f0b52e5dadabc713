// The demo: one flash sale through the whole system on the local stack (`npm run demo`, via demo.sh).
//
//   node dist/tools/demo/demo.js [OPTIONS]      (the options: options.ts)
//
// It installs the chart into the local cluster with helm (the operator, the front door, the CRD), applies
// the connection Secret and a SeckillEvent built from examples/ with kubectl, waits for the consumer pods
// the operator starts, fires an open-loop load at the front door's Service, waits for the drain, checks every invariant (docs/ARCHITECTURE.md) straight from MySQL and
// Redis, prints a summary and writes an HTML report (run.ts has the steps). --chaos kills and restarts
// parts of the system during the sale (chaos.ts). --json: the LAST stdout line is one JSON object
// (result.ts). Exit 1 when an invariant fails, 2 on a setup failure.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../lib/paths.js';
import { parseOptions, type DemoOptions } from './options.js';
import type { DemoResult } from './result.js';
import { runDemo } from './run.js';

async function main(): Promise<void> {
  let options: DemoOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  if (!existsSync(join(ROOT, 'dist', 'workloads/consumer/main.js'))) {
    process.stderr.write('dist/ is missing: run `npm run build` first (demo.sh does)\n');
    process.exit(2);
  }
  let result: DemoResult;
  try {
    result = await runDemo(options);
  } catch (err) {
    process.stderr.write(
      `[demo] FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(2);
  }
  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(result.ok ? 0 : 1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
