// HTTP: the two hot routes (POST /api/v1/seckill, GET /api/v1/tickets/:ticket) are served straight on
// node:http, everything else (/healthz, /readyz, /metrics, 404s, 405s) by an express app. express costs
// several times raw node:http on a small JSON POST (see test/bench/http-hot-path.ts), and the hot routes
// need none of its features: a fixed path, a small JSON body, a JSON answer.
import {
  createServer,
  STATUS_CODES,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../shared/log.js';
import { authenticate, type Authenticator, type Buyer, type Identity } from './auth/authenticator.js';
import type { HttpLimits } from './config.js';
import { ApiError } from './errors.js';
import { IDEMPOTENCY_HEADER, parseIdempotencyKey } from './idempotency.js';
import type { ApiMetrics, Route } from './metrics.js';
import type { PurchaseService, TicketService } from './purchase.js';
import {
  MAX_BODY_BYTES,
  parsePurchaseBody,
  parseTicket,
  purchaseOf,
  type PurchaseBody,
} from './validation.js';

export const PURCHASE_PATH = '/api/v1/seckill';
export const TICKET_PREFIX = '/api/v1/tickets/';

export interface ServerDeps {
  auth: Authenticator;
  purchases: PurchaseService;
  tickets: TicketService;
  metrics: ApiMetrics;
  registry: Registry;
  ready: () => boolean;
  /** True while stopping: every answer says `connection: close` and ends its connection. */
  closeAfterAnswer: () => boolean;
  log: Logger;
}

const JSON_TYPE = 'application/json';

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) }).end(body);
}

function sendError(res: ServerResponse, err: ApiError, close = false): void {
  const body = err.body();
  const headers: Record<string, string | number> = {
    'content-type': JSON_TYPE,
    'content-length': Buffer.byteLength(body),
    ...err.headers(),
  };
  if (close) headers.connection = 'close';
  res.writeHead(err.status, headers).end(body);
}

/** What a handler threw, as the client's answer: ApiErrors as they are, anything else a 500 (logged). */
function asApiError(err: unknown, log: Logger): ApiError {
  if (err instanceof ApiError) return err;
  log.error('unexpected error on the hot path', { err });
  return new ApiError('internal', 'internal error');
}

