// The front door's buyer-token key on the local cluster: the Secret the chart's auth.existingSecret names,
// with AUTH_JWT_SECRET (the HS256 key), made in the release namespace before `helm upgrade --install`.
// The key reaches kubectl on stdin only, never as an argument (`ps` shows those), and is applied
// server-side, so no last-applied annotation keeps a copy of it.
import { createHash, randomBytes } from 'node:crypto';
import { MIN_SECRET_BYTES } from '../../workloads/api/auth/key-sources.js';
import { run } from './processes.js';

export const AUTH_SECRET = 'seckill-api-auth';
const FIELD_MANAGER = 'seckill-demo';

/** A fresh HS256 key: 32 random bytes, hex (the front door wants at least 32 bytes). */
export const randomJwtSecret = (): string => randomBytes(32).toString('hex');

/**
 * A short fingerprint of the key, safe to show (a pod annotation): a changed key then rolls the front door
 * pods, which read AUTH_JWT_SECRET only when they start.
 */
export const keyFingerprint = (secret: string): string =>
  createHash('sha256').update(secret).digest('hex').slice(0, 16);

async function applyStdin(manifest: object): Promise<void> {
  await run(
    'kubectl',
    ['apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', '-'],
    JSON.stringify(manifest),
  );
}

/** Creates the namespace if it is missing (helm's --create-namespace comes too late for the Secret). */
export async function ensureNamespace(namespace: string): Promise<void> {
  await applyStdin({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
}

/** Creates or replaces the Secret `AUTH_SECRET` in `namespace` with the key `AUTH_JWT_SECRET`. */
export async function applyAuthSecret(namespace: string, jwtSecret: string): Promise<void> {
  // The front door would refuse to start with a shorter key: say so here, before helm waits for it.
  if (Buffer.byteLength(jwtSecret) < MIN_SECRET_BYTES) {
    throw new RangeError(`the front door's HS256 key must have at least ${MIN_SECRET_BYTES} bytes`);
  }
  await ensureNamespace(namespace);
  await applyStdin({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: AUTH_SECRET,
      namespace,
      labels: { 'app.kubernetes.io/part-of': 'seckill', 'app.kubernetes.io/managed-by': FIELD_MANAGER },
    },
    type: 'Opaque',
    data: { AUTH_JWT_SECRET: Buffer.from(jwtSecret).toString('base64') },
  });
}

/** Deletes the Secret (with the release: the next install makes a new key). */
export async function deleteAuthSecret(namespace: string): Promise<void> {
  await run('kubectl', ['delete', 'secret', AUTH_SECRET, '--namespace', namespace, '--ignore-not-found']);
}
