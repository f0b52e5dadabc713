// The buyer-token modes of bench:http: the AuthConfig each server child builds its real authenticator from
// (createAuthenticator), the tokens the client sends, and the checks that the figures mean what they say.
// HS256 uses a fixed secret; ES256 a key pair generated here (the parent), whose public JWK goes to a temp
// JWKS file the child reads through jwksFileSource, as a mounted JWKS in production. Tokens are signed
// before the run, one per buyer, and buyer b's request always carries token b (buyers reuse their token):
// the cached modes hit the cache after the first round, the uncached ones (cacheEntries 0) verify every time.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import type { Registry } from 'prom-client';
import type { AuthConfig } from '../../workloads/api/config.js';
import { signBuyerTokenWith, type SigningKey } from '../lib/buyer-tokens.js';
import { purchaseRequest, type LoadResult } from './http-load.js';

export type Algorithm = 'HS256' | 'ES256';

export const AUTH_MODES = {
  'ours-hs256-cached': { alg: 'HS256', cached: true },
  'ours-hs256-uncached': { alg: 'HS256', cached: false },
  'ours-es256-cached': { alg: 'ES256', cached: true },
  'ours-es256-uncached': { alg: 'ES256', cached: false },
} as const satisfies Record<string, { alg: Algorithm; cached: boolean }>;
export type AuthMode = keyof typeof AUTH_MODES;
export const AUTH_MODE_NAMES = Object.keys(AUTH_MODES) as AuthMode[];
export const isAuthMode = (mode: string): mode is AuthMode => Object.hasOwn(AUTH_MODES, mode);

const SECRET = 'seckill-bench-hs256-secret-0123456789abcdef'; // fixed; >= 32 bytes (MIN_SECRET_BYTES)
const ISSUER = 'https://id.bench.invalid';
const AUDIENCE = 'seckill-api';
const KID = 'bench-es256';
const CLAIMS = { issuer: ISSUER, audience: AUDIENCE, expiresInSeconds: 6 * 3600 };
/** A verified buyer's purchase: no userId, the front door takes the buyer from the token's `sub`. */
const AUTH_BODY = '{"event":"bench","productId":1}';

/** The child's authenticator settings for `mode` (issuer and audience checked, as in production). */
function authConfig(mode: AuthMode, jwksFile: string | undefined): AuthConfig {
  const { alg, cached } = AUTH_MODES[mode];
  if (alg === 'ES256' && jwksFile === undefined) throw new Error(`${mode}: no JWKS file was written`);
  return {
    mode: 'jwt',
    ...(alg === 'HS256' ? { jwtSecret: SECRET } : { jwksFile }),
    jwksRefreshMs: 300_000,
    issuer: ISSUER,
    audience: AUDIENCE,
    clockToleranceSeconds: 5,
    cacheEntries: cached ? 100_000 : 0, // 100,000 is AUTH_CACHE_ENTRIES' default; 0 verifies every request
  };
}

async function signAll(signing: SigningKey, buyers: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let base = 1; base <= buyers; base += 1000) {
    const count = Math.min(1000, buyers - base + 1);
    const ids = Array.from({ length: count }, (_, i) => base + i);
    tokens.push(...(await Promise.all(ids.map((id) => signBuyerTokenWith(signing, id, CLAIMS)))));
  }
  return tokens;
}

export interface AuthFixture {
  /** The AuthConfig the server child of `mode` builds its authenticator from. */
  config(mode: AuthMode): AuthConfig;
  /** One prebuilt purchase request per buyer, each carrying that buyer's token. */
  requests(mode: AuthMode): readonly Buffer[];
  /** Removes the temp JWKS file. */
  close(): Promise<void>;
}

/** Keys, JWKS file and every buyer's token for the algorithms `modes` need, made before the run. */
export async function prepareAuth(modes: readonly AuthMode[], buyers: number): Promise<AuthFixture> {
  if (!Number.isInteger(buyers) || buyers < 1) throw new RangeError(`--buyers must be a positive integer`);
  const algorithms = new Set(modes.map((m) => AUTH_MODES[m].alg));
  const requests = new Map<Algorithm, Buffer[]>();
  const build = (tokens: string[]): Buffer[] =>
    tokens.map((t) => purchaseRequest(AUTH_BODY, { authorization: `Bearer ${t}` }));
  let dir: string | undefined;
  let jwksFile: string | undefined;
  if (algorithms.has('HS256')) {
    const signing: SigningKey = { alg: 'HS256', key: new TextEncoder().encode(SECRET) };
    requests.set('HS256', build(await signAll(signing, buyers)));
  }
  if (algorithms.has('ES256')) {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
    dir = await mkdtemp(join(tmpdir(), 'seckill-bench-jwks-'));
    jwksFile = join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));
    requests.set('ES256', build(await signAll({ alg: 'ES256', key: privateKey, kid: KID }, buyers)));
  }
  return {
    config: (mode) => authConfig(mode, jwksFile),
    requests: (mode) => {
      const list = requests.get(AUTH_MODES[mode].alg);
      if (list === undefined) throw new Error(`${mode}: no tokens were signed`);
      return list;
    },
    close: () => (dir === undefined ? Promise.resolve() : rm(dir, { recursive: true, force: true })),
  };
}

/**
 * The authorization header the modes without auth send (echo servers ignore it, the trusting
 * authenticator too): a real HS256 buyer token, so their requests are about the size of the auth modes'
 * (an ES256 token is some 50 characters longer: its signature is 64 bytes, not 32).
 */
export async function placeholderAuthorization(): Promise<string> {
  const signing: SigningKey = { alg: 'HS256', key: new TextEncoder().encode(SECRET) };
  return `Bearer ${await signBuyerTokenWith(signing, 1, CLAIMS)}`;
}

/** The child's seckill_api_auth_checks_total by result (cached, verified, refused, unavailable). */
export async function authChecks(registry: Registry): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric('seckill_api_auth_checks_total');
  const checks: Record<string, number> = {};
  for (const v of (await metric?.get())?.values ?? []) checks[String(v.labels.result)] = v.value;
  return checks;
}

/**
 * Why an auth mode's figure would be meaningless (empty when it is sound): any non-2xx (a 401 is cheaper
 * than a purchase), a connection the server closed, or the server's own counters showing the tokens were
 * not verified, refused, or not cached (or cached) as the mode says.
 */
export function authRunProblems(
  mode: AuthMode,
  result: Omit<LoadResult, 'seconds'>,
  checks: Record<string, number>,
): string[] {
  const problems: string[] = [];
  const count = (name: string): number => checks[name] ?? 0;
  if (result.requests === 0) problems.push('no request was answered');
  if (result.non2xx > 0)
    problems.push(`${result.non2xx} non-2xx answers ${JSON.stringify(result.non2xxByStatus)}`);
  if (result.closedEarly > 0) problems.push(`the server closed ${result.closedEarly} connections`);
  if (count('refused') + count('unavailable') > 0) {
    problems.push(`tokens refused ${count('refused')}, keys unavailable ${count('unavailable')}`);
  }
  if (count('verified') === 0) problems.push('no token was verified');
  if (AUTH_MODES[mode].cached && count('cached') === 0) problems.push('no cache hit in a cached mode');
  if (!AUTH_MODES[mode].cached && count('cached') > 0) problems.push('cache hits in an uncached mode');
  return problems;
}
