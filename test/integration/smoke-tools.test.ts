import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const run = (cmd: string, args: string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: 'pipe' });

test('helm reports its version', () => {
  assert.match(run('helm', ['version', '--short']), /^v3\.\d+\.\d+/);
});

test('kubectl reports client and server versions of the same minor', () => {
  const out = JSON.parse(run('kubectl', ['version', '-o', 'json'])) as {
    clientVersion: { minor: string };
    serverVersion: { minor: string };
  };
  assert.equal(out.clientVersion.minor.replace('+', ''), out.serverVersion.minor.replace('+', ''));
});

test('promtool checks a rules file (and rejects a broken one)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'promtool-'));
  const good = join(dir, 'good.yaml');
  writeFileSync(good, 'groups:\n- name: g\n  rules:\n  - alert: Up\n    expr: up == 0\n    for: 1m\n');
  assert.match(run('promtool', ['check', 'rules', good]), /SUCCESS/);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'groups:\n- name: g\n  rules:\n  - alert: Broken\n    expr: up ==\n');
  assert.throws(() => run('promtool', ['check', 'rules', bad]));
});
