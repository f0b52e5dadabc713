// Chaos, end to end on the cluster: during a small sale the demo deletes a consumer pod and a front door
// pod, kills -9 a consumer container's process on the node, deletes the leader operator pod, restarts the
// kubelet, Redis, the Kafka broker and MariaDB; afterwards every invariant of docs/ARCHITECTURE.md
// (workloads/consumer/invariants.ts) must hold, checked straight from MySQL and Redis.
// Requests answered 503 or cut during the restarts are expected; what must never happen is a 202 that is
// lost, oversold or doubled.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeRun, runDemoProcess } from '../helpers/demo.js';

// The stock outlasts the chaos actions (about 30 s at this rate), so purchases are in flight during them.
const STOCK = 3000;

test(
  'no accepted purchase is lost, oversold or doubled through crashes and restarts',
  { timeout: 300_000 },
  async () => {
    const { result, code, stderr } = await runDemoProcess(
      [
        '--chaos',
        '--products',
        '2',
        '--stock',
        String(STOCK),
        '--buyers',
        '4000',
        '--requests',
        '12000',
        '--rate',
        '300',
        '--drain-timeout',
        '150',
      ],
      290_000,
    );
    assert.equal(code, 0, `demo exit code (stderr tail: ${stderr.slice(-3000)})`);
    const actions = result.chaosActions.map((a) => a.action);
    assert.deepEqual(actions, [
      'kubectl delete pod (a consumer)',
      'kubectl delete pod (a front door)',
      "kill -9 a consumer container's process",
      'delete the leader operator pod',
      'restart the kubelet',
      'restart Redis',
      'restart the Kafka broker',
      'restart MariaDB',
    ]);
    for (const a of result.chaosActions)
      assert.ok(!a.detail.startsWith('FAILED') && !a.detail.startsWith('no '), `${a.action}: ${a.detail}`);
    // The deleted and killed pods came back: more pods were seen than the steady state's (2 operators,
    // 2 front doors, the consumers), and the killed container restarted.
    assert.ok(result.podsStarted >= 7, `pods seen: ${result.podsStarted}`);
    assert.ok(result.podRestarts >= 1, `container restarts: ${result.podRestarts}`);
    assert.ok(result.accepted > 0);
    await judgeRun(result, STOCK);
  },
);
