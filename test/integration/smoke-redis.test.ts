import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { withScripts } from '../../workloads/shared/redis/scripts.js';
import { stackEnv, uniqueName } from '../helpers/stack-env.js';

const redis = createRedis(stackEnv.redisUrl(), 'smoke');
after(() => redis.quit());

test('redis: a Lua script file loads once and runs by EVALSHA', async () => {
  const { run } = withScripts(redis);
  const key = `smoke:{${uniqueName('s')}}:stock`;
  assert.equal(await run('setStock', [key], [5]), 0);
  assert.deepEqual(await redis.hgetall(key), { total: '5', seckill: '0' });
  // The script is now cached server-side under its SHA: EVALSHA works directly.
  const sha = (await redis.script('LOAD', "return redis.call('HGET', KEYS[1], 'total')")) as string;
  assert.equal(await redis.evalsha(sha, 1, key), '5');
  assert.equal(await run('seedCheckAndUpdate', [key], []), 1);
  assert.equal(await redis.hget(key, 'seckill'), '1');
});

test('redis: AOF persistence is on (restarts keep claims)', async () => {
  const [, value] = (await redis.config('GET', 'appendonly')) as [string, string];
  assert.equal(value, 'yes');
});
