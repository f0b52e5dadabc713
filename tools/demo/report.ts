// The demo's report: the summary for the terminal (stderr) and the HTML page under reports/ with the
// summary tables and charts (offered / answered / accepted rate, latency, consumer lag, replicas and units
// sold over time), chaos actions marked.
import { verdictText } from '../../workloads/consumer/invariants.js';
import type { LoadReport } from '../load/open-loop.js';
import { isHaKill } from './chaos.js';
import { htmlPage, htmlTable, lineChart, textTable, type Marker } from './charts.js';
import type { DemoOptions } from './options.js';
import type { DemoResult } from './result.js';
import type { Sample } from './sampling.js';

type Row = (string | number)[];

function figureRows(r: DemoResult): Row[] {
  return [
    ['offered', r.offered, `${r.offeredPerSec}/s`],
    ['answered', r.answered, `${r.answeredPerSec}/s`],
    [
      'accepted (202)',
      r.accepted,
      `${r.acceptedPerSec}/s overall, ${r.acceptedPerSecWhileAccepting}/s while accepting`,
    ],
    ...Object.entries(r.rejectedByReason)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [`rejected: ${k}`, v, ''] as Row),
    [
      'latency p50 / p99 / p99.9 / max',
      `${r.p50Ms} / ${r.p99Ms} / ${r.p999Ms} / ${r.maxMs} ms`,
      'from the due time (open loop)',
    ],
    ['time to sell out', r.sellOutSeconds ?? 'not sold out', 's since the load started'],
    ['load duration', r.loadSeconds, 's'],
    [
      'time to drain',
      r.drainSeconds ?? 'did not drain',
      's after the last answer (lag 0, all tickets resolved)',
    ],
    ['consumer replicas (max)', r.maxReplicas, `max Kafka lag ${r.maxLag} messages`],
    [
      'platform',
      `${r.platform}, node ${r.nodeReady ? 'Ready' : 'NOT Ready'}`,
      `helm release ${r.helmRelease}`,
    ],
    [
      'engines',
      `${r.profile}: ${r.kafkaBrokers} Kafka broker(s), ${r.redisMasters} Redis master(s)`,
      r.profile === 'ha' ? 'topics RF 3 / min ISR 2, claims confirmed by a replica (WAIT 1)' : '',
    ],
    ['pods started / restarts', `${r.podsStarted} / ${r.podRestarts}`, r.images.join(', ')],
  ];
}

function invariantRows(r: DemoResult): Row[] {
  return [
    ['oversold', r.oversold],
    ['duplicate orders (tickets with > 1 order)', r.duplicateOrders],
    ['buyers over the limit', r.buyersOverLimit],
    ['unresolved 202 tickets', r.unresolvedTickets],
    ['won tickets without exactly one order', r.wonWithoutOrder],
    ['lost tickets with an order', r.lostWithOrder],
    ['orders whose ticket is not a win', r.ordersWithoutWin],
    ['tickets won / lost', `${r.wonTickets} / ${r.lostTickets}`],
    [
      'idempotent retries / answered with the first ticket',
      `${r.idempotentRetries} / ${r.idempotentSameTicket}`,
    ],
    ['idempotent retries that won a second time', r.idempotentSecondWins],
  ];
}

const productRows = (r: DemoResult): Row[] =>
  r.products.map((p) => [p.id, p.stock, p.sold, p.redisSold, p.orders]);
const PRODUCT_HEADER = ['product', 'stock', 'sold (MySQL)', 'seckill (Redis)', 'orders'];
const chaosRows = (r: DemoResult): Row[] =>
  r.chaosActions.map((a) => [
    a.atSeconds,
    a.tookSeconds,
    a.action,
    a.writesPausedSeconds ?? (isHaKill(a.kind) ? 'did not resume' : ''),
    a.refusals ? `${a.refusals.unavailable} / ${a.refusals.throttled} / ${a.refusals.failed}` : '',
    a.detail,
  ]);
const CHAOS_HEADER = ['t (s)', 'took (s)', 'action', 'writes paused (s)', '503 / 429 / no answer', 'detail'];
const cpuRows = (r: DemoResult): Row[] =>
  r.cpuDuringLoad.slice(0, 15).map((c) => [c.component, c.percentOfCore]);
const CPU_HEADER = ['component', '% of one core (during the load)'];

/** The summary for the terminal. */
export function renderText(r: DemoResult, samples: Sample[]): string {
  const lines: string[] = [
    '',
    `=== flash sale ${r.event}${r.chaos ? ' (chaos)' : ''}${r.seedStyle ? ' (seed-style pipeline)' : ''} ===`,
    textTable(figureRows(r), ['', 'value', '']),
    '',
    'per product (Redis and MySQL):',
    textTable(productRows(r), PRODUCT_HEADER),
    '',
    textTable(invariantRows(r), ['invariant check', 'count']),
    '',
    'CPU per component while the load ran:',
    textTable(cpuRows(r), CPU_HEADER),
  ];
  const timeline = samples.filter((_, i) => i % Math.max(1, Math.ceil(samples.length / 30)) === 0);
  lines.push('', 'replicas and lag over time:');
  lines.push(
    textTable(
      timeline.map((s) => [s.t, s.phase, s.desired, s.ready, s.kafkaLag ?? '-', s.sold]),
      ['t (s)', 'phase', 'desired', 'ready', 'kafka lag', 'sold'],
    ),
  );
  if (r.chaosActions.length > 0) lines.push('', 'chaos actions:', textTable(chaosRows(r), CHAOS_HEADER));
  lines.push('', verdictText(r));
  return lines.join('\n');
}

