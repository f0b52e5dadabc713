// Kubernetes Events (core/v1) for what the operator does and what fails, as client-go's EventRecorder:
// a repeat of the same (object, type, reason, message) within 10 minutes bumps the count of the existing
// Event instead of creating another. Recording never throws: an Event is best effort.
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from '../../workloads/shared/log.js';
import { isNotFound, mergePatch } from './kube.js';

export type EventType = 'Normal' | 'Warning';

/** The kind of the objects Events are recorded about. */
export interface InvolvedKind {
  apiVersion: string;
  kind: string;
}

export interface EventTarget {
  namespace: string;
  name: string;
  uid: string;
}

interface Seen {
  eventName: string;
  count: number;
  firstMs: number;
  lastMs: number;
}

const AGGREGATE_MS = 10 * 60_000;
const MAX_CACHE = 2000;

export interface Recorder {
  record(target: EventTarget, type: EventType, reason: string, message: string): Promise<void>;
}

export class EventRecorder implements Recorder {
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly involved: InvolvedKind,
    private readonly component: string,
    private readonly instance: string,
    private readonly log: Logger,
  ) {}

  async record(target: EventTarget, type: EventType, reason: string, message: string): Promise<void> {
    const msg = message.length > 1024 ? `${message.slice(0, 1021)}...` : message;
    const cacheKey = [target.namespace, target.name, target.uid, type, reason, msg].join('\u0000');
    const now = Date.now();
    const prior = this.seen.get(cacheKey);
    try {
      if (prior && now - prior.lastMs < AGGREGATE_MS) {
        prior.count += 1;
        prior.lastMs = now;
        try {
          await this.core.patchNamespacedEvent(
            {
              name: prior.eventName,
              namespace: target.namespace,
              body: { count: prior.count, lastTimestamp: new Date(now).toISOString() },
            },
            mergePatch,
          );
          return;
        } catch (err) {
          if (!isNotFound(err)) throw err;
          // The Event expired (events have a TTL): create a fresh one below.
        }
      }
      const eventName = `${target.name}.${now.toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`;
      await this.core.createNamespacedEvent({
        namespace: target.namespace,
        body: {
          metadata: { name: eventName, namespace: target.namespace },
          involvedObject: {
            ...this.involved,
            name: target.name,
            namespace: target.namespace,
            uid: target.uid,
          },
          type,
          reason,
          message: msg,
          count: 1,
          firstTimestamp: new Date(now),
          lastTimestamp: new Date(now),
          source: { component: this.component },
          reportingComponent: `seckill.io/${this.component}`,
          reportingInstance: this.instance,
        },
      });
      this.seen.set(cacheKey, { eventName, count: 1, firstMs: now, lastMs: now });
      if (this.seen.size > MAX_CACHE) {
        const oldest = this.seen.keys().next().value;
        if (oldest !== undefined) this.seen.delete(oldest);
      }
    } catch (err) {
      this.log.warn('could not record event', { reason, message: msg, err });
    }
  }
}
