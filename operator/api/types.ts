// The SeckillEvent resource as the operator sees it: TypeScript types, and validation of what the API
// server hands us. The CRD schema (crds/seckillevent.yaml) already enforces all of this; we validate again
// because an object read from the API is external data (an older schema, a hand-edited etcd, a skipped
// default), and a bad one must become a Failed phase with a reason, never a crash.
import type { KubernetesObject } from '@kubernetes/client-node';
import { BATCHER_DEFAULTS, type BatcherSettings } from '../../workloads/shared/batcher-settings.js';
import type { ProductSpec } from '../../workloads/shared/catalog.js';
import { purchaseTopic } from '../../workloads/shared/kafka/topics.js';
import { EVENT_NAME_PATTERN, MAX_PRODUCT_ID, TOPIC_NAME_PATTERN } from '../../workloads/shared/names.js';

export const GROUP = 'seckill.io';
export const VERSION = 'v1alpha1';
export const KIND = 'SeckillEvent';
export const PLURAL = 'seckillevents';
export const API_VERSION = `${GROUP}/${VERSION}`;
/** The finalizer the operator puts on every event so it can clean up before the object goes. */
export const FINALIZER = 'seckill.io/cleanup';

export type Phase = 'Pending' | 'Scheduled' | 'Active' | 'Ended' | 'Completed' | 'Failed';
export type ConditionType = 'Ready' | 'StockPreloaded' | 'TopicReady' | 'ConsumersReady' | 'SoldOut';
export type ConditionStatus = 'True' | 'False' | 'Unknown';
export type CleanupPolicy = 'Retain' | 'Delete';

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration: number;
}

export interface KafkaSpec {
  topic?: string;
  partitions?: number;
  expectedPeakRate?: number;
  /** Default: the operator's TOPIC_REPLICATION_FACTOR. */
  replicationFactor?: number;
  /** Default: the operator's TOPIC_MIN_INSYNC_REPLICAS, at most the replication factor. */
  minInSyncReplicas?: number;
}

export interface ConsumerSpec {
  minReplicas: number;
  maxReplicas: number;
  lagPerReplica: number;
  shardsPerPod: number;
  scaleDownStabilizationSeconds: number;
  cooldownSeconds: number;
  image?: string;
}

export interface SeckillEventSpec {
  products: ProductSpec[];
  startTime: string;
  endTime: string;
  kafka: KafkaSpec;
  batcher?: Partial<BatcherSettings>;
  consumer?: Partial<ConsumerSpec>;
  connection: { secretName: string };
  cleanupPolicy?: CleanupPolicy;
}

export interface ProductStatus {
  id: number;
  total: number;
  sold: number;
}

export interface SeckillEventStatus {
  phase?: Phase;
  reason?: string;
  message?: string;
  observedGeneration?: number;
  topic?: string;
  partitions?: number;
  /** What the topic has: replicas per partition, and its min.insync.replicas. */
  replicationFactor?: number;
  minInSyncReplicas?: number;
  productCount?: number;
  totalStock?: number;
  totalSold?: number;
  lag?: number;
  products?: ProductStatus[];
  consumers?: { deployment?: string; desired?: number; ready?: number; summary?: string };
  lastScaleTime?: string;
  conditions?: Condition[];
}

export interface SeckillEvent extends KubernetesObject {
  spec?: SeckillEventSpec;
  status?: SeckillEventStatus;
}

/** A validated event with every default applied: what the reconciler works from. */
export interface ParsedEvent {
  name: string;
  namespace: string;
  uid: string;
  generation: number;
  products: ProductSpec[];
  startMs: number;
  endMs: number;
  topic: string;
  /** Partitions the spec asks for (explicit, or derived from expectedPeakRate). */
  partitions: number;
  /** undefined: the operator's default (topicReplication in its config). */
  replicationFactor: number | undefined;
  minInSyncReplicas: number | undefined;
  batcher: BatcherSettings;
  consumer: ConsumerSpec;
  secretName: string;
  cleanupPolicy: CleanupPolicy;
}

/**
 * spec.batcher's bounds per field, [minimum, maximum] as the CRD declares them; the defaults are the
 * shared BATCHER_DEFAULTS (test/unit/batcher-settings.test.ts checks both against the CRD).
 */
