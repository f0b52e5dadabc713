// Buyer tokens as a shop's identity provider would issue them: HS256 JWTs (ES256 too, for bench:http) whose
// `sub` is the buyer id, signed with jose. The tests, the load generator and the demo use these; the front
// door verifies them.
import { SignJWT, type CryptoKey } from 'jose';
import { requireEnv } from './stack-env.js';

export interface TokenClaims {
  /** Seconds from now until `exp` (default an hour; negative for an expired token). */
  expiresInSeconds?: number;
  /** Seconds from now of `nbf` (positive: not valid yet). */
  notBeforeSeconds?: number;
  issuer?: string;
  audience?: string;
  /** Overrides `sub` (default the buyer id as a string). */
  sub?: string;
}

/** The stack's HS256 key (`npm run stack -- env` exports AUTH_JWT_SECRET). */
export const stackJwtSecret = (): string => requireEnv('AUTH_JWT_SECRET');

/** What signs a token: an HS256 secret's bytes or an asymmetric private key (then `kid` names its JWK). */
export interface SigningKey {
  alg: 'HS256' | 'ES256' | 'RS256' | 'EdDSA';
  key: CryptoKey | Uint8Array;
  kid?: string;
}

export function signBuyerToken(secret: string, buyerId: number, claims: TokenClaims = {}): Promise<string> {
  return signBuyerTokenWith({ alg: 'HS256', key: new TextEncoder().encode(secret) }, buyerId, claims);
}

export async function signBuyerTokenWith(
  signing: SigningKey,
  buyerId: number,
  claims: TokenClaims = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({})
    .setProtectedHeader({
      alg: signing.alg,
      typ: 'JWT',
      ...(signing.kid !== undefined ? { kid: signing.kid } : {}),
    })
    .setSubject(claims.sub ?? String(buyerId))
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.expiresInSeconds ?? 3600));
  if (claims.notBeforeSeconds !== undefined) jwt.setNotBefore(now + claims.notBeforeSeconds);
  if (claims.issuer !== undefined) jwt.setIssuer(claims.issuer);
  if (claims.audience !== undefined) jwt.setAudience(claims.audience);
  return jwt.sign(signing.key);
}

/**
 * Every buyer's token, signed up front (a load run must not sign on its hot path): `get` is then a
 * lookup. Buyers ids are `base .. base + count - 1`.
 */
export class BuyerTokens {
  private constructor(
    private readonly base: number,
    private readonly tokens: string[],
  ) {}

  static async sign(
    secret: string,
    base: number,
    count: number,
    expiresInSeconds = 6 * 3600,
  ): Promise<BuyerTokens> {
    const tokens: string[] = new Array<string>(count);
    const chunk = 1000;
    for (let i = 0; i < count; i += chunk) {
      const signed = await Promise.all(
        Array.from({ length: Math.min(chunk, count - i) }, (_, j) =>
          signBuyerToken(secret, base + i + j, { expiresInSeconds }),
        ),
      );
      signed.forEach((t, j) => (tokens[i + j] = t));
    }
    return new BuyerTokens(base, tokens);
  }

  get(buyerId: number): string {
    const token = this.tokens[buyerId - this.base];
    if (token === undefined) throw new RangeError(`no token for buyer ${buyerId}`);
    return token;
  }
}
