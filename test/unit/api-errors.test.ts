import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatcherClosedError, BatcherFullError } from '../../workloads/api/batcher.js';
import { ApiError, ERRORS, OUTCOMES, type ErrorCode } from '../../workloads/api/errors.js';
import { submitFailure, ticketStatus } from '../../workloads/api/purchase.js';

test('error codes map to the statuses of the HTTP contract', () => {
  const expected: Record<ErrorCode, number> = {
    invalid_request: 400,
    unauthorized: 401,
    forbidden: 403,
    request_timeout: 408,
    payload_too_large: 413,
    headers_too_large: 431,
    unknown_event: 404,
    unknown_ticket: 404,
    unknown_product: 404,
    not_found: 404,
    method_not_allowed: 405,
    sold_out: 409,
    limit: 409,
    not_started: 425,
    ended: 410,
    throttled: 429,
    busy: 429,
    unavailable: 503,
    internal: 500,
  };
  for (const [code, status] of Object.entries(expected) as [ErrorCode, number][]) {
    const err = new ApiError(code, 'm');
    assert.equal(err.status, status, code);
    assert.ok(OUTCOMES.includes(ERRORS[code].outcome), code);
  }
});

test('error body is {"error":{"code","message"}}', () => {
  assert.deepEqual(JSON.parse(new ApiError('sold_out', 'gone').body()), {
    error: { code: 'sold_out', message: 'gone' },
  });
});

test('a 401 carries the Bearer challenge of RFC 6750, its description without quotes', () => {
  const headers = new ApiError('unauthorized', 'the "exp" claim is gone').headers();
  assert.equal(
    headers['www-authenticate'],
    `Bearer error="invalid_token", error_description="the 'exp' claim is gone"`,
  );
  assert.equal(new ApiError('forbidden', 'm').headers()['www-authenticate'], undefined);
});

test('Retry-After is whole seconds, at least 1, only when there is a hint', () => {
  assert.equal(new ApiError('busy', 'm', 5).retryAfterSeconds(), 1);
  assert.equal(new ApiError('busy', 'm', 1001).retryAfterSeconds(), 2);
  assert.equal(new ApiError('busy', 'm').retryAfterSeconds(), undefined);
});

test('sink failures: full -> 429 busy with its hint, closed -> 503, anything else (Kafka) -> 503', () => {
  const full = submitFailure(new BatcherFullError(3, 10, 2500));
  assert.equal(full.status, 429);
  assert.equal(full.code, 'busy');
  assert.equal(full.retryAfterSeconds(), 3);
  assert.equal(submitFailure(new BatcherClosedError()).status, 503);
  const kafka = submitFailure(new Error('KafkaJSNumberOfRetriesExceeded'), '01JD8X5Q9V3W4Y6Z7A8B9C0D1E');
  assert.equal(kafka.status, 503);
  assert.deepEqual(JSON.parse(kafka.body()), {
    error: { code: 'unavailable', message: kafka.message, ticket: '01JD8X5Q9V3W4Y6Z7A8B9C0D1E' },
  });
  const closed = JSON.parse(submitFailure(new BatcherClosedError(), 'T').body()) as {
    error: { ticket?: string };
  };
  assert.equal(closed.error.ticket, undefined, 'a refused purchase never reached Kafka: no ticket');
  assert.equal(kafka.code, 'unavailable');
  assert.equal(kafka.outcome, 'unavailable');
});

test('ticket results: W won, S lost sold_out, L lost limit, nothing pending', () => {
  assert.deepEqual(ticketStatus('T', 'W'), { ticket: 'T', status: 'won' });
  assert.deepEqual(ticketStatus('T', 'S'), { ticket: 'T', status: 'lost', reason: 'sold_out' });
  assert.deepEqual(ticketStatus('T', 'L'), { ticket: 'T', status: 'lost', reason: 'limit' });
  assert.deepEqual(ticketStatus('T', null), { ticket: 'T', status: 'pending' });
});
