// `npm run load -- --url http://127.0.0.1:8080 --event NAME --products 1001,1002,1003 --buyers 50000
//    --requests 200000 --rate 10000 [--duration S] [--repeat-ratio R] [--connections N]
//    [--max-connections N] [--timeout-ms MS] [--seed N] [--poll-tickets S] [--tickets-out FILE] [--json]
//    [--idempotent-ratio R] [--no-auth]`
//
// Buyers send tokens signed with AUTH_JWT_SECRET from the environment (the stack env exports the stack's
// key, the one `npm run api` verifies with); --no-auth sends none (a front door with AUTH_MODE=none).
// --idempotent-ratio R: that share of purchases carry an Idempotency-Key and are retried once with it.
//
// The open-loop load generator (open-loop.ts) as a CLI, usable against any front door. Prints a live
// progress line on stderr, then a text summary (or, with --json, ONE JSON line on stdout). Accepted
// tickets are polled afterwards (GET /api/v1/tickets/:ticket) for --poll-tickets seconds (0 = skip) and
// can be written to --tickets-out as JSON lines {ticket, productId, userId, atMs}.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatReport, progressLine } from './format.js';
import { pollTickets, runOpenLoop } from './open-loop.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8080' },
    event: { type: 'string' },
    products: { type: 'string', default: '1001,1002,1003' },
    buyers: { type: 'string', default: '50000' },
    requests: { type: 'string' },
    duration: { type: 'string' },
    rate: { type: 'string', default: '10000' },
    'repeat-ratio': { type: 'string' },
    connections: { type: 'string', default: '64' },
    'max-connections': { type: 'string', default: '512' },
    'timeout-ms': { type: 'string', default: '10000' },
    seed: { type: 'string', default: '42' },
    'user-base': { type: 'string', default: '1' },
    'poll-tickets': { type: 'string', default: '30' },
    'tickets-out': { type: 'string' },
    json: { type: 'boolean', default: false },
    'idempotent-ratio': { type: 'string', default: '0' },
    'no-auth': { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
});

function num(name: string, raw: string | undefined, min = 0): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    process.stderr.write(`--${name} must be a number >= ${min}, got "${raw}"\n`);
    process.exit(2);
  }
  return n;
}

if (!values.event) {
  process.stderr.write('--event is required\n');
  process.exit(2);
}
const products = values.products.split(',').map((s) => Number(s.trim()));
if (products.some((p) => !Number.isInteger(p) || p < 1)) {
  process.stderr.write(`--products must be a comma-separated list of ids, got "${values.products}"\n`);
  process.exit(2);
}
const rate = num('rate', values.rate, 1)!;
const duration = num('duration', values.duration, 0.1);
const requests = num('requests', values.requests, 1) ?? (duration === undefined ? 200_000 : undefined);

const jwtSecret = values['no-auth'] ? undefined : process.env.AUTH_JWT_SECRET;
if (!values['no-auth'] && !jwtSecret) {
  process.stderr.write(
    'AUTH_JWT_SECRET is not set: export the HS256 key the front door verifies with ' +
      '(eval "$(npm run -s stack -- env)"), or pass --no-auth for a front door with AUTH_MODE=none\n',
  );
  process.exit(2);
}

const report = await runOpenLoop({
  ...(jwtSecret !== undefined ? { jwtSecret } : {}),
  idempotentRatio: num('idempotent-ratio', values['idempotent-ratio'])!,
  url: values.url,
  event: values.event,
  products,
  buyers: num('buyers', values.buyers, 1)!,
  ...(requests !== undefined ? { requests } : {}),
  ...(duration !== undefined ? { durationSeconds: duration } : {}),
  rate,
  ...(values['repeat-ratio'] !== undefined
    ? { repeatRatio: num('repeat-ratio', values['repeat-ratio'])! }
    : {}),
  connections: num('connections', values.connections, 1)!,
  maxConnections: num('max-connections', values['max-connections'], 1)!,
  timeoutMs: num('timeout-ms', values['timeout-ms'], 1)!,
  seed: num('seed', values.seed)!,
  userBase: num('user-base', values['user-base'], 1)!,
  onProgress: (p) => {
    if (!values.quiet) process.stderr.write(`[load] ${progressLine(p)}\n`);
  },
});

if (values['tickets-out']) {
  writeFileSync(values['tickets-out'], report.tickets.map((t) => JSON.stringify(t)).join('\n') + '\n');
}
const pollSeconds = num('poll-tickets', values['poll-tickets'])!;
const polled =
  pollSeconds > 0 && report.tickets.length > 0
    ? await pollTickets(values.url, report.tickets, {
        timeoutMs: pollSeconds * 1000,
        ...(jwtSecret !== undefined ? { jwtSecret } : {}),
      })
    : undefined;

if (values.json) {
  const idempotency = { ...report.idempotency, pairs: report.idempotency.pairs.length };
  process.stdout.write(
    `${JSON.stringify({ ...report, tickets: report.tickets.length, idempotency, polled })}\n`,
  );
} else {
  process.stdout.write(`${formatReport(report, polled)}\n`);
}
