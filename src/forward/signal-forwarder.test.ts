import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import snappy from 'snappy';
import { openTestForwarder } from '../../test/support/forwarder.ts';
import { configSchema } from '../config/index.ts';
import { decodeLokiPushProtobuf } from '../ingest/loki-push.ts';
import type { TenantId } from '../model/index.ts';
import { logsQueueCodec, lokiPushWire } from './signal-codecs.ts';

// A forwarder against a real HTTP server on loopback that answers what a struggling or strict remote answers:
// 429 with Retry-After, 503, a network error (a dropped connection), 400 for one tenant. Every acknowledged entry
// of a good tenant arrives; the refused tenant's entries are dropped and counted; headers carry tenant and auth.

interface Received {
  readonly tenant: string | undefined;
  readonly authorization: string | undefined;
  readonly custom: string | undefined;
  readonly lines: string[];
}

test('retries 429 (with Retry-After), 5xx and network errors; drops a 4xx; sends tenant and credentials', async () => {
  const received: Received[] = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      const tenant = req.headers['x-scope-orgid'] as string | undefined;
      if (requests === 1) return void res.writeHead(429, { 'retry-after': '1' }).end('slow down');
      if (requests === 2) return void res.writeHead(503).end('unavailable');
      if (requests === 3) return void req.socket.destroy();
      if (tenant === 'bad') return void res.writeHead(400).end('entry too far behind');
      const body = decodeLokiPushProtobuf(snappy.uncompressSync(Buffer.concat(chunks), { asBuffer: true }) as Buffer);
      received.push({
        tenant,
        authorization: req.headers.authorization,
        custom: req.headers['x-custom'] as string | undefined,
        lines: body.records.flatMap((r) => r.entries.map((e) => e.line)),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/loki/api/v1/push`;
  const config = configSchema.parse({
    gateway: {
      forward: {
        logs: [{
          url,
          name: 'strict',
          headers: { 'X-Custom': 'yes' },
          basic_auth: { username: 'u', password: 'p' },
          tenant: { credentials: { 'team-b': { bearer_token: 'tok-b' } } },
          batch_max_wait: '10ms',
          min_backoff: '10ms',
          max_backoff: '50ms',
        }],
      },
    },
  });
  const { forwarder, metric: value, drained, close } = await openTestForwarder(logsQueueCodec, lokiPushWire, config.gateway.forward.logs);
  try {
    const write = async (tenant: string, line: string): Promise<void> => {
      const app = forwarder.appender(tenant as TenantId);
      app.append({ labels: { job: 'x' }, entries: [{ timestampNs: 1_700_000_000_000_000_000n, line }] });
      await app.commit();
    };
    await write('team-a', 'a1');
    await write('team-b', 'b1');
    await write('bad', 'x1');
    await write('team-a', 'a2');
    await drained('strict');
    assert.equal(await value('heimdall_forward_queue_records', 'endpoint="strict"'), 0);
    const lines = (tenant: string): string[] => received.filter((r) => r.tenant === tenant).flatMap((r) => r.lines).sort();
    assert.deepEqual(lines('team-a'), ['a1', 'a2']);
    assert.deepEqual(lines('team-b'), ['b1']);
    assert.deepEqual(lines('bad'), []);
    const basic = `Basic ${Buffer.from('u:p').toString('base64')}`;
    for (const r of received) {
      assert.equal(r.authorization, r.tenant === 'team-b' ? 'Bearer tok-b' : basic);
      if (r.tenant !== 'team-b') assert.equal(r.custom, 'yes');
    }
    assert.equal(await value('heimdall_forward_retries_total', 'reason="http_429"'), 1);
    assert.equal(await value('heimdall_forward_retries_total', 'reason="http_5xx"'), 1);
    assert.equal(await value('heimdall_forward_retries_total', 'reason="network"'), 1);
    assert.equal(await value('heimdall_forward_dropped_records_total', 'reason="http_4xx"'), 1);
    assert.equal(await value('heimdall_forward_sent_records_total', 'endpoint="strict"'), 3);
  } finally {
    await close();
    server.close();
  }
});

/** A Loki push receiver on loopback; `answer(tenant)` is the status it gives, and what it took is in `lines`. */
async function lokiReceiver(answer: (tenant: string | undefined) => number): Promise<{ url: string; lines: Map<string, string[]>; close(): void }> {
  const lines = new Map<string, string[]>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const tenant = req.headers['x-scope-orgid'] as string | undefined;
      const status = answer(tenant);
      if (status === 204) {
        const body = decodeLokiPushProtobuf(snappy.uncompressSync(Buffer.concat(chunks), { asBuffer: true }) as Buffer);
        const list = lines.get(tenant ?? '') ?? [];
        list.push(...body.records.flatMap((r) => r.entries.map((e) => e.line)));
        lines.set(tenant ?? '', list);
      }
      res.writeHead(status).end(status === 204 ? '' : 'not now');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/loki/api/v1/push`, lines, close: () => {
    server.close();
    server.closeAllConnections();
  } };
}

async function writeLine(forwarder: { appender(t: TenantId): { append(r: unknown): unknown; commit(): Promise<unknown> } }, tenant: string, line: string): Promise<void> {
  const app = forwarder.appender(tenant as TenantId);
  app.append({ labels: { job: 'x' }, entries: [{ timestampNs: 1_700_000_000_000_000_000n, line }] });
  await app.commit();
}

async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`${what}: not within 20 s`);
}

