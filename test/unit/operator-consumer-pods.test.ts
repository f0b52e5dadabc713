// operator/resources/consumer-pods.ts: why consumer pods are not ready, from the pods' statuses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { diagnoseConsumerPods } from '../../operator/resources/consumer-pods.js';

const pod = (
  name: string,
  container: Partial<V1ContainerStatus>,
  conditions: V1Pod['status'] = {},
): V1Pod => ({
  metadata: { name, namespace: 'shop' },
  status: {
    ...conditions,
    containerStatuses: [
      {
        name: 'consumer',
        image: 'seckill/consumer:1',
        imageID: '',
        ready: false,
        restartCount: 0,
        ...container,
      },
    ],
  },
});

test('a missing Secret names the Secret and the keys it needs', () => {
  const p = pod('c-1', {
    state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "conn" not found' } },
  });
  const got = diagnoseConsumerPods([p], 'conn');
  assert.equal(got?.reason, 'SecretMissing');
  assert.match(
    got?.message ?? '',
    /secret "conn" not found.*Create the Secret conn with the keys KAFKA_BROKERS, REDIS_URL and MYSQL_URL/,
  );
});

test('an image that cannot be pulled names the image', () => {
  const p = pod('c-1', {
    image: 'seckill/consumer:nope',
    state: { waiting: { reason: 'ErrImageNeverPull' } },
  });
  const got = diagnoseConsumerPods([p], 'conn');
  assert.equal(got?.reason, 'ImagePullFailed');
  assert.match(got?.message ?? '', /cannot pull its image seckill\/consumer:nope: ErrImageNeverPull/);
});

test('a crash loop gives the exit code, the restarts and the logs command', () => {
  const p = pod('c-1', {
    restartCount: 4,
    state: { waiting: { reason: 'CrashLoopBackOff' } },
    lastState: { terminated: { exitCode: 1, reason: 'Error' } },
  });
  assert.deepEqual(diagnoseConsumerPods([p], 'conn'), {
    reason: 'CrashLooping',
    message:
      'consumer pod c-1 keeps crashing (exit code 1, Error, 4 restarts): see kubectl logs -n shop c-1 --previous',
  });
});

test('an unschedulable pod, and the Secret before a crash loop when several pods disagree', () => {
  const pending = pod(
    'c-2',
    {},
    {
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: '0/1 nodes: Insufficient cpu',
        },
      ],
    },
  );
  assert.equal(diagnoseConsumerPods([pending], 'conn')?.reason, 'Unschedulable');
  const crash = pod('c-3', { state: { waiting: { reason: 'CrashLoopBackOff' } } });
  const secret = pod('c-4', {
    state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "conn" not found' } },
  });
  assert.equal(diagnoseConsumerPods([pending, crash, secret], 'conn')?.reason, 'SecretMissing');
});

test('starting or running pods are no problem', () => {
  assert.equal(
    diagnoseConsumerPods([pod('c-1', { state: { waiting: { reason: 'ContainerCreating' } } })], 'conn'),
    undefined,
  );
  assert.equal(
    diagnoseConsumerPods([pod('c-1', { ready: true, state: { running: {} } })], 'conn'),
    undefined,
  );
  assert.equal(diagnoseConsumerPods([], 'conn'), undefined);
});
