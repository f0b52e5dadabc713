// The project's Redis code on a real Redis Cluster (3 masters + 3 replicas, the HA profile), through the one
// connection factory with REDIS_URL=redis+cluster://...: every Lua script, the catalog, the sold-out
// announcement, results over many slots, and durable claims: a claim confirmed by a replica (WAIT) survives
// its master being killed right after it; and results are written when the client's slot map is stale (a
// slot moved to another master: ioredis' auto-pipelining once kept sending them to the old one, MOVED
// forever).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { ulid } from 'ulid';
import { preloadEvent, readEvent, readStock, withdrawEvent } from '../../workloads/shared/catalog.js';
import { keys } from '../../workloads/shared/keys.js';
import { purchaseTopic } from '../../workloads/shared/kafka/topics.js';
import { decodeResult, type ClaimResult } from '../../workloads/shared/outcomes.js';
import type { PurchaseEntry } from '../../workloads/shared/kafka/codec.js';
import { createRedis, type RedisClient } from '../../workloads/shared/redis/client.js';
import { withScripts } from '../../workloads/shared/redis/scripts.js';
import { announceSoldOut, recordResults } from '../../workloads/consumer/results.js';
import { readResults } from '../../workloads/consumer/invariants.js';
import { repoFile } from '../../tools/lib/paths.js';
import { requireEnv, uniqueName } from '../../tools/lib/stack-env.js';
import { waitFor } from '../../tools/lib/wait.js';

const HINT = 'start the HA engines: eval "$(npm run -s stack -- up kafka-ha redis-ha)"';
let redis: RedisClient;

before(() => {
  const url = requireEnv('HA_REDIS_URL', HINT);
  assert.match(url, /^redis\+cluster:\/\//);
  redis = createRedis(url, 'ha-cluster-test');
});
after(async () => {
  await redis?.quit();
});

const asCluster = (r: RedisClient): Cluster => {
  assert.ok(r instanceof Cluster, 'the factory made a Cluster client from redis+cluster://');
  return r;
};

function sale(name: string) {
  return {
    name,
    topic: purchaseTopic(name),
    startMs: Date.now() - 1000,
    endMs: Date.now() + 3_600_000,
    products: [
      { id: 1, stock: 3, perUserLimit: 1 },
      { id: 2, stock: 100, perUserLimit: 2 },
    ],
  };
}

test('the catalog, every Lua script and results over many slots run on the Cluster', async () => {
  asCluster(redis);
  const scripts = withScripts(redis);
  const spec = sale(uniqueName('ha'));
  await preloadEvent(scripts, spec); // set-stock.lua per product, then the catalog hash and set
  assert.equal((await readEvent(redis, spec.name))?.topic, spec.topic);
  assert.deepEqual(await readStock(redis, spec.name, 1), { total: 3, sold: 0 });

  const entries = Array.from({ length: 5 }, (_, i) => ({ ticket: ulid(), userId: 10 + i, acceptedAt: 0 }));
  const claim = await scripts.claimBatch({ event: spec.name, productId: 1, perUserLimit: 1, entries }, 60);
  assert.deepEqual(
    claim.results.map((r) => r.outcome),
    ['won', 'won', 'won', 'sold_out', 'sold_out'],
  );
  const replay = await scripts.claimBatch({ event: spec.name, productId: 1, perUserLimit: 1, entries }, 60);
  assert.ok(
    replay.results.every((r) => r.replay),
    'a redelivery replays',
  );

  assert.equal(await scripts.claimEventName(spec.name, 'ns/uid-1', 'ns/'), 'ns/uid-1');
  assert.equal(await scripts.claimEventName(spec.name, 'other/uid-2', 'other/'), 'ns/uid-1');

  // Results: one key per ticket, all over the slots.
  await recordResults(redis, entries, claim.results);
  const results = await readResults(
    redis,
    entries.map((e) => e.ticket),
  );
  assert.deepEqual(
    entries.map((e) => decodeResult(results.get(e.ticket))),
    claim.results.map((r, i) => ({ outcome: r.outcome, owner: entries[i]!.userId })),
  );

  await withdrawEvent(redis, spec.name);
  assert.equal(await readEvent(redis, spec.name), undefined);
});

test('a sold-out announcement published on one node reaches a subscriber on the Cluster', async () => {
  const subscriber = createRedis(requireEnv('HA_REDIS_URL', HINT), 'ha-cluster-subscriber');
  try {
    const received: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => received.push(message));
    await subscriber.subscribe(keys.soldOutChannel());
    const name = uniqueName('ha');
    // Published by a separate connection: classic pub/sub is broadcast to every node of a Cluster.
    await waitFor(
      'the announcement to arrive',
      async () => {
        await announceSoldOut(redis, name, 7);
        return received.includes(`${name}/7`) ? true : undefined;
      },
      10_000,
      200,
    );
  } finally {
    subscriber.disconnect();
  }
});