/** The hot-path handlers, shared by the raw server and (for the benchmark) the express-only app. */
export function createHotHandlers(deps: ServerDeps): {
  purchase: (req: IncomingMessage, body: string, res: ServerResponse, startedAt: number) => void;
  ticket: (req: IncomingMessage, raw: string, res: ServerResponse, startedAt: number) => void;
} {
  const { auth, purchases, tickets, metrics, log } = deps;
  const fail = (route: Route, res: ServerResponse, err: unknown, startedAt: number): void => {
    const apiError = asApiError(err, log);
    metrics.answered(route, apiError.outcome, startedAt);
    sendError(res, apiError);
  };
  /** Runs `then` with the request's buyer: at once when the token is cached, else once it is verified. */
  const withBuyer = (
    route: Route,
    req: IncomingMessage,
    res: ServerResponse,
    startedAt: number,
    then: (buyer: Buyer) => void,
  ): void => {
    let buyer: Buyer | Promise<Buyer>;
    try {
      buyer = authenticate(auth, req.headers.authorization);
    } catch (err) {
      fail(route, res, err, startedAt);
      return;
    }
    if (buyer instanceof Promise) buyer.then(then, (err: unknown) => fail(route, res, err, startedAt));
    else then(buyer);
  };
  const purchase = (req: IncomingMessage, body: string, res: ServerResponse, startedAt: number): void => {
    let identity: Identity;
    let parsed: PurchaseBody;
    let key: string | undefined;
    try {
      identity = auth.identify(req.headers.authorization);
      parsed = parsePurchaseBody(body);
      const header = req.headers[IDEMPOTENCY_HEADER];
      key = parseIdempotencyKey(Array.isArray(header) ? header.join(', ') : header);
    } catch (err) {
      fail('purchase', res, err, startedAt);
      return;
    }
    const buy = (buyer: Buyer): void => {
      let request;
      try {
        request = purchaseOf(parsed, buyer);
      } catch (err) {
        fail('purchase', res, err, startedAt);
        return;
      }
      metrics.inflight.inc();
      purchases.purchase(request, key).then(
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
    };
    if ('buyer' in identity) {
      buy(identity.buyer);
      return;
    }
    // A token not seen before costs a signature check: first refuse what nobody could buy (after the
    // sell-out that is nearly every request, and a flash sale's new buyers arrive then too). A keyed
    // purchase is checked first, so its refusal can name the ticket an earlier attempt may hold.
    const refusal =
      key === undefined ? purchases.refusalForAnyone(parsed.event, parsed.productId) : undefined;
    if (refusal !== undefined) {
      fail('purchase', res, refusal, startedAt);
      return;
    }
    auth.verify(identity.token).then(buy, (err: unknown) => fail('purchase', res, err, startedAt));
  };
  const ticket = (req: IncomingMessage, raw: string, res: ServerResponse, startedAt: number): void => {
    withBuyer('ticket', req, res, startedAt, (buyer) => {
      let id: string;
      try {
        id = parseTicket(raw);
      } catch (err) {
        fail('ticket', res, err, startedAt);
        return;
      }
      tickets.status(id, buyer).then(
        (status) => {
          metrics.answered('ticket', 'ok', startedAt);
          send(res, 200, JSON.stringify(status));
        },
        (err: unknown) => fail('ticket', res, err, startedAt),
      );
    });
  };
  return { purchase, ticket };
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
        hot.purchase(req, typeof req.body === 'string' ? req.body : '', res, performance.now());
      },
    );
    app.get(`${TICKET_PREFIX}:ticket`, (req: Request<{ ticket: string }>, res: Response) => {
      hot.ticket(req, req.params.ticket, res, performance.now());
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

/** What a connection-level failure (before any handler) is answered with, and counted as. */
function clientErrorAnswer(code: string | undefined): ApiError | undefined {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new ApiError('request_timeout', 'the request did not arrive in time');
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return new ApiError('headers_too_large', 'the request headers are too large');
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') return undefined; // the client left: nobody to answer
  return new ApiError('invalid_request', 'malformed HTTP request');
}

/** The response a socket is writing, if any (Node keeps it on the socket; not part of its types). */
const responseOf = (socket: Socket): ServerResponse | undefined =>
  (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;

/**
 * Answers what Node refuses before a handler runs (a request that trickles past its timeout: 408, headers
 * over the cap: 431, garbage: 400) with our JSON error, closes the connection and counts the refusal.
 */
function onClientError(err: NodeJS.ErrnoException, socket: Socket, metrics: ApiMetrics): void {
  const answer = clientErrorAnswer(err.code);
  if (answer !== undefined) metrics.refused(answer.code);
  if (answer !== undefined && socket.writable && responseOf(socket)?.headersSent !== true) {
    const body = answer.body();
    socket.end(
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}\r\ncontent-type: ${JSON_TYPE}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroySoon();
}

/** The front door's HTTP server: hot routes on node:http, the rest handed to express. */
export function createApiServer(deps: ServerDeps, limits: HttpLimits): Server {
  const hot = createHotHandlers(deps);
  const app = createExpressApp(deps);
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // How often Node checks those timeouts (its default, 30 s, would let a trickler stay 30 s too long).
      connectionsCheckingInterval: Math.min(1000, Math.ceil(limits.headersTimeoutMs / 2)),
    },
    (req, res) => {
      if (deps.closeAfterAnswer()) res.setHeader('connection', 'close');
      const url = req.url ?? '/';
      const method = req.method;
      if (method === 'POST' && url === PURCHASE_PATH) {
        const startedAt = performance.now();
        readSmallBody(req, res, MAX_BODY_BYTES, (body) => hot.purchase(req, body, res, startedAt));
        return;
      }
      if (method === 'GET' && url.startsWith(TICKET_PREFIX) && !url.includes('?')) {
        hot.ticket(req, url.slice(TICKET_PREFIX.length), res, performance.now());
        return;
      }
      void app(req, res);
    },
  );
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => deps.metrics.refused('max_connections'));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) =>
    onClientError(err, socket, deps.metrics),
  );
  return server;
}
