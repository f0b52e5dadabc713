// Buyer tokens: the verifier (jose under our rules), the cache and the Authorization header parsing.
// Pure logic: keys are made here, nothing is fetched.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { authenticate, bearerToken, JwtAuthenticator } from '../../workloads/api/auth/authenticator.js';
import { combineKeySources, jwksFileSource, secretKeySource } from '../../workloads/api/auth/key-sources.js';
import { TokenCache } from '../../workloads/api/auth/token-cache.js';
import { buyerIdOf, TokenRefused, TokenVerifier } from '../../workloads/api/auth/token-verifier.js';
import { ApiError } from '../../workloads/api/errors.js';
import { createLogger } from '../../workloads/shared/log.js';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const secretBytes = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const quiet = createLogger({ test: 'auth' }, 'error');

function claims(extra: Record<string, unknown> = {}): SignJWT {
  return new SignJWT({ ...extra })
    .setSubject('42')
    .setIssuedAt()
    .setExpirationTime(now() + 600);
}
const hs256 = (jwt: SignJWT = claims()): Promise<string> =>
  jwt.setProtectedHeader({ alg: 'HS256' }).sign(secretBytes);

const verifier = (opts: { issuer?: string; audience?: string } = {}): TokenVerifier =>
  new TokenVerifier(secretKeySource(SECRET), { clockToleranceSeconds: 5, ...opts });

