import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LimitGuard, UserThrottle } from '../../workloads/api/throttle.js';

test('throttle: one attempt per user per window, then allowed again', () => {
  const t = new UserThrottle(1000, 100, 0);
  assert.equal(t.acquire(1, 0), 0);
  assert.equal(t.acquire(1, 400), 600);
  assert.equal(t.acquire(2, 400), 0, 'other users are independent');
  assert.equal(t.acquire(1, 999), 1);
  assert.equal(t.acquire(1, 1000), 0);
  assert.ok(t.acquire(1, 1500) > 0);
});

test('throttle: window 0 is off', () => {
  const t = new UserThrottle(0);
  for (let i = 0; i < 5; i++) assert.equal(t.acquire(1), 0);
  assert.equal(t.size(), 0);
});

test("throttle: release gives the slot back (busy or Kafka down is not the buyer's fault)", () => {
  const t = new UserThrottle(1000, 100, 0);
  assert.equal(t.acquire(1, 0), 0);
  t.release(1);
  assert.equal(t.acquire(1, 1), 0);
});

test('throttle: memory is bounded by two windows of users and by maxUsers', () => {
  const t = new UserThrottle(100, 1000, 0);
  for (let now = 0; now < 10_000; now += 10) {
    for (let u = 0; u < 50; u++) t.acquire(now * 100 + u, now);
  }
  assert.ok(t.size() <= 2 * 10 * 50 + 50, `size ${t.size()}`);
  const capped = new UserThrottle(60_000, 100, 0);
  for (let u = 1; u <= 10_000; u++) capped.acquire(u, 1);
  assert.ok(capped.size() <= 200, `size ${capped.size()}`);
});

test('throttle: a mark survives one rotation (no early release at a generation boundary)', () => {
  const t = new UserThrottle(1000, 100, 0);
  assert.equal(t.acquire(1, 999), 0); // set just before the rotation at 1000
  assert.equal(t.acquire(2, 1000), 0); // rotates
  assert.equal(t.acquire(1, 1500), 499);
  assert.equal(t.acquire(1, 1999), 0);
});

test('limit guard: at most `limit` tickets per (event, product, user); release returns one', () => {
  const g = new LimitGuard();
  assert.equal(g.reserve('e', 1, 7, 2), true);
  assert.equal(g.reserve('e', 1, 7, 2), true);
  assert.equal(g.reserve('e', 1, 7, 2), false);
  assert.equal(g.reserve('e', 2, 7, 2), true, 'other product');
  assert.equal(g.reserve('f', 1, 7, 2), true, 'other event');
  g.release('e', 1, 7);
  assert.equal(g.reserve('e', 1, 7, 2), true);
  g.forgetEvent('e');
  assert.equal(g.size(), 1);
});

test('limit guard: bounded, fails open at the bound', () => {
  const g = new LimitGuard(10);
  for (let u = 1; u <= 100; u++) assert.equal(g.reserve('e', 1, u, 1), true);
  assert.ok(g.size() <= 10);
});
