// The local Redis: the project's own Lua scripts (workloads/shared/redis/lua/*.lua) load through the
// project's loader (withScripts) and run, by EVALSHA once loaded; AOF persistence is on.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { ulid } from 'ulid';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { withScripts } from '../../workloads/shared/redis/scripts.js';
import { repoFile } from '../../tools/lib/paths.js';
import { stackEnv, uniqueName } from '../../tools/lib/stack-env.js';

const redis = createRedis(stackEnv.redisUrl(), 'smoke');
after(() => redis.quit());

const LUA_DIR = repoFile('workloads/shared/redis/lua/');
const sha1 = (file: string): string =>
  createHash('sha1')
    .update(readFileSync(LUA_DIR + file, 'utf8'))
    .digest('hex');

test("redis: the project's Lua script files load through withScripts and run by EVALSHA", async () => {
  const { run } = withScripts(redis);
  const tag = `{${uniqueName('s')}}`;
  const [stock, buyers, claims] = ['stock', 'buyers', 'claims'].map((k) => `smoke:${tag}:${k}`) as [
    string,
    string,
    string,
  ];
  // set-stock.lua: creates the stock hash, sold 0.
  assert.equal(await run('setStock', [stock], [3]), 0);
  assert.deepEqual(await redis.hgetall(stock), { total: '3', seckill: '0' });
  // claim-batch.lua: buyer 10 twice (limit 1), then 11 and 12 win, 13 finds it sold out.
  const args = [10, 10, 11, 12, 13].flatMap((user) => [ulid(), user]);
  assert.deepEqual(await run('claimBatch', [stock, buyers, claims], [1, 3600, ...args]), [
    0,
    3,
    'W',
    'L',
    'W',
    'W',
    'S',
  ]);
  assert.equal(await redis.hget(stock, 'seckill'), '3');
  // claim-event-name.lua: the first claimant owns the name; another namespace is refused; a new uid of
  // the owner's namespace (a deleted predecessor) adopts it.
  const event = `smoke:${tag}:event`;
  const claim = (owner: string) =>
    run('claimEventName', [event], [owner, `${owner.split('/')[0]}/`, 'owner']);
  assert.equal(await claim('shop/u1'), 'shop/u1');
  assert.equal(await claim('other/u9'), 'shop/u1');
  assert.equal(await claim('shop/u2'), 'shop/u2');
  assert.equal(await redis.hget(event, 'owner'), 'shop/u2');

  // Every script file is cached server-side under the SHA1 of its text, so EVALSHA runs it directly:
  // set-stock.lua refuses a total below the units sold.
  const files = readdirSync(LUA_DIR)
    .filter((f) => f.endsWith('.lua'))
    .sort();
  assert.deepEqual(files, ['claim-batch.lua', 'claim-event-name.lua', 'set-stock.lua']);
  assert.deepEqual(await redis.script('EXISTS', ...files.map(sha1)), [1, 1, 1]);
  await assert.rejects(redis.evalsha(sha1('set-stock.lua'), 1, stock, 2), /BELOWSOLD/);
  await redis.del(stock, buyers, claims, event);
});

test('redis: AOF persistence is on (restarts keep claims)', async () => {
  const [, value] = (await redis.config('GET', 'appendonly')) as [string, string];
  assert.equal(value, 'yes');
});
