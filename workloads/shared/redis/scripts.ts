// Every Lua script lives as a .lua file next to this module (lua/*.lua), with a header documenting its KEYS,
// ARGV and reply. withScripts registers them all once per connection with ioredis' defineCommand, which
// sends EVALSHA and falls back to EVAL on NOSCRIPT (BullMQ does the same), and returns one typed method per
// script that builds the script's key list from keys.ts and checks its reply: callers name no key list.
import { readFileSync } from 'node:fs';
import { Cluster } from 'ioredis';
import type { RedisClient } from './client.js';
import { OWNER_FIELD } from '../catalog.js';
import type { PurchaseEntry } from '../kafka/codec.js';
import { keys } from '../keys.js';
import { parseClaimReply, type ClaimReply } from '../outcomes.js';

const luaDir = new URL('./lua/', import.meta.url);
const source = (file: string): string => readFileSync(new URL(file, luaDir), 'utf8');

/** Each script: its file and how many of its arguments are keys. */
const definitions = {
  claimBatch: { file: 'claim-batch.lua', numberOfKeys: 3 },
  claimEventName: { file: 'claim-event-name.lua', numberOfKeys: 1 },
  setStock: { file: 'set-stock.lua', numberOfKeys: 1 },
} as const;

type ScriptName = keyof typeof definitions;

/** A product run: consecutive purchase entries of one product, claimed in one call. */
export interface ProductRun {
  event: string;
  productId: number;
  perUserLimit: number;
  entries: PurchaseEntry[];
}

/** A Redis connection with our scripts registered as commands, one typed method per script. */
export interface ScriptedRedis {
  redis: RedisClient;
  /** claim-batch.lua: claims stock for every entry of the run, in order; idempotent per ticket. */
  claimBatch(run: ProductRun, claimsTtlSeconds: number): Promise<ClaimReply>;
  /**
   * claimBatch, then `WAIT replicas timeoutMs` in one pipeline: on the connection (and, on a Cluster, the
   * node) that ran the claim, so the answer says how many replicas have it. Resolves to the reply and that count.
   */
  claimBatchReplicated(
    run: ProductRun,
    claimsTtlSeconds: number,
    wait: { replicas: number; timeoutMs: number },
  ): Promise<{ reply: ClaimReply; replicas: number }>;
  /** set-stock.lua: sets a product's stock total, never below what it sold; resolves to the units sold. */
  setStock(event: string, productId: number, total: number): Promise<number>;
  /**
   * claim-event-name.lua: claims `event` for `claimant` ("<namespace>/<uid>"), adopting it from an owner
   * whose value starts with `namespacePrefix` ("<namespace>/"); resolves to the owner after the call.
   */
  claimEventName(event: string, claimant: string, namespacePrefix: string): Promise<string>;
  /** Runs a registered script by name with a raw key list: what the typed methods are built on. */
  run: (name: ScriptName, keys: string[], args: (string | number)[]) => Promise<unknown>;
}

/** The claim script's keys (one product's hash tag) and arguments for a run. */
function claimCall(r: ProductRun, claimsTtlSeconds: number): [string[], (string | number)[]] {
  const args: (string | number)[] = [r.perUserLimit, claimsTtlSeconds];
  for (const e of r.entries) args.push(e.ticket, e.userId);
  const productKeys = [
    keys.stock(r.event, r.productId),
    keys.buyers(r.event, r.productId),
    keys.claims(r.event, r.productId),
  ];
  return [productKeys, args];
}

/** One registration per connection: every module handed the same connection shares it. */
const registered = new WeakMap<RedisClient, ScriptedRedis>();

/** The connection with the scripts registered; registers them on the first call for this connection. */
export function withScripts(redis: RedisClient): ScriptedRedis {
  const known = registered.get(redis);
  if (known !== undefined) return known;
  for (const [name, def] of Object.entries(definitions)) {
    redis.defineCommand(name, { numberOfKeys: def.numberOfKeys, lua: source(def.file) });
  }
  // defineCommand adds methods ioredis cannot type; reach them through one narrow, checked door.
  const commands = redis as unknown as Record<ScriptName, (...a: (string | number)[]) => Promise<unknown>>;
  const run: ScriptedRedis['run'] = (name, keys, args) => commands[name].call(redis, ...keys, ...args);
  const scripted: ScriptedRedis = {
    redis,
    run,
    async claimBatch(r, claimsTtlSeconds) {
      const [productKeys, args] = claimCall(r, claimsTtlSeconds);
      return parseClaimReply(await run('claimBatch', productKeys, args), r.entries.length);
    },
    async claimBatchReplicated(r, claimsTtlSeconds, wait) {
      const [productKeys, args] = claimCall(r, claimsTtlSeconds);
      const pipeline = redis.pipeline() as unknown as Record<
        ScriptName,
        (...a: (string | number)[]) => void
      > & {
        wait(replicas: number, timeoutMs: number): void;
        exec(): Promise<[Error | null, unknown][] | null>;
      };
      pipeline.claimBatch(...productKeys, ...args);
      pipeline.wait(wait.replicas, wait.timeoutMs);
      const replies = (await pipeline.exec()) ?? [];
      const failed = replies.find(([err]) => err);
      if (failed?.[0]) {
        // After a failover the node that answered MOVED still acknowledged the WAIT, and ioredis follows a
        // pipeline's redirection only when every reply is the same error: it would send the retry to the
        // same node again and again. Refresh the slot map so the retry goes to the slot's new master.
        if (redis instanceof Cluster && /^(MOVED|ASK) /.test(failed[0].message)) redis.refreshSlotsCache();
        throw failed[0];
      }
      const reply = parseClaimReply(replies[0]?.[1], r.entries.length);
      return { reply, replicas: Number(replies[1]?.[1] ?? 0) };
    },
    async setStock(event, productId, total) {
      return Number(await run('setStock', [keys.stock(event, productId)], [total]));
    },
    async claimEventName(event, claimant, namespacePrefix) {
      const owner = await run(
        'claimEventName',
        [keys.event(event)],
        [claimant, namespacePrefix, OWNER_FIELD],
      );
      return String(owner);
    },
  };
  registered.set(redis, scripted);
  return scripted;
}
