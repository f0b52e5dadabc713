// What the reports are made of: a self-contained HTML page, HTML tables, inline SVG line charts (with
// markers, e.g. chaos actions) and plain-text tables for the terminal.

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

export interface Marker {
  x: number;
  label: string;
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const W = 760;
const H = 240;
const L = 60;
const R = 150;
const T = 28;
const B = 34;

interface Scale {
  sx: (x: number) => number;
  sy: (y: number) => number;
  xMax: number;
  yMax: number;
}

function axes(title: string, yLabel: string, { sx, sy, xMax, yMax }: Scale): string[] {
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<text x="${L}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    out.push(
      `<line x1="${L}" y1="${sy(y)}" x2="${W - R}" y2="${sy(y)}" stroke="#eee"/>`,
      `<text x="${L - 4}" y="${sy(y) + 4}" text-anchor="end">${Number(y.toPrecision(3))}</text>`,
    );
  }
  const xTicks = Math.min(10, Math.ceil(xMax));
  for (let i = 0; i <= xTicks; i++) {
    const x = (xMax * i) / xTicks;
    out.push(`<text x="${sx(x)}" y="${H - B + 14}" text-anchor="middle">${x.toFixed(0)}</text>`);
  }
  out.push(
    `<text x="${(L + W - R) / 2}" y="${H - 4}" text-anchor="middle">seconds since the load started</text>`,
    `<text x="12" y="${(T + H - B) / 2}" transform="rotate(-90 12 ${(T + H - B) / 2})" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  return out;
}

/** One series' line (a staircase when `step`) and its legend entry. */
function seriesLine(s: Series, i: number, { sx, sy }: Scale, step: boolean): string[] {
  const out: string[] = [];
  if (s.points.length > 0) {
    let d = '';
    s.points.forEach(([x, y], j) => {
      if (j === 0) d += `M${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
      else if (step) d += `H${sx(x).toFixed(1)}V${sy(y).toFixed(1)}`;
      else d += `L${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
    });
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"/>`);
  }
  out.push(
    `<rect x="${W - R + 10}" y="${T + i * 16}" width="10" height="10" fill="${s.color}"/>`,
    `<text x="${W - R + 24}" y="${T + i * 16 + 9}">${esc(s.name)}</text>`,
  );
  return out;
}

/** A line chart as an SVG string: x in seconds, y from 0 to a rounded maximum. */
export function lineChart(
  title: string,
  yLabel: string,
  series: Series[],
  markers: Marker[] = [],
  step = false,
): string {
  const all = series.flatMap((s) => s.points);
  const xMax = Math.max(1, ...all.map((p) => p[0]), ...markers.map((m) => m.x));
  const yMax = niceMax(Math.max(0, ...all.map((p) => p[1])));
  const scale: Scale = {
    sx: (x) => L + (x / xMax) * (W - L - R),
    sy: (y) => H - B - (y / yMax) * (H - T - B),
    xMax,
    yMax,
  };
  const out = axes(title, yLabel, scale);
  for (const m of markers) {
    out.push(
      `<line x1="${scale.sx(m.x)}" y1="${T}" x2="${scale.sx(m.x)}" y2="${H - B}" stroke="#c33" stroke-dasharray="3,3"/>`,
      `<title>${esc(m.label)}</title>`,
    );
  }
  series.forEach((s, i) => out.push(...seriesLine(s, i, scale, step)));
  out.push('</svg>');
  return out.join('\n');
}

export function htmlTable(rows: (string | number)[][], header?: string[]): string {
  const cell = (tag: string, v: string | number): string => `<${tag}>${esc(String(v))}</${tag}>`;
  return [
    '<table>',
    header ? `<tr>${header.map((h) => cell('th', h)).join('')}</tr>` : '',
    ...rows.map((r) => `<tr>${r.map((v) => cell('td', v)).join('')}</tr>`),
    '</table>',
  ].join('\n');
}

export function htmlPage(title: string, sections: { heading: string; html: string }[]): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1000px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; font-size: 13px; }
th { background: #f4f4f4; }
.bad { color: #b00; font-weight: bold; } .good { color: #070; font-weight: bold; }
</style></head><body>
<h1>${esc(title)}</h1>
${sections.map((s) => `<h2>${esc(s.heading)}</h2>\n${s.html}`).join('\n')}
</body></html>
`;
}

/** A plain-text table for the terminal. */
export function textTable(rows: (string | number)[][], header: string[]): string {
  const all = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(all[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}
