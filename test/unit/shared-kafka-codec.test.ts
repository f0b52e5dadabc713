import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBatch, DecodeError, encodeBatch } from '../../workloads/shared/kafka/codec.js';

const ticket = '01JD8X5Q9V3W4Y6Z7A8B9C0D1E';

test('a batch survives encode and decode', () => {
  const batch = {
    event: 'spring-sale',
    productId: 7,
    entries: [{ ticket, userId: 42, acceptedAt: 1_700_000_000_000 }],
  };
  assert.deepEqual(decodeBatch(Buffer.from('7'), encodeBatch(batch)), batch);
});

test('poison messages are refused with a reason', () => {
  const wire = (o: unknown) => Buffer.from(JSON.stringify(o));
  const good = { v: 1, e: 'sale', p: 7, n: [[ticket, 42, 1]] };
  const cases: [Buffer | null, Buffer | null, RegExp][] = [
    [null, null, /empty value/],
    [null, Buffer.from('not json'), /not JSON/],
    [null, wire(null), /not an object/],
    [null, wire({ ...good, v: 2 }), /unknown schema version 2/],
    [null, wire({ ...good, e: 'Bad_Name' }), /bad event name/],
    [null, wire({ ...good, p: 0 }), /bad product id/],
    [Buffer.from('8'), wire(good), /key does not match/],
    [null, wire({ ...good, n: [] }), /no entries/],
    [null, wire({ ...good, n: [[ticket, 42]] }), /entry 0 is not a tuple/],
    [null, wire({ ...good, n: [['short', 42, 1]] }), /entry 0: bad ticket/],
    [null, wire({ ...good, n: [[ticket, -1, 1]] }), /entry 0: bad user id/],
    [null, wire({ ...good, n: [[ticket, 42, 'x']] }), /entry 0: bad time/],
  ];
  for (const [key, value, reason] of cases) {
    assert.throws(
      () => decodeBatch(key, value),
      (err: unknown) => err instanceof DecodeError && reason.test(err.message),
    );
  }
});
