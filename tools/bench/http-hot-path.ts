// Benchmark: the purchase hot path on raw node:http vs the same handler behind express, and both against
// plain JSON echo servers; then ours verifying buyer tokens, HS256 and ES256, with and without the token
// cache (http-auth-modes.ts). Dependency-free: the load generator speaks HTTP/1.1 on raw keep-alive
// sockets. Each server runs in a child process of its own (one event loop, one core); the client runs here.
// No Kafka or Redis: the purchase sink resolves at once, so the figures are the HTTP path's own cost.
//
//   node dist/tools/bench/http-hot-path.js [--seconds 3] [--rounds 3] [--connections 64] [--buyers 1000]
//     [--modes raw-echo,ours-purchase,...] [--json]    (--json: one JSON object on stdout, the lines on stderr)
import { fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { createAuthenticator, trustingAuthenticator } from '../../workloads/api/auth/authenticator.js';
import type { CachedEvent, CatalogCheck } from '../../workloads/api/catalog-cache.js';
import type { AuthConfig } from '../../workloads/api/config.js';
import { createApiMetrics } from '../../workloads/api/metrics.js';
import { PurchaseService, TicketService } from '../../workloads/api/purchase.js';
import type { PurchaseSink } from '../../workloads/api/purchase-producer.js';
import { createApiServer, createExpressApp, type ServerDeps } from '../../workloads/api/server.js';
import { LimitGuard, UserThrottle } from '../../workloads/api/throttle.js';
import { load, purchaseRequest } from './http-load.js';
import { createLogger } from '../../workloads/shared/log.js';
import {
  authChecks,
  authRunProblems,
  isAuthMode,
  placeholderAuthorization,
  prepareAuth,
} from './http-auth-modes.js';
import {
  isMode,
  modeLine,
  MODES,
  summarise,
  summaryText,
  type Mode,
  type ModeResult,
  type Results,
} from './http-hot-path-report.js';
import { positiveArg } from './args.js';

const HTTP_LIMITS = {
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  maxHeaderBytes: 8192,
  maxConnections: 10_000,
};

/** The modes without auth: the trusting authenticator takes the buyer from the body. */
const PURCHASE_BODY = '{"event":"bench","productId":1,"userId":42}';

// ---------------------------------------------------------------- servers (child process)

/** The purchase path with everything external stubbed; `auth` builds the real authenticator (else trusting). */
function purchaseDeps(auth: AuthConfig | undefined): ServerDeps {
  const product = {
    spec: { id: 1, stock: 1e9, perUserLimit: Number.MAX_SAFE_INTEGER },
    soldOut: false,
    soldOutAnnouncedIn: 0,
  };
  const event: CachedEvent = {
    spec: {
      name: 'bench',
      topic: 'bench',
      startMs: 0,
      endMs: Number.MAX_SAFE_INTEGER,
      products: [product.spec],
    },
    products: new Map([[1, product]]),
  };
  const check: CatalogCheck = { ok: true, event, product };
  const sink: PurchaseSink = {
    submit: () => Promise.resolve(),
    close: () => Promise.resolve(),
    depth: () => 0,
  };
  let n = 0;
  const registry = new Registry();
  const metrics = createApiMetrics(registry);
  const log = createLogger({ bench: 'http' }, 'error');
  return {
    auth: auth === undefined ? trustingAuthenticator : createAuthenticator(auth, metrics.auth, log),
    purchases: new PurchaseService({
      catalog: {
        check: (name, id) => (name === 'bench' && id === 1 ? check : { ok: false, reason: 'unknown_event' }),
      },
      sink,
      throttle: new UserThrottle(0),
      limits: new LimitGuard(),
      newTicket: () => `01ARZ3NDEKTSV4RRFFQ69G${String(n++ % 10000).padStart(4, '0')}`,
      accepting: () => true,
    }),
    tickets: new TicketService(new Redis({ lazyConnect: true })),
    metrics,
    registry,
    ready: () => true,
    closeAfterAnswer: () => false,
    log,
  };
}

function serve(mode: Mode, deps: () => ServerDeps): Server {
  switch (mode) {
    case 'raw-echo':
      return createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString()) as unknown);
          res
            .writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
            .end(body);
        });
      });
    case 'express-echo': {
      const app = express();
      app.use(express.json({ limit: '1kb' }));
      app.post('/api/v1/seckill', (req, res) => {
        res.json(req.body);
      });
      return createServer(app);
    }
    case 'express-purchase':
      return createServer(createExpressApp(deps(), { hotRoutes: true }));
    default: // ours-purchase and the ours-* auth modes: the same server, the authenticator differs
      return createApiServer(deps(), HTTP_LIMITS);
  }
}

