// Step 4, the consumers: the event's own consumer Deployment, applied server-side with the replicas the
// scaling rule (resources/scaling.ts) decides from the phase, the lag and the partitions.
import type { AppsV1Api, CoreV1Api, V1Deployment } from '@kubernetes/client-node';
import type { Logger } from '../../../workloads/shared/log.js';
import type { ParsedEvent, Phase } from '../../api/types.js';
import type { OperatorConfig } from '../../config.js';
import {
  FIELD_MANAGER,
  LABEL_EVENT,
  buildConsumerDeployment,
  consumerDeploymentName,
  ownedBy,
} from '../../resources/consumer-deployment.js';
import { diagnoseConsumerPods } from '../../resources/consumer-pods.js';
import { decideReplicas, type ScaleDecision, type ScaleMemory } from '../../resources/scaling.js';
import { errMessage, ignoreNotFound, serverSideApply } from '../../runtime/kube.js';
import type { ConditionUpdate } from '../status.js';
import { ownerUnknown } from './name.js';
import { emptyReport, type StepReport } from './step.js';

export interface ConsumerDeps {
  apps: AppsV1Api;
  core: CoreV1Api;
  log: Logger;
  config: Pick<
    OperatorConfig,
    | 'consumerImage'
    | 'consumerImagePullPolicy'
    | 'consumerResources'
    | 'consumerClaimWait'
    | 'consumerExtraEnv'
  >;
}

export interface ConsumersInput {
  allowed: boolean;
  /** The clock's phase (never Completed: that needs this step's answer). */
  phase: Phase;
  nowMs: number;
  lag: number | undefined;
  partitions: number;
  memory: ScaleMemory;
  lastScaleTime: string | undefined;
}

export interface ConsumersOutcome extends StepReport {
  desired: number;
  ready: number;
  memory: ScaleMemory;
  lastScaleTime: string | undefined;
  /** The scaling rule wants another look this soon (stabilization window, cooldown). */
  recheckAfterMs?: number;
}

export async function consumersStep(
  d: ConsumerDeps,
  ev: ParsedEvent,
  input: ConsumersInput,
): Promise<ConsumersOutcome> {
  const out: ConsumersOutcome = {
    ...emptyReport(),
    desired: 0,
    ready: 0,
    memory: input.memory,
    lastScaleTime: input.lastScaleTime,
  };
  if (!input.allowed) {
    out.conditions.push(ownerUnknown('ConsumersReady', ev.name, 'consumers'));
    return out;
  }
  try {
    const existing = await ignoreNotFound(
      d.apps.readNamespacedDeployment({ name: consumerDeploymentName(ev.name), namespace: ev.namespace }),
    );
    if (existing && !ownedBy(existing, ev.uid)) return conflict(out, ev);
    const decision = decideReplicas({
      phase: input.phase,
      nowMs: input.nowMs,
      lag: input.lag,
      partitions: input.partitions,
      consumer: ev.consumer,
      current: existing?.spec?.replicas,
      memory: input.memory,
    });
    const applied = await applyDeployment(d, ev, decision.replicas);
    settle(d, out, ev, { existing, decision, applied, input });
    if (out.ready < out.desired) await explainNotReady(d, out, ev);
  } catch (err) {
    const message = `consumer Deployment: ${errMessage(err)}`;
    out.conditions.push({ type: 'ConsumersReady', status: 'False', reason: 'DeploymentFailed', message });
    out.errors.push(message);
  }
  return out;
}

function conflict(out: ConsumersOutcome, ev: ParsedEvent): ConsumersOutcome {
  const message = `Deployment ${consumerDeploymentName(ev.name)} exists and is not owned by this SeckillEvent`;
  out.conditions.push({ type: 'ConsumersReady', status: 'False', reason: 'DeploymentConflict', message });
  out.events.push({ type: 'Warning', reason: 'DeploymentConflict', message });
  out.errors.push(message);
  return out;
}

/** Server-side apply: creates or updates exactly the fields we own. */
function applyDeployment(d: ConsumerDeps, ev: ParsedEvent, replicas: number): Promise<V1Deployment> {
  const body = buildConsumerDeployment(ev, {
    image: d.config.consumerImage,
    imagePullPolicy: d.config.consumerImagePullPolicy,
    replicas,
    resources: d.config.consumerResources,
    claimWait: d.config.consumerClaimWait,
    extraEnv: d.config.consumerExtraEnv,
  });
  return d.apps.patchNamespacedDeployment(
    {
      name: consumerDeploymentName(ev.name),
      namespace: ev.namespace,
      body,
      fieldManager: FIELD_MANAGER,
      force: true,
    },
    serverSideApply,
  );
}

/** Records what the apply did (created, scaled) and how ready the consumers are. */
function settle(
  d: ConsumerDeps,
  out: ConsumersOutcome,
  ev: ParsedEvent,
  r: { existing?: V1Deployment; decision: ScaleDecision; applied: V1Deployment; input: ConsumersInput },
): void {
  const desired = r.decision.replicas;
  const current = r.existing?.spec?.replicas;
  out.desired = desired;
  out.ready = r.applied.status?.readyReplicas ?? 0;
  out.memory = r.decision.memory;
  out.recheckAfterMs = r.decision.recheckAfterMs;
  const name = consumerDeploymentName(ev.name);
  if (!r.existing) {
    const message = `created Deployment ${name} with ${desired} replicas`;
    out.events.push({ type: 'Normal', reason: 'DeploymentCreated', message });
  } else if (current !== desired) {
    out.lastScaleTime = new Date(r.input.nowMs).toISOString();
    const message = `scaled consumers from ${current ?? 0} to ${desired} (${r.decision.reason}, lag ${r.input.lag ?? 'unknown'})`;
    d.log.info(message, { event: `${ev.namespace}/${ev.name}` });
    out.events.push({ type: 'Normal', reason: 'Scaled', message });
  }
  out.conditions.push(readiness(desired, out.ready));
}

/**
 * Not all consumers are ready: say why from the pods (a missing Secret, an image that cannot be pulled,
 * a crash loop, no node) instead of only "0/1 ready". Looking is best effort: a failed pod list leaves
 * the plain Progressing condition.
 */
async function explainNotReady(d: ConsumerDeps, out: ConsumersOutcome, ev: ParsedEvent): Promise<void> {
  const pods = await d.core
    .listNamespacedPod({ namespace: ev.namespace, labelSelector: `${LABEL_EVENT}=${ev.name}` })
    .catch(() => undefined);
  const problem = pods && diagnoseConsumerPods(pods.items, ev.secretName);
  if (!problem) return;
  const message = `${out.ready}/${out.desired} consumers ready: ${problem.message}`;
  out.conditions = out.conditions.map((c) =>
    c.type === 'ConsumersReady' ? { ...c, reason: problem.reason, message } : c,
  );
  out.events.push({ type: 'Warning', reason: problem.reason, message: problem.message });
}

function readiness(desired: number, ready: number): ConditionUpdate {
  if (desired === 0) {
    return { type: 'ConsumersReady', status: 'True', reason: 'ScaledToZero', message: 'no consumers needed' };
  }
  const message = `${ready}/${desired} consumers ready`;
  return ready >= desired
    ? { type: 'ConsumersReady', status: 'True', reason: 'Ready', message }
    : { type: 'ConsumersReady', status: 'False', reason: 'Progressing', message };
}
