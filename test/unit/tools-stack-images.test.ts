// stackImages(): the image references from the environment, else from the file `npm run images` writes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { stackImages } from '../../tools/lib/stack-env.js';

const run = mkdtempSync(join(tmpdir(), 'stack-images-'));
after(() => rmSync(run, { recursive: true, force: true }));

const ref = (t: string): string => `localhost/seckill/${t}:0.1.0-0123456789ab`;

test('reads the export lines of $SECKILL_RUN/images.env', () => {
  writeFileSync(
    join(run, 'images.env'),
    ['operator', 'api', 'consumer']
      .map((t) => `export SECKILL_IMAGE_${t.toUpperCase()}=${ref(t)}\n`)
      .join(''),
  );
  assert.deepEqual(stackImages({ SECKILL_RUN: run }), {
    operator: ref('operator'),
    api: ref('api'),
    consumer: ref('consumer'),
  });
});

test('the environment wins over the file', () => {
  const got = stackImages({ SECKILL_RUN: run, SECKILL_IMAGE_API: 'localhost/seckill/api:other' });
  assert.equal(got.api, 'localhost/seckill/api:other');
  assert.equal(got.operator, ref('operator'));
});

test('a missing reference is an error naming the variable, the file and what to run', () => {
  const empty = join(run, 'none');
  assert.throws(
    () => stackImages({ SECKILL_RUN: empty, SECKILL_IMAGE_OPERATOR: ref('operator') }),
    (err: Error) =>
      err.message.includes('SECKILL_IMAGE_API') &&
      err.message.includes(join(empty, 'images.env')) &&
      err.message.includes('npm run -s images'),
  );
});
