// Text output of the load generator: the live progress line and the summary.
import type { LoadReport, Progress, TicketPollReport } from './open-loop.js';

export function progressLine(p: Progress): string {
  const s = p.lastSecond;
  return (
    `t=${p.elapsedSeconds.toFixed(1)}s sent ${p.due}/${p.total} done ${p.completed} ` +
    `accepted ${p.accepted} errors ${p.errors} inflight ${p.inFlight} queued ${p.queued} conns ${p.connections}` +
    (s ? ` | last s: ${s.completed}/s p50 ${s.p50Ms}ms p99 ${s.p99Ms}ms` : '')
  );
}

export function formatReport(r: LoadReport, polled?: TicketPollReport): string {
  const lines = [
    `target        ${r.url}  event ${r.event}`,
    `offered       ${r.offered} requests at ${r.rate}/s (${r.offeredPerSec}/s achieved schedule)`,
    `completed     ${r.completed} in ${r.seconds}s (${r.completedPerSec}/s)`,
    `accepted      ${r.accepted} (202) = ${r.acceptedPerSec}/s overall, ${r.acceptedPerSecDuringAccepting}/s while accepting`,
    `latency (ms)  p50 ${r.latencyMs.p50}  p90 ${r.latencyMs.p90}  p99 ${r.latencyMs.p99}  p99.9 ${r.latencyMs.p999}  max ${r.latencyMs.max}  (from the due time: open loop)`,
    'outcomes:',
    ...Object.entries(r.outcomes)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `  ${k.padEnd(28)} ${v}`),
  ];
  if (Object.keys(r.firstSoldOutMs).length > 0) {
    lines.push(
      `first sold_out ${Object.entries(r.firstSoldOutMs)
        .map(([p, ms]) => `${p}@${(ms / 1000).toFixed(2)}s`)
        .join(' ')}`,
    );
  }
  const idem = r.idempotency;
  if (idem.keyed > 0) {
    lines.push(
      `idempotent    ${idem.keyed} keyed purchases retried once: ${idem.sameTicket} retries named the first ticket, ${idem.otherTicket} another`,
    );
  }
  if (polled) {
    lines.push(
      `tickets       won ${polled.won}, lost (sold out) ${polled.lostSoldOut}, lost (limit) ${polled.lostLimit}, still pending ${polled.pending} (polled ${polled.seconds}s)`,
    );
  }
  return lines.join('\n');
}
