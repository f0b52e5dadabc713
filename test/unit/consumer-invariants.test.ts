import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  judgeProducts,
  judgeTickets,
  NO_TICKETS,
  parseTickets,
  verdict,
  verdictText,
  type ProductLedger,
} from '../../workloads/consumer/invariants.js';

const ledger = (over: Partial<ProductLedger> = {}): ProductLedger => ({
  id: 1,
  total: 10,
  redisSold: 10,
  mysqlSold: 10,
  orders: 10,
  duplicateTickets: 0,
  buyersOverLimit: 0,
  ...over,
});

test('a sold-out product whose three counts agree violates nothing', () => {
  const v = judgeProducts([ledger(), ledger({ id: 2, total: 5, redisSold: 3, mysqlSold: 3, orders: 3 })]);
  assert.deepEqual(v, {
    products: [
      { id: 1, stock: 10, sold: 10, redisSold: 10, orders: 10 },
      { id: 2, stock: 5, sold: 3, redisSold: 3, orders: 3 },
    ],
    oversold: 0,
    duplicateOrders: 0,
    buyersOverLimit: 0,
    violations: [],
  });
});

test('oversell counts the largest excess of the three counts over the total, per product', () => {
  const v = judgeProducts([
    ledger({ redisSold: 12, mysqlSold: 11, orders: 11 }),
    ledger({ id: 2, total: 4, redisSold: 5, mysqlSold: 5, orders: 5 }),
  ]);
  assert.equal(v.oversold, 3);
  assert.deepEqual(v.violations, [
    'product 1: oversold by 2 (total 10)',
    'product 1: MySQL sold 11, orders 11, Redis seckill 12 differ',
    'product 2: oversold by 1 (total 4)',
  ]);
});

test('counts that differ, duplicate tickets and buyers over the limit are violations', () => {
  const v = judgeProducts([
    ledger({ redisSold: 9, duplicateTickets: 2, buyersOverLimit: 1 }),
    ledger({ id: 2, mysqlSold: 8, duplicateTickets: 2, buyersOverLimit: 3 }),
  ]);
  assert.equal(v.duplicateOrders, 2, 'event-wide: counted once, not per product');
  assert.equal(v.buyersOverLimit, 4, 'per product: summed');
  assert.deepEqual(v.violations, [
    'product 1: MySQL sold 10, orders 10, Redis seckill 9 differ',
    'product 2: MySQL sold 8, orders 10, Redis seckill 10 differ',
    '2 ticket(s) with more than one order',
    '4 buyer(s) over the per-user limit',
  ]);
});

test('tickets: won with one order, lost without, every order a win: nothing violated', () => {
  const results = new Map([
    ['t1', 'W'],
    ['t2', 'S'],
    ['t3', 'L'],
  ]);
  const orders = new Map([
    ['t1', 1],
    ['t9', 1], // an order whose 202 never reached the client: fine, it is a win
  ]);
  const orderResults = new Map([
    ['t1', 'W'],
    ['t9', 'W'],
  ]);
  assert.deepEqual(judgeTickets(['t1', 't2', 't3'], results, orders, orderResults), {
    unresolvedTickets: 0,
    wonTickets: 1,
    lostTickets: 2,
    wonWithoutOrder: 0,
    lostWithOrder: 0,
    ordersWithoutWin: 0,
    violations: [],
  });
});

test('tickets: unresolved, won without exactly one order, lost with one, orders not won', () => {
  const results = new Map<string, string | null>([
    ['w0', 'W'],
    ['w2', 'W'],
    ['lost', 'S'],
    ['pending', null],
  ]);
  const orders = new Map([
    ['w2', 2],
    ['lost', 1],
  ]);
  const orderResults = new Map<string, string | null>([
    ['w2', 'W'],
    ['lost', 'S'],
  ]);
  const v = judgeTickets(['w0', 'w2', 'lost', 'pending', 'unknown'], results, orders, orderResults);
  assert.deepEqual(
    [
      v.unresolvedTickets,
      v.wonTickets,
      v.lostTickets,
      v.wonWithoutOrder,
      v.lostWithOrder,
      v.ordersWithoutWin,
    ],
    [2, 2, 1, 2, 1, 1],
  );
  assert.deepEqual(v.violations, [
    '2 accepted ticket(s) never resolved',
    '2 won ticket(s) without exactly one order',
    '1 lost ticket(s) with an order',
    '1 order(s) whose ticket is not recorded as won',
  ]);
});

test('the verdict joins both halves, ok only without violations, and reads as one line or a list', () => {
  const good = verdict(judgeProducts([ledger()]), NO_TICKETS);
  assert.equal(good.ok, true);
  assert.deepEqual(Object.keys(good), [
    'products',
    'oversold',
    'duplicateOrders',
    'buyersOverLimit',
    'unresolvedTickets',
    'wonTickets',
    'lostTickets',
    'wonWithoutOrder',
    'lostWithOrder',
    'ordersWithoutWin',
    'violations',
    'ok',
  ]);
  assert.equal(verdictText(good), 'INVARIANTS: all hold');
  const bad = verdict(
    judgeProducts([ledger({ orders: 11 })]),
    judgeTickets(['t'], new Map(), new Map(), new Map()),
  );
  assert.equal(bad.ok, false);
  assert.equal(
    verdictText(bad),
    'INVARIANTS VIOLATED:\n' +
      '  - product 1: oversold by 1 (total 10)\n' +
      '  - product 1: MySQL sold 10, orders 11, Redis seckill 10 differ\n' +
      '  - 1 accepted ticket(s) never resolved',
  );
  assert.deepEqual(NO_TICKETS.violations, [], 'the shared empty half is never written to');
});

test('a tickets file: one a line, bare or as the demo writes them, blank lines skipped', () => {
  const text = '{"ticket":"01A","userId":1}\n\n  01B  \n{"ticket":"01C"}\n';
  assert.deepEqual(parseTickets(text), ['01A', '01B', '01C']);
  assert.deepEqual(parseTickets(''), []);
  assert.throws(() => parseTickets('{"id":1}'), /line 1: no "ticket" string/);
});
