// The phase of an event, computed from the clock and what the reconciler observed (level-based: the same
// observations always give the same phase), and when the reconciler should look again.
//
//   Pending    not reconciled yet, or the stock is not preloaded (nothing is for sale)
//   Scheduled  ready, before startTime (consumers pre-warmed)
//   Active     startTime <= now < endTime
//   Ended      now >= endTime, consumers still draining the topic
//   Completed  now >= endTime, lag 0 and the consumers scaled to 0
//   Failed     an invalid spec the schema could not catch, or an unrecoverable error (with a reason)
import type { Phase } from '../api/types.js';

export interface PhaseInput {
  nowMs: number;
  startMs: number;
  endMs: number;
  /** The stock and the event's window are in Redis. */
  preloaded: boolean;
  /** Set when the event cannot work: the phase is Failed with this reason. */
  failedReason?: string;
  lag: number | undefined;
  desiredReplicas: number;
  readyReplicas: number;
}

export function computePhase(i: PhaseInput): Phase {
  if (i.failedReason !== undefined) return 'Failed';
  const phase = clockPhase(i);
  if (phase === 'Ended' && i.lag === 0 && i.desiredReplicas === 0 && i.readyReplicas === 0)
    return 'Completed';
  return phase;
}

/**
 * The phase the clock and the preload alone give (never Completed or Failed): what the scaling rule
 * works from, before the consumers' answer can make an Ended event Completed.
 */
export function clockPhase(i: Pick<PhaseInput, 'nowMs' | 'startMs' | 'endMs' | 'preloaded'>): Phase {
  if (!i.preloaded) return 'Pending';
  if (i.nowMs < i.startMs) return 'Scheduled';
  if (i.nowMs < i.endMs) return 'Active';
  return 'Ended';
}

export interface WakeupOptions {
  /** Status refresh (sold, lag, scaling) while Active or Ended. */
  activeRefreshMs: number;
  /** Status refresh while Scheduled or Completed (sold can still be corrected by reconciliation jobs). */
  idleRefreshMs: number;
}

/**
 * Milliseconds until the next reconcile the clock asks for: the start, the end, or the periodic refresh,
 * whichever comes first. Undefined for phases the clock does not move (Failed: a spec change or a
 * retry moves it).
 */
export function nextWakeupMs(
  phase: Phase,
  nowMs: number,
  startMs: number,
  endMs: number,
  o: WakeupOptions,
): number | undefined {
  switch (phase) {
    case 'Pending':
      return o.activeRefreshMs;
    case 'Scheduled':
      return Math.max(1, Math.min(startMs - nowMs, o.idleRefreshMs));
    case 'Active':
      return Math.max(1, Math.min(endMs - nowMs, o.activeRefreshMs));
    case 'Ended':
      return o.activeRefreshMs;
    case 'Completed':
      return o.idleRefreshMs;
    case 'Failed':
      return undefined;
  }
}
