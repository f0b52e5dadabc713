import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPurchase, type CachedEvent } from '../../workloads/api/catalog-cache.js';
import { parseRunKey } from '../../workloads/shared/names.js';

const event = (soldOut = false): CachedEvent => ({
  spec: {
    name: 'sale',
    topic: 'seckill.sale.purchases',
    startMs: 1000,
    endMs: 2000,
    products: [{ id: 1, stock: 5, perUserLimit: 1 }],
  },
  products: new Map([[1, { spec: { id: 1, stock: 5, perUserLimit: 1 }, soldOut, soldOutAnnouncedIn: 0 }]]),
});

test('catalog check: unknown event and product', () => {
  assert.deepEqual(checkPurchase(undefined, 1, 1500), { ok: false, reason: 'unknown_event' });
  assert.deepEqual(checkPurchase(event(), 2, 1500), { ok: false, reason: 'unknown_product' });
});

test('catalog check: the window is [startMs, endMs)', () => {
  assert.deepEqual(checkPurchase(event(), 1, 999), { ok: false, reason: 'not_started' });
  assert.equal(checkPurchase(event(), 1, 1000).ok, true);
  assert.equal(checkPurchase(event(), 1, 1999).ok, true);
  assert.deepEqual(checkPurchase(event(), 1, 2000), { ok: false, reason: 'ended' });
});

test('catalog check: sold out within the window; outside it the window answer wins', () => {
  assert.deepEqual(checkPurchase(event(true), 1, 1500), { ok: false, reason: 'sold_out' });
  assert.deepEqual(checkPurchase(event(true), 1, 500), { ok: false, reason: 'not_started' });
  assert.deepEqual(checkPurchase(event(true), 1, 2500), { ok: false, reason: 'ended' });
});

test('sold-out announcements: the run key "<event>/<productId>"', () => {
  assert.deepEqual(parseRunKey('sale/7'), { event: 'sale', productId: 7 });
  assert.deepEqual(parseRunKey('a-b.c/2147483647'), { event: 'a-b.c', productId: 2147483647 });
  for (const bad of ['', 'sale', '/7', 'sale/', 'sale/x', 'sale/0', 'sale/-1', 'sale/1.5']) {
    assert.equal(parseRunKey(bad), undefined, bad);
  }
});
