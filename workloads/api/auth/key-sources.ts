// Where the front door finds the keys that sign buyer tokens: an HS256 shared secret (from a Secret), a
// JWKS file (a mounted Secret or ConfigMap, re-read so a rotated key set takes effect without a restart)
// or a JWKS URL (the identity provider's, fetched and cached by jose). Each source answers jose's "which
// key verifies this token" question and names the algorithms it accepts: a key is only ever used with its
// own family, so an HS256 token can never be checked against a public key (algorithm confusion).
import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import type { Logger } from '../../shared/log.js';

/** Asymmetric algorithms accepted from a JWKS. */
export const JWKS_ALGORITHMS = ['RS256', 'ES256', 'EdDSA', 'Ed25519'] as const;
export const SECRET_ALGORITHM = 'HS256';

/** An HS256 secret must carry at least 256 bits (RFC 7518 3.2). */
export const MIN_SECRET_BYTES = 32;

/** The keys could not be fetched (JWKS endpoint down or answering garbage): the token may be fine (503). */
export class KeysUnavailable extends Error {
  override readonly name = 'KeysUnavailable';
}

export interface KeySource {
  algorithms: readonly string[];
  key: JWTVerifyGetKey;
  close(): void;
}

export function secretKeySource(secret: string): KeySource {
  const bytes = new TextEncoder().encode(secret);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new RangeError(`the HS256 secret must have at least ${MIN_SECRET_BYTES} bytes`);
  }
  // Imported once: given the raw bytes, jose would import them as a key on every verification.
  let key: Promise<webcrypto.CryptoKey> | undefined;
  const imported = (): Promise<webcrypto.CryptoKey> =>
    (key ??= webcrypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']));
  return { algorithms: [SECRET_ALGORITHM], key: imported, close: () => undefined };
}

export function parseJwks(text: string, where: string): JSONWebKeySet {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${where} is not JSON`);
  }
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error(`${where} has no "keys" array`);
  return value as JSONWebKeySet;
}

/** A JWKS file, read now (a bad file fails the start) and re-read every `refreshMs` (a bad one keeps the old set). */
export function jwksFileSource(path: string, refreshMs: number, log: Logger): KeySource {
  let text = readFileSync(path, 'utf8');
  let keys = createLocalJWKSet(parseJwks(text, path));
  const timer = setInterval(() => {
    readFile(path, 'utf8').then(
      (next) => {
        if (next === text) return;
        try {
          keys = createLocalJWKSet(parseJwks(next, path));
          text = next;
          log.info('buyer token keys reloaded', { file: path });
        } catch (err) {
          log.warn('the JWKS file changed to something unusable; keeping the keys read before', { err });
        }
      },
      (err: unknown) => log.warn('could not re-read the JWKS file; keeping the keys read before', { err }),
    );
  }, refreshMs);
  timer.unref();
  return {
    algorithms: JWKS_ALGORITHMS,
    key: (header, token) => keys(header, token),
    close: () => clearInterval(timer),
  };
}

/** The identity provider's JWKS endpoint; jose caches it and refetches when a token names an unknown key. */
export function jwksUrlSource(url: string, refreshMs: number): KeySource {
  const keys = createRemoteJWKSet(new URL(url), {
    cacheMaxAge: refreshMs,
    cooldownDuration: 30_000,
    timeoutDuration: 5000,
  });
  return {
    algorithms: JWKS_ALGORITHMS,
    key: async (header, token) => {
      try {
        return await keys(header, token);
      } catch (err) {
        // "No key for this token" is the token's problem; anything else (timeout, network, a bad JWKS
        // document) is the endpoint's, and must not turn valid buyers away as 401.
        if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
          throw err;
        throw new KeysUnavailable(`the JWKS at ${url} could not be fetched`, { cause: err });
      }
    },
    close: () => undefined,
  };
}

/** Several sources as one: the token's `alg` picks the source whose family it belongs to. */
export function combineKeySources(sources: KeySource[]): KeySource {
  if (sources.length === 1) return sources[0]!;
  return {
    algorithms: [...new Set(sources.flatMap((s) => s.algorithms))],
    key: (header, token) => {
      const source = sources.find((s) => s.algorithms.includes(header.alg ?? ''));
      if (source === undefined) throw new Error(`no key source for alg ${header.alg}`);
      return source.key(header, token);
    },
    close: () => sources.forEach((s) => s.close()),
  };
}
