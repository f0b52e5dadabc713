/** A path in the repository, from a module under dist/test/ or test/ (tests run compiled or not). */
export function repoFile(rel: string): string {
  const root = import.meta.url.includes('/dist/')
    ? new URL('../../../', import.meta.url)
    : new URL('../../', import.meta.url);
  return new URL(rel, root).pathname;
}
