// Benchmark: the purchase hot path on raw node:http vs the same handler behind express, and both against
// plain JSON echo servers. Dependency-free: the load generator speaks HTTP/1.1 on raw keep-alive sockets.
// Each server runs in a child process of its own (one event loop, one core); the client runs here.
// No Kafka or Redis: the purchase sink resolves at once, so the figures are the HTTP path's own cost.
//
//   node dist/tools/bench/http-hot-path.js [--seconds 5] [--connections 64] [--json]
import { fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { trustingAuthenticator } from '../../workloads/api/auth/authenticator.js';
import type { CachedEvent, CatalogCheck } from '../../workloads/api/catalog-cache.js';
import { createApiMetrics } from '../../workloads/api/metrics.js';
import { PurchaseService, TicketService } from '../../workloads/api/purchase.js';
import type { PurchaseSink } from '../../workloads/api/purchase-producer.js';
import { createApiServer, createExpressApp, type ServerDeps } from '../../workloads/api/server.js';
import { LimitGuard, UserThrottle } from '../../workloads/api/throttle.js';
import { load, purchaseRequest } from './http-load.js';
import { createLogger } from '../../workloads/shared/log.js';

const MODES = ['raw-echo', 'express-echo', 'express-purchase', 'ours-purchase'] as const;
type Mode = (typeof MODES)[number];

const HTTP_LIMITS = {
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  maxHeaderBytes: 8192,
  maxConnections: 10_000,
};

const PURCHASE_BODY = '{"event":"bench","productId":1,"userId":42}';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

// ---------------------------------------------------------------- servers (child process)

function purchaseDeps(): ServerDeps {
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
  return {
    auth: trustingAuthenticator,
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
    metrics: createApiMetrics(registry),
    registry,
    ready: () => true,
    log: createLogger({ bench: 'http' }, 'error'),
  };
}

function serve(mode: Mode): Server {
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
      return createServer(createExpressApp(purchaseDeps(), { hotRoutes: true }));
    case 'ours-purchase':
      return createApiServer(purchaseDeps(), HTTP_LIMITS);
  }
}

function child(mode: Mode): void {
  const server = serve(mode);
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
      process.send?.({ cpu: (used.user + used.system) / 1000 / (performance.now() - at) });
    } else if (msg === 'exit') {
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------- client (this process)

async function run(
  mode: Mode,
  connections: number,
  seconds: number,
): Promise<{ rps: number; non2xx: number; serverCpu: number }> {
  const self = fileURLToPath(import.meta.url);
  const proc = fork(self, ['--serve', mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      proc.once('message', (m: unknown) => resolve((m as { port: number }).port));
      proc.once('exit', () => reject(new Error(`${mode} server exited`)));
    });
    const request = purchaseRequest(PURCHASE_BODY);
    setTimeout(() => proc.send('mark'), 1000); // measure the server's CPU over the counted window only
    const result = await load(port, connections, seconds, request);
    const cpu = await new Promise<number>((resolve) => {
      proc.once('message', (m: unknown) => resolve((m as { cpu: number }).cpu));
      proc.send('cpu');
    });
    return { rps: result.requests / result.seconds, non2xx: result.non2xx, serverCpu: cpu };
  } finally {
    proc.send('exit');
  }
}

async function main(): Promise<void> {
  const seconds = arg('seconds', 5);
  const connections = arg('connections', 64);
  const results = {} as Record<Mode, { rps: number; non2xx: number; serverCpu: number }>;
  for (const mode of MODES) {
    results[mode] = await run(mode, connections, seconds);
    const r = results[mode];
    console.log(
      `${mode.padEnd(18)} ${Math.round(r.rps).toString().padStart(8)} req/s   non-2xx ${r.non2xx}   server CPU ${(r.serverCpu * 100).toFixed(0)}%`,
    );
  }
  const summary = {
    connections,
    seconds,
    rawEchoRps: Math.round(results['raw-echo'].rps),
    expressEchoRps: Math.round(results['express-echo'].rps),
    expressPurchaseRps: Math.round(results['express-purchase'].rps),
    oursPurchaseRps: Math.round(results['ours-purchase'].rps),
    oursVsExpressPurchase: +(results['ours-purchase'].rps / results['express-purchase'].rps).toFixed(2),
    endpointVsRawRatio: +(results['ours-purchase'].rps / results['raw-echo'].rps).toFixed(2),
    expressEchoVsRawEcho: +(results['express-echo'].rps / results['raw-echo'].rps).toFixed(2),
  };
  console.log(
    `\nours vs express (same purchase handler): ${summary.oursVsExpressPurchase}x   ours vs raw echo: ${summary.endpointVsRawRatio}x   express echo vs raw echo: ${summary.expressEchoVsRawEcho}x`,
  );
  if (process.argv.includes('--json')) console.log(JSON.stringify(summary));
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  const mode = process.argv[serveAt + 1] as Mode;
  if (!MODES.includes(mode)) throw new Error(`unknown mode ${mode}`);
  child(mode);
} else {
  await main();
}
