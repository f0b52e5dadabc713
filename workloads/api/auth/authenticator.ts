// Who is buying: the front door's one question about identity. In jwt mode the buyer is the verified
// `sub` of the request's `Authorization: Bearer <JWT>`; a token seen before (and not expired) is answered
// from the cache without touching the crypto. In none mode (a local run only) nobody is verified and the
// body's userId is believed, as before the front door checked identity.
import type { Logger } from '../../shared/log.js';
import type { AuthConfig } from '../config.js';
import { ApiError } from '../errors.js';
import type { AuthMetrics } from '../metrics.js';
import {
  combineKeySources,
  jwksFileSource,
  jwksUrlSource,
  KeysUnavailable,
  secretKeySource,
  type KeySource,
} from './key-sources.js';
import { TokenCache } from './token-cache.js';
import { TokenRefused, TokenVerifier } from './token-verifier.js';

/** A verified buyer id; or undefined in none mode: the body's userId is then the buyer. */
export type Buyer = number | undefined;

/** What the Authorization header says at once: the buyer (a cached token, or none mode), or a token to verify. */
export type Identity = { buyer: Buyer } | { token: string };

export interface Authenticator {
  /** The header's identity without crypto: a cached token's buyer, or the token to verify; 401 when malformed. */
  identify(authorization: string | undefined): Identity;
  /** Verifies a token identify() could not answer; ApiError 401 or 503 otherwise. */
  verify(token: string): Promise<Buyer>;
  close(): void;
}

/** identify, then verify when needed: the buyer at once when the token is cached, else once verified. */
export function authenticate(auth: Authenticator, authorization: string | undefined): Buyer | Promise<Buyer> {
  const identity = auth.identify(authorization);
  return 'buyer' in identity ? identity.buyer : auth.verify(identity.token);
}

/** Tokens longer than this are refused before any parsing (the header cap bounds them further up). */
export const MAX_TOKEN_LENGTH = 4096;
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*) *$/i;

export const unauthorized = (description: string): ApiError => new ApiError('unauthorized', description);

/** The compact JWT of an Authorization header; throws 401 when missing or not a Bearer JWT. */
export function bearerToken(authorization: string | undefined): string {
  if (authorization === undefined || authorization === '') {
    throw unauthorized('a buyer token is required: send "Authorization: Bearer <JWT>"');
  }
  if (authorization.length > MAX_TOKEN_LENGTH + 16) {
    throw unauthorized(`the token is longer than ${MAX_TOKEN_LENGTH} characters`);
  }
  const token = BEARER.exec(authorization)?.[1];
  if (token === undefined) throw unauthorized('the Authorization header must be "Bearer <JWT>"');
  return token;
}

export class JwtAuthenticator implements Authenticator {
  private readonly cache: TokenCache;
  /** Verifications under way: a burst of one buyer's requests with a new token costs one check. */
  private readonly verifying = new Map<string, Promise<Buyer>>();
  constructor(
    private readonly verifier: TokenVerifier,
    cacheEntries: number,
    private readonly metrics: AuthMetrics,
    private readonly now: () => number = Date.now,
  ) {
    this.cache = new TokenCache(cacheEntries);
  }

  identify(authorization: string | undefined): Identity {
    const now = this.now();
    // The common case first: "Bearer <a token seen before>". The exact string was checked in full when it
    // was cached, so the hit needs no parsing.
    if (authorization?.startsWith('Bearer ')) {
      const cached = this.cache.get(authorization.slice(7), now);
      if (cached !== undefined) {
        this.metrics.cached();
        return { buyer: cached };
      }
    }
    let token: string;
    try {
      token = bearerToken(authorization);
    } catch (err) {
      this.metrics.refused();
      throw err;
    }
    const cached = this.cache.get(token, now);
    if (cached !== undefined) {
      this.metrics.cached();
      return { buyer: cached };
    }
    return { token };
  }

  verify(token: string): Promise<Buyer> {
    let verifying = this.verifying.get(token);
    if (verifying === undefined) {
      verifying = this.check(token, this.now()).finally(() => this.verifying.delete(token));
      this.verifying.set(token, verifying);
    }
    return verifying;
  }

  private async check(token: string, now: number): Promise<Buyer> {
    try {
      const verified = await this.verifier.verify(token, now);
      this.cache.set(token, verified);
      this.metrics.verified();
      return verified.buyerId;
    } catch (err) {
      if (err instanceof TokenRefused) {
        this.metrics.refused();
        throw unauthorized(err.message);
      }
      this.metrics.unavailable();
      if (err instanceof KeysUnavailable) {
        throw new ApiError('unavailable', 'buyer tokens cannot be checked right now; retry', 1000);
      }
      throw err;
    }
  }

  close(): void {
    this.verifier.close();
  }
}

/** AUTH_MODE=none: every request is believed (the body names the buyer). */
export const trustingAuthenticator: Authenticator = {
  identify: () => ({ buyer: undefined }),
  verify: () => Promise.resolve(undefined),
  close: () => undefined,
};

/** The authenticator the configuration asks for (readApiConfig has checked it). */
export function createAuthenticator(config: AuthConfig, metrics: AuthMetrics, log: Logger): Authenticator {
  if (config.mode === 'none') {
    log.warn(
      'AUTH_MODE=none: buyer identity is NOT verified, anyone can buy as anyone. For a local run only; ' +
        'set AUTH_MODE=jwt with AUTH_JWT_SECRET, AUTH_JWKS_FILE or AUTH_JWKS_URL in production.',
    );
    return trustingAuthenticator;
  }
  const sources: KeySource[] = [];
  if (config.jwtSecret) sources.push(secretKeySource(config.jwtSecret));
  if (config.jwksFile) sources.push(jwksFileSource(config.jwksFile, config.jwksRefreshMs, log));
  if (config.jwksUrl) sources.push(jwksUrlSource(config.jwksUrl, config.jwksRefreshMs));
  if (sources.length === 0) throw new Error('AUTH_MODE=jwt needs a key source');
  const verifier = new TokenVerifier(combineKeySources(sources), {
    issuer: config.issuer,
    audience: config.audience,
    clockToleranceSeconds: config.clockToleranceSeconds,
  });
  log.info('buyer tokens verified', {
    algorithms: combineKeySources(sources).algorithms,
    issuer: config.issuer,
    audience: config.audience,
    cacheEntries: config.cacheEntries,
  });
  return new JwtAuthenticator(verifier, config.cacheEntries, metrics);
}
