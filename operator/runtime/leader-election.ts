// Leader election on a coordination.k8s.io/v1 Lease, following client-go's leaderelection package:
//
// - A candidate tries to acquire every retryPeriod (with jitter). It may take the lease when nobody holds
//   it, or when the holder's record has not changed for leaseDuration *as observed locally* (client-go's
//   observedTime: immune to clock skew between hosts).
// - The leader renews every retryPeriod; if it cannot renew for renewDeadline it stops leading
//   (onStoppedLeading) before anyone else may take over (renewDeadline < leaseDuration).
// - Writes use the Lease's resourceVersion (optimistic concurrency): two candidates never both win.
// - stop({ release: true }) on SIGTERM gives the lease up like client-go's ReleaseOnCancel (empty
//   holderIdentity, leaseDurationSeconds 1), so the next leader starts at once instead of after a lease.
import { V1MicroTime, type CoordinationV1Api, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import type { Logger } from '../../workloads/shared/log.js';
import { isConflict, isNotFound } from './kube.js';

export interface LeaderElectionConfig {
  namespace: string;
  leaseName: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface LeaderCallbacks {
  onStartedLeading(): void | Promise<void>;
  onStoppedLeading(): void | Promise<void>;
  onNewLeader?(identity: string): void;
}

const toMs = (v: unknown): number => {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') return Date.parse(v);
  return NaN;
};

export class LeaderElector {
  private leader = false;
  private running = false;
  private observedRecord = '';
  private observedTimeMs = 0;
  private lastRenewMs = 0;
  private knownLeader = '';
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly api: CoordinationV1Api,
    readonly config: LeaderElectionConfig,
    private readonly callbacks: LeaderCallbacks,
    private readonly log: Logger,
  ) {
    if (config.renewDeadlineMs >= config.leaseDurationMs) {
      throw new Error('leader election: renewDeadline must be shorter than leaseDuration');
    }
    if (config.retryPeriodMs >= config.renewDeadlineMs) {
      throw new Error('leader election: retryPeriod must be shorter than renewDeadline');
    }
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** Starts campaigning in the background; resolves at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.campaign();
  }

  /** Stops campaigning; a leader stops leading and, with release, hands the lease back at once. */
  async stop({ release }: { release: boolean } = { release: true }): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    if (this.leader) {
      this.leader = false;
      if (release) await this.release();
      await this.callbacks.onStoppedLeading();
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async campaign(): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.config;
    while (this.running) {
      const ok = await this.tryAcquireOrRenew().catch((err: unknown) => {
        this.log.warn('leader election: lease request failed', { err });
        return false;
      });
      if (!this.running) return;
      const now = Date.now();
      if (ok) {
        this.lastRenewMs = now;
        if (!this.leader) {
          this.leader = true;
          this.log.info('leader election: became leader', { identity: this.config.identity });
          this.notifyLeader(this.config.identity);
          await this.callbacks.onStartedLeading();
        }
      } else if (this.leader && now - this.lastRenewMs >= renewDeadlineMs) {
        this.leader = false;
        this.log.error('leader election: could not renew the lease within renewDeadline, stepping down', {
          renewDeadlineMs,
        });
        await this.callbacks.onStoppedLeading();
      }
      const jitter = this.leader ? 0 : Math.random() * 0.2 * retryPeriodMs;
      await this.sleep(retryPeriodMs + jitter);
    }
  }

  private notifyLeader(identity: string): void {
    if (identity && identity !== this.knownLeader) {
      this.knownLeader = identity;
      this.callbacks.onNewLeader?.(identity);
    }
  }

  /** One attempt, as client-go's tryAcquireOrRenew: true when we hold the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, leaseName: name, identity, leaseDurationMs } = this.config;
    const now = Date.now();
    const leaseDurationSeconds = Math.max(1, Math.round(leaseDurationMs / 1000));
    let lease: V1Lease;
    try {
      lease = await this.withTimeout(this.api.readNamespacedLease({ name, namespace }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return this.createLease(now, leaseDurationSeconds);
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    this.observe(spec, now);
    this.notifyLeader(holder);
    const heldFor = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (holder !== '' && holder !== identity && this.observedTimeMs + heldFor > now) return false;

    const mine = holder === identity;
    const transitions = spec.leaseTransitions ?? 0;
    const acquireMs = toMs(spec.acquireTime);
    return this.unlessConflict(
      this.writeLease(lease, {
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: new V1MicroTime(mine && Number.isFinite(acquireMs) ? acquireMs : now),
        renewTime: new V1MicroTime(now),
        leaseTransitions: mine ? transitions : transitions + 1,
      }),
    );
  }

  /**
   * The expiry clock runs on our own observation time, never the holder's timestamps (clock skew): a
   * record that changed restarts it.
   */
  private observe(spec: V1LeaseSpec, now: number): void {
    const record = JSON.stringify([
      spec.holderIdentity ?? '',
      toMs(spec.renewTime),
      spec.leaseDurationSeconds,
      spec.leaseTransitions,
    ]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedTimeMs = now;
    }
  }

  /** No Lease yet: create it holding it (a racing creator wins with a 409: false). */
  private async createLease(now: number, leaseDurationSeconds: number): Promise<boolean> {
    const { namespace, leaseName: name, identity } = this.config;
    const held = await this.unlessConflict(
      this.withTimeout(
        this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds,
              acquireTime: new V1MicroTime(now),
              renewTime: new V1MicroTime(now),
              leaseTransitions: 0,
            },
          },
        }),
      ),
    );
    if (held) this.observedTimeMs = now;
    return held;
  }

  /** True when the write went through, false when another writer won (409). */
  private async unlessConflict(write: Promise<unknown>): Promise<boolean> {
    try {
      await write;
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  /** Replaces the Lease's spec, guarded by the resourceVersion it was read at (409 when another wrote). */
  private async writeLease(lease: V1Lease, spec: V1LeaseSpec): Promise<void> {
    const { namespace, leaseName: name } = this.config;
    await this.withTimeout(
      this.api.replaceNamespacedLease({
        name,
        namespace,
        body: { metadata: { ...lease.metadata, name, namespace }, spec },
      }),
    );
  }

  /** ReleaseOnCancel: empty holder, 1 s duration, so a standby may take over at once. */
  private async release(): Promise<void> {
    const { namespace, leaseName: name, identity } = this.config;
    try {
      const lease = await this.withTimeout(this.api.readNamespacedLease({ name, namespace }));
      if (lease.spec?.holderIdentity !== identity) return;
      const now = Date.now();
      await this.writeLease(lease, {
        holderIdentity: '',
        leaseDurationSeconds: 1,
        acquireTime: new V1MicroTime(now),
        renewTime: new V1MicroTime(now),
        leaseTransitions: lease.spec.leaseTransitions ?? 0,
      });
      this.log.info('leader election: released the lease', { identity });
    } catch (err) {
      this.log.warn('leader election: could not release the lease', { err });
    }
  }

  /** A lease request must not outlive the renew deadline. */
  private withTimeout<T>(p: Promise<T>): Promise<T> {
    const ms = this.config.renewDeadlineMs;
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`lease request timed out after ${ms} ms`)), ms);
      }),
    ]).finally(() => clearTimeout(timer));
  }
}
