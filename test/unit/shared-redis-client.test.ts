import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, EnvReader } from '../../workloads/shared/config.js';
import { parseClusterUrl } from '../../workloads/shared/redis/client.js';

test('redis+cluster:// names the seed nodes and the credentials; other URLs are a single Redis', () => {
  assert.deepEqual(parseClusterUrl('redis+cluster://127.0.0.1:17000,127.0.0.1:17001'), {
    nodes: [
      { host: '127.0.0.1', port: 17000 },
      { host: '127.0.0.1', port: 17001 },
    ],
  });
  assert.deepEqual(parseClusterUrl('redis+cluster://app:s%40cret@r1:6379,r2:6379'), {
    nodes: [
      { host: 'r1', port: 6379 },
      { host: 'r2', port: 6379 },
    ],
    username: 'app',
    password: 's@cret',
  });
  assert.equal(parseClusterUrl('redis://127.0.0.1:16379'), undefined);
  assert.throws(() => parseClusterUrl('redis+cluster://r1,r2:6379'), /"r1" is not host:port/);
});

test('REDIS_URL accepts redis://, rediss:// and redis+cluster://, and names what is wrong otherwise', () => {
  const read = (value: string): string[] => {
    const env = new EnvReader({ REDIS_URL: value });
    env.redisUrl('REDIS_URL');
    try {
      env.done();
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems;
    }
  };
  assert.deepEqual(read('redis://127.0.0.1:16379'), []);
  assert.deepEqual(read('rediss://cache.example:6380'), []);
  assert.deepEqual(read('redis+cluster://127.0.0.1:17000,127.0.0.1:17001'), []);
  assert.match(read('http://x')[0] ?? '', /REDIS_URL must use redis: or rediss:/);
  assert.match(read('redis+cluster://a:1,b')[0] ?? '', /REDIS_URL: .*"b" is not host:port/);
});