test('a tenant the remote keeps refusing with 503 does not hold up the other tenants', async () => {
  const remote = await lokiReceiver((tenant) => (tenant === 'stuck' ? 503 : 204));
  const config = configSchema.parse({
    gateway: { forward: { logs: [{ url: remote.url, name: 'r', batch_max_wait: '10ms', min_backoff: '10ms', max_backoff: '50ms' }] } },
  });
  const { forwarder, metric, close } = await openTestForwarder(logsQueueCodec, lokiPushWire, config.gateway.forward.logs);
  try {
    // Each write becomes its own batch; the stuck tenant's later batches must wait behind its first, not block the reader.
    for (let i = 0; i < 5; i++) {
      await writeLine(forwarder, 'stuck', `s${i}`);
      await new Promise((r) => setTimeout(r, 30));
      await writeLine(forwarder, 'team-a', `a${i}`);
    }
    await until('every team-a line delivered', () => remote.lines.get('team-a')?.length === 5);
    assert.deepEqual(remote.lines.get('team-a'), ['a0', 'a1', 'a2', 'a3', 'a4']);
    assert.ok((await metric('heimdall_forward_retries_total', 'reason="http_5xx"')) > 0);
    assert.equal(await metric('heimdall_forward_queue_records', 'endpoint="r"'), 5, "the stuck tenant's lines stay queued");
  } finally {
    await close();
    remote.close();
  }
});

test('an endpoint that is down does not stop the others: its full queue drops (counted) while they deliver', async () => {
  const good = await lokiReceiver(() => 204);
  const down = await lokiReceiver(() => 503);
  const config = configSchema.parse({
    gateway: {
      forward: {
        logs: [
          { url: good.url, name: 'good', batch_max_wait: '10ms' },
          { url: down.url, name: 'down', batch_max_wait: '10ms', min_backoff: '1s', max_backoff: '1s', queue_max_bytes: 200 },
        ],
      },
    },
  });
  const { forwarder, metric, close } = await openTestForwarder(logsQueueCodec, lokiPushWire, config.gateway.forward.logs, 'forward');
  try {
    for (let i = 0; i < 10; i++) await writeLine(forwarder, 'team-a', `line ${i} ${'z'.repeat(40)}`);
    await until('every line at the good endpoint', () => good.lines.get('team-a')?.length === 10);
    assert.ok((await metric('heimdall_forward_dropped_records_total', 'reason="queue_full"')) > 0);
    assert.equal(await metric('heimdall_forward_dropped_records_total', 'endpoint="good"'), 0);
  } finally {
    await close();
    good.close();
    down.close();
  }
  // With only the full endpoint, the writer is refused, naming where the bound is configured (the agent's `forward`).
  const alone = await openTestForwarder(logsQueueCodec, lokiPushWire, [config.gateway.forward.logs[1]!], 'forward');
  try {
    await writeLine(alone.forwarder, 'team-a', 'x'.repeat(300));
    await assert.rejects(writeLine(alone.forwarder, 'team-a', 'more'), /forward\.logs\[\]\.queue_max_bytes/);
  } finally {
    await alone.close();
  }
});
