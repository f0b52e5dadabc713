import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ulid } from 'ulid';
import {
  EVENT_NAME_PATTERN,
  MAX_PRODUCT_ID,
  parseRunKey,
  runKey,
  TICKET_PATTERN,
  TOPIC_NAME_PATTERN,
} from '../../workloads/shared/names.js';

const eventName = fc.stringMatching(EVENT_NAME_PATTERN);
const productId = fc.integer({ min: 1, max: MAX_PRODUCT_ID });

test('run key: parseRunKey(runKey(e, p)) gives back e and p for every event name and product id', () => {
  fc.assert(
    fc.property(eventName, productId, (event, id) => {
      assert.deepEqual(parseRunKey(runKey(event, id)), { event, productId: id });
    }),
  );
});

test('run key: distinct (event, product) pairs never share a key', () => {
  fc.assert(
    fc.property(eventName, productId, eventName, productId, (e1, p1, e2, p2) => {
      fc.pre(e1 !== e2 || p1 !== p2);
      assert.notEqual(runKey(e1, p1), runKey(e2, p2));
    }),
  );
});

test('run key: the documented shape, and malformed keys parse to undefined', () => {
  assert.equal(runKey('sale', 7), 'sale/7');
  for (const bad of ['', 'sale', '/7', 'sale/', 'sale/x', 'sale/0', 'sale/-1', 'sale/1.5', 'sale/1e400']) {
    assert.equal(parseRunKey(bad), undefined, bad);
  }
});

test('event names are DNS labels, so a run key has exactly one "/"', () => {
  for (const good of ['a', 'sale', 'black-friday-2030', 'x'.repeat(63)])
    assert.match(good, EVENT_NAME_PATTERN);
  for (const bad of ['', 'Sale', '-sale', 'sale-', 'a/b', 'a.b', 'x'.repeat(64)]) {
    assert.doesNotMatch(bad, EVENT_NAME_PATTERN, bad);
  }
});

test('tickets are ULIDs; topics follow Kafka rules', () => {
  assert.match(ulid(), TICKET_PATTERN);
  for (const bad of ['', ulid().toLowerCase(), `${ulid()}0`, 'I'.repeat(26), 'U'.repeat(26)]) {
    assert.doesNotMatch(bad, TICKET_PATTERN, bad);
  }
  assert.match('seckill.sale.purchases', TOPIC_NAME_PATTERN);
  assert.match('t'.repeat(249), TOPIC_NAME_PATTERN);
  for (const bad of ['', 'a b', 'a/b', 't'.repeat(250)]) assert.doesNotMatch(bad, TOPIC_NAME_PATTERN, bad);
});