/** The HA nodes' addresses, host:port, redis-ha-N at index N - 1. */
const haNodes = (): string[] => requireEnv('HA_REDIS_NODES', HINT).split(',');
/** The redis-ha-N number of the node listening on `port` (0: none of them). */
const haIndexOf = (port: number): number => haNodes().findIndex((n) => n.endsWith(`:${port}`)) + 1;

/** The HA node (redis-ha-N) that is master of `key`'s slot now, and the slot. */
async function masterOf(
  cluster: Cluster,
  key: string,
): Promise<{ node: string; index: number; slot: number }> {
  const slot = Number(await cluster.cluster('KEYSLOT', key));
  const slots = await cluster.cluster('SLOTS');
  const range = slots.find(([from, to]) => slot >= from && slot <= to);
  assert.ok(range, `slot ${slot} is served`);
  const port = range[2]?.[1] ?? -1;
  const index = haIndexOf(port);
  assert.ok(index > 0, `port ${port} is one of HA_REDIS_NODES`);
  return { node: `redis-ha-${index}`, index, slot };
}

const stack = (...args: string[]): void => {
  const r = spawnSync('bash', [repoFile('tools/stack/stack.sh'), ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `stack.sh ${args.join(' ')}: ${r.stderr.slice(-1500)}`);
};

test(
  'a claim a replica confirmed survives its master killed right after it',
  { timeout: 120_000 },
  async () => {
    const cluster = asCluster(redis);
    const scripts = withScripts(redis);
    const spec = sale(uniqueName('ha-kill'));
    await preloadEvent(scripts, spec);
    const entries = [{ ticket: ulid(), userId: 42, acceptedAt: 0 }];
    const run = { event: spec.name, productId: 2, perUserLimit: 2, entries };
    const { reply, replicas } = await scripts.claimBatchReplicated(run, 60, { replicas: 1, timeoutMs: 2000 });
    assert.equal(reply.results[0]?.outcome, 'won');
    assert.ok(replicas >= 1, `WAIT: ${replicas} replica(s) have the claim`);

    const master = await masterOf(cluster, keys.claims(spec.name, 2));
    stack('kill', master.node); // SIGKILL, right after the confirmed claim
    try {
      // The replica takes over; the claim is there, and a redelivery of it is a replay, not a second win.
      // Redelivered as the consumer sends it with CLAIM_WAIT_REPLICAS, claim + WAIT in one pipeline, on the
      // same connection: it must reach the new master (the old one's MOVED once kept it going back there).
      // Its WAIT may count 0 replicas until the old master rejoins: not what this checks.
      const again = await waitFor(
        'the Cluster to answer after the failover',
        async () => {
          try {
            return (await scripts.claimBatchReplicated(run, 60, { replicas: 1, timeoutMs: 100 })).reply;
          } catch {
            return undefined;
          }
        },
        60_000,
        250,
      );
      assert.deepEqual(again.results, [{ outcome: 'won', replay: true }], 'the claim survived the failover');
      assert.equal(await redis.hget(keys.buyers(spec.name, 2), '42'), '1', 'the buyer holds one unit');
      assert.equal((await readStock(redis, spec.name, 2)).sold, 1);
      assert.notEqual(
        (await masterOf(cluster, keys.claims(spec.name, 2))).node,
        master.node,
        'a replica was promoted',
      );
    } finally {
      stack('start', master.node); // rejoins as a replica
    }
    await withdrawEvent(redis, spec.name);
  },
);

/** A direct connection to HA node `index` (1-based, as in redis-ha-N), for cluster administration. */
function nodeConnection(index: number): Redis {
  const address = haNodes()[index - 1] ?? '';
  const colon = address.lastIndexOf(':');
  return new Redis(Number(address.slice(colon + 1)), address.slice(0, colon));
}

/** The redis-ha-N number of a master other than redis-ha-`index`. */
async function otherMaster(cluster: Cluster, index: number): Promise<number> {
  const masters = (await cluster.cluster('SLOTS')).map(([, , owner]) => haIndexOf(owner?.[1] ?? -1));
  const other = masters.find((i) => i > 0 && i !== index);
  assert.ok(other, 'another master serves slots');
  return other;
}

const refreshSlots = (cluster: Cluster): Promise<void> =>
  new Promise((resolve) => cluster.refreshSlotsCache(() => resolve()));

/** Hands an empty slot from one master to another, as a reshard does (both sides told, as redis-cli does). */
async function moveEmptySlot(slot: number, from: Redis, to: Redis): Promise<void> {
  const fromId = String(await from.cluster('MYID'));
  const toId = String(await to.cluster('MYID'));
  assert.equal(await from.cluster('COUNTKEYSINSLOT', slot), 0, `slot ${slot} is empty`);
  await to.cluster('SETSLOT', slot, 'IMPORTING', fromId);
  await from.cluster('SETSLOT', slot, 'MIGRATING', toId);
  await to.cluster('SETSLOT', slot, 'NODE', toId);
  await from.cluster('SETSLOT', slot, 'NODE', toId);
}

test('results are written when a slot moved to another master since the client last looked', async () => {
  const cluster = asCluster(redis);
  // Two tickets whose result keys are in two slots of one master, the first slot empty so it can move.
  const master = await masterOf(cluster, keys.result(ulid()));
  const target = await otherMaster(cluster, master.index);
  const from = nodeConnection(master.index);
  const to = nodeConnection(target);
  const onMaster = async (
    admits: (slot: number) => Promise<boolean>,
  ): Promise<{ entry: PurchaseEntry; slot: number }> => {
    for (;;) {
      const ticket = ulid();
      const { node, slot } = await masterOf(cluster, keys.result(ticket));
      if (node === master.node && (await admits(slot)))
        return { entry: { ticket, userId: 200, acceptedAt: 0 }, slot };
    }
  };
  try {
    const { entry: first, slot } = await onMaster(
      async (s) => Number(await from.cluster('COUNTKEYSINSLOT', s)) === 0,
    );
    const { entry: second } = await onMaster((s) => Promise.resolve(s !== slot));
    await refreshSlots(cluster); // the map before the move
    await moveEmptySlot(slot, from, to);
    try {
      // The consumer writes both at once; only the first one's slot moved. Retried as the consumer retries.
      const entries = [first, second];
      const outcomes: ClaimResult[] = [
        { outcome: 'won', replay: false },
        { outcome: 'sold_out', replay: false },
      ];
      let lastError: unknown;
      const written = await waitFor(
        'both results to be written',
        async () => {
          try {
            await recordResults(redis, entries, outcomes);
            return true;
          } catch (err) {
            lastError = err;
            return undefined;
          }
        },
        10_000,
        250,
      ).catch(() => false);
      assert.equal(written, true, `results refused: ${String(lastError)}`);
      const results = await readResults(
        redis,
        entries.map((e) => e.ticket),
      );
      assert.deepEqual(
        entries.map((e) => decodeResult(results.get(e.ticket))?.outcome),
        ['won', 'sold_out'],
      );
    } finally {
      await to.del(keys.result(first.ticket));
      await moveEmptySlot(slot, to, from); // the slot goes home
      await refreshSlots(cluster);
      await cluster.del(keys.result(second.ticket));
    }
  } finally {
    from.disconnect();
    to.disconnect();
  }
});
