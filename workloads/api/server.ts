// HTTP: the two hot routes (POST /api/v1/seckill, GET /api/v1/tickets/:ticket) are served straight on
// node:http, everything else (/healthz, /readyz, /metrics, 404s, 405s) by an express app. express costs
// several times raw node:http on a small JSON POST (see test/bench/http-hot-path.ts), and the hot routes
// need none of its features: a fixed path, a small JSON body, a JSON answer.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../shared/log.js';
import { ApiError } from './errors.js';
import type { ApiMetrics } from './metrics.js';
import type { PurchaseService, TicketService } from './purchase.js';
import { MAX_BODY_BYTES, parsePurchaseBody, parseTicket } from './validation.js';

export const PURCHASE_PATH = '/api/v1/seckill';
export const TICKET_PREFIX = '/api/v1/tickets/';

export interface ServerDeps {
  purchases: PurchaseService;
  tickets: TicketService;
  metrics: ApiMetrics;
  registry: Registry;
  ready: () => boolean;
  log: Logger;
}

const JSON_TYPE = 'application/json';

function send(res: ServerResponse, status: number, body: string, retryAfter?: number, close = false): void {
  const headers: Record<string, string | number> = {
    'content-type': JSON_TYPE,
    'content-length': Buffer.byteLength(body),
  };
  if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
  if (close) headers.connection = 'close';
  res.writeHead(status, headers).end(body);
}

function sendError(res: ServerResponse, err: ApiError, close = false): void {
  send(res, err.status, err.body(), err.retryAfterSeconds(), close);
}

/** What a handler threw, as the client's answer: ApiErrors as they are, anything else a 500 (logged). */
function asApiError(err: unknown, log: Logger): ApiError {
  if (err instanceof ApiError) return err;
  log.error('unexpected error on the hot path', { err });
  return new ApiError('internal', 'internal error');
}

/** The hot-path handlers, shared by the raw server and (for the benchmark) the express-only app. */
export function createHotHandlers(deps: ServerDeps): {
  purchase: (body: string, res: ServerResponse, startedAt: number) => void;
  ticket: (raw: string, res: ServerResponse, startedAt: number) => void;
} {
  const { purchases, tickets, metrics, log } = deps;
  const fail = (route: 'purchase' | 'ticket', res: ServerResponse, err: unknown, startedAt: number): void => {
    const apiError = asApiError(err, log);
    metrics.answered(route, apiError.outcome, startedAt);
    sendError(res, apiError);
  };
  return {
    purchase(body, res, startedAt) {
      let request;
      try {
        request = parsePurchaseBody(body);
      } catch (err) {
        fail('purchase', res, err, startedAt);
        return;
      }
      metrics.inflight.inc();
      purchases.purchase(request).then(
        (ticket) => {
          metrics.inflight.dec();
          metrics.answered('purchase', 'accepted', startedAt);
          send(res, 202, `{"ticket":"${ticket}"}`);
        },
        (err: unknown) => {
          metrics.inflight.dec();
          fail('purchase', res, err, startedAt);
        },
      );
    },
    ticket(raw, res, startedAt) {
      let ticket: string;
      try {
        ticket = parseTicket(raw);
      } catch (err) {
        fail('ticket', res, err, startedAt);
        return;
      }
      tickets.status(ticket).then(
        (status) => {
          metrics.answered('ticket', 'ok', startedAt);
          send(res, 200, JSON.stringify(status));
        },
        (err: unknown) => fail('ticket', res, err, startedAt),
      );
    },
  };
}

/** Reads a small body; answers 413 itself (and closes the connection) when it is over `limit` bytes. */
function readSmallBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  done: (body: string) => void,
): void {
  const tooLarge = (): void => {
    sendError(res, new ApiError('payload_too_large', `request body must be at most ${limit} bytes`), true);
  };
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    tooLarge();
    req.resume();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size > limit) {
      refused = true;
      tooLarge();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (refused) return;
    done(
      chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'),
    );
  });
}

/** The express app for everything but the hot routes; with `hotRoutes` it serves those too (benchmark). */
export function createExpressApp(deps: ServerDeps, options: { hotRoutes?: boolean } = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  if (options.hotRoutes) {
    const hot = createHotHandlers(deps);
    app.post(
      PURCHASE_PATH,
      express.text({ type: () => true, limit: MAX_BODY_BYTES }),
      (req: Request, res: Response) => {
        hot.purchase(typeof req.body === 'string' ? req.body : '', res, performance.now());
      },
    );
    app.get(`${TICKET_PREFIX}:ticket`, (req: Request<{ ticket: string }>, res: Response) => {
      hot.ticket(req.params.ticket, res, performance.now());
    });
  }
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const ready = deps.ready();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready' });
  });
  app.get('/metrics', (_req, res, next) => {
    deps.registry.metrics().then((text) => {
      res.type(deps.registry.contentType).send(text);
    }, next);
  });
  app.all([PURCHASE_PATH, `${TICKET_PREFIX}:ticket`], (_req, res) => {
    res
      .status(405)
      .json({ error: { code: 'method_not_allowed', message: 'method not allowed on this path' } });
  });
  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'not_found', message: 'no such path' } });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = httpStatusOf(err);
    if (status >= 500) deps.log.error('request failed', { err });
    const code = status === 413 ? 'payload_too_large' : status < 500 ? 'invalid_request' : 'internal';
    res.status(status).json({
      error: { code, message: status < 500 && err instanceof Error ? err.message : 'internal error' },
    });
  });
  return app;
}

function httpStatusOf(err: unknown): number {
  if (typeof err === 'object' && err !== null && 'status' in err) {
    const status = err.status;
    if (typeof status === 'number' && status >= 400 && status < 600) return status;
  }
  return 500;
}

/** The front door's HTTP server: hot routes on node:http, the rest handed to express. */
export function createApiServer(deps: ServerDeps): Server {
  const hot = createHotHandlers(deps);
  const app = createExpressApp(deps);
  return createServer((req, res) => {
    const url = req.url ?? '/';
    const method = req.method;
    if (method === 'POST' && url === PURCHASE_PATH) {
      const startedAt = performance.now();
      readSmallBody(req, res, MAX_BODY_BYTES, (body) => hot.purchase(body, res, startedAt));
      return;
    }
    if (method === 'GET' && url.startsWith(TICKET_PREFIX) && !url.includes('?')) {
      hot.ticket(url.slice(TICKET_PREFIX.length), res, performance.now());
      return;
    }
    void app(req, res);
  });
}