async function refusedWith(v: TokenVerifier, token: string, message: RegExp): Promise<void> {
  await assert.rejects(
    v.verify(token),
    (err: unknown) => err instanceof TokenRefused && message.test(err.message),
  );
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

test('HS256: a good token names its buyer and is good until exp plus the tolerance', async () => {
  const exp = now() + 600;
  const token = await hs256(claims().setExpirationTime(exp));
  assert.deepEqual(await verifier().verify(token), { buyerId: 42, expiresAtMs: (exp + 5) * 1000 });
});

test('refused: wrong signature, alg none, expired, not yet valid, issued in the future, no exp', async () => {
  const v = verifier();
  const other = await new SignJWT({})
    .setSubject('42')
    .setExpirationTime(now() + 600)
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode('another-secret-of-at-least-32-bytes!'));
  await refusedWith(v, other, /signature is invalid/);
  const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: '42', exp: now() + 600 })}.`;
  await refusedWith(v, unsigned, /algorithm this server does not accept/);
  await refusedWith(v, await hs256(claims().setExpirationTime(now() - 60)), /expired/);
  await refusedWith(v, await hs256(claims().setNotBefore(now() + 60)), /not valid yet/);
  await refusedWith(v, await hs256(claims().setIssuedAt(now() + 60)), /issued in the future/);
  const noExp = await new SignJWT({}).setSubject('42').setProtectedHeader({ alg: 'HS256' }).sign(secretBytes);
  await refusedWith(v, noExp, /no "exp" claim/);
  await refusedWith(v, 'abc.def.ghi', /malformed/);
});

test('the clock tolerance lets a token just past exp or just before nbf through', async () => {
  const v = verifier();
  assert.equal((await v.verify(await hs256(claims().setExpirationTime(now() - 2)))).buyerId, 42);
  assert.equal((await v.verify(await hs256(claims().setNotBefore(now() + 2)))).buyerId, 42);
});

test('iss and aud are checked when configured', async () => {
  const v = verifier({ issuer: 'https://shop.example', audience: 'seckill' });
  const good = claims().setIssuer('https://shop.example').setAudience('seckill');
  assert.equal((await v.verify(await hs256(good))).buyerId, 42);
  await refusedWith(
    v,
    await hs256(claims().setIssuer('https://evil.example').setAudience('seckill')),
    /"iss"/,
  );
  await refusedWith(v, await hs256(claims().setIssuer('https://shop.example').setAudience('other')), /"aud"/);
  await refusedWith(v, await hs256(claims().setAudience('seckill')), /"iss"/);
});

test('sub must be a buyer id: a positive integer within the id range, written plainly', () => {
  assert.equal(buyerIdOf('1'), 1);
  assert.equal(buyerIdOf(String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  for (const sub of ['0', '-1', '01', '1.5', 'alice', '', ' 1', '1e3', '9007199254740992', 42, undefined]) {
    assert.throws(() => buyerIdOf(sub), TokenRefused, String(sub));
  }
});

test('ES256 from a JWKS file; an HS256 token made with the public key is refused (algorithm confusion)', async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const dir = mkdtempSync(join(tmpdir(), 'seckill-jwks-'));
  const file = join(dir, 'jwks.json');
  writeFileSync(file, JSON.stringify({ keys: [jwk] }));
  const source = jwksFileSource(file, 60_000, quiet);
  const v = new TokenVerifier(source, { clockToleranceSeconds: 5 });
  try {
    const es = await claims().setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(privateKey);
    assert.equal((await v.verify(es)).buyerId, 42);
    // The classic confusion: sign HS256 with the public key's bytes as the secret.
    const confused = await claims()
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .sign(new TextEncoder().encode(JSON.stringify(jwk)));
    await refusedWith(v, confused, /algorithm this server does not accept/);
    // With an HS256 secret configured as well, HS256 tokens are checked against the secret only.
    const both = new TokenVerifier(combineKeySources([secretKeySource(SECRET), source]), {
      clockToleranceSeconds: 5,
    });
    await refusedWith(both, confused, /signature is invalid/);
    assert.equal((await both.verify(es)).buyerId, 42);
    assert.equal((await both.verify(await hs256())).buyerId, 42);
  } finally {
    v.close();
  }
});

test('an HS256 secret shorter than 256 bits is refused', () => {
  assert.throws(() => secretKeySource('short'), /at least 32 bytes/);
});

test('Authorization header: Bearer and a compact JWT, else 401 before any crypto', () => {
  assert.equal(bearerToken('Bearer a.b.c'), 'a.b.c');
  assert.equal(bearerToken('bearer a.b.'), 'a.b.');
  for (const header of [
    undefined,
    '',
    'Basic dXNlcjpwdw==',
    'Bearer',
    'Bearer a.b',
    'Bearer a b.c.d',
    `Bearer ${'a'.repeat(5000)}.b.c`,
  ]) {
    assert.throws(
      () => bearerToken(header),
      (err: unknown) => err instanceof ApiError && err.status === 401,
      String(header).slice(0, 40),
    );
  }
});

test('token cache: bounded, least recently used out first, entries expire with their token', () => {
  const cache = new TokenCache(4); // two generations of 2
  const good = { expiresAtMs: 1000 };
  cache.set('a', { buyerId: 1, ...good });
  cache.set('b', { buyerId: 2, ...good });
  cache.set('c', { buyerId: 3, ...good }); // a, b become the previous generation
  assert.equal(cache.get('a', 0), 1); // a used again: back in the current one
  cache.set('d', { buyerId: 4, ...good }); // current full (c, a): it becomes the previous; b is dropped
  assert.equal(cache.get('b', 0), undefined, 'b, least recently used, went first');
  assert.equal(cache.get('a', 0), 1);
  assert.equal(cache.get('c', 0), 3);
  assert.ok(cache.size <= 4);
  assert.equal(cache.get('d', 999), 4);
  assert.equal(cache.get('d', 1000), undefined, 'expired at expiresAtMs');
  assert.equal(cache.get('d', 0), undefined, 'and dropped');
  const off = new TokenCache(0);
  off.set('a', { buyerId: 1, expiresAtMs: 1000 });
  assert.equal(off.get('a', 0), undefined);
});

test('token cache: never holds more than its bound', () => {
  const cache = new TokenCache(100);
  for (let i = 0; i < 10_000; i++) {
    cache.set(`t${i}`, { buyerId: i, expiresAtMs: 1e12 });
    if (i % 3 === 0) cache.get(`t${i >> 1}`, 0);
    assert.ok(cache.size <= 100, `size ${cache.size}`);
  }
});

test('authenticator: a repeat of a verified token is answered from the cache, synchronously', async () => {
  const counts = { cached: 0, verified: 0, refused: 0, unavailable: 0 };
  const metrics = {
    cached: () => void counts.cached++,
    verified: () => void counts.verified++,
    refused: () => void counts.refused++,
    unavailable: () => void counts.unavailable++,
  };
  const auth = new JwtAuthenticator(verifier(), 10, metrics);
  const header = `Bearer ${await hs256()}`;
  const token = header.slice('Bearer '.length);
  assert.deepEqual(auth.identify(header), { token }, 'not seen yet: to be verified');
  const [a, b] = [auth.verify(token), auth.verify(token)];
  assert.equal(a, b, 'two requests with one new token share one verification');
  assert.equal(await a, 42);
  assert.deepEqual(auth.identify(header), { buyer: 42 });
  assert.equal(authenticate(auth, header), 42);
  assert.throws(() => auth.identify(undefined), ApiError);
  await assert.rejects(
    Promise.resolve(authenticate(auth, `Bearer ${await hs256(claims().setExpirationTime(now() - 60))}`)),
    (err: unknown) => err instanceof ApiError && err.status === 401 && /expired/.test(err.message),
  );
  assert.deepEqual(counts, { cached: 2, verified: 1, refused: 2, unavailable: 0 });
});
