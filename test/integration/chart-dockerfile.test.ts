// The container images, checked without a Docker engine: the root Dockerfile parses (a line parser for the
// instructions it uses), its three targets run as non-root from a shell-less base with an exec-form entry
// point, copy only the builder's dist/ and the production dependencies, and the file set each target copies
// is enough to start its process (assembled in a temp dir and run up to its configuration check).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoFile } from '../../tools/lib/paths.js';
import { readRepoFile } from '../helpers/chart.js';

interface Instruction {
  op: string;
  args: string;
  line: number;
}
interface Stage {
  base: string;
  name: string;
  body: Instruction[];
}

const KNOWN = new Set([
  'ARG',
  'FROM',
  'WORKDIR',
  'COPY',
  'RUN',
  'ENV',
  'USER',
  'EXPOSE',
  'ENTRYPOINT',
  'CMD',
  'LABEL',
]);

/** Joins continuation lines, drops comments and blanks, splits each line into instruction and arguments. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (!pending) start = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = pending + line;
    pending = '';
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(full);
    if (!m?.[1] || m[2] === undefined) throw new Error(`Dockerfile line ${start}: cannot parse "${full}"`);
    const op = m[1].toUpperCase();
    if (!KNOWN.has(op)) throw new Error(`Dockerfile line ${start}: unknown instruction ${op}`);
    out.push({ op, args: m[2].trim(), line: start });
  });
  if (pending) throw new Error('Dockerfile ends with a continuation');
  return out;
}

function stages(instructions: Instruction[]): { args: Map<string, string>; stages: Stage[] } {
  const args = new Map<string, string>();
  const list: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      assert.ok(m?.[1], `FROM at line ${ins.line} parses`);
      list.push({ base: m[1], name: m[2] ?? String(list.length), body: [] });
    } else if (list.length === 0) {
      assert.equal(ins.op, 'ARG', `only ARG before the first FROM (line ${ins.line})`);
      const [k = '', v = ''] = ins.args.split('=');
      args.set(k, v);
    } else {
      list[list.length - 1]?.body.push(ins);
    }
  }
  return { args, stages: list };
}

const dockerfile = stages(parseDockerfile(readRepoFile('Dockerfile')));
const stage = (name: string): Stage => {
  const s = dockerfile.stages.find((x) => x.name === name);
  assert.ok(s, `stage ${name} exists`);
  return s;
};
/** A target's stages from its root base to itself. */
function chain(name: string): Stage[] {
  const out: Stage[] = [];
  for (let s: Stage | undefined = stage(name); s; s = dockerfile.stages.find((x) => x.name === s?.base))
    out.unshift(s);
  return out;
}
const resolveBase = (base: string): string =>
  base.replace(/^\$\{?(\w+)\}?$/, (_m, k: string) => dockerfile.args.get(k) ?? `<unset ${k}>`);

const TARGETS = {
  operator: 'dist/operator/main.js',
  api: 'dist/workloads/api/main.js',
  consumer: 'dist/workloads/consumer/main.js',
} as const;

test('the Dockerfile parses into builder, deps, runtime and the three targets', () => {
  assert.deepEqual(
    dockerfile.stages.map((s) => s.name),
    ['builder', 'deps', 'runtime', 'operator', 'consumer', 'api'],
  );
  assert.match(resolveBase(stage('builder').base), /^node:24(-|$)/);
  assert.match(resolveBase(stage('deps').base), /^node:24(-|$)/);
  assert.match(resolveBase(stage('runtime').base), /^gcr\.io\/distroless\/nodejs24-debian12:nonroot$/);
});

