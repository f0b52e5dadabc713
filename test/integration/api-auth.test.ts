// Buyer identity at the front door, against the real Kafka and Redis: every bad token gets its status and
// its Bearer challenge, and not one of them reaches Kafka.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import type { ApiApp } from '../../workloads/api/app.js';
import type { EventSpec } from '../../workloads/shared/catalog.js';
import { keys } from '../../workloads/shared/keys.js';
import { encodeResult } from '../../workloads/shared/outcomes.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { signBuyerToken, stackJwtSecret } from '../../tools/lib/buyer-tokens.js';
import { apiConfig, stackEnv, testKafka } from '../../tools/lib/stack-env.js';
import {
  errorCode,
  freshEvent,
  get,
  post,
  startApp,
  ticketOf,
  topicSize,
  type Answer,
} from '../helpers/api.js';

const ISSUER = 'https://shop.test';
const AUDIENCE = 'seckill';
const redis = createRedis(stackEnv.redisUrl(), 'api-auth-test');
const kafka = testKafka();
let app: ApiApp;
let url: string;
let sale: EventSpec;
let rsa: Awaited<ReturnType<typeof generateKeyPair>>;

const now = (): number => Math.floor(Date.now() / 1000);
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A token the shop would issue for buyer `sub`, with any claim changed. */
const token = (buyer: number, claims: Parameters<typeof signBuyerToken>[2] = {}): Promise<string> =>
  signBuyerToken(stackJwtSecret(), buyer, { issuer: ISSUER, audience: AUDIENCE, ...claims });
const bearer = async (t: Promise<string> | string): Promise<string> => `Bearer ${await t}`;
const rs256 = (sub: string, key: Parameters<SignJWT['sign']>[0], alg = 'RS256'): Promise<string> =>
  new SignJWT({})
    .setProtectedHeader({ alg, kid: 'rsa-1' })
    .setSubject(sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(now() + 600)
    .sign(key);

before(async () => {
  sale = await freshEvent(redis, kafka, [{ id: 1, stock: 1000, perUserLimit: 5 }]);
  // The shop signs with an HS256 secret and, for another client, an RSA key published in a JWKS file.
  rsa = await generateKeyPair('RS256');
  const dir = mkdtempSync(join(tmpdir(), 'seckill-auth-'));
  const jwksFile = join(dir, 'jwks.json');
  const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
  const base = apiConfig();
  ({ app, url } = await startApp(
    apiConfig({ auth: { ...base.auth, jwksFile, issuer: ISSUER, audience: AUDIENCE } }),
  ));
});
after(async () => {
  await app?.stop();
  await redis.quit();
});

const buy = (authorization: string | null, body: Record<string, unknown> = {}): Promise<Answer> =>
  post(url, { event: sale.name, productId: 1, ...body }, undefined, { authorization });

function assertChallenge(a: Answer, description: RegExp, what: string): void {
  assert.equal(a.status, 401, `${what}: ${JSON.stringify(a.body)}`);
  assert.equal(errorCode(a), 'unauthorized', what);
  const challenge = a.headers.get('www-authenticate') ?? '';
  assert.match(challenge, /^Bearer error="invalid_token", error_description="[^"\\]+"$/, what);
  assert.match(challenge, description, what);
}

test('a valid token buys as its sub, with or without userId in the body; RS256 from the JWKS too', async () => {
  assert.equal((await buy(await bearer(token(101)))).status, 202);
  assert.equal((await buy(await bearer(token(102)), { userId: 102 })).status, 202);
  assert.equal((await buy(await bearer(rs256('103', rsa.privateKey)))).status, 202);
});

test('every bad token is refused with its status, and none reaches Kafka', async () => {
  const before = await topicSize(kafka, sale.topic);
  const publicPem = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
  const other = await generateKeyPair('RS256');
  const cases: [string, string | null, RegExp][] = [
    ['no token', null, /a buyer token is required/],
    ['not Bearer', 'Basic dXNlcjpwYXNz', /must be 'Bearer <JWT>'/],
    ['malformed', 'Bearer not-a-jwt', /must be 'Bearer <JWT>'/],
    ['garbage parts', 'Bearer abc.def.ghi', /malformed/],
    [
      'wrong signature',
      await bearer(signBuyerToken('x'.repeat(40), 104, { issuer: ISSUER, audience: AUDIENCE })),
      /signature is invalid/,
    ],
    [
      'alg none',
      `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: '104', exp: now() + 600, iss: ISSUER, aud: AUDIENCE })}.`,
      /algorithm/,
    ],
    // HS/RS confusion: HS256 "signed" with the RSA public key as the secret.
    ['HS256 with the RSA public key', await bearer(rs256('104', publicPem, 'HS256')), /signature is invalid/],
    ['RS256 by an unknown key', await bearer(rs256('104', other.privateKey)), /signature is invalid|no key/],
    ['expired', await bearer(token(104, { expiresInSeconds: -60 })), /expired/],
    ['not yet valid', await bearer(token(104, { notBeforeSeconds: 120 })), /not valid yet/],
    ['wrong issuer', await bearer(token(104, { issuer: 'https://evil.test' })), /'iss'/],
    ['wrong audience', await bearer(token(104, { audience: 'another-app' })), /'aud'/],
    ['non-numeric sub', await bearer(token(104, { sub: 'alice' })), /buyer id/],
    ['sub out of range', await bearer(token(104, { sub: '9007199254740992' })), /at most/],
    ['sub zero', await bearer(token(104, { sub: '0' })), /buyer id/],
  ];
  for (const [what, authorization, description] of cases) {
    assertChallenge(await buy(authorization), description, what);
  }
  // Another buyer in the body than the token's: 403, no challenge (the token is fine).
  const mismatch = await buy(await bearer(token(105)), { userId: 106 });
  assert.equal(mismatch.status, 403);
  assert.equal(errorCode(mismatch), 'forbidden');
  // A 20 kB token is over the header cap: Node's parser refuses it (431) before any handler runs.
  const huge = await buy(`Bearer ${'a'.repeat(20_000)}.b.c`);
  assert.equal(huge.status, 431);
  assert.equal(errorCode(huge), 'headers_too_large');
  assert.equal(await topicSize(kafka, sale.topic), before, 'not one refused request reached Kafka');

  const metrics = String((await get(url, '/metrics')).body);
  assert.match(metrics, /seckill_api_connection_refusals_total\{reason="headers_too_large"[^}]*\} [1-9]/);
  assert.match(metrics, /seckill_api_auth_checks_total\{result="refused"[^}]*\} (1[5-9]|[2-9]\d)/);
  assert.match(metrics, /seckill_api_requests_total\{route="purchase",outcome="unauthorized"[^}]*\} 15/);
});

