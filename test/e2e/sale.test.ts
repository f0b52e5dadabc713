// End to end: a small flash sale through the whole system on the local cluster (helm install of the chart:
// operator and front door pods, consumer pods the operator scales, Kafka, Redis, MariaDB), driven by the
// demo's entry with --json, then every invariant of
// docs/ARCHITECTURE.md (workloads/consumer/invariants.ts) checked again straight from MySQL and Redis.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeRun, runDemoProcess } from '../helpers/demo.js';

const STOCK = 50;

test(
  'a small sale sells exactly the stock, once per buyer, and resolves every accepted ticket',
  { timeout: 240_000 },
  async () => {
    const { result, code, stderr } = await runDemoProcess(
      [
        ...[
          '--products',
          '2',
          '--stock',
          String(STOCK),
          '--buyers',
          '500',
          '--requests',
          '2000',
          '--rate',
          '500',
        ],
        ...['--idempotent-percent', '10'],
      ],
      220_000,
    );
    assert.equal(code, 0, `demo exit code (stderr tail: ${stderr.slice(-2000)})`);
    assert.equal(result.offered, 2000);
    assert.ok(result.accepted >= 2 * STOCK, `at least the stock was accepted (${result.accepted})`);
    // The sale sells out: 500 buyers x 2 products want far more than 2 x 50 units.
    for (const p of result.products) {
      assert.equal(p.stock, STOCK);
      assert.equal(p.sold, STOCK, `product ${p.id} sold out`);
      assert.equal(p.orders, STOCK);
    }
    assert.equal(result.wonTickets, 2 * STOCK);
    assert.ok((result.rejectedByReason.sold_out ?? 0) > 0, 'late arrivals after the sell-out are refused');
    assert.equal(result.outcomes['error conn_refused'] ?? 0, 0);
    assert.ok(result.p99Ms > 0 && result.acceptedPerSec > 0);
    assert.notEqual(result.sellOutSeconds, null);
    assert.notEqual(result.drainSeconds, null);
    // Buyers sent signed tokens (no 401), and about 10% of purchases were retried with their key: every
    // retry that got a ticket got the first one, and none won twice.
    assert.equal(result.outcomes['401 unauthorized'] ?? 0, 0);
    assert.ok(result.idempotentRetries >= 100, `idempotent retries: ${result.idempotentRetries}`);
    assert.ok(result.idempotentSameTicket > 0);
    assert.equal(result.idempotentSecondWins, 0);
    // On real pods, from this build's images.
    assert.equal(result.platform, 'kubernetes');
    assert.equal(result.nodeReady, true);
    assert.equal(result.helmRelease, 'seckill-system/seckill');
    assert.ok(
      result.podsStarted >= 5,
      `pods seen: ${result.podsStarted} (2 operators, 2 front doors, consumers)`,
    );
    for (const name of ['operator', 'api', 'consumer'])
      assert.ok(
        result.images.some((i) => i.includes(`/seckill/${name}:`)),
        `a pod ran the ${name} image: ${result.images.join(', ')}`,
      );
    await judgeRun(result, STOCK);
  },
);
