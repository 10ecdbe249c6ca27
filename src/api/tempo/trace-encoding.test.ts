import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Attribute, InstrumentationScope, Span } from '../../model/index.ts';
import type { StoredTrace } from '../../storage/index.ts';
import { traceV1Json, traceV2Json } from './trace-json.ts';
import { TempoTrace, TraceByIDResponse, traceV1Proto, traceV2Proto } from './trace-proto.ts';
import { partialMessage, shapeTrace } from './trace-shape.ts';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const scope: InstrumentationScope = { name: 'lib', version: '1.2' };
const resourceA: Attribute[] = [{ key: 'service.name', value: 'api' }];
const resourceB: Attribute[] = [{ key: 'service.name', value: 'db' }];

function span(id: string, startNs: bigint, extra: Partial<Span> = {}): Span {
  return {
    traceId: TRACE_ID,
    spanId: id,
    name: `op-${id.slice(-1)}`,
    kind: 2,
    startTimeUnixNs: startNs,
    endTimeUnixNs: startNs + 1000n,
    attributes: [
      { key: 'n', value: 42 },
      { key: 'f', value: 1.5 },
      { key: 'b', value: true },
      { key: 'list', value: ['x', 7] },
    ],
    statusCode: 0,
    scope,
    ...extra,
  };
}

const trace: StoredTrace = {
  traceId: TRACE_ID,
  spans: [
    { span: span('00000000000000b2', 1_700_000_000_000_000_200n, { parentSpanId: '00000000000000a1', statusCode: 2, statusMessage: 'boom' }), resource: resourceB },
    { span: span('00000000000000a1', 1_700_000_000_000_000_100n, { events: [{ timeUnixNs: 1_700_000_000_000_000_150n, name: 'ev' }] }), resource: resourceA },
    { span: span('00000000000000a2', 1_700_000_000_000_000_300n, { parentSpanId: '00000000000000a1', kind: 3 }), resource: resourceA },
  ],
};

test('shaping groups spans by resource and scope in start order; no limit keeps everything', () => {
  const shaped = shapeTrace(trace, 0);
  assert.equal(shaped.partial, false);
  assert.equal(shaped.spanCount, 3);
  assert.deepEqual(
    shaped.resources.map((r) => [r.resource[0]?.value, r.scopes[0]?.spans.map((s) => s.spanId)]),
    [
      ['api', ['00000000000000a1', '00000000000000a2']],
      ['db', ['00000000000000b2']],
    ],
  );
});

test('equal resources and scopes read as different objects (head and a block) form one batch; 1 and "1" stay apart', () => {
  const copy = (attrs: Attribute[]): Attribute[] => attrs.map((a) => ({ ...a }));
  const fromBlock: StoredTrace = {
    traceId: TRACE_ID,
    spans: [
      ...trace.spans,
      { span: span('00000000000000a3', 1_700_000_000_000_000_400n, { scope: { ...scope } }), resource: copy(resourceA) },
      { span: span('00000000000000c1', 1_700_000_000_000_000_500n), resource: [{ key: 'service.name', value: 1 }] },
      { span: span('00000000000000c2', 1_700_000_000_000_000_600n), resource: [{ key: 'service.name', value: '1' }] },
    ],
  };
  const shaped = shapeTrace(fromBlock, 0);
  assert.deepEqual(
    shaped.resources.map((r) => [r.resource[0]?.value, r.scopes.map((s) => s.spans.map((sp) => sp.spanId))]),
    [
      ['api', [['00000000000000a1', '00000000000000a2', '00000000000000a3']]],
      ['db', [['00000000000000b2']]],
      [1, [['00000000000000c1']]],
      ['1', [['00000000000000c2']]],
    ],
  );
});

test('a trace over the byte limit keeps its earliest spans and is marked partial', () => {
  const full = shapeTrace(trace, 0);
  const cut = shapeTrace(trace, Math.floor(full.storedBytes / 2));
  assert.equal(cut.partial, true);
  assert.ok(cut.spanCount >= 1 && cut.spanCount < 3, `kept ${cut.spanCount}`);
  assert.equal(cut.resources[0]?.scopes[0]?.spans[0]?.spanId, '00000000000000a1');
  const v2 = JSON.parse(traceV2Json(cut, partialMessage(123))) as { status: string; message: string };
  assert.equal(v2.status, 'PARTIAL');
  assert.equal(v2.message, 'Trace exceeds maximum size of 123 bytes, a partial trace is returned');
  const proto = TraceByIDResponse.toObject(TraceByIDResponse.decode(traceV2Proto(cut, partialMessage(123))), { enums: String });
  assert.equal(proto.status, 'PARTIAL');
});

test('v1 JSON is Tempo’s jsonpb: batches, base64 ids, int64 as strings, enum names, typed values', () => {
  const json = JSON.parse(traceV1Json(shapeTrace(trace, 0))) as {
    batches: { resource: unknown; scopeSpans: { scope: unknown; spans: Record<string, unknown>[] }[] }[];
  };
  assert.equal(json.batches.length, 2);
  const root = json.batches[0]!.scopeSpans[0]!.spans[0]!;
  assert.deepEqual(json.batches[0]!.scopeSpans[0]!.scope, { name: 'lib', version: '1.2' });
  assert.equal(root.traceId, Buffer.from(TRACE_ID, 'hex').toString('base64'));
  assert.equal(root.spanId, Buffer.from('00000000000000a1', 'hex').toString('base64'));
  assert.equal(root.parentSpanId, undefined);
  assert.equal(root.kind, 'SPAN_KIND_SERVER');
  assert.equal(root.startTimeUnixNano, '1700000000000000100');
  assert.deepEqual(root.attributes, [
    { key: 'n', value: { intValue: '42' } },
    { key: 'f', value: { doubleValue: 1.5 } },
    { key: 'b', value: { boolValue: true } },
    { key: 'list', value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: '7' }] } } },
  ]);
  assert.deepEqual(root.events, [{ timeUnixNano: '1700000000000000150', name: 'ev' }]);
  assert.deepEqual(root.status, {});
  const failed = json.batches[1]!.scopeSpans[0]!.spans[0]!;
  assert.deepEqual(failed.status, { message: 'boom', code: 'STATUS_CODE_ERROR' });
});

test('protobuf answers decode as tempopb.Trace and TraceByIDResponse with the same spans', () => {
  const shaped = shapeTrace(trace, 0);
  const v1 = TempoTrace.toObject(TempoTrace.decode(traceV1Proto(shaped)), { longs: String, bytes: String }) as {
    resourceSpans: { scopeSpans: { spans: { spanId: string; parentSpanId?: string; startTimeUnixNano: string; status?: { code?: number } }[] }[] }[];
  };
  const spans = v1.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
  assert.deepEqual(
    spans.map((s) => Buffer.from(s.spanId, 'base64').toString('hex')),
    ['00000000000000a1', '00000000000000a2', '00000000000000b2'],
  );
  assert.equal(spans[0]!.startTimeUnixNano, '1700000000000000100');
  assert.equal(spans[2]!.status?.code, 2);
  const v2 = TraceByIDResponse.toObject(TraceByIDResponse.decode(traceV2Proto(shaped, undefined)), { enums: String, longs: Number }) as {
    trace: { resourceSpans: unknown[] };
    status?: string;
    metrics: { inspectedBytes: number };
  };
  assert.equal(v2.trace.resourceSpans.length, 2);
  assert.equal(v2.status ?? 'COMPLETE', 'COMPLETE');
  assert.equal(v2.metrics.inspectedBytes, shaped.storedBytes);
});
