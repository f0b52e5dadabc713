// ResilientInformer (operator/controller/informer.ts) driven by a fake list/watch and node:test's mock
// timers: the staleness guard restarts a quiet watch with a relist, objects deleted while disconnected are
// reported deleted after the relist, errors restart with exponential backoff, and a stopped or replaced
// informer's late callbacks are ignored. No API server; time only moves when the test ticks it.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import type { Informer, KubernetesObject, ObjectCache } from '@kubernetes/client-node';
import { ResilientInformer, type InformerEventType } from '../../operator/runtime/informer.js';
import { createLogger } from '../../workloads/shared/log.js';

type Obj = KubernetesObject;
type Callback = (arg?: unknown) => void;

const obj = (name: string, rv = '1'): Obj => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });
const names = (objs: readonly Obj[]): string[] => objs.map((o) => o.metadata?.name ?? '').sort();

/** The "API server": the objects a list returns now, and how many of the next lists fail. */
class FakeServer {
  readonly objects = new Map<string, Obj>();
  failNextLists = 0;
  readonly informers: FakeInformer[] = [];

  set(...objs: Obj[]): void {
    for (const o of objs) this.objects.set(o.metadata?.name ?? '', o);
  }

  remove(name: string): void {
    this.objects.delete(name);
  }

  /** What ResilientInformer's `make` gets: a fresh informer on this server. */
  readonly make = (watchTimeoutSeconds: number): Informer<Obj> & ObjectCache<Obj> => {
    const inf = new FakeInformer(this, watchTimeoutSeconds);
    this.informers.push(inf);
    return inf;
  };

  get current(): FakeInformer {
    const inf = this.informers.at(-1);
    assert.ok(inf, 'an informer was made');
    return inf;
  }
}

/**
 * Behaves like client-node's ListWatch as far as ResilientInformer can tell: start() lists (a failed list
 * emits "error" and still resolves), emits "connect", then "add" for every listed object; the cache follows
 * the events the test pushes through it as watch events.
 */
class FakeInformer implements Informer<Obj>, ObjectCache<Obj> {
  private readonly handlers = new Map<string, Callback[]>();
  private readonly cache = new Map<string, Obj>();
  started = false;
  stopped = false;

  constructor(
    private readonly server: FakeServer,
    readonly watchTimeoutSeconds: number,
  ) {}

  on(verb: string, cb: (arg: never) => void): void {
    this.handlers.set(verb, [...(this.handlers.get(verb) ?? []), cb as Callback]);
  }

  off(verb: string, cb: (arg: never) => void): void {
    this.handlers.set(
      verb,
      (this.handlers.get(verb) ?? []).filter((h) => h !== cb),
    );
  }

  async start(): Promise<void> {
    this.started = true;
    await Promise.resolve();
    if (this.server.failNextLists > 0) {
      this.server.failNextLists -= 1;
      this.emit('error', new Error('list failed'));
      return;
    }
    this.emit('connect');
    for (const o of this.server.objects.values()) this.watchEvent('add', o);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.resolve();
  }

  get(name: string): Obj | undefined {
    return this.cache.get(name);
  }

  list(): readonly Obj[] {
    return [...this.cache.values()];
  }

  /** A watch event as the API server would send it (the cache follows). */
  watchEvent(type: InformerEventType, o: Obj): void {
    const name = o.metadata?.name ?? '';
    if (type === 'delete') this.cache.delete(name);
    else this.cache.set(name, o);
    this.emit(type, o);
  }

  emit(verb: string, arg?: unknown): void {
    for (const h of this.handlers.get(verb) ?? []) h(arg);
  }
}

interface Harness {
  server: FakeServer;
  informer: ResilientInformer<Obj>;
  events: { type: InformerEventType; name: string }[];
  restarts: string[];
}

