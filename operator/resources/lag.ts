// Consumer lag of an event: for each partition, the end offset minus the group's committed offset
// (a partition the group never committed counts everything it retains: the consumer reads from the start).
import type { Admin } from 'kafkajs';

export type LagAdmin = Pick<Admin, 'fetchOffsets' | 'fetchTopicOffsets'>;

export interface PartitionOffsets {
  partition: number;
  /** End offset (next offset to be written). */
  high: number;
  /** Earliest retained offset. */
  low: number;
  /** Committed offset of the group, or -1 when none. */
  committed: number;
}

/** Pure: total lag over partitions. */
export function totalLag(partitions: readonly PartitionOffsets[]): number {
  let lag = 0;
  for (const p of partitions) {
    const from = p.committed >= 0 ? Math.max(p.committed, p.low) : p.low;
    lag += Math.max(0, p.high - from);
  }
  return lag;
}

const num = (v: string | undefined): number => {
  const n = Number(v);
  return Number.isFinite(n) ? n : -1;
};

/** Reads the offsets of `topic` and of `group` on it from Kafka. */
export async function readOffsets(
  admin: LagAdmin,
  group: string,
  topic: string,
): Promise<PartitionOffsets[]> {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId: group, topics: [topic] }),
  ]);
  const byPartition = new Map<number, number>();
  for (const t of committed) {
    if (t.topic !== topic) continue;
    for (const p of t.partitions) byPartition.set(p.partition, num(p.offset));
  }
  return ends.map((e) => ({
    partition: e.partition,
    high: num(e.high),
    low: Math.max(0, num(e.low)),
    committed: byPartition.get(e.partition) ?? -1,
  }));
}

export async function consumerLag(admin: LagAdmin, group: string, topic: string): Promise<number> {
  return totalLag(await readOffsets(admin, group, topic));
}
