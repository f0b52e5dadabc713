// A dependency-free HTTP/1.1 load generator on raw keep-alive sockets (autocannon's approach): a prebuilt
// request is written, the answer parsed just enough (status, content-length), the next request written.
import net from 'node:net';

/** The bytes of one POST /api/v1/seckill with `body` and any extra `headers` (e.g. authorization). */
export function purchaseRequest(body: string, headers: Record<string, string> = {}): Buffer {
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return Buffer.from(
    `POST /api/v1/seckill HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export interface LoadResult {
  requests: number;
  non2xx: number;
  /** The non-2xx answers of the counted window by status code ("401": 12). */
  non2xxByStatus: Record<string, number>;
  /** Connections the server closed before the run ended (each one stops sending). */
  closedEarly: number;
  seconds: number;
}

/**
 * Closed loop: each connection sends one request, waits for the full answer, sends the next. `request`
 * is one fixed request, or a list (e.g. one per buyer) sent round-robin across all connections: the
 * buffers are prebuilt, so rotating costs an index, not a request build.
 */
export async function load(
  port: number,
  connections: number,
  seconds: number,
  request: Buffer | readonly Buffer[],
): Promise<LoadResult> {
  const requestList: readonly Buffer[] = Buffer.isBuffer(request) ? [request] : request;
  if (requestList.length === 0) throw new RangeError('load needs at least one request');
  let cursor = 0;
  const next = (): Buffer => {
    const r = requestList[cursor]!;
    cursor = cursor + 1 === requestList.length ? 0 : cursor + 1;
    return r;
  };
  let counting = false;
  let requests = 0;
  let non2xx = 0;
  const non2xxByStatus: Record<string, number> = {};
  let closedEarly = 0;
  let stop = false;
  const sockets: net.Socket[] = [];
  await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<void>((resolve, reject) => {
          const socket = net.connect({ port, host: '127.0.0.1' }, () => {
            socket.write(next());
            resolve();
          });
          socket.setNoDelay(true);
          socket.on('error', reject);
          socket.on('close', () => {
            if (!stop) closedEarly++;
          });
          sockets.push(socket);
          let buffer = '';
          socket.on('data', (chunk: Buffer) => {
            buffer += chunk.toString('latin1');
            for (;;) {
              const headerEnd = buffer.indexOf('\r\n\r\n');
              if (headerEnd < 0) return;
              const lengthAt = buffer.toLowerCase().indexOf('content-length:');
              const length =
                lengthAt >= 0 && lengthAt < headerEnd
                  ? parseInt(buffer.slice(lengthAt + 15, headerEnd), 10)
                  : 0;
              const total = headerEnd + 4 + length;
              if (buffer.length < total) return;
              const status = buffer.charCodeAt(9);
              const code = status === 50 /* '2' */ ? '' : buffer.slice(9, 12);
              buffer = buffer.slice(total);
              if (counting) {
                requests++;
                if (code !== '') {
                  non2xx++;
                  non2xxByStatus[code] = (non2xxByStatus[code] ?? 0) + 1;
                }
              }
              if (!stop) socket.write(next());
            }
          });
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, 1000)); // warm-up (JIT, connection set-up)
  counting = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  const elapsed = (performance.now() - started) / 1000;
  stop = true;
  for (const s of sockets) s.destroy();
  return { requests, non2xx, non2xxByStatus, closedEarly, seconds: elapsed };
}
