// An OPEN-LOOP HTTP/1.1 load generator for the front door, on raw keep-alive sockets (the request bytes
// come from tools/bench/http-load.ts, the closed-loop generator of the HTTP benchmark).
//
// Open loop: request i is due at t0 + i / rate whatever happened before it. A due request goes out on an
// idle keep-alive connection; when none is idle it waits in a queue (more connections are opened up to a
// cap). Its latency is measured from its DUE time, not from when a socket was free, so a stalled server
// shows up as latency instead of quietly lowering the offered rate (no coordinated omission).
//
// Every buyer sends the token the shop would have issued them (HS256, signed up front with `jwtSecret`).
// A share of purchases (`idempotentRatio`) carry an Idempotency-Key and are repeated once with it when
// their first answer arrives (retries.ts); those repeats are counted apart, not in the figures below.
//
// Outcomes are counted by status and error code ("202", "409 sold_out", "503 unavailable", and client-side
// "error conn_refused" / "error conn_reset" / "error timeout"); every 202 ticket is kept with its product
// and buyer so the caller can check it resolves. A per-second timeline (offered, completed, accepted,
// errors, latency) feeds the demo's charts.
import net from 'node:net';
import { BuyerTokens } from '../lib/buyer-tokens.js';
import { purchaseRequest } from '../bench/http-load.js';
import { ticketBytes, ticketIn } from './requests.js';
import { IdempotentRetries, type IdempotencyReport } from './retries.js';

export interface OpenLoopOptions {
  url: string;
  event: string;
  products: number[];
  /** Distinct buyers (user ids userBase .. userBase + buyers - 1). */
  buyers: number;
  /** Total requests; or give durationSeconds (requests = rate x duration). */
  requests?: number;
  durationSeconds?: number;
  /** Offered rate, requests per second. */
  rate: number;
  /**
   * Share of requests sent by a buyer who already sent one (retries, impatient double clicks). Default
   * 1 - buyers / requests: every buyer appears, the rest are repeats.
   */
  repeatRatio?: number;
  /** Connections opened up front, and the cap the pool may grow to when requests queue. */
  connections?: number;
  maxConnections?: number;
  /** A request not answered this long after its due time fails as "error timeout". */
  timeoutMs?: number;
  seed?: number;
  userBase?: number;
  /** The HS256 key buyer tokens are signed with (the front door's AUTH_JWT_SECRET); none: no tokens. */
  jwtSecret?: string;
  /** Share of purchases sent with an Idempotency-Key and retried once with it (default 0). */
  idempotentRatio?: number;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

export interface Progress {
  elapsedSeconds: number;
  due: number;
  total: number;
  completed: number;
  accepted: number;
  errors: number;
  inFlight: number;
  queued: number;
  connections: number;
  lastSecond: SecondStats | undefined;
}

export interface AcceptedTicket {
  ticket: string;
  productId: number;
  userId: number;
  /** ms since the run started. */
  atMs: number;
}

export interface SecondStats {
  second: number;
  offered: number;
  completed: number;
  accepted: number;
  rejected: number;
  /** Of the rejected: 503 (the front door could not hand the purchase to Kafka) and 429 (throttled). */
  unavailable: number;
  throttled: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LoadReport {
  /** Wall-clock time (epoch ms) of t = 0, the first due request. */
  startedAtEpochMs: number;
  url: string;
  event: string;
  rate: number;
  offered: number;
  completed: number;
  accepted: number;
  /** Non-202 answers and client-side failures by "status code" / "error kind". */
  outcomes: Record<string, number>;
  rejectedByReason: Record<string, number>;
  errors: number;
  seconds: number;
  /** Time from the first due request to the last answer. */
  offeredPerSec: number;
  completedPerSec: number;
  acceptedPerSec: number;
  /** Accepted tickets / the span between the first and the last 202. */
  acceptedPerSecDuringAccepting: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** ms from the start to the first "409 sold_out" answer, per product id. */
  firstSoldOutMs: Record<string, number>;
  timeline: SecondStats[];
  connectionsOpened: number;
  tickets: AcceptedTicket[];
  idempotency: IdempotencyReport;
}

/** Deterministic PRNG (mulberry32), so a run can be replayed with --seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

const round = (n: number): number => Math.round(n * 100) / 100;

interface HttpAnswer {
  status: number;
  body: string;
}

type Done = (answer: HttpAnswer | { error: string }) => void;

/** One keep-alive connection carrying one request at a time. */
export class Conn {
  private readonly socket: net.Socket;
  private buffer = '';
  private done: Done | undefined;
  connected = false;
  closed = false;
  /** performance.now() when the request in flight was written. */
  sentAt = 0;
  private closeAfter = false;

