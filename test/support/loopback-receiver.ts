import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { GENEROUS_MS } from './bounds.ts';

/** One request a {@link LoopbackReceiver} took. */
export interface ReceivedRequest {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: unknown;
}

/** A loopback HTTP receiver that keeps every JSON body posted to it, by path (a stand-in for webhooks, Slack, PagerDuty). */
export interface LoopbackReceiver {
  readonly url: string;
  readonly bodies: ReceivedRequest[];
  /** Answers the next `n` requests with `status` instead of 200 (to exercise retries). */
  failNext(n: number, status: number): void;
  close(): Promise<void>;
}

export function startReceiver(): Promise<LoopbackReceiver> {
  const bodies: ReceivedRequest[] = [];
  let failures = 0;
  let failStatus = 503;
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      if (failures > 0) {
        failures--;
        res.writeHead(failStatus).end('try later');
        return;
      }
      try {
        bodies.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(data) });
        res.writeHead(200).end('{}');
      } catch {
        res.writeHead(400).end('bad json');
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${addr.port}`,
        bodies,
        failNext(n, status) {
          failures = n;
          failStatus = status;
        },
        close: () => new Promise((r) => server.close(() => r())),
      });
    }),
  );
}

/** Polls `probe` every 100 ms until it returns a value (a generous bound: only reached when it never does). */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + GENEROUS_MS;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
