// Small Kubernetes helpers every part of the operator uses: what an API error means, and the patch
// content types client-node needs as request options (its typed methods default to JSON Patch).
import { ApiException, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

export const isNotFound = (err: unknown): boolean => err instanceof ApiException && err.code === 404;
export const isConflict = (err: unknown): boolean => err instanceof ApiException && err.code === 409;

/** Request options for a JSON merge patch (RFC 7386). */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** Request options for server-side apply (with fieldManager and force on the call). */
export const serverSideApply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

/** Runs `call`; a 404 (already gone) gives undefined, any other error is thrown. */
export async function ignoreNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The API server's Status message of a failed request (the whole body when it is not a Status). */
export function statusMessage(err: ApiException<unknown>): string {
  const body: unknown = err.body;
  if (typeof body !== 'string') return err.message;
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : body;
  } catch {
    return body;
  }
}

/** A one-line error message; an ApiException's is the API server's Status message, not the whole body. */
export function errMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const detail = typeof err.body === 'string' ? statusMessage(err).slice(0, 300) : '';
    return `API ${err.code}: ${detail || 'request failed'}`;
  }
  return err instanceof Error ? err.message : String(err);
}
