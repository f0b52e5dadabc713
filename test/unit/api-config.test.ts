import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, EnvReader } from '../../workloads/shared/config.js';
import { readApiConfig } from '../../workloads/api/config.js';

const SECRET = 'x'.repeat(32);
const base = {
  KAFKA_BROKERS: '127.0.0.1:19092',
  REDIS_URL: 'redis://127.0.0.1:16379',
  AUTH_JWT_SECRET: SECRET,
};

test('config: defaults are real and documented', () => {
  const c = readApiConfig(new EnvReader(base));
  assert.deepEqual(c.kafkaBrokers, ['127.0.0.1:19092']);
  assert.equal(c.httpPort, 8080);
  assert.deepEqual(c.batch, { size: 100, maxFlush: 1000, intervalMs: 5, workers: 8, buffer: 10_000 });
  assert.equal(c.throttleMs, 0);
  assert.equal(c.shutdownGraceMs, 25_000);
  assert.equal(c.lameDuckMs, 2000, 'the drain starts with a lame duck');
  assert.equal(c.producerMode, 'batched');
  assert.equal(c.kafkaIdempotent, false, 'kafkajs idempotence can ack a batch it never stored');
  assert.equal(c.auth.mode, 'jwt');
  assert.equal(c.auth.jwtSecret, SECRET);
  assert.equal(c.auth.clockToleranceSeconds, 5);
  assert.deepEqual(c.http, {
    headersTimeoutMs: 5000,
    requestTimeoutMs: 10_000,
    maxHeaderBytes: 8192,
    maxConnections: 10_000,
  });
});

test('config: jwt (the default) needs a key; a short HS256 secret and two JWKS sources are refused', () => {
  const problems = (env: Record<string, string>): string => {
    try {
      readApiConfig(new EnvReader(env));
    } catch (err) {
      if (err instanceof ConfigError) return err.problems.join('\n');
      throw err;
    }
    return '';
  };
  const noKey = { KAFKA_BROKERS: base.KAFKA_BROKERS, REDIS_URL: base.REDIS_URL };
  assert.match(problems(noKey), /AUTH_MODE=jwt needs a key/);
  assert.match(problems({ ...noKey, AUTH_JWT_SECRET: 'short' }), /at least 32 bytes/);
  assert.match(
    problems({ ...noKey, AUTH_JWKS_FILE: '/k.json', AUTH_JWKS_URL: 'https://idp/jwks' }),
    /not both/,
  );
  assert.match(problems({ ...base, AUTH_MODE: 'maybe' }), /AUTH_MODE must be one of jwt, none/);
  assert.match(
    problems({ ...base, HTTP_HEADERS_TIMEOUT_MS: '9000', HTTP_REQUEST_TIMEOUT_MS: '2000' }),
    /HTTP_HEADERS_TIMEOUT_MS must be <= HTTP_REQUEST_TIMEOUT_MS/,
  );
  assert.equal(problems({ ...noKey, AUTH_MODE: 'none' }), '');
  assert.equal(problems({ ...noKey, AUTH_JWKS_URL: 'https://idp.example/jwks' }), '');
});

test('config: every bad variable is reported at once, by name', () => {
  assert.throws(
    () =>
      readApiConfig(
        new EnvReader({
          REDIS_URL: 'http://x',
          HTTP_PORT: '70000',
          BATCH_SIZE: 'abc',
          PRODUCER_MODE: 'fast',
          KAFKA_IDEMPOTENT: 'yes',
          THROTTLE_MS: '-1',
        }),
      ),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join('\n');
      for (const name of [
        'KAFKA_BROKERS',
        'REDIS_URL',
        'HTTP_PORT',
        'BATCH_SIZE',
        'PRODUCER_MODE',
        'KAFKA_IDEMPOTENT',
        'THROTTLE_MS',
      ]) {
        assert.match(text, new RegExp(name));
      }
      return true;
    },
  );
});

test('config: cross-variable checks (buffer >= size, brokers are host:port, lame duck inside the drain)', () => {
  assert.throws(
    () => readApiConfig(new EnvReader({ ...base, BATCH_SIZE: '100', BATCH_BUFFER: '10' })),
    /BATCH_BUFFER \(10\) must be >= BATCH_SIZE \(100\)/,
  );
  assert.throws(() => readApiConfig(new EnvReader({ ...base, KAFKA_BROKERS: 'kafka' })), /host:port/);
  assert.throws(
    () => readApiConfig(new EnvReader({ ...base, SHUTDOWN_GRACE_MS: '1000', LAME_DUCK_MS: '1000' })),
    /LAME_DUCK_MS \(1000\) must be below SHUTDOWN_GRACE_MS \(1000\)/,
  );
});
