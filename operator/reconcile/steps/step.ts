// What a reconcile step hands back to `converge`: the conditions it decided, the Kubernetes Events it
// wants recorded and the errors that make the reconcile retry with backoff, beside its own data. Steps
// decide and act on their own external system; recording, status and metrics stay in one place.
import type { EventType } from '../../runtime/event-recorder.js';
import type { ConditionUpdate } from '../status.js';

export interface PlannedEvent {
  type: EventType;
  reason: string;
  message: string;
}

export interface StepReport {
  conditions: ConditionUpdate[];
  events: PlannedEvent[];
  errors: string[];
}

export const emptyReport = (): StepReport => ({ conditions: [], events: [], errors: [] });

/** One report of several steps, in their order. */
export function mergeReports(reports: readonly StepReport[]): StepReport {
  return {
    conditions: reports.flatMap((r) => r.conditions),
    events: reports.flatMap((r) => r.events),
    errors: reports.flatMap((r) => r.errors),
  };
}
