// A dependency-free HTTP/1.1 load generator on raw keep-alive sockets (autocannon's approach): a fixed
// request is written, the answer parsed just enough (status, content-length), the next request written.
import net from 'node:net';

/** The bytes of one POST /api/v1/seckill with `body`. */
export function purchaseRequest(body: string): Buffer {
  return Buffer.from(
    `POST /api/v1/seckill HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export interface LoadResult {
  requests: number;
  non2xx: number;
  seconds: number;
}

/** Closed loop: each connection sends one request, waits for the full answer, sends the next. */
export async function load(
  port: number,
  connections: number,
  seconds: number,
  request: Buffer,
): Promise<LoadResult> {
  let counting = false;
  let requests = 0;
  let non2xx = 0;
  let stop = false;
  const sockets: net.Socket[] = [];
  await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<void>((resolve, reject) => {
          const socket = net.connect({ port, host: '127.0.0.1' }, () => {
            socket.write(request);
            resolve();
          });
          socket.setNoDelay(true);
          socket.on('error', reject);
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
              buffer = buffer.slice(total);
              if (counting) {
                requests++;
                if (status !== 50 /* '2' */) non2xx++;
              }
              if (!stop) socket.write(request);
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
  return { requests, non2xx, seconds: elapsed };
}
