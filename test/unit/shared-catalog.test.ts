import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CatalogError, parseEventSpec } from '../../workloads/shared/catalog.js';

const EVENT = 'spring-sale';
const fields = {
  topic: 'seckill.spring-sale.purchases',
  startMs: '1000',
  endMs: '2000',
  products: JSON.stringify([{ id: 1, stock: 10, perUserLimit: 1 }]),
};

test('an event from the catalog parses, with or without batcher settings', () => {
  const plain = parseEventSpec(EVENT, fields);
  assert.deepEqual(plain, {
    name: EVENT,
    topic: 'seckill.spring-sale.purchases',
    startMs: 1000,
    endMs: 2000,
    products: [{ id: 1, stock: 10, perUserLimit: 1 }],
  });
  assert.equal(plain.batcher, undefined);
  const batcher = { size: 50, intervalMs: 2, workers: 4, buffer: 500 };
  assert.deepEqual(parseEventSpec(EVENT, { ...fields, batcher: JSON.stringify(batcher) }).batcher, batcher);
  // Stock 0 (nothing to sell yet) and a batcher buffer equal to its size are valid.
  const edge = parseEventSpec(EVENT, {
    ...fields,
    products: JSON.stringify([{ id: 2, stock: 0, perUserLimit: 3 }]),
    batcher: JSON.stringify({ size: 5, intervalMs: 1, workers: 1, buffer: 5 }),
  });
  assert.deepEqual(edge.products, [{ id: 2, stock: 0, perUserLimit: 3 }]);
});

test('bad catalog data is refused with a CatalogError that names the event and what is wrong', () => {
  const product = (p: object): Record<string, string> => ({ ...fields, products: JSON.stringify([p]) });
  const noTopic: Record<string, string> = { ...fields };
  delete noTopic.topic;
  const cases: [string, Record<string, string>, string][] = [
    ['a window that ends first', { ...fields, endMs: '500' }, 'bad window startMs=1000 endMs=500'],
    ['a window of no time', { ...fields, endMs: '1000' }, 'bad window startMs=1000 endMs=1000'],
    ['a start that is no number', { ...fields, startMs: 'soon' }, 'bad window startMs=soon endMs=2000'],
    ['products that are no JSON', { ...fields, products: 'nope' }, 'products is not JSON'],
    ['products that are no list', { ...fields, products: '{}' }, 'products is not a list'],
    [
      'product id 0',
      product({ id: 0, stock: 1, perUserLimit: 1 }),
      'bad product {"id":0,"stock":1,"perUserLimit":1}',
    ],
    [
      'a negative stock',
      product({ id: 1, stock: -1, perUserLimit: 1 }),
      'bad product {"id":1,"stock":-1,"perUserLimit":1}',
    ],
    [
      'a limit of 0',
      product({ id: 1, stock: 1, perUserLimit: 0 }),
      'bad product {"id":1,"stock":1,"perUserLimit":0}',
    ],
    ['a topic with a space', { ...fields, topic: 'bad topic' }, 'bad topic bad topic'],
    ['no topic', noTopic, 'bad topic undefined'],
    [
      'a batcher buffer below its size',
      { ...fields, batcher: JSON.stringify({ size: 10, intervalMs: 1, workers: 1, buffer: 5 }) },
      'bad batcher settings {"size":10,"intervalMs":1,"workers":1,"buffer":5}',
    ],
    ['a batcher that is no JSON', { ...fields, batcher: '{' }, 'batcher is not JSON'],
  ];
  for (const [what, f, problem] of cases) {
    assert.throws(
      () => parseEventSpec(EVENT, f),
      { name: 'CatalogError', message: `event ${EVENT}: ${problem}` },
      what,
    );
    assert.throws(() => parseEventSpec(EVENT, f), CatalogError, what);
  }
});
