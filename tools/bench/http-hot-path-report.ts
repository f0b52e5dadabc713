// What bench:http reports: one line per mode, then the ratios side by side: every ours-* mode against the
// raw node:http echo (the issue's >= 0.7x bar, shown as PASS/BELOW: information, not an exit code) and
// against ours without auth, cached against uncached per algorithm, ours against express.
import { AUTH_MODE_NAMES, isAuthMode, type Algorithm, type AuthMode } from './http-auth-modes.js';

export const PLAIN_MODES = ['raw-echo', 'express-echo', 'express-purchase', 'ours-purchase'] as const;
export type Mode = (typeof PLAIN_MODES)[number] | AuthMode;
export const MODES: readonly Mode[] = [...PLAIN_MODES, ...AUTH_MODE_NAMES];
export const isMode = (mode: string): mode is Mode => (MODES as readonly string[]).includes(mode);

/** The issue's bar: the purchase path, token verification included, at >= 0.7x a raw node:http echo. */
export const CRITERION = 0.7;

export interface ModeResult {
  rps: number;
  /** Answers counted in the measured window. */
  requests: number;
  non2xx: number;
  non2xxByStatus: Record<string, number>;
  closedEarly: number;
  /** Server process CPU over the measured window, 1 = one core (libuv's threads, where WebCrypto runs, included). */
  serverCpu: number;
  /** The server's token checks by result over its whole life (warm-up included); auth modes only. */
  authChecks?: Record<string, number>;
}
export type Results = Partial<Record<Mode, ModeResult>>;

export function modeLine(mode: Mode, r: ModeResult): string {
  const statuses = r.non2xx > 0 ? ` ${JSON.stringify(r.non2xxByStatus)}` : '';
  const checks =
    r.authChecks === undefined
      ? ''
      : `   tokens verified ${r.authChecks.verified ?? 0}, cached ${r.authChecks.cached ?? 0}`;
  const rps = Math.round(r.rps).toString().padStart(8);
  return `${mode.padEnd(20)} ${rps} req/s   non-2xx ${r.non2xx}${statuses}   server CPU ${(r.serverCpu * 100).toFixed(0)}%${checks}`;
}

const ratio = (a: ModeResult | undefined, b: ModeResult | undefined): number | null =>
  a !== undefined && b !== undefined && b.rps > 0 ? +(a.rps / b.rps).toFixed(2) : null;

type Verdict = 'PASS' | 'BELOW';

const CACHE_PAIRS = {
  HS256: ['ours-hs256-cached', 'ours-hs256-uncached'],
  ES256: ['ours-es256-cached', 'ours-es256-uncached'],
} as const satisfies Record<Algorithm, readonly [AuthMode, AuthMode]>;

export interface Summary {
  /** Each ours-* mode / raw echo, with its verdict against CRITERION; null without a raw-echo run. */
  vsRawEcho: Partial<Record<Mode, { ratio: number | null; verdict: Verdict | null }>>;
  /** Each auth mode / ours-purchase (auth off). */
  vsAuthOff: Partial<Record<AuthMode, number | null>>;
  /** Cached / uncached req/s per algorithm. */
  cachedVsUncached: Partial<Record<Algorithm, number | null>>;
  oursVsExpressPurchase: number | null;
  expressEchoVsRawEcho: number | null;
}

export function summarise(results: Results): Summary {
  const summary: Summary = {
    vsRawEcho: {},
    vsAuthOff: {},
    cachedVsUncached: {},
    oursVsExpressPurchase: ratio(results['ours-purchase'], results['express-purchase']),
    expressEchoVsRawEcho: ratio(results['express-echo'], results['raw-echo']),
  };
  for (const mode of ['ours-purchase', ...AUTH_MODE_NAMES] as const) {
    if (results[mode] === undefined) continue;
    const r = ratio(results[mode], results['raw-echo']);
    summary.vsRawEcho[mode] = { ratio: r, verdict: r === null ? null : r >= CRITERION ? 'PASS' : 'BELOW' };
    if (mode !== 'ours-purchase') summary.vsAuthOff[mode] = ratio(results[mode], results['ours-purchase']);
  }
  for (const alg of ['HS256', 'ES256'] as const) {
    const [cached, uncached] = CACHE_PAIRS[alg];
    if (results[cached] !== undefined || results[uncached] !== undefined) {
      summary.cachedVsUncached[alg] = ratio(results[cached], results[uncached]);
    }
  }
  return summary;
}

const times = (r: number | null | undefined): string => (r === null || r === undefined ? 'n/a' : `${r}x`);

export function summaryText(summary: Summary): string {
  const lines = [
    '',
    `${`vs raw node:http echo (bar: >= ${CRITERION}x; information only)`.padEnd(62)}vs ours, auth off`,
  ];
  for (const [mode, v] of Object.entries(summary.vsRawEcho)) {
    const offRatio = isAuthMode(mode) ? times(summary.vsAuthOff[mode]) : '';
    lines.push(
      `  ${mode.padEnd(20)} ${times(v.ratio).padStart(6)}  ${(v.verdict ?? '(no raw-echo run)').padEnd(30)} ${offRatio}`,
    );
  }
  const cached = Object.entries(summary.cachedVsUncached).map(([alg, r]) => `${alg} ${times(r)}`);
  if (cached.length > 0) lines.push(`cached vs uncached: ${cached.join('   ')}`);
  lines.push(
    `ours vs express (same purchase handler): ${times(summary.oursVsExpressPurchase)}   ` +
      `express echo vs raw echo: ${times(summary.expressEchoVsRawEcho)}`,
  );
  return lines.join('\n');
}