  constructor(
    host: string,
    port: number,
    private readonly onState: (c: Conn, event: 'connected' | 'idle' | 'closed', error?: string) => void,
  ) {
    this.socket = net.connect({ host, port }, () => {
      this.connected = true;
      this.onState(this, 'connected');
    });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err: NodeJS.ErrnoException) =>
      this.close(err.code === 'ECONNREFUSED' ? 'conn_refused' : 'conn_reset'),
    );
    this.socket.on('close', () => this.close('conn_reset'));
  }

  get busy(): boolean {
    return this.done !== undefined;
  }

  send(bytes: Buffer, done: Done): void {
    this.done = done;
    this.sentAt = performance.now();
    this.socket.write(bytes);
  }

  destroy(reason = 'conn_reset'): void {
    this.close(reason);
  }

  private close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    const done = this.done;
    this.done = undefined;
    done?.({ error: this.connected ? reason : 'conn_refused' });
    this.onState(this, 'closed', this.connected ? reason : 'conn_refused');
  }

  private onData(chunk: Buffer): void {
    this.buffer += chunk.toString('latin1');
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const head = this.buffer.slice(0, headerEnd).toLowerCase();
      const lengthAt = head.indexOf('content-length:');
      const length = lengthAt >= 0 ? parseInt(head.slice(lengthAt + 15), 10) : 0;
      const total = headerEnd + 4 + length;
      if (this.buffer.length < total) return;
      const status = parseInt(this.buffer.slice(9, 12), 10);
      const body = this.buffer.slice(headerEnd + 4, total);
      this.buffer = this.buffer.slice(total);
      if (/\r\nconnection:\s*close/.test(head)) this.closeAfter = true;
      const done = this.done;
      this.done = undefined;
      done?.({ status, body });
      if (this.closeAfter) {
        this.close('conn_reset');
        return;
      }
      this.onState(this, 'idle');
    }
  }
}

interface Due {
  dueAt: number;
  productId: number;
  userId: number;
  /** A keyed purchase's Idempotency-Key. */
  key?: string;
  /** Set on the retry of a keyed purchase: the first attempt's ticket (null: it named none). */
  retryOf?: string | null;
}

/** Grows as needed: latency samples without an array of boxed numbers. */
class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  sorted(): Float64Array {
    return this.data.slice(0, this.length).sort();
  }
}

export function parseTarget(url: string): { host: string; port: number } {
  const u = new URL(url);
  if (u.protocol !== 'http:') throw new Error(`--url must be http://, got ${url}`);
  return { host: u.hostname, port: Number(u.port || 80) };
}

