// Retry a step until it succeeds: a Redis or MySQL outage must delay work, never drop it.
// Backoff doubles up to a cap; an aborted signal (shutdown overran) ends the wait with an error so the
// Kafka offsets stay uncommitted and the work is redelivered.

export interface RetryOptions {
  step: string;
  signal: AbortSignal;
  baseMs?: number;
  maxMs?: number;
  onRetry: (step: string, attempt: number, err: unknown) => void;
}

export async function retryUntilDone<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const { baseMs = 50, maxMs = 5000 } = opts;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (opts.signal.aborted) throw err;
      opts.onRetry(opts.step, attempt, err);
      await abortableSleep(Math.min(maxMs, baseMs * 2 ** (attempt - 1)), opts.signal);
    }
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(timer);
      reject(new Error('aborted'));
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
