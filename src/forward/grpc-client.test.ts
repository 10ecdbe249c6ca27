import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metadata, Server, ServerCredentials, status } from '@grpc/grpc-js';
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { makeSpan, record } from '../../test/support/trace-spans.ts';
import { openTestForwarder } from '../../test/support/forwarder.ts';
import { configSchema } from '../config/index.ts';
import { rawExportService } from '../gateway/index.ts';
import { decodeOtlpTracesProtobuf } from '../ingest/otlp-traces.ts';
import type { TenantId } from '../model/index.ts';
import { retryInfoSeconds } from './grpc-client.ts';
import { otlpGrpcTracesWire, tracesQueueCodec } from './signal-codecs.ts';

// A traces forwarder with `protocol: grpc` against a real grpc-js server on loopback that answers what a struggling
// or strict OTLP receiver answers: UNAVAILABLE, RESOURCE_EXHAUSTED with a RetryInfo detail, INVALID_ARGUMENT for one
// tenant. Retryable answers are retried, the permanent one dropped and counted; metadata carries tenant and auth.

const EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** A google.rpc.Status with a RetryInfo of `seconds`, as Heimdall's and the collector's receivers send it. */
function statusWithRetryInfo(seconds: number): Buffer {
  const duration = Buffer.from([0x08, seconds]);
  const retryInfo = Buffer.concat([Buffer.from([0x0a, duration.length]), duration]);
  const typeUrl = Buffer.from('type.googleapis.com/google.rpc.RetryInfo');
  const any = Buffer.concat([Buffer.from([0x0a, typeUrl.length]), typeUrl, Buffer.from([0x12, retryInfo.length]), retryInfo]);
  return Buffer.concat([Buffer.from([0x08, status.RESOURCE_EXHAUSTED]), Buffer.from([0x1a, any.length]), any]);
}

test('RetryInfo in grpc-status-details-bin reads as seconds', () => {
  assert.equal(retryInfoSeconds(statusWithRetryInfo(3)), 3);
  assert.equal(retryInfoSeconds(Buffer.from([0x08, 0x08])), undefined);
  assert.equal(retryInfoSeconds(Buffer.from([0x1a, 0x7f])), undefined);
});

test('OTLP/gRPC: retries UNAVAILABLE and RESOURCE_EXHAUSTED, drops INVALID_ARGUMENT, sends tenant and credentials as metadata', async () => {
  const received: { tenant: string; authorization: string; names: string[] }[] = [];
  let calls = 0;
  const server = new Server();
  server.addService(
    rawExportService(EXPORT),
    {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        calls++;
        const tenant = String(call.metadata.get('x-scope-orgid')[0]);
        if (calls === 1) return callback({ code: status.UNAVAILABLE, details: 'starting' });
        if (calls === 2) {
          const md = new Metadata();
          md.set('grpc-status-details-bin', statusWithRetryInfo(1));
          return callback({ code: status.RESOURCE_EXHAUSTED, details: 'slow down', metadata: md });
        }
        if (tenant === 'bad') return callback({ code: status.INVALID_ARGUMENT, details: 'refused' });
        const decoded = decodeOtlpTracesProtobuf(call.request);
        received.push({ tenant, authorization: String(call.metadata.get('authorization')[0]), names: decoded.records.flatMap((r) => r.spans.map((s) => s.name)) });
        callback(null, Buffer.alloc(0));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const config = configSchema.parse({
    gateway: {
      forward: {
        traces: [{
          url: `http://127.0.0.1:${port}`,
          protocol: 'grpc',
          name: 'otlp',
          bearer_token: 'tok',
          batch_max_wait: '10ms',
          min_backoff: '10ms',
          max_backoff: '50ms',
        }],
      },
    },
  });
  const { forwarder, metric: value, drained, close } = await openTestForwarder(tracesQueueCodec, otlpGrpcTracesWire, config.gateway.forward.traces);
  try {
    const write = async (tenant: string, name: string): Promise<void> => {
      const app = forwarder.appender(tenant as TenantId);
      app.append(record('svc', [makeSpan({ trace: 1, index: 0, startNs: 1_700_000_000_000_000_000n, name })]));
      await app.commit();
    };
    await write('team-a', 'a1');
    await write('bad', 'x1');
    await write('team-a', 'a2');
    await drained('otlp');
    assert.equal(await value('heimdall_forward_queue_records', 'endpoint="otlp"'), 0);
    assert.deepEqual(received.filter((r) => r.tenant === 'team-a').flatMap((r) => r.names).sort(), ['a1', 'a2']);
    assert.ok(received.every((r) => r.authorization === 'Bearer tok' && r.tenant !== 'bad'));
    assert.equal(await value('heimdall_forward_retries_total', 'reason="network"'), 1);
    assert.equal(await value('heimdall_forward_retries_total', 'reason="http_429"'), 1);
    assert.equal(await value('heimdall_forward_dropped_records_total', 'reason="http_4xx"'), 1);
  } finally {
    await close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }
});