function harness(opts: { staleAfterMs?: number; watchTimeoutSeconds?: number } = {}): Harness {
  const server = new FakeServer();
  const events: Harness['events'] = [];
  const restarts: string[] = [];
  const informer = new ResilientInformer<Obj>({
    resource: 'things',
    make: server.make,
    onEvent: (type, o) => events.push({ type, name: o.metadata?.name ?? '' }),
    log: createLogger({ test: 'informer' }, 'error'),
    watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 60,
    staleAfterMs: opts.staleAfterMs ?? 10_000,
    onRestart: (reason) => restarts.push(reason),
  });
  return { server, informer, events, restarts };
}

/** Lets pending promise callbacks run (setImmediate is not mocked). */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/**
 * Moves the mocked clock by `ms`, in small steps with the promise queue drained between them (the mocked
 * Date would otherwise jump to the end of a long tick before the timers inside it fire).
 */
async function advance(ms: number, step = 50): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    mock.timers.tick(Math.min(step, ms - done));
    await flush();
  }
}

const stopAll: ResilientInformer<Obj>[] = [];

beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000_000 });
});

afterEach(async () => {
  for (const i of stopAll.splice(0)) await i.stop();
  mock.timers.reset();
});

async function started(opts?: Parameters<typeof harness>[0]): Promise<Harness> {
  const h = harness(opts);
  stopAll.push(h.informer);
  await h.informer.start();
  await flush();
  return h;
}

test('start lists, delivers every object as add, and is synced; the watch timeout reaches make()', async () => {
  const h = harness({ watchTimeoutSeconds: 30 });
  stopAll.push(h.informer);
  h.server.set(obj('a'), obj('b'));
  await h.informer.start();
  assert.equal(h.server.informers.length, 1);
  assert.equal(h.server.current.watchTimeoutSeconds, 30);
  assert.deepEqual(h.events, [
    { type: 'add', name: 'a' },
    { type: 'add', name: 'b' },
  ]);
  assert.equal(h.informer.hasSynced(), true);
  assert.deepEqual(names(h.informer.list()), ['a', 'b']);
  assert.equal(h.informer.get('a', 'ns')?.metadata?.name, 'a');
});

test('a watch that goes quiet past staleAfterMs is restarted with a relist; activity and reconnects keep it alive', async () => {
  const h = await started({ staleAfterMs: 10_000 });
  h.server.set(obj('a'));
  h.server.current.watchEvent('add', obj('a'));
  h.events.length = 0;

  // Activity every 6 s (an update, then a reconnect as the watch timeout ends a watch): never stale.
  await advance(6000);
  h.server.current.watchEvent('update', obj('a', '2'));
  await advance(6000);
  h.server.current.emit('connect');
  await advance(6000);
  assert.equal(h.server.informers.length, 1, 'no restart while there is activity');
  assert.deepEqual(h.restarts, []);

  // Then silence: no event, no reconnect. The guard (checked every staleAfterMs / 4) relists.
  const first = h.server.current;
  await advance(4000 + 2500 + 100);
  assert.equal(h.server.informers.length, 2, 'restarted after going quiet');
  assert.deepEqual(h.restarts, ['stale']);
  assert.equal(first.stopped, true, 'the quiet informer was stopped');
  assert.equal(h.server.current.started, true, 'the new informer listed');
  assert.equal(h.informer.hasSynced(), true);
  // The relist delivers the objects again, as adds (the handler is level-based).
  assert.deepEqual(h.events, [
    { type: 'update', name: 'a' },
    { type: 'add', name: 'a' },
  ]);

  // The old informer's late events are ignored.
  first.emit('update', obj('a', '3'));
  assert.equal(h.events.length, 2);

  // Quiet for less than the limit after the relist: no second restart.
  await advance(7000);
  assert.equal(h.server.informers.length, 2);
});