test('the ticket endpoint needs a token too, and shows a result to its buyer only', async () => {
  const ticket = ticketOf(await buy(await bearer(token(201))));
  assertChallenge(
    await get(url, `/api/v1/tickets/${ticket}`, { authorization: null }),
    /required/,
    'no token',
  );
  const expired = await bearer(token(201, { expiresInSeconds: -60 }));
  assertChallenge(
    await get(url, `/api/v1/tickets/${ticket}`, { authorization: expired }),
    /expired/,
    'expired',
  );
  // What the consumer writes: the outcome and the buyer.
  await redis.set(keys.result(ticket), encodeResult('won', 201), 'EX', 60);
  const mine = await get(url, `/api/v1/tickets/${ticket}`, { authorization: await bearer(token(201)) });
  assert.deepEqual(mine.body, { ticket, status: 'won' });
  const theirs = await get(url, `/api/v1/tickets/${ticket}`, { authorization: await bearer(token(202)) });
  assert.equal(theirs.status, 404);
  assert.equal(errorCode(theirs), 'unknown_ticket');
});

test('a cached token is still refused once it expires', async () => {
  const short = await bearer(token(301, { expiresInSeconds: 2 }));
  assert.equal((await buy(short)).status, 202);
  assert.equal((await buy(short)).status, 202, 'answered from the cache');
  // exp (2 s) + the clock tolerance (5 s): then the cache must not keep it alive.
  await new Promise((r) => setTimeout(r, 7200));
  assertChallenge(await buy(short), /expired/, 'expired after caching');
});

test('what nobody could buy is refused before a new token costs a signature check; no token is still 401', async () => {
  const checks = async (): Promise<string[] | null> =>
    String((await get(url, '/metrics')).body).match(
      /seckill_api_auth_checks_total\{result="(verified|refused)"[^}]*\} \d+/g,
    );
  const metricsBefore = await checks();
  const forged = await bearer(signBuyerToken('y'.repeat(40), 701));
  const unknown = await buy(forged, { productId: 99 });
  assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
  assert.equal(errorCode(unknown), 'unknown_product');
  assert.deepEqual(await checks(), metricsBefore, 'no token was verified or refused');
  assertChallenge(await buy(null, { productId: 99 }), /required/, 'no token at all');
  // A keyed purchase has its token checked first, so its refusal could name its ticket.
  const keyed = await post(url, { event: sale.name, productId: 99 }, undefined, {
    authorization: forged,
    headers: { 'idempotency-key': 'k-701' },
  });
  assertChallenge(keyed, /signature is invalid/, 'keyed, forged');
});
