// The Batcher's one set of defaults against the CRD, which declares them too: each field's `default`, its
// bounds (the operator's parse checks the same ones: operator-status.test.ts) and the fallbacks of the
// CRD's buffer >= size rule.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { BATCHER_SPEC_BOUNDS } from '../../operator/api/types.js';
import { readApiConfig } from '../../workloads/api/config.js';
import { BATCHER_DEFAULTS } from '../../workloads/shared/batcher-settings.js';
import { EnvReader } from '../../workloads/shared/config.js';
import { repoFile } from '../../tools/lib/paths.js';

/** spec.batcher's schema; loadYaml maps the CRD to client-node's model (`default` is `_default` there). */
function batcherSchema(file: string): k8s.V1JSONSchemaProps {
  const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(repoFile(file), 'utf8'));
  const schema = crd.spec.versions[0]?.schema?.openAPIV3Schema?.properties?.spec?.properties?.batcher;
  assert.ok(schema, `${file} has spec.batcher`);
  return schema;
}

const FIELDS = Object.keys(BATCHER_DEFAULTS) as (keyof typeof BATCHER_DEFAULTS)[];

test('the CRD declares the shared Batcher defaults and the bounds the operator checks', () => {
  const schema = batcherSchema('crds/seckillevent.yaml');
  assert.deepEqual(Object.keys(schema.properties ?? {}).sort(), [...FIELDS].sort());
  for (const field of FIELDS) {
    const prop = schema.properties?.[field];
    assert.equal(prop?._default, BATCHER_DEFAULTS[field], `default of spec.batcher.${field}`);
    assert.deepEqual([prop?.minimum, prop?.maximum], BATCHER_SPEC_BOUNDS[field], `bounds of ${field}`);
  }
});

test("the CRD's buffer >= size rule falls back to the shared defaults", () => {
  const rules = batcherSchema('crds/seckillevent.yaml').x_kubernetes_validations ?? [];
  const rule = rules.find((r) => r.rule.includes('self.buffer') && r.rule.includes('self.size'));
  assert.ok(rule, 'spec.batcher has its buffer >= size rule');
  assert.match(
    rule.rule,
    new RegExp(`has\\(self\\.buffer\\) \\? self\\.buffer : ${BATCHER_DEFAULTS.buffer}\\)`),
  );
  assert.match(rule.rule, new RegExp(`has\\(self\\.size\\) \\? self\\.size : ${BATCHER_DEFAULTS.size}\\)`));
});

test("the chart's copy of the CRD is in sync (npm run chart:sync-crd)", () => {
  assert.equal(
    readFileSync(repoFile('charts/seckill/files/crds/seckillevent.yaml'), 'utf8'),
    readFileSync(repoFile('crds/seckillevent.yaml'), 'utf8'),
  );
});

test('a front door without BATCH_* variables gets the shared defaults', () => {
  const env = new EnvReader({
    KAFKA_BROKERS: '127.0.0.1:9092',
    REDIS_URL: 'redis://127.0.0.1:6379',
    AUTH_MODE: 'none',
  });
  const { size, intervalMs, workers, buffer } = readApiConfig(env).batch;
  assert.deepEqual({ size, intervalMs, workers, buffer }, BATCHER_DEFAULTS);
});