function charts(load: LoadReport, samples: Sample[], markers: Marker[]): string[] {
  const tl = load.timeline;
  const rate = lineChart(
    'Requests per second',
    'requests/s',
    [
      { name: 'offered', color: '#888', points: tl.map((s) => [s.second, s.offered]) },
      { name: 'answered', color: '#1f77b4', points: tl.map((s) => [s.second, s.completed - s.errors]) },
      { name: 'accepted (202)', color: '#2ca02c', points: tl.map((s) => [s.second, s.accepted]) },
      { name: 'client errors', color: '#d62728', points: tl.map((s) => [s.second, s.errors]) },
    ],
    markers,
  );
  const latency = lineChart(
    'Latency (from the due time)',
    'ms',
    [
      { name: 'p50', color: '#1f77b4', points: tl.map((s) => [s.second, s.p50Ms]) },
      { name: 'p99', color: '#ff7f0e', points: tl.map((s) => [s.second, s.p99Ms]) },
    ],
    markers,
  );
  const lagPoints = samples
    .filter((s) => s.kafkaLag !== null)
    .map((s): [number, number] => [s.t, s.kafkaLag ?? 0]);
  const lag = lineChart(
    'Consumer lag (Kafka messages)',
    'messages',
    [{ name: 'lag', color: '#9467bd', points: lagPoints }],
    markers,
  );
  const replicas = lineChart(
    'Consumer replicas',
    'replicas',
    [
      { name: 'desired (operator)', color: '#8c564b', points: samples.map((s) => [s.t, s.desired]) },
      { name: 'ready (pods)', color: '#2ca02c', points: samples.map((s) => [s.t, s.ready]) },
    ],
    markers,
    true,
  );
  const sold = lineChart(
    'Units sold (Redis)',
    'units',
    [{ name: 'sold', color: '#e377c2', points: samples.map((s) => [s.t, s.sold]) }],
    markers,
  );
  return [rate, latency, lag, replicas, sold];
}

function summaryHtml(r: DemoResult, o: DemoOptions): string {
  const verdict = r.ok
    ? '<p class="good">Every invariant holds.</p>'
    : `<p class="bad">Invariants violated:</p><ul>${r.violations.map((v) => `<li>${v}</li>`).join('')}</ul>`;
  const settings = `${o.products} products x ${o.stock} stock, limit ${o.perUserLimit}/buyer, ${o.buyers} buyers, ${o.requests} requests at ${o.rate}/s, ${o.partitions} partitions, max ${o.maxReplicas} consumers${o.seedStyle ? ', seed-style pipeline' : ''}`;
  const rows: Row[] = [
    ['settings', settings],
    ['offered', `${r.offered} (${r.offeredPerSec}/s)`],
    ['answered', `${r.answered} (${r.answeredPerSec}/s)`],
    [
      'accepted',
      `${r.accepted} (${r.acceptedPerSec}/s overall, ${r.acceptedPerSecWhileAccepting}/s while accepting)`,
    ],
    ...Object.entries(r.rejectedByReason).map(([k, v]) => [`rejected: ${k}`, v]),
    ['latency p50 / p99 / p99.9 / max (ms)', `${r.p50Ms} / ${r.p99Ms} / ${r.p999Ms} / ${r.maxMs}`],
    ['time to sell out (s)', r.sellOutSeconds ?? 'not sold out'],
    ['time to drain after the load (s)', r.drainSeconds ?? 'did not drain'],
    [
      'oversold / duplicate orders / buyers over limit',
      `${r.oversold} / ${r.duplicateOrders} / ${r.buyersOverLimit}`,
    ],
    [
      'unresolved tickets / won without order / lost with order / orders not won',
      `${r.unresolvedTickets} / ${r.wonWithoutOrder} / ${r.lostWithOrder} / ${r.ordersWithoutWin}`,
    ],
  ];
  return verdict + htmlTable(rows, ['', '']) + htmlTable(productRows(r), PRODUCT_HEADER);
}

/** The HTML page written to the report file. */
export function renderHtml(r: DemoResult, load: LoadReport, samples: Sample[], o: DemoOptions): string {
  const markers: Marker[] = r.chaosActions.map((a) => ({ x: a.atSeconds, label: a.action }));
  return htmlPage(`Seckill demo ${r.event}${r.chaos ? ' (chaos)' : ''}`, [
    { heading: 'Summary', html: summaryHtml(r, o) },
    { heading: 'Charts', html: charts(load, samples, markers).join('<br>\n') },
    ...(r.chaosActions.length > 0
      ? [
          {
            heading: 'Chaos actions (red dashed lines in the charts)',
            html: htmlTable(chaosRows(r), CHAOS_HEADER),
          },
        ]
      : []),
    {
      heading: 'Outcomes',
      html: htmlTable(
        Object.entries(r.outcomes).sort((a, b) => b[1] - a[1]),
        ['outcome', 'count'],
      ),
    },
    { heading: 'CPU per component while the load ran', html: htmlTable(cpuRows(r), CPU_HEADER) },
    {
      heading: `Pods (${r.podsStarted} started, ${r.podRestarts} restarts)`,
      html: htmlTable(
        r.images.map((i) => [i]),
        ['image'],
      ),
    },
  ]);
}
