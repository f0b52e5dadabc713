import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClaimReply } from '../../workloads/consumer/outcomes.js';

test('claim replies parse into outcomes and replays', () => {
  assert.deepEqual(parseClaimReply([0, 10, 'W', 'RS', 'L'], 3), {
    remaining: 0,
    total: 10,
    results: [
      { outcome: 'W', replay: false },
      { outcome: 'S', replay: true },
      { outcome: 'L', replay: false },
    ],
  });
  assert.throws(() => parseClaimReply([1, 5, 'W'], 2), /expected 2 outcomes/);
  assert.throws(() => parseClaimReply([1, 5, 'X'], 1), /unknown outcome/);
  assert.throws(() => parseClaimReply('nope', 1), /claim script returned/);
});
