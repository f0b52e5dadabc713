// Leader election on a real coordination.k8s.io/v1 Lease: one leader among candidates, takeover within
// the lease duration when the leader stops renewing (a crash), and a released lease taken at once.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { LeaderElector } from '../../operator/runtime/leader-election.js';
import { createLogger } from '../../workloads/shared/log.js';
import { kubeConfig, NAMESPACE } from '../helpers/operator-kube.js';
import { waitFor } from '../../tools/lib/wait.js';
import { uniqueName } from '../../tools/lib/stack-env.js';

const kc = kubeConfig();
const coord = kc.makeApiClient(k8s.CoordinationV1Api);
const log = createLogger({ component: 'leader-test' }, 'error');
const leaseName = uniqueName('lease');
const electors: LeaderElector[] = [];

after(async () => {
  for (const e of electors) await e.stop({ release: false });
  await coord.deleteNamespacedLease({ name: leaseName, namespace: NAMESPACE }).catch(() => undefined);
});

/** Who leads, as the callbacks say; a test fails if two ever lead at once. */
const leading = new Set<string>();
let overlap = false;

function candidate(identity: string): LeaderElector {
  const e = new LeaderElector(
    coord,
    {
      namespace: NAMESPACE,
      leaseName,
      identity,
      leaseDurationMs: 3000,
      renewDeadlineMs: 2000,
      retryPeriodMs: 300,
    },
    {
      onStartedLeading: () => {
        leading.add(identity);
        if (leading.size > 1) overlap = true;
      },
      onStoppedLeading: () => {
        leading.delete(identity);
      },
    },
    log,
  );
  electors.push(e);
  return e;
}

const holder = async (): Promise<k8s.V1LeaseSpec | undefined> =>
  (await coord.readNamespacedLease({ name: leaseName, namespace: NAMESPACE })).spec;

test('one leader; the other takes over within the lease duration when the leader stops renewing; release hands over at once', async () => {
  const a = candidate('candidate-a');
  a.start();
  await waitFor('a to lead', () => Promise.resolve(a.isLeader() ? true : undefined), 10_000, 50);
  const b = candidate('candidate-b');
  b.start();
  // b keeps trying for a while and must not win while a renews.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(b.isLeader(), false);
  assert.equal((await holder())?.holderIdentity, 'candidate-a');

  // a "crashes": stops renewing without releasing.
  const crashedAt = Date.now();
  await a.stop({ release: false });
  await waitFor('b to take over', () => Promise.resolve(b.isLeader() ? true : undefined), 10_000, 50);
  const takeover = Date.now() - crashedAt;
  console.log(`# takeover after the leader stopped renewing: ${takeover} ms (lease 3000 ms)`);
  assert.ok(takeover <= 3000 + 2 * 300 + 500, `takeover took ${takeover} ms`);
  const spec = await holder();
  assert.equal(spec?.holderIdentity, 'candidate-b');
  assert.equal(spec?.leaseTransitions, 1);

  // b steps down cleanly (SIGTERM): the lease is released...
  await b.stop({ release: true });
  const released = await holder();
  assert.ok(!released?.holderIdentity, `holder after release: ${released?.holderIdentity}`);
  assert.equal(released?.leaseDurationSeconds, 1);

  // ...so a new candidate leads without waiting out the lease.
  const c = candidate('candidate-c');
  const t0 = Date.now();
  c.start();
  await waitFor('c to lead', () => Promise.resolve(c.isLeader() ? true : undefined), 5000, 20);
  assert.ok(Date.now() - t0 < 1500, `c waited ${Date.now() - t0} ms`);
  assert.equal(overlap, false, 'two leaders at once');
  await c.stop({ release: true });
});

test('a leader that cannot renew steps down before another may take over', async () => {
  let stopped = 0;
  const name = uniqueName('lease-lost');
  // An API whose lease writes start failing after the first acquire.
  let failing = false;
  const flaky = new Proxy(coord, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (failing) return Promise.reject(new Error('apiserver unreachable'));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const e = new LeaderElector(
    flaky,
    {
      namespace: NAMESPACE,
      leaseName: name,
      identity: 'flaky',
      leaseDurationMs: 3000,
      renewDeadlineMs: 1500,
      retryPeriodMs: 200,
    },
    { onStartedLeading: () => undefined, onStoppedLeading: () => void (stopped += 1) },
    log,
  );
  electors.push(e);
  try {
    e.start();
    await waitFor('flaky to lead', () => Promise.resolve(e.isLeader() ? true : undefined), 10_000, 50);
    failing = true;
    const t0 = Date.now();
    await waitFor('flaky to step down', () => Promise.resolve(e.isLeader() ? undefined : true), 5000, 20);
    const after = Date.now() - t0;
    assert.ok(
      after >= 1200 && after < 3000,
      `stepped down after ${after} ms (renewDeadline 1500, lease 3000)`,
    );
    assert.equal(stopped, 1);
  } finally {
    failing = false;
    await e.stop({ release: false });
    await coord.deleteNamespacedLease({ name, namespace: NAMESPACE }).catch(() => undefined);
  }
});