test('objects deleted while disconnected are reported deleted after the relist; new ones as added', async () => {
  const h = await started({ staleAfterMs: 10_000 });
  for (const n of ['a', 'b', 'c']) {
    h.server.set(obj(n));
    h.server.current.watchEvent('add', obj(n));
  }
  h.events.length = 0;

  // The watch breaks (an error): meanwhile b is deleted and d created on the server, unseen.
  h.server.current.emit('error', new Error('connection reset'));
  assert.equal(h.informer.hasSynced(), false);
  h.server.remove('b');
  h.server.set(obj('d'));
  await advance(600); // first retry after 500 ms
  assert.equal(h.server.informers.length, 2);
  assert.deepEqual(h.restarts, ['error']);
  assert.equal(h.informer.hasSynced(), true);
  assert.deepEqual(
    h.events.filter((e) => e.type === 'delete'),
    [{ type: 'delete', name: 'b' }],
  );
  assert.deepEqual(names(h.events.filter((e) => e.type === 'add').map((e) => obj(e.name))), ['a', 'c', 'd']);
  assert.deepEqual(names(h.informer.list()), ['a', 'c', 'd']);

  // The same after a staleness restart: c vanishes while the watch is silently dead.
  h.events.length = 0;
  h.server.remove('c');
  await advance(15_000);
  assert.deepEqual(h.restarts, ['error', 'stale']);
  assert.deepEqual(
    h.events.filter((e) => e.type === 'delete'),
    [{ type: 'delete', name: 'c' }],
  );
  assert.deepEqual(names(h.informer.list()), ['a', 'd']);
});

test('errors restart with exponential backoff (500 ms doubling), reset by a successful list', async () => {
  const h = harness();
  stopAll.push(h.informer);
  h.server.set(obj('a'));
  h.server.failNextLists = 3;
  await h.informer.start(); // the first list fails: start resolves, unsynced, a retry is scheduled
  await flush();
  assert.equal(h.informer.hasSynced(), false);
  assert.deepEqual(h.events, []);

  // Relists at +500 ms, then +1000 ms, then +2000 ms after each failure.
  const at: number[] = [];
  const t0 = Date.now();
  let seen = 1;
  while (at.length < 3) {
    await advance(50, 50);
    if (h.server.informers.length > seen) {
      seen = h.server.informers.length;
      at.push(Date.now() - t0);
    }
    assert.ok(Date.now() - t0 < 10_000, `restarts at ${at.join(', ')}`);
  }
  assert.deepEqual(at, [500, 1500, 3500], 'cumulative times of the relists');
  assert.deepEqual(h.restarts, ['error', 'error', 'error']);
  assert.equal(h.informer.hasSynced(), true, 'the fourth list succeeded');
  assert.deepEqual(h.events, [{ type: 'add', name: 'a' }]);

  // A later error starts the backoff over at 500 ms.
  h.server.current.emit('error', new Error('watch failed'));
  await advance(450);
  assert.equal(h.server.informers.length, 4, 'not before 500 ms');
  await advance(100);
  assert.equal(h.server.informers.length, 5, 'relisted at 500 ms');
  assert.deepEqual(h.restarts, ['error', 'error', 'error', 'error']);
});

test('the backoff is capped at 30 s', async () => {
  const h = harness({ staleAfterMs: 3_600_000 });
  stopAll.push(h.informer);
  h.server.failNextLists = 1000;
  await h.informer.start();
  await flush();
  // 0.5 + 1 + 2 + 4 + 8 + 16 + 32->30 s: seven restarts by 61.5 s, the eighth 30 s later.
  await advance(61_500 + 50, 250);
  assert.equal(h.server.informers.length, 8);
  await advance(29_800, 250);
  assert.equal(h.server.informers.length, 8);
  await advance(500, 250);
  assert.equal(h.server.informers.length, 9);
});

test('stop() stops the informer, silences it, and cancels a pending restart', async () => {
  const h = await started();
  const first = h.server.current;
  first.emit('error', new Error('boom'));
  await h.informer.stop();
  assert.equal(first.stopped, true);
  assert.equal(h.informer.hasSynced(), false);
  await advance(60_000, 1000);
  assert.equal(h.server.informers.length, 1, 'no restart after stop');
  first.emit('add', obj('late'));
  assert.deepEqual(h.events, []);
});
