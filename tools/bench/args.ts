// The benchmarks' command-line numbers: `--name value`.

/** `--name N` as a positive number, `fallback` when absent; anything else is an error naming the flag. */
export function positiveArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}