export async function runOpenLoop(o: OpenLoopOptions): Promise<LoadReport> {
  const total = o.requests ?? Math.round(o.rate * (o.durationSeconds ?? 10));
  if (!(total > 0) || !(o.rate > 0) || !(o.buyers > 0) || o.products.length === 0) {
    throw new Error('requests (or duration), rate, buyers and products must be positive');
  }
  const { host, port } = parseTarget(o.url);
  const minConns = o.connections ?? 64;
  const maxConns = Math.max(minConns, o.maxConnections ?? 512);
  const timeoutMs = o.timeoutMs ?? 10_000;
  const repeatRatio = o.repeatRatio ?? Math.max(0, 1 - o.buyers / total);
  const userBase = o.userBase ?? 1;
  const random = prng(o.seed ?? 42);
  const interval = 1000 / o.rate;
  const tokens =
    o.jwtSecret === undefined ? undefined : await BuyerTokens.sign(o.jwtSecret, userBase, o.buyers);
  const idempotentRatio = o.idempotentRatio ?? 0;
  const retries = new IdempotentRetries();

  // Buyers: a new one with probability 1 - repeatRatio (while any are left), else one seen before.
  let newBuyers = 0;
  const nextBuyer = (): number => {
    if (newBuyers === 0 || (newBuyers < o.buyers && random() >= repeatRatio)) return userBase + newBuyers++;
    return userBase + Math.floor(random() * newBuyers);
  };

  const outcomes: Record<string, number> = {};
  const tickets: AcceptedTicket[] = [];
  const latencies = new Samples();
  const firstSoldOutMs: Record<string, number> = {};
  const timeline: SecondBucket[] = [];
  const bucket = (second: number): SecondBucket => {
    while (timeline.length <= second) timeline.push(newBucket());
    return timeline[second]!;
  };

  const conns = new Set<Conn>();
  const idle: Conn[] = [];
  const queue: Due[] = [];
  let queueHead = 0;
  let due = 0;
  let completed = 0;
  let accepted = 0;
  let errors = 0;
  let opened = 0;
  let connecting = 0;
  let lastConnectFailure = 0;
  let firstAcceptAt = -1;
  let lastAcceptAt = -1;
  let lastAnswerAt = 0;
  const t0 = performance.now() + 50;

  /** Accounts one answer: a retry's apart (and none of the figures), else into the figures. */
  const settle = (d: Due, outcome: string, answeredAt: number, ticket?: string): void => {
    if (d.retryOf !== undefined) {
      retries.answered(d.retryOf, outcome, ticket ?? null);
      return;
    }
    if (d.key !== undefined) {
      // Sent again at once, with the same key: the buyer's retry.
      retries.scheduled();
      queue.push({ ...d, dueAt: answeredAt, retryOf: ticket ?? null });
    }
    finish(d, outcome, answeredAt, ticket);
  };

  const finish = (d: Due, outcome: string, answeredAt: number, ticket?: string): void => {
    const latency = answeredAt - d.dueAt;
    const second = Math.max(0, Math.floor((answeredAt - t0) / 1000));
    const b = bucket(second);
    completed++;
    b.completed++;
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    lastAnswerAt = answeredAt;
    if (outcome.startsWith('error')) {
      errors++;
      b.errors++;
      return;
    }
    latencies.push(latency);
    b.lat.push(latency);
    if (ticket && outcome === '202 accepted') {
      accepted++;
      b.accepted++;
      const atMs = answeredAt - t0;
      if (firstAcceptAt < 0) firstAcceptAt = atMs;
      lastAcceptAt = atMs;
      tickets.push({ ticket, productId: d.productId, userId: d.userId, atMs: Math.round(atMs) });
    } else {
      b.rejected++;
      if (outcome.startsWith('503')) b.unavailable++;
      else if (outcome.startsWith('429')) b.throttled++;
      if (outcome === '409 sold_out' && firstSoldOutMs[d.productId] === undefined) {
        firstSoldOutMs[d.productId] = Math.round(answeredAt - t0);
      }
    }
  };

  const dispatch = (c: Conn): void => {
    while (queueHead < queue.length) {
      const d = queue[queueHead]!;
      queue[queueHead++] = undefined as unknown as Due; // release for GC
      // userId too: a front door with AUTH_MODE=none takes the buyer from the body (a verifying one
      // checks it is the token's).
      const body = `{"event":"${o.event}","productId":${d.productId},"userId":${d.userId}}`;
      const headers: Record<string, string> = {};
      if (tokens) headers.Authorization = `Bearer ${tokens.get(d.userId)}`;
      if (d.key !== undefined) headers['Idempotency-Key'] = d.key;
      c.send(purchaseRequest(body, headers), (answer) => {
        const now = performance.now();
        if ('error' in answer) {
          settle(d, `error ${answer.error}`, now);
          return;
        }
        if (answer.status === 202) {
          settle(d, '202 accepted', now, ticketIn(answer.body) ?? 'missing');
          return;
        }
        const code = /"code":"([^"]+)"/.exec(answer.body)?.[1] ?? 'unknown';
        settle(d, `${answer.status} ${code}`, now, d.key === undefined ? undefined : ticketIn(answer.body));
      });
      return;
    }
    idle.push(c);
  };

  const onState = (c: Conn, event: 'connected' | 'idle' | 'closed', error?: string): void => {
    if (event === 'connected') {
      connecting--;
      dispatch(c);
    } else if (event === 'idle') {
      dispatch(c);
    } else {
      if (!c.connected) connecting--;
      conns.delete(c);
      const i = idle.indexOf(c);
      if (i >= 0) idle.splice(i, 1);
      if (error === 'conn_refused') {
        // Nobody listens: the queued requests fail as a real client's would.
        lastConnectFailure = performance.now();
        const now = performance.now();
        while (queueHead < queue.length) settle(queue[queueHead++]!, 'error conn_refused', now);
      }
    }
  };

  const openConn = (): void => {
    connecting++;
    opened++;
    conns.add(new Conn(host, port, onState));
  };
  for (let i = 0; i < minConns; i++) openConn();

  let lastProgress = t0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const aborted = o.signal?.aborted === true;
      // Requests that are due now.
      while (due < total && !aborted && t0 + due * interval <= now) {
        const d: Due = {
          dueAt: t0 + due * interval,
          productId: o.products[Math.floor(random() * o.products.length)]!,
          userId: nextBuyer(),
        };
        if (idempotentRatio > 0 && random() < idempotentRatio) {
          d.key = `load-${o.seed ?? 42}-${due}`;
          retries.keyed();
        }
        due++;
        bucket(Math.floor((d.dueAt - t0) / 1000)).offered++;
        queue.push(d);
      }
      // Compact the queue now and then.
      if (queueHead > 10_000 && queueHead * 2 > queue.length) {
        queue.splice(0, queueHead);
        queueHead = 0;
      }
      // Queued too long: timeout.
      while (queueHead < queue.length && now - queue[queueHead]!.dueAt > timeoutMs) {
        settle(queue[queueHead++]!, 'error timeout', now);
      }
      while (queueHead < queue.length && idle.length > 0) dispatch(idle.pop()!);
      // Grow the pool when requests wait; keep the floor after failures (with a 100 ms backoff).
      const backlog = queue.length - queueHead;
      const canConnect = now - lastConnectFailure > 100;
      if (canConnect) {
        const want = Math.min(
          maxConns,
          Math.max(minConns, conns.size + (backlog > connecting ? Math.min(backlog, 32) : 0)),
        );
        for (let n = conns.size; n < want && connecting < 64; n++) openConn();
      }
      // In flight too long: the connection is cut (its request fails as a timeout).
      if (now - lastProgress >= 1000 || due >= total) {
        for (const c of conns) if (c.busy && now - c.sentAt > timeoutMs) c.destroy('timeout');
      }
      if (now - lastProgress >= 1000) {
        lastProgress = now;
        const second = Math.floor((now - t0) / 1000) - 1;
        o.onProgress?.({
          elapsedSeconds: (now - t0) / 1000,
          due,
          total,
          completed,
          accepted,
          errors,
          inFlight: [...conns].filter((c) => c.busy).length,
          queued: queue.length - queueHead,
          connections: conns.size,
          lastSecond: second >= 0 && timeline[second] ? secondStats(second, timeline[second]) : undefined,
        });
      }
      const issued = aborted ? due : total;
      if (due >= issued && completed >= issued && retries.pending === 0) {
        resolve();
        return;
      }
      setTimeout(tick, due < total ? 1 : 5);
    };
    setTimeout(tick, 50);
  });
  for (const c of conns) c.destroy();

  const sorted = latencies.sorted();
  let sum = 0;
  for (const v of sorted) sum += v;
  const seconds = Math.max(0.001, (lastAnswerAt - t0) / 1000);
  const rejectedByReason: Record<string, number> = {};
  for (const [k, v] of Object.entries(outcomes)) {
    if (k === '202 accepted') continue;
    const reason = k.includes(' ') ? k.slice(k.indexOf(' ') + 1) : k;
    rejectedByReason[reason] = (rejectedByReason[reason] ?? 0) + v;
  }
  const acceptSpan = (lastAcceptAt - firstAcceptAt) / 1000;
  return {
    startedAtEpochMs: Math.round(performance.timeOrigin + t0),
    url: o.url,
    event: o.event,
    rate: o.rate,
    offered: due,
    completed,
    accepted,
    outcomes,
    rejectedByReason,
    errors,
    seconds: round(seconds),
    offeredPerSec: round(due / Math.max(0.001, (due * interval) / 1000)),
    completedPerSec: round(completed / seconds),
    acceptedPerSec: round(accepted / seconds),
    acceptedPerSecDuringAccepting: round(acceptSpan > 0 ? accepted / acceptSpan : accepted),
    latencyMs: {
      p50: round(percentile(sorted, 0.5)),
      p90: round(percentile(sorted, 0.9)),
      p99: round(percentile(sorted, 0.99)),
      p999: round(percentile(sorted, 0.999)),
      max: round(sorted.length ? sorted[sorted.length - 1]! : 0),
      mean: round(sorted.length ? sum / sorted.length : 0),
    },
    firstSoldOutMs,
    timeline: timeline.map((b, i) => secondStats(i, b)),
    connectionsOpened: opened,
    tickets,
    idempotency: retries.result(),
  };
}