test('the builder runs npm ci and npm run build; deps installs production dependencies only', () => {
  const runs = (s: string): string[] =>
    stage(s)
      .body.filter((i) => i.op === 'RUN')
      .map((i) => i.args);
  assert.ok(runs('builder').some((r) => /^npm ci\b/.test(r) && !r.includes('--omit=dev')));
  assert.ok(runs('builder').includes('npm run build'));
  assert.ok(runs('deps').some((r) => /^npm ci\b.*--omit=dev/.test(r)));
  // Every path the builder copies from the context exists and is not excluded by .dockerignore.
  const ignored = readRepoFile('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const must of ['**/node_modules', 'dist', '.git', 'test', 'tools', 'charts'])
    assert.ok(ignored.includes(must), must);
  for (const ins of [...stage('builder').body, ...stage('deps').body].filter((i) => i.op === 'COPY')) {
    const parts = ins.args.split(/\s+/);
    for (const src of parts.slice(0, -1)) {
      assert.ok(existsSync(repoFile(src)), `COPY source ${src} exists`);
      assert.ok(!ignored.includes(src.replace(/\/$/, '')), `COPY source ${src} is in the build context`);
    }
  }
});

for (const [target, entry] of Object.entries(TARGETS)) {
  test(`${target}: non-root USER, no RUN, exec-form ENTRYPOINT, COPY only from dist/ and the dependencies`, () => {
    const final = chain(target).filter((s) => s.name === 'runtime' || s.name === target);
    assert.equal(final.length, 2, `${target} builds on runtime`);
    const body = final.flatMap((s) => s.body);
    const users = body.filter((i) => i.op === 'USER').map((i) => i.args);
    const user = users[users.length - 1];
    assert.ok(user, `${target} sets a USER`);
    assert.match(user, /^[1-9]\d*:[1-9]\d*$/, 'a numeric non-root uid:gid (runAsNonRoot can verify it)');
    assert.equal(
      stage(target).body.filter((i) => i.op === 'USER').length,
      1,
      'the target itself names its USER',
    );
    assert.deepEqual(
      body.filter((i) => i.op === 'RUN'),
      [],
      'no RUN: the base has no shell',
    );

    const entrypoints = stage(target).body.filter((i) => i.op === 'ENTRYPOINT');
    assert.equal(entrypoints.length, 1);
    const argv = JSON.parse(entrypoints[0]?.args ?? '') as string[];
    assert.equal(argv[0], '/nodejs/bin/node');
    assert.equal(argv[argv.length - 1], entry);

    for (const copy of body.filter((i) => i.op === 'COPY')) {
      const m = /^--from=(\S+)\s+(\S+)\s+(\S+)$/.exec(copy.args);
      assert.ok(m, `COPY at line ${copy.line} copies from a stage: ${copy.args}`);
      const [, from, src] = m;
      if (from === 'builder')
        assert.match(src ?? '', /^\/src\/dist\//, `line ${copy.line} copies from dist/`);
      else if (from === 'deps')
        assert.match(src ?? '', /^\/src\/(node_modules|package\.json)$/, `line ${copy.line}`);
      else assert.fail(`line ${copy.line} copies from ${from}`);
    }
  });
}

const scratch: string[] = [];
after(() => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Lays out what a target's COPY lines put in /app (dist/ from the build, node_modules linked). */
function assemble(target: string): string {
  const app = mkdtempSync(join(tmpdir(), `image-${target}-`));
  scratch.push(app);
  for (const s of chain(target).filter((x) => x.name === 'runtime' || x.name === target)) {
    for (const copy of s.body.filter((i) => i.op === 'COPY')) {
      const [, , src = '', dest = ''] = /^--from=(\S+)\s+(\S+)\s+(\S+)$/.exec(copy.args) ?? [];
      const from = repoFile(src.replace(/^\/src\//, ''));
      const to = join(app, dest);
      if (src === '/src/node_modules') symlinkSync(from, to);
      else cpSync(from, to, { recursive: true });
    }
  }
  return app;
}

test('the Lua scripts the consumer and operator load are in the copied dist/workloads/shared', () => {
  const app = assemble('consumer');
  for (const lua of ['claim-batch.lua', 'set-stock.lua']) {
    assert.ok(existsSync(join(app, 'dist/workloads/shared/redis/lua', lua)), lua);
  }
});

for (const [target, entry] of Object.entries(TARGETS)) {
  test(`${target}: the copied files alone start the process (it stops at its configuration check)`, () => {
    const app = assemble(target);
    assert.ok(existsSync(join(app, entry)), `${entry} is built (npm run build)`);
    // No connection settings: each process must get past module loading and refuse its configuration.
    const r = spawnSync(process.execPath, ['--enable-source-maps', entry], {
      cwd: app,
      encoding: 'utf8',
      timeout: 20_000,
      env: { PATH: process.env.PATH ?? '', HOME: app, NODE_ENV: 'production' },
    });
    const output = `${r.stdout}${r.stderr}`;
    assert.doesNotMatch(output, /ERR_MODULE_NOT_FOUND|Cannot find module|ENOENT/, output);
    assert.notEqual(r.status, 0, output);
    assert.match(output, /KAFKA_BROKERS is required/, output);
  });
}