function child(mode: Mode, auth: AuthConfig | undefined): void {
  let deps: ServerDeps | undefined;
  const server = serve(mode, () => (deps = purchaseDeps(auth)));
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as AddressInfo).port });
  });
  let cpu = process.cpuUsage();
  let at = performance.now();
  process.on('message', (msg: unknown) => {
    if (msg === 'mark') {
      cpu = process.cpuUsage();
      at = performance.now();
    } else if (msg === 'cpu') {
      const used = process.cpuUsage(cpu);
      const share = (used.user + used.system) / 1000 / (performance.now() - at);
      const checks = auth !== undefined && deps !== undefined ? authChecks(deps.registry) : undefined;
      void Promise.resolve(checks).then((authChecks) => process.send?.({ cpu: share, authChecks }));
    } else if (msg === 'exit') {
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------- client (this process)

/** --modes a,b,c (in the order of MODES), or every mode. */
function selectedModes(): Mode[] {
  const i = process.argv.indexOf('--modes');
  if (i < 0) return [...MODES];
  const asked = (process.argv[i + 1] ?? '').split(',').filter((m) => m !== '');
  const unknown = asked.filter((m) => !isMode(m));
  if (asked.length === 0 || unknown.length > 0) {
    throw new Error(
      `--modes takes a comma-separated subset of ${MODES.join(',')}; unknown: ${unknown.join(',')}`,
    );
  }
  return MODES.filter((m) => asked.includes(m));
}

/** What the server child answers 'cpu' with: its CPU share over the window, its token checks. */
type ServerReport = { cpu: number; authChecks?: Record<string, number> };

async function run(
  mode: Mode,
  connections: number,
  seconds: number,
  requests: Buffer | readonly Buffer[],
  auth: AuthConfig | undefined,
): Promise<ModeResult> {
  const self = fileURLToPath(import.meta.url);
  const args = ['--serve', mode, ...(auth === undefined ? [] : ['--auth', JSON.stringify(auth)])];
  const proc = fork(self, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      proc.once('message', (m: unknown) => resolve((m as { port: number }).port));
      proc.once('exit', () => reject(new Error(`${mode} server exited`)));
    });
    setTimeout(() => proc.send('mark'), 1000); // measure the server's CPU over the counted window only
    const result = await load(port, connections, seconds, requests);
    const server = await new Promise<ServerReport>((resolve) => {
      proc.once('message', (m: unknown) => resolve(m as ServerReport));
      proc.send('cpu');
    });
    const { seconds: elapsed, ...counts } = result;
    return {
      rps: Math.round(counts.requests / elapsed),
      ...counts,
      serverCpu: +server.cpu.toFixed(2),
      authChecks: server.authChecks,
    };
  } finally {
    proc.send('exit');
  }
}

async function main(): Promise<void> {
  const seconds = positiveArg('seconds', 3);
  const rounds = positiveArg('rounds', 3);
  const connections = positiveArg('connections', 64);
  const buyers = positiveArg('buyers', 1000);
  const modes = selectedModes();
  const json = process.argv.includes('--json');
  const say = json ? console.error : console.log;
  const auth = await prepareAuth(modes.filter(isAuthMode), buyers);
  // The modes without auth send one fixed request; it carries a token too (ignored there) so that every
  // mode's request is about the same size: the auth modes' cost is then the verification, not the bytes.
  const plainRequest = purchaseRequest(PURCHASE_BODY, { authorization: await placeholderAuthorization() });
  // Rounds of every mode in turn, each mode's figure the median of its rounds: on a shared 2-core machine
  // the background load drifts over a minute, and a mode measured once, late, would carry the drift.
  const runs = new Map<Mode, ModeResult[]>();
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const mode of modes) {
        const authMode = isAuthMode(mode) ? mode : undefined;
        const requests = authMode === undefined ? plainRequest : auth.requests(authMode);
        const r = await run(mode, connections, seconds, requests, authMode && auth.config(authMode));
        runs.set(mode, [...(runs.get(mode) ?? []), r]);
        say(`round ${round}  ${modeLine(mode, r)}`);
        if (authMode !== undefined) {
          const problems = authRunProblems(authMode, r, r.authChecks ?? {});
          if (problems.length > 0) throw new MeaninglessRun(`${mode}: ${problems.join('; ')}`);
        } else if (r.non2xx > 0 || r.closedEarly > 0) {
          say(`  WARNING: ${mode} answered ${r.non2xx} non-2xx, ${r.closedEarly} connections closed`);
        }
      }
    }
  } finally {
    await auth.close();
  }
  const results: Results = {};
  for (const [mode, rs] of runs) {
    const sorted = [...rs].sort((a, b) => a.rps - b.rps);
    results[mode] = sorted[Math.floor(sorted.length / 2)];
  }
  say(`\nmedian of ${rounds} rounds of ${seconds} s:`);
  for (const mode of modes) say(modeLine(mode, results[mode]!));
  const summary = summarise(results);
  say(summaryText(summary));
  if (json) console.log(JSON.stringify({ connections, seconds, rounds, buyers, modes: results, ...summary }));
}

/** An auth mode whose figure cannot be trusted (a 401 costs less than a purchase): the run fails. */
class MeaninglessRun extends Error {}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  const mode = process.argv[serveAt + 1] ?? '';
  if (!isMode(mode)) throw new Error(`unknown mode ${mode}`);
  const authAt = process.argv.indexOf('--auth');
  child(mode, authAt >= 0 ? (JSON.parse(process.argv[authAt + 1] ?? '') as AuthConfig) : undefined);
} else {
  try {
    await main();
  } catch (err) {
    if (!(err instanceof MeaninglessRun)) throw err;
    console.error(`\nFAIL: the run is meaningless, ${err.message}`);
    process.exitCode = 1;
  }
}