export const BATCHER_SPEC_BOUNDS = {
  size: [1, 10_000],
  intervalMs: [1, 10_000],
  workers: [1, 1024],
  buffer: [1, 1_000_000],
} as const;
/** spec.kafka.topic's maxLength in the CRD (Kafka itself allows 249). */
export const MAX_SPEC_TOPIC_LENGTH = 200;
export const CONSUMER_DEFAULTS: ConsumerSpec = {
  minReplicas: 1,
  maxReplicas: 10,
  lagPerReplica: 1000,
  shardsPerPod: 8,
  scaleDownStabilizationSeconds: 60,
  cooldownSeconds: 30,
};

/**
 * Partitions derived from an expected peak rate: ceil(rate / 5000), clamped to 1..1000.
 * Why 5000: one partition is consumed by one consumer pod at a time, and a pod with the default 8 shards
 * settles a 100-entry batch per product in one Redis script + one multi-row INSERT (~10 ms), i.e. about
 * 5000 purchase requests/s per partition with headroom. The clamp matches the CRD's partitions bounds.
 */
export const REQUESTS_PER_PARTITION = 5000;
export const MAX_PARTITIONS = 1000;
export function partitionsForRate(ratePerSecond: number): number {
  if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) return 1;
  return Math.min(MAX_PARTITIONS, Math.max(1, Math.ceil(ratePerSecond / REQUESTS_PER_PARTITION)));
}

