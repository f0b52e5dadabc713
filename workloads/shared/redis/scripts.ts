// Lua scripts live as .lua files next to this module and are registered once per connection with
// ioredis' defineCommand, which sends EVALSHA and falls back to EVAL on NOSCRIPT (BullMQ does the same).
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

const luaDir = new URL('./lua/', import.meta.url);
const source = (file: string): string => readFileSync(new URL(file, luaDir), 'utf8');

/** Each script: its file and how many of its arguments are keys. */
const definitions = {
  claimBatch: { file: 'claim-batch.lua', numberOfKeys: 3 },
  setStock: { file: 'set-stock.lua', numberOfKeys: 1 },
} as const;

type ScriptName = keyof typeof definitions;

/** A Redis connection with our scripts registered as commands. */
export interface ScriptedRedis {
  redis: Redis;
  /** Runs a registered script; the reply shape is the script's documented return. */
  run: (name: ScriptName, keys: string[], args: (string | number)[]) => Promise<unknown>;
}

export function withScripts(redis: Redis): ScriptedRedis {
  for (const [name, def] of Object.entries(definitions)) {
    redis.defineCommand(name, { numberOfKeys: def.numberOfKeys, lua: source(def.file) });
  }
  // defineCommand adds methods ioredis cannot type; reach them through one narrow, checked door.
  const commands = redis as unknown as Record<ScriptName, (...a: (string | number)[]) => Promise<unknown>>;
  return {
    redis,
    run: (name, keys, args) => commands[name].call(redis, ...keys, ...args),
  };
}
