import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  decodeClaimCode,
  decodeOutcome,
  decodeResult,
  encodeResult,
  encodeOutcome,
  OUTCOMES,
  parseClaimReply,
} from '../../workloads/shared/outcomes.js';
import { repoFile } from '../../tools/lib/paths.js';

test('outcome codes: the stored letters, and decode(encode(o)) = o', () => {
  assert.deepEqual(
    OUTCOMES.map((o) => encodeOutcome(o)),
    ['W', 'S', 'L'],
  );
  for (const outcome of OUTCOMES) assert.equal(decodeOutcome(encodeOutcome(outcome)), outcome);
});

test('outcome codes: anything but a stored letter decodes to undefined (a pending ticket)', () => {
  for (const value of [null, undefined, '', 'w', 'X', 'RW', 'WW', 1]) {
    assert.equal(decodeOutcome(value), undefined, String(value));
  }
});

test('claim codes: a letter is a first claim, R + a letter a replay of it', () => {
  for (const outcome of OUTCOMES) {
    const code = encodeOutcome(outcome);
    assert.deepEqual(decodeClaimCode(code), { outcome, replay: false });
    assert.deepEqual(decodeClaimCode(`R${code}`), { outcome, replay: true });
  }
  for (const bad of ['', 'R', 'RR', 'RRW', 'XW', 'rW', 'w', 0, null]) {
    assert.equal(decodeClaimCode(bad), undefined, String(bad));
  }
});

test('the claim script writes exactly these codes (it keeps its own Lua copy of them)', () => {
  const lua = readFileSync(repoFile('workloads/shared/redis/lua/claim-batch.lua'), 'utf8');
  const body = lua
    .split('\n')
    .filter((line) => !line.startsWith('--'))
    .join('\n');
  const written = [...body.matchAll(/'([A-Z]{1,2})'/g)].map((m) => m[1]).sort();
  assert.deepEqual([...new Set(written)], ['L', 'R', 'S', 'W']);
  assert.match(body, /'R' \.\. first/, 'a replay answers R + the first code');
  assert.match(lua, /workloads\/shared\/outcomes\.ts/, 'the script names the TypeScript module');
});

test('claim replies parse into outcomes and replays', () => {
  assert.deepEqual(parseClaimReply([0, 10, 'W', 'RS', 'L'], 3), {
    remaining: 0,
    total: 10,
    results: [
      { outcome: 'won', replay: false },
      { outcome: 'sold_out', replay: true },
      { outcome: 'limit', replay: false },
    ],
  });
  assert.throws(() => parseClaimReply([1, 5, 'W'], 2), /expected 2 outcomes/);
  assert.throws(() => parseClaimReply([1, 5, 'X'], 1), /unknown outcome/);
  assert.throws(() => parseClaimReply('nope', 1), /claim script returned/);
});

test('a ticket result records its owner; a bare code (written before owners) has none; garbage is nothing', () => {
  assert.equal(encodeResult('won', 42), 'W:42');
  assert.deepEqual(decodeResult('W:42'), { outcome: 'won', owner: 42 });
  assert.deepEqual(decodeResult('L:7'), { outcome: 'limit', owner: 7 });
  assert.deepEqual(decodeResult('S'), { outcome: 'sold_out' });
  for (const bad of [null, undefined, '', 'X:1', 'W:', 'W:0', 'W:-1', 'W:abc', 'W:1.5', 42]) {
    assert.equal(decodeResult(bad), undefined, String(bad));
  }
});
