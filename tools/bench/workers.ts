// The benchmarks' worker pool: `calls` calls of `work(i)` shared by `workers` concurrent loops (as a
// consumer's shard workers would make them), timed as a whole.

/** Runs work(i) for every i in [0, calls) on `workers` loops; returns entries per second (perCall each). */
export async function entriesPerSecond(
  calls: number,
  perCall: number,
  workers: number,
  work: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < calls) await work(next++);
    }),
  );
  return (calls * perCall) / (Number(process.hrtime.bigint() - started) / 1e9);
}
