// Paths in the repository, from a module under dist/ or not (tools and tests run compiled or not).
import { fileURLToPath } from 'node:url';

const rootUrl = import.meta.url.includes('/dist/')
  ? new URL('../../../', import.meta.url)
  : new URL('../../', import.meta.url);

/** The repository's root folder, with a trailing slash. */
export const ROOT = fileURLToPath(rootUrl);

/** A path in the repository. */
export function repoFile(rel: string): string {
  return fileURLToPath(new URL(rel, rootUrl));
}
