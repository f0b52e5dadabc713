// The finalizer seckill.io/cleanup: added on the first reconcile, so a deleted event stays until the
// operator has cleaned up after it according to spec.cleanupPolicy:
//   Delete  the consumer Deployment goes first (its pods must leave the group), then every Redis key of
//           the event (catalog.deleteEvent), the topic and its dead-letter topic, and the consumer group.
//   Retain  the sale's record stays (stock hashes with total and sold, buyers, claims; the topic; the
//           group) but the event is withdrawn from the front door's catalog, so buyers get 404 instead of
//           buying from a sale that no longer exists. The Deployment is deleted by the garbage collector
//           through its owner reference.
// Event names are global in Redis and Kafka: cleanup first claims the name (resources/stock.ts
// claimEventName) and touches Redis and Kafka only when this event owns it; an event refused for a
// NameConflict only loses its own (namespaced) Deployment. Holding the claim until the last step, Delete
// withdraws the event from the front door, deletes the topic and group, and removes the Redis keys (the
// claim with them) last, so no other namespace can take the name while its topic is being deleted.
// Cleanup failures (Redis or Kafka down, group still has members) are retried with backoff; the object
// stays Terminating meanwhile. To give up on cleanup, remove the finalizer by hand.
import type { AppsV1Api } from '@kubernetes/client-node';
import type { ScriptedRedis } from '../../workloads/shared/redis/scripts.js';
import { consumerGroup, purchaseTopic } from '../../workloads/shared/kafka/topics.js';
import { keys } from '../../workloads/shared/keys.js';
import type { SeckillEventClient } from '../api/client.js';
import { FINALIZER, type SeckillEvent } from '../api/types.js';
import { consumerDeploymentName } from '../resources/consumer-deployment.js';
import { claimEventName, deleteStock, ownerId, withdrawEvent } from '../resources/stock.js';
import { deleteTopicAndGroup, type TopicAdmin } from '../resources/topic.js';
import { ignoreNotFound } from '../runtime/kube.js';

export const hasFinalizer = (obj: SeckillEvent): boolean =>
  (obj.metadata?.finalizers ?? []).includes(FINALIZER);

/** Adds the finalizer (optimistic concurrency on resourceVersion: a conflict is retried by the queue). */
export async function addFinalizer(client: SeckillEventClient, obj: SeckillEvent): Promise<void> {
  await client.setFinalizers(obj, [...(obj.metadata?.finalizers ?? []), FINALIZER]);
}

/** Removes the finalizer; an object already gone is fine. */
export async function removeFinalizer(client: SeckillEventClient, obj: SeckillEvent): Promise<void> {
  const rest = (obj.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER);
  await ignoreNotFound(client.setFinalizers(obj, rest));
}

/** What cleanup needs, read leniently from a possibly invalid spec (an invalid event is still deletable). */
export function cleanupTarget(obj: SeckillEvent): { name: string; topic: string; productIds: number[] } {
  const name = obj.metadata?.name ?? '';
  const spec: unknown = obj.spec;
  const s = (typeof spec === 'object' && spec !== null ? spec : {}) as {
    products?: unknown;
    kafka?: { topic?: unknown };
  };
  const productIds = Array.isArray(s.products)
    ? s.products
        .map((p: unknown) => (typeof p === 'object' && p !== null ? (p as { id?: unknown }).id : undefined))
        .filter((id): id is number => typeof id === 'number' && Number.isSafeInteger(id) && id > 0)
    : [];
  const topic = typeof s.kafka?.topic === 'string' && s.kafka.topic ? s.kafka.topic : purchaseTopic(name);
  return { name, topic, productIds };
}

export interface CleanupDeps {
  apps: AppsV1Api;
  redis: ScriptedRedis;
  kafka: TopicAdmin;
}

/** Runs the cleanup policy; returns a one-line summary for the Event. Idempotent. */
export async function cleanup(deps: CleanupDeps, obj: SeckillEvent): Promise<string> {
  const { name, topic, productIds } = cleanupTarget(obj);
  const namespace = obj.metadata?.namespace ?? 'default';
  const policy = obj.spec?.cleanupPolicy === 'Delete' ? 'Delete' : 'Retain';
  const self = { namespace, uid: obj.metadata?.uid ?? '' };
  const owner = await claimEventName(deps.redis.redis, name, self);
  const ours = owner === ownerId(self);
  if (policy === 'Retain') {
    if (!ours) {
      return `cleanupPolicy Retain: the name ${name} belongs to SeckillEvent ${owner}: left the catalog alone`;
    }
    await withdrawEvent(deps.redis.redis, name);
    return `cleanupPolicy Retain: withdrew ${name} from the front door; kept stock, topic ${topic} and the consumer group`;
  }
  await ignoreNotFound(
    deps.apps.deleteNamespacedDeployment({
      name: consumerDeploymentName(name),
      namespace,
      propagationPolicy: 'Background',
    }),
  );
  if (!ours) {
    return `cleanupPolicy Delete: removed the consumer Deployment; the name ${name} belongs to SeckillEvent ${owner}, so its Redis keys and topic ${topic} were left alone`;
  }
  // The front door stops selling first (it lists names from this set), the claim stays until the end.
  await deps.redis.redis.srem(keys.events(), name);
  const group = consumerGroup(name);
  await deleteTopicAndGroup(deps.kafka, topic, group);
  await deleteStock(deps.redis.redis, {
    name,
    products: productIds.map((id) => ({ id, stock: 0, perUserLimit: 1 })),
  });
  return `cleanupPolicy Delete: removed the consumer Deployment, topic ${topic}, group ${group} and Redis keys of ${productIds.length} products`;
}
