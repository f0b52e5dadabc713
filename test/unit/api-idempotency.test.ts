import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../workloads/api/errors.js';
import { idempotentTicket, KeyedPurchases, parseIdempotencyKey } from '../../workloads/api/idempotency.js';
import { TICKET_PATTERN } from '../../workloads/shared/names.js';

test('Idempotency-Key: a bare token or an sf-string; empty, long or non-visible-ASCII keys are 400', () => {
  assert.equal(parseIdempotencyKey(undefined), undefined);
  assert.equal(
    parseIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324'),
    '8e03978e-40d5-43e8-bc93-6894a57f9324',
  );
  assert.equal(parseIdempotencyKey('"abc"'), 'abc');
  assert.equal(parseIdempotencyKey('"a\\"b"'), 'a"b');
  assert.equal(parseIdempotencyKey('k'.repeat(255)), 'k'.repeat(255));
  for (const bad of ['', '""', 'k'.repeat(256), 'a b', 'a, b', 'tab\there', 'caf\u00e9', 'new\nline']) {
    assert.throws(
      () => parseIdempotencyKey(bad),
      (err: unknown) => err instanceof ApiError && err.status === 400,
      JSON.stringify(bad),
    );
  }
});

test('keyed tickets: a ULID, the same for the same purchase and key, different for any other part', () => {
  const t = idempotentTicket('sale', 1, 42, 'k1');
  assert.match(t, TICKET_PATTERN);
  assert.ok('01234567'.includes(t[0]!), 'a valid ULID starts with 0-7');
  assert.equal(idempotentTicket('sale', 1, 42, 'k1'), t);
  const others = [
    idempotentTicket('sale', 1, 43, 'k1'),
    idempotentTicket('sale', 2, 42, 'k1'),
    idempotentTicket('sale2', 1, 42, 'k1'),
    idempotentTicket('sale', 1, 42, 'k2'),
    // The separator keeps the parts apart: "sale" + 11 is not "sale1" + 1.
    idempotentTicket('sale1', 1, 42, 'k1'),
  ];
  assert.equal(new Set([t, ...others]).size, others.length + 1);
});

test('keyed purchases: a repeat gets the first attempt; a failed attempt is forgotten; bounded', async () => {
  const keyed = new KeyedPurchases(2);
  const first = Promise.resolve('T1');
  keyed.remember('T1', first);
  assert.equal(keyed.get('T1'), first);
  const failing = Promise.reject(new Error('kafka down'));
  keyed.remember('T2', failing);
  await assert.rejects(failing);
  await new Promise((r) => setImmediate(r));
  assert.equal(keyed.get('T2'), undefined);
  keyed.remember('T3', Promise.resolve('T3'));
  keyed.remember('T4', Promise.resolve('T4'));
  assert.equal(keyed.size, 2);
  assert.equal(keyed.get('T1'), undefined, 'the oldest went first');
});
