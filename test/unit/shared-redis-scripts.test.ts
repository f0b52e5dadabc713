// The Lua scripts' files, as workloads/shared/redis/scripts.ts expects them: every script in its own .lua
// file whose header documents the KEYS and ARGV it reads and what it returns, and no Lua inline in
// TypeScript. (The scripts themselves run against a real Redis in the integration suite.)
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { repoFile } from '../../tools/lib/paths.js';

const luaDir = repoFile('workloads/shared/redis/lua/');
const scripts = readdirSync(luaDir).filter((f) => f.endsWith('.lua'));

test('every Lua script has a header documenting its KEYS, its ARGV and its reply', () => {
  assert.ok(scripts.length > 0);
  for (const file of scripts) {
    const lines = readFileSync(luaDir + file, 'utf8').split('\n');
    const start = lines.findIndex((line) => !line.startsWith('--'));
    const header = lines.slice(0, start).join('\n');
    const body = lines.slice(start).join('\n');
    assert.match(header, /Returns? /, `${file} documents its reply`);
    for (const [used] of body.matchAll(/\b(KEYS|ARGV)\[\d+\]/g)) {
      assert.ok(header.includes(used), `${file} documents ${used}`);
    }
  }
});

test('no TypeScript under workloads/ or operator/ carries inline Lua or calls EVAL itself', () => {
  const offenders: string[] = [];
  const scan = (dir: string): void => {
    for (const entry of readdirSync(repoFile(dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) scan(path);
      else if (entry.name.endsWith('.ts')) {
        const text = readFileSync(repoFile(path), 'utf8');
        if (/redis\.call\(|\.eval(sha)?\(/.test(text)) offenders.push(path);
      }
    }
  };
  scan('workloads');
  scan('operator');
  assert.deepEqual(offenders, []);
});
