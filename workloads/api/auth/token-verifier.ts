// Checks one buyer token with jose: signature (with the key source's algorithms only; `alg: none` is
// never accepted), `exp` required, `nbf` and `iat` honoured with a clock tolerance, `iss` and `aud` when
// configured, and `sub` a buyer id. Answers the buyer id and until when the token is good, or a refusal
// saying why in words a client developer can act on.
import { errors, jwtVerify, type JWTPayload } from 'jose';
import { MAX_USER_ID } from '../../shared/names.js';
import { KeysUnavailable, type KeySource } from './key-sources.js';

export interface VerifyOptions {
  issuer?: string;
  audience?: string;
  clockToleranceSeconds: number;
}

export interface VerifiedBuyer {
  buyerId: number;
  /** epoch ms from which the token is refused: exp + tolerance. */
  expiresAtMs: number;
}

/** The token is not acceptable: answered 401 with this description. */
export class TokenRefused extends Error {
  override readonly name = 'TokenRefused';
}

const BUYER_ID = /^[1-9][0-9]{0,15}$/;

/** The token's `sub` as a buyer id: a positive integer in the id range, written canonically. */
export function buyerIdOf(sub: unknown): number {
  if (typeof sub !== 'string' || !BUYER_ID.test(sub)) {
    throw new TokenRefused('the "sub" claim must be a buyer id: a positive integer');
  }
  const id = Number(sub);
  if (id > MAX_USER_ID) throw new TokenRefused(`the "sub" claim must be at most ${MAX_USER_ID}`);
  return id;
}

export class TokenVerifier {
  constructor(
    private readonly keys: KeySource,
    private readonly options: VerifyOptions,
  ) {}

  async verify(token: string, nowMs = Date.now()): Promise<VerifiedBuyer> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys.key, {
        algorithms: [...this.keys.algorithms],
        requiredClaims: ['exp', 'sub'],
        clockTolerance: this.options.clockToleranceSeconds,
        currentDate: new Date(nowMs),
        ...(this.options.issuer ? { issuer: this.options.issuer } : {}),
        ...(this.options.audience ? { audience: this.options.audience } : {}),
      }));
    } catch (err) {
      throw refusal(err);
    }
    const tolerance = this.options.clockToleranceSeconds;
    // jose checks iat only with a maximum age; a token issued in the future is refused here.
    if (typeof payload.iat === 'number' && payload.iat > nowMs / 1000 + tolerance) {
      throw new TokenRefused('the token is issued in the future ("iat")');
    }
    return { buyerId: buyerIdOf(payload.sub), expiresAtMs: ((payload.exp ?? 0) + tolerance) * 1000 };
  }

  close(): void {
    this.keys.close();
  }
}

/** jose's error as what the client is told. */
function refusal(err: unknown): Error {
  if (err instanceof KeysUnavailable) return err;
  if (err instanceof errors.JWTExpired) return new TokenRefused('the token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return new TokenRefused('the token is not valid yet ("nbf")');
    if (err.reason === 'missing') return new TokenRefused(`the token has no "${err.claim}" claim`);
    return new TokenRefused(`the token's "${err.claim}" claim is not accepted`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return new TokenRefused('the token is signed with an algorithm this server does not accept');
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new TokenRefused('the token signature is invalid');
  }
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return new TokenRefused('no key of this server verifies the token');
  }
  if (err instanceof errors.JOSEError) return new TokenRefused('the token is malformed');
  // Anything else is jose's own input checks (a TypeError on a malformed part): still the token's fault.
  return new TokenRefused('the token is malformed');
}
