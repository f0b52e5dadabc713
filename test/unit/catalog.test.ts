import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CatalogError, parseEventSpec } from '../../workloads/shared/catalog.js';

const fields = {
  topic: 'seckill.sale.purchases',
  startMs: '1000',
  endMs: '2000',
  products: JSON.stringify([{ id: 1, stock: 10, perUserLimit: 1 }]),
};

test('an event from the catalog parses, with or without batcher settings', () => {
  const plain = parseEventSpec('sale', fields);
  assert.equal(plain.batcher, undefined);
  assert.deepEqual(plain.products, [{ id: 1, stock: 10, perUserLimit: 1 }]);
  const batcher = { size: 50, intervalMs: 2, workers: 4, buffer: 500 };
  assert.deepEqual(parseEventSpec('sale', { ...fields, batcher: JSON.stringify(batcher) }).batcher, batcher);
});

test('bad catalog data is refused with the event named', () => {
  const bad: Record<string, string>[] = [
    { ...fields, endMs: '500' },
    { ...fields, products: 'nope' },
    { ...fields, products: JSON.stringify([{ id: 0, stock: 1, perUserLimit: 1 }]) },
    { ...fields, topic: 'bad topic' },
    { ...fields, batcher: JSON.stringify({ size: 10, intervalMs: 1, workers: 1, buffer: 5 }) },
    { ...fields, batcher: '{' },
  ];
  for (const f of bad)
    assert.throws(
      () => parseEventSpec('sale', f),
      (e: unknown) => e instanceof CatalogError && /sale/.test(e.message),
    );
});