/** The spec is unusable: the event goes to phase Failed with this message (reason InvalidSpec). */
export class SpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecError';
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function int(obj: Obj, field: string, path: string, min: number, max: number, fallback?: number): number {
  const v = obj[field];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new SpecError(`${path}.${field} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

function time(obj: Obj, field: string): number {
  const v = obj[field];
  const ms = typeof v === 'string' ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms))
    throw new SpecError(`spec.${field} must be an RFC 3339 time, got ${JSON.stringify(v)}`);
  return ms;
}

/** Validates a SeckillEvent read from the API server; throws SpecError naming the bad field. */
export function parseSeckillEvent(obj: unknown): ParsedEvent {
  if (!isObj(obj) || !isObj(obj.metadata)) throw new SpecError('object has no metadata');
  const meta = parseMetadata(obj.metadata);
  const spec = obj.spec;
  if (!isObj(spec)) throw new SpecError('spec is missing');
  const products = parseProducts(spec.products);
  const startMs = time(spec, 'startTime');
  const endMs = time(spec, 'endTime');
  if (endMs <= startMs) throw new SpecError('spec.endTime must be after spec.startTime');
  const kafka = parseKafka(spec.kafka, meta.name);
  const batcher = parseBatcher(spec.batcher);
  const consumer = parseConsumer(spec.consumer);
  const conn = spec.connection;
  if (!isObj(conn) || typeof conn.secretName !== 'string' || conn.secretName.length === 0) {
    throw new SpecError('spec.connection.secretName is required');
  }
  const policy = spec.cleanupPolicy ?? 'Retain';
  if (policy !== 'Retain' && policy !== 'Delete') {
    throw new SpecError(`spec.cleanupPolicy must be Retain or Delete, got ${JSON.stringify(policy)}`);
  }
  return {
    ...meta,
    products,
    startMs,
    endMs,
    ...kafka,
    batcher,
    consumer,
    secretName: conn.secretName,
    cleanupPolicy: policy,
  };
}

function parseMetadata(md: Obj): Pick<ParsedEvent, 'name' | 'namespace' | 'uid' | 'generation'> {
  const name = md.name;
  if (typeof name !== 'string' || !EVENT_NAME_PATTERN.test(name)) {
    throw new SpecError(`metadata.name ${JSON.stringify(name)} is not a DNS label`);
  }
  const namespace = typeof md.namespace === 'string' && md.namespace ? md.namespace : 'default';
  const uid = typeof md.uid === 'string' ? md.uid : '';
  const generation = typeof md.generation === 'number' ? md.generation : 0;
  return { name, namespace, uid, generation };
}

function parseProducts(list: unknown): ProductSpec[] {
  if (!Array.isArray(list) || list.length === 0) {
    throw new SpecError('spec.products must be a non-empty list');
  }
  const seen = new Set<number>();
  return list.map((p: unknown, i: number): ProductSpec => {
    const path = `spec.products[${i}]`;
    if (!isObj(p)) throw new SpecError(`${path} must be an object`);
    const id = int(p, 'id', path, 1, MAX_PRODUCT_ID);
    if (seen.has(id)) throw new SpecError(`${path}.id ${id} is duplicated`);
    seen.add(id);
    return {
      id,
      stock: int(p, 'stock', path, 0, Number.MAX_SAFE_INTEGER),
      perUserLimit: int(p, 'perUserLimit', path, 1, MAX_PRODUCT_ID, 1),
    };
  });
}

function parseKafka(
  kafka: unknown,
  event: string,
): Pick<ParsedEvent, 'topic' | 'partitions' | 'replicationFactor' | 'minInSyncReplicas'> {
  if (!isObj(kafka)) throw new SpecError('spec.kafka is missing');
  const hasPartitions = kafka.partitions !== undefined;
  const hasRate = kafka.expectedPeakRate !== undefined;
  if (hasPartitions === hasRate) {
    throw new SpecError('spec.kafka must set exactly one of partitions or expectedPeakRate');
  }
  const partitions = hasPartitions
    ? int(kafka, 'partitions', 'spec.kafka', 1, MAX_PARTITIONS)
    : partitionsForRate(int(kafka, 'expectedPeakRate', 'spec.kafka', 1, Number.MAX_SAFE_INTEGER));
  let topic = purchaseTopic(event);
  if (kafka.topic !== undefined) {
    const t = kafka.topic;
    if (typeof t !== 'string' || t.length > MAX_SPEC_TOPIC_LENGTH || !TOPIC_NAME_PATTERN.test(t)) {
      throw new SpecError(`spec.kafka.topic ${JSON.stringify(t)} is not a valid Kafka topic name`);
    }
    topic = t;
  }
  const optionalInt = (name: string): number | undefined =>
    kafka[name] === undefined ? undefined : int(kafka, name, 'spec.kafka', 1, 7);
  const replicationFactor = optionalInt('replicationFactor');
  const minInSyncReplicas = optionalInt('minInSyncReplicas');
  if (
    replicationFactor !== undefined &&
    minInSyncReplicas !== undefined &&
    minInSyncReplicas > replicationFactor
  ) {
    throw new SpecError('spec.kafka.minInSyncReplicas must be <= spec.kafka.replicationFactor');
  }
  return { topic, partitions, replicationFactor, minInSyncReplicas };
}

function parseBatcher(raw: unknown): BatcherSettings {
  const b = isObj(raw) ? raw : {};
  const field = (name: keyof typeof BATCHER_SPEC_BOUNDS): number => {
    const [min, max] = BATCHER_SPEC_BOUNDS[name];
    return int(b, name, 'spec.batcher', min, max, BATCHER_DEFAULTS[name]);
  };
  const batcher: BatcherSettings = {
    size: field('size'),
    intervalMs: field('intervalMs'),
    workers: field('workers'),
    buffer: field('buffer'),
  };
  if (batcher.buffer < batcher.size) throw new SpecError('spec.batcher.buffer must be >= spec.batcher.size');
  return batcher;
}

function parseConsumer(raw: unknown): ConsumerSpec {
  const c = isObj(raw) ? raw : {};
  const D = CONSUMER_DEFAULTS;
  const consumer: ConsumerSpec = {
    minReplicas: int(c, 'minReplicas', 'spec.consumer', 1, 1000, D.minReplicas),
    maxReplicas: int(c, 'maxReplicas', 'spec.consumer', 1, 1000, D.maxReplicas),
    lagPerReplica: int(c, 'lagPerReplica', 'spec.consumer', 1, Number.MAX_SAFE_INTEGER, D.lagPerReplica),
    shardsPerPod: int(c, 'shardsPerPod', 'spec.consumer', 1, 256, D.shardsPerPod),
    scaleDownStabilizationSeconds: int(
      c,
      'scaleDownStabilizationSeconds',
      'spec.consumer',
      0,
      3600,
      D.scaleDownStabilizationSeconds,
    ),
    cooldownSeconds: int(c, 'cooldownSeconds', 'spec.consumer', 0, 86_400, D.cooldownSeconds),
  };
  if (c.image !== undefined) {
    if (typeof c.image !== 'string' || c.image.length === 0)
      throw new SpecError('spec.consumer.image must be a non-empty string');
    consumer.image = c.image;
  }
  if (consumer.maxReplicas < consumer.minReplicas) {
    throw new SpecError('spec.consumer.maxReplicas must be >= spec.consumer.minReplicas');
  }
  return consumer;
}

/** The work-queue key of an object: namespace/name, as client-go's MetaNamespaceKeyFunc. */
export const objectKey = (namespace: string, name: string): string => `${namespace}/${name}`;
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: 'default', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
