import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../workloads/api/errors.js';
import { parsePurchaseBody, parseTicket, purchaseOf } from '../../workloads/api/validation.js';

const bad: [string, string, RegExp][] = [
  ['empty body', '', /empty/],
  ['malformed JSON', '{"event":', /not valid JSON/],
  ['JSON null', 'null', /JSON object/],
  ['JSON array', '[1,2]', /JSON object/],
  ['JSON string', '"x"', /JSON object/],
  ['JSON number', '42', /JSON object/],
  ['missing event', '{"productId":1,"userId":1}', /"event" is required/],
  ['event not a string', '{"event":5,"productId":1,"userId":1}', /"event" must be a string/],
  ['empty event', '{"event":"","productId":1,"userId":1}', /"event" must have/],
  ['huge event', `{"event":"${'a'.repeat(300)}","productId":1,"userId":1}`, /"event" must have/],
  ['missing productId', '{"event":"e","userId":1}', /"productId" is required/],
  [
    'productId string',
    '{"event":"e","productId":"1","userId":1}',
    /"productId" must be a number, got string/,
  ],
  ['productId null', '{"event":"e","productId":null,"userId":1}', /"productId" must be a number, got object/],
  ['productId bool', '{"event":"e","productId":true,"userId":1}', /must be a number, got boolean/],
  [
    'productId float',
    '{"event":"e","productId":1.5,"userId":1}',
    /"productId" must be an integer in \[1, 2147483647\]/,
  ],
  ['productId zero', '{"event":"e","productId":0,"userId":1}', /"productId" must be an integer/],
  ['productId negative', '{"event":"e","productId":-3,"userId":1}', /"productId" must be an integer/],
  ['productId 2^31', '{"event":"e","productId":2147483648,"userId":1}', /"productId" must be an integer/],
  ['productId 1e400', '{"event":"e","productId":1e400,"userId":1}', /"productId" must be an integer/],
  ['userId object', '{"event":"e","productId":1,"userId":{}}', /"userId" must be a number/],
  [
    'userId negative',
    '{"event":"e","productId":1,"userId":-1}',
    /"userId" must be an integer in \[1, 9007199254740991\]/,
  ],
  ['userId 2^53', '{"event":"e","productId":1,"userId":9007199254740992}', /"userId" must be an integer/],
];

for (const [name, body, message] of bad) {
  test(`purchase body: ${name} -> 400 invalid_request`, () => {
    assert.throws(
      () => parsePurchaseBody(body),
      (err: unknown) =>
        err instanceof ApiError &&
        err.status === 400 &&
        err.code === 'invalid_request' &&
        message.test(err.message),
    );
  });
}

test('purchase body: valid bodies parse, extra fields are ignored, max ids are accepted', () => {
  assert.deepEqual(parsePurchaseBody('{"event":"sale","productId":7,"userId":42}'), {
    event: 'sale',
    productId: 7,
    userId: 42,
  });
  assert.deepEqual(
    parsePurchaseBody(`{"event":"s","productId":${2 ** 31 - 1},"userId":${Number.MAX_SAFE_INTEGER},"x":1}`),
    { event: 's', productId: 2 ** 31 - 1, userId: Number.MAX_SAFE_INTEGER },
  );
});

test('purchase body: userId is optional; the buyer of the token is the buyer, another userId is 403', () => {
  assert.deepEqual(parsePurchaseBody('{"event":"e","productId":1}'), { event: 'e', productId: 1 });
  assert.deepEqual(purchaseOf({ event: 'e', productId: 1 }, 42), { event: 'e', productId: 1, userId: 42 });
  assert.deepEqual(purchaseOf({ event: 'e', productId: 1, userId: 42 }, 42), {
    event: 'e',
    productId: 1,
    userId: 42,
  });
  assert.throws(
    () => purchaseOf({ event: 'e', productId: 1, userId: 43 }, 42),
    (err: unknown) => err instanceof ApiError && err.status === 403 && err.code === 'forbidden',
  );
  // AUTH_MODE=none: no verified buyer, the body must name one.
  assert.deepEqual(purchaseOf({ event: 'e', productId: 1, userId: 7 }, undefined), {
    event: 'e',
    productId: 1,
    userId: 7,
  });
  assert.throws(
    () => purchaseOf({ event: 'e', productId: 1 }, undefined),
    (err: unknown) =>
      err instanceof ApiError && err.status === 400 && /"userId" is required/.test(err.message),
  );
});

test('ticket: ULIDs pass, anything else is 400', () => {
  assert.equal(parseTicket('01ARZ3NDEKTSV4RRFFQ69G5FAV'), '01ARZ3NDEKTSV4RRFFQ69G5FAV');
  for (const raw of [
    '',
    'x',
    '01ARZ3NDEKTSV4RRFFQ69G5FA',
    '01ARZ3NDEKTSV4RRFFQ69G5FAVV',
    '01arz3ndektsv4rrffq69g5fav',
    '01ARZ3NDEKTSV4RRFFQ69G5FAI',
    '../../etc/passwd',
  ]) {
    assert.throws(
      () => parseTicket(raw),
      (err: unknown) => err instanceof ApiError && err.status === 400,
      raw,
    );
  }
});
