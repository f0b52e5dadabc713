// Runs the open-loop generator on a worker thread, so the demo's own work (sampling Kubernetes, Kafka and
// Redis, chaos actions) never delays a due request or inflates a measured latency.
import { parentPort, workerData, Worker } from 'node:worker_threads';
import { runOpenLoop, type LoadReport, type OpenLoopOptions, type Progress } from './open-loop.js';

type WorkerOptions = Omit<OpenLoopOptions, 'onProgress' | 'signal'>;
type Message =
  | { type: 'progress'; progress: Progress }
  | { type: 'done'; report: LoadReport }
  | { type: 'error'; message: string };

if (parentPort && (workerData as { openLoop?: boolean } | undefined)?.openLoop) {
  const port = parentPort;
  const opts = (workerData as { options: WorkerOptions }).options;
  const abort = new AbortController();
  port.on('message', (m: unknown) => {
    if (m === 'abort') abort.abort();
  });
  runOpenLoop({
    ...opts,
    signal: abort.signal,
    onProgress: (progress) => port.postMessage({ type: 'progress', progress } satisfies Message),
  }).then(
    (report) => port.postMessage({ type: 'done', report } satisfies Message),
    (err: unknown) =>
      port.postMessage({
        type: 'error',
        message: err instanceof Error ? err.message : String(err),
      } satisfies Message),
  );
}

export interface LoadHandle {
  done: Promise<LoadReport>;
  abort(): void;
}

/** Starts the load on a worker thread. */
export function startLoadWorker(options: WorkerOptions, onProgress: (p: Progress) => void): LoadHandle {
  const worker = new Worker(new URL(import.meta.url), { workerData: { openLoop: true, options } });
  const done = new Promise<LoadReport>((resolve, reject) => {
    worker.on('message', (m: Message) => {
      if (m.type === 'progress') onProgress(m.progress);
      else if (m.type === 'done') {
        resolve(m.report);
        void worker.terminate();
      } else {
        reject(new Error(m.message));
        void worker.terminate();
      }
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`load worker exited with code ${code}`)));
  });
  return { done, abort: () => worker.postMessage('abort') };
}
