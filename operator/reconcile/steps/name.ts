// Step 1, the name: event names are global in Redis and Kafka while SeckillEvents are namespaced, so the
// event claims its name (resources/stock.ts claimEventName) before anything else is written.
import type { ScriptedRedis } from '../../../workloads/shared/redis/scripts.js';
import type { ParsedEvent } from '../../api/types.js';
import { claimEventName, ownerId } from '../../resources/stock.js';
import { errMessage } from '../../runtime/kube.js';
import type { ConditionUpdate } from '../status.js';

export type NameClaim =
  /** This event owns the name. */
  | { state: 'owned' }
  /** Another SeckillEvent owns it: the event is refused (NameConflict) and nothing is written. */
  | { state: 'taken'; owner: string }
  /** Redis did not answer; `ownedBefore` says whether this process saw the event own the name. */
  | { state: 'unknown'; error: string; ownedBefore: boolean };

export async function claimName(
  redis: ScriptedRedis,
  ev: ParsedEvent,
  ownedBefore: boolean,
): Promise<NameClaim> {
  try {
    const owner = await claimEventName(redis.redis, ev.name, ev);
    return owner === ownerId(ev) ? { state: 'owned' } : { state: 'taken', owner };
  } catch (err) {
    return { state: 'unknown', error: `Redis: ${errMessage(err)}`, ownedBefore };
  }
}

/**
 * Whether the topic and the consumers may be managed. A name is only given up by its owner's cleanup,
 * so an event seen owning it before a Redis outage carries on with Kafka and scaling.
 */
export const mayManage = (claim: NameClaim): boolean =>
  claim.state === 'owned' || (claim.state === 'unknown' && claim.ownedBefore);

/** While Redis cannot say who owns an event name, the event's topic and consumers are left alone. */
export function ownerUnknown(
  type: 'TopicReady' | 'ConsumersReady',
  name: string,
  what: string,
): ConditionUpdate {
  return {
    type,
    status: 'Unknown',
    reason: 'RedisUnavailable',
    message: `whether the name ${name} is this event's is unknown until Redis answers: ${what} left alone`,
  };
}
