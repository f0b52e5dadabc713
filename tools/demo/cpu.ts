// Where the CPU went during the sale, per component: every process on the machine read from /proc at the
// start and the end of the load (utime + stime, in clock ticks), grouped by what it is: a pod's processes
// by the pod (their cgroup path carries pod<uid>), the stack's daemons by their command name. Processes
// that started or ended in between count what they used inside the window as far as /proc shows it.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux x86_64

interface ProcTime {
  component: string;
  ticks: number;
}

export interface CpuShare {
  component: string;
  /** Percent of one core over the window. */
  percentOfCore: number;
}

/** "pod<uid>" out of a cgroup v1 file (either driver spelling), or undefined. */
export function podUid(cgroup: string): string | undefined {
  const m = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/.exec(cgroup);
  return m?.[1]?.replace(/_/g, '-');
}

/** The pod a pod's processes are counted under: its name without the ReplicaSet's random suffixes. */
const podComponent = (name: string): string => `pod ${name.replace(/-[a-z0-9]{8,10}-[a-z0-9]{5}$/, '')}`;

function readProc(pid: string, podNames: ReadonlyMap<string, string>): ProcTime | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    const uid = podUid(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    const pod = uid ? podNames.get(uid) : undefined;
    const host = pid === String(process.pid) ? 'demo + load generator' : comm;
    return { component: pod ? podComponent(pod) : uid ? 'pod (unknown)' : host, ticks };
  } catch {
    return undefined; // ended meanwhile
  }
}

export class CpuMeter {
  private start = new Map<string, ProcTime>();
  private startedAt = 0;

  /** `podNames`: pod uid -> pod name (from the PodTracker), read at each call. */
  constructor(private readonly podNames: () => ReadonlyMap<string, string>) {}

  private snapshot(): Map<string, ProcTime> {
    const names = this.podNames();
    const out = new Map<string, ProcTime>();
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const t = readProc(pid, names);
      if (t) out.set(pid, t);
    }
    return out;
  }

  begin(): void {
    this.start = this.snapshot();
    this.startedAt = Date.now();
  }

  /** Percent of one core per component over the window, largest first (under 0.5 % left out). */
  end(): CpuShare[] {
    const seconds = (Date.now() - this.startedAt) / 1000;
    const byComponent = new Map<string, number>();
    for (const [pid, now] of this.snapshot()) {
      const used = now.ticks - (this.start.get(pid)?.ticks ?? 0);
      byComponent.set(now.component, (byComponent.get(now.component) ?? 0) + used);
    }
    return [...byComponent.entries()]
      .map(([component, ticks]) => ({
        component,
        percentOfCore: Math.round((ticks / TICKS_PER_SECOND / Math.max(seconds, 0.001)) * 1000) / 10,
      }))
      .filter((s) => s.percentOfCore >= 0.5)
      .sort((a, b) => b.percentOfCore - a.percentOfCore);
  }
}