/** One second's counts while the run goes, latencies kept (secondStats turns it into SecondStats). */
type SecondBucket = Omit<SecondStats, 'second' | 'p50Ms' | 'p99Ms' | 'maxMs'> & { lat: Samples };

const newBucket = (): SecondBucket => ({
  offered: 0,
  completed: 0,
  accepted: 0,
  rejected: 0,
  unavailable: 0,
  throttled: 0,
  errors: 0,
  lat: new Samples(),
});

function secondStats(second: number, b: SecondBucket): SecondStats {
  const s = b.lat.sorted();
  return {
    second,
    offered: b.offered,
    completed: b.completed,
    accepted: b.accepted,
    rejected: b.rejected,
    unavailable: b.unavailable,
    throttled: b.throttled,
    errors: b.errors,
    p50Ms: round(percentile(s, 0.5)),
    p99Ms: round(percentile(s, 0.99)),
    maxMs: round(s.length ? s[s.length - 1]! : 0),
  };
}

export interface TicketPollReport {
  won: number;
  lostSoldOut: number;
  lostLimit: number;
  pending: number;
  failed: number;
  seconds: number;
}

/** GET /api/v1/tickets/:ticket for every ticket (as its buyer) until none is pending or the deadline passes. */
export async function pollTickets(
  url: string,
  tickets: readonly AcceptedTicket[],
  opts: { concurrency?: number; timeoutMs?: number; jwtSecret?: string } = {},
): Promise<TicketPollReport> {
  const { host, port } = parseTarget(url);
  const started = performance.now();
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  const result = new Map<string, string>();
  let base = Infinity;
  let top = 0;
  for (const t of tickets) {
    base = Math.min(base, t.userId);
    top = Math.max(top, t.userId);
  }
  const tokens =
    opts.jwtSecret === undefined || tickets.length === 0
      ? undefined
      : await BuyerTokens.sign(opts.jwtSecret, base, top - base + 1);
  let pending = [...tickets];
  let failed = 0;
  while (pending.length > 0) {
    const next: AcceptedTicket[] = [];
    let i = 0;
    const worker = async (): Promise<void> => {
      let conn: Conn | undefined;
      while (i < pending.length) {
        const accepted = pending[i++]!;
        const ticket = accepted.ticket;
        if (!conn || conn.closed) conn = await connect(host, port);
        const request = ticketBytes(host, ticket, tokens?.get(accepted.userId));
        const answer = await new Promise<HttpAnswer | { error: string }>((resolve) =>
          conn!.send(request, resolve),
        );
        if ('error' in answer || answer.status !== 200) {
          next.push(accepted);
          continue;
        }
        const status = /"status":"([a-z]+)"/.exec(answer.body)?.[1];
        const reason = /"reason":"([a-z_]+)"/.exec(answer.body)?.[1];
        if (status === 'won') result.set(ticket, 'won');
        else if (status === 'lost') result.set(ticket, reason === 'limit' ? 'limit' : 'sold_out');
        else next.push(accepted);
      }
      conn?.destroy();
    };
    await Promise.all(
      Array.from({ length: Math.min(opts.concurrency ?? 32, pending.length) }, () =>
        worker().catch(() => void failed++),
      ),
    );
    pending = next;
    if (pending.length === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const count = (v: string): number => [...result.values()].filter((x) => x === v).length;
  return {
    won: count('won'),
    lostSoldOut: count('sold_out'),
    lostLimit: count('limit'),
    pending: pending.length,
    failed,
    seconds: round((performance.now() - started) / 1000),
  };
}

function connect(host: string, port: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    new Conn(host, port, (conn, event, error) => {
      if (event === 'connected') resolve(conn);
      else if (event === 'closed' && !conn.connected) reject(new Error(error));
    });
  });
}
