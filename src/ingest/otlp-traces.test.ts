import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { decodeOtlpTracesJson, decodeOtlpTracesProtobuf } from './otlp-traces.ts';
import { ExportTraceServiceRequest, ExportTraceServiceResponse, encodeExportTraceResponse, exportTraceResponseJson } from './otlp-traces-proto.ts';

const FIXTURE = '/work/shared/fixtures/otlp/trace.json';
const TRACE = Buffer.from('5b8efff798038103d269b633813fc60c', 'hex');
const SPAN = Buffer.from('eee19b7ec3c1b174', 'hex');

test('OTLP/JSON (the specification example): hex ids lowercased, resource, scope, kind, times, attributes', () => {
  const out = decodeOtlpTracesJson(readFileSync(FIXTURE));
  assert.equal(out.malformed, undefined);
  assert.deepEqual(out.rejections, []);
  assert.equal(out.spans, 1);
  const rec = out.records[0]!;
  assert.deepEqual(rec.resource, [{ key: 'service.name', value: 'my.service' }]);
  const span = rec.spans[0]!;
  assert.equal(span.traceId, '5b8efff798038103d269b633813fc60c');
  assert.equal(span.spanId, 'eee19b7ec3c1b174');
  assert.equal(span.parentSpanId, 'eee19b7ec3c1b173');
  assert.equal(span.name, "I'm a server span");
  assert.equal(span.kind, 2);
  assert.equal(span.startTimeUnixNs, 1_544_712_660_000_000_000n);
  assert.equal(span.endTimeUnixNs, 1_544_712_661_000_000_000n);
  assert.deepEqual(span.attributes, [{ key: 'my.span.attr', value: 'some value' }]);
  assert.deepEqual(span.scope, {
    name: 'my.library',
    version: '1.0.0',
    attributes: [{ key: 'my.scope.attribute', value: 'some scope attribute' }],
  });
});

function protobufBody(spans: Record<string, unknown>[], resource: Record<string, unknown>[] = []): Uint8Array {
  const msg = ExportTraceServiceRequest.fromObject({
    resourceSpans: [{ resource: { attributes: resource }, scopeSpans: [{ scope: { name: 'lib' }, spans }] }],
  });
  return ExportTraceServiceRequest.encode(msg).finish();
}

const good = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  traceId: TRACE,
  spanId: SPAN,
  name: 'GET /',
  kind: 3,
  startTimeUnixNano: '1700000000000000000',
  endTimeUnixNano: '1700000000250000000',
  ...over,
});

test('OTLP/protobuf: typed attribute values, events, links, status, namespace, dropped counts', () => {
  const body = protobufBody(
    [
      good({
        parentSpanId: Buffer.alloc(8), // all zero: a root span, as some senders mark it
        attributes: [
          { key: 's', value: { stringValue: 'x' } },
          { key: 'i', value: { intValue: 42 } },
          { key: 'd', value: { doubleValue: 1.5 } },
          { key: 'b', value: { boolValue: true } },
          { key: 'a', value: { arrayValue: { values: [{ stringValue: 'p' }, { intValue: 7 }] } } },
          { key: 'm', value: { kvlistValue: { values: [{ key: 'k', value: { intValue: 1 } }] } } },
          { key: 'y', value: { bytesValue: Buffer.from([1, 2, 3]) } },
          { key: 'unset', value: {} },
          { key: '', value: { stringValue: 'no key' } },
        ],
        status: { code: 2, message: 'boom' },
        events: [{ timeUnixNano: '1700000000100000000', name: 'exception', attributes: [{ key: 'exception.type', value: { stringValue: 'E' } }] }],
        links: [{ traceId: TRACE, spanId: Buffer.from('0102030405060708', 'hex'), traceState: 'a=b' }],
        droppedAttributesCount: 3,
        traceState: 'k=v',
      }),
    ],
    [
      { key: 'service.name', value: { stringValue: 'checkout' } },
      { key: 'k8s.namespace.name', value: { stringValue: 'shop' } },
    ],
  );
  const out = decodeOtlpTracesProtobuf(body);
  assert.equal(out.malformed, undefined);
  assert.deepEqual(out.rejections, []);
  const rec = out.records[0]!;
  assert.equal(out.namespaces.get(rec), 'shop');
  const span = rec.spans[0]!;
  assert.equal(span.parentSpanId, undefined);
  assert.equal(span.traceId, '5b8efff798038103d269b633813fc60c');
  assert.equal(span.startTimeUnixNs, 1_700_000_000_000_000_000n);
  assert.deepEqual(span.attributes, [
    { key: 's', value: 'x' },
    { key: 'i', value: 42 },
    { key: 'd', value: 1.5 },
    { key: 'b', value: true },
    { key: 'a', value: ['p', 7] },
    { key: 'm', value: '{"values":[{"key":"k","value":{"intValue":"1"}}]}' },
    { key: 'y', value: 'AQID' },
  ]);
  assert.equal(span.statusCode, 2);
  assert.equal(span.statusMessage, 'boom');
  assert.equal(span.traceState, 'k=v');
  assert.equal(span.droppedAttributesCount, 3);
  assert.deepEqual(span.events, [{ timeUnixNs: 1_700_000_000_100_000_000n, name: 'exception', attributes: [{ key: 'exception.type', value: 'E' }] }]);
  assert.deepEqual(span.links, [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: '0102030405060708', traceState: 'a=b' }]);
  assert.deepEqual(span.scope, { name: 'lib' });
});

test('bad spans are refused one by one with a reason; the rest of the batch stays', () => {
  const body = protobufBody([
    good(),
    good({ traceId: Buffer.alloc(15, 1) }),
    good({ traceId: Buffer.alloc(16) }),
    good({ spanId: Buffer.alloc(7, 1) }),
    good({ spanId: Buffer.alloc(8) }),
    good({ parentSpanId: Buffer.alloc(4, 1) }),
    good({ endTimeUnixNano: '1699999999000000000' }),
    good({ kind: 9 }),
  ]);
  const out = decodeOtlpTracesProtobuf(body);
  assert.equal(out.spans, 8);
  assert.equal(out.records.length, 1);
  assert.equal(out.records[0]!.spans.length, 1);
  assert.equal(out.rejections.length, 7);
  for (const r of out.rejections) {
    assert.equal(r.signal, 'traces');
    assert.equal(r.reason, 'invalid_record');
    assert.equal(r.count, 1);
  }
  const messages = out.rejections.map((r) => r.message).join('\n');
  assert.match(messages, /15 bytes, must be 16/);
  assert.match(messages, /trace id: all zero/);
  assert.match(messages, /7 bytes, must be 8/);
  assert.match(messages, /span id in trace .*: all zero/);
  assert.match(messages, /parent span id/);
  assert.match(messages, /ends .* before it starts/);
  assert.match(messages, /unknown span kind 9/);
});

test('OTLP/JSON: base64 ids tolerated, enum names, numeric times, non-hex ids refused', () => {
  const doc = {
    resourceSpans: [
      {
        scopeSpans: [
          {
            spans: [
              {
                traceId: TRACE.toString('base64'),
                spanId: SPAN.toString('base64'),
                name: 'b64',
                kind: 'SPAN_KIND_SERVER',
                startTimeUnixNano: 1_000,
                endTimeUnixNano: '2000',
                status: { code: 'STATUS_CODE_ERROR' },
                attributes: [{ key: 'n', value: { intValue: '9007199254740993' } }],
              },
              { traceId: 'zz'.repeat(16), spanId: 'eee19b7ec3c1b174', name: 'not hex' },
            ],
          },
        ],
      },
    ],
  };
  const out = decodeOtlpTracesJson(JSON.stringify(doc));
  assert.equal(out.malformed, undefined);
  const span = out.records[0]!.spans[0]!;
  assert.equal(span.traceId, '5b8efff798038103d269b633813fc60c');
  assert.equal(span.spanId, 'eee19b7ec3c1b174');
  assert.equal(span.kind, 2);
  assert.equal(span.statusCode, 2);
  assert.equal(span.startTimeUnixNs, 1000n);
  assert.equal(span.endTimeUnixNs, 2000n);
  assert.equal(out.rejections.length, 1);
  assert.match(out.rejections[0]!.message, /neither hex nor base64/);
});

test('malformed bodies are refused whole with a message', () => {
  assert.match(decodeOtlpTracesJson('{').malformed ?? '', /malformed OTLP\/JSON traces body/);
  assert.match(decodeOtlpTracesJson('[]').malformed ?? '', /expected an object/);
  assert.match(decodeOtlpTracesJson('{"resourceSpans":"x"}').malformed ?? '', /resourceSpans must be an array/);
  assert.match(decodeOtlpTracesJson('{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"-1"}]}]}]}').malformed ?? '', /not an unsigned integer/);
  assert.match(decodeOtlpTracesProtobuf(Buffer.from([0x0a, 0xff, 0xff])).malformed ?? '', /malformed OTLP traces protobuf/);
});

/** An AnyValue nested `depth` maps deep, encoded by hand (protobufjs' fromObject stops far earlier than decode). */
function deepAnyValue(depth: number): Uint8Array {
  let v = protobuf.Writer.create().uint32((1 << 3) | 2).string('leaf').finish();
  for (let i = 0; i < depth; i++) {
    const kv = protobuf.Writer.create().uint32((1 << 3) | 2).string(`k${i}`).uint32((2 << 3) | 2).bytes(v).finish();
    const list = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(kv).finish();
    v = protobuf.Writer.create().uint32((6 << 3) | 2).bytes(list).finish();
  }
  return v;
}

test('deeply nested attribute values decode (protobuf within the shared depth limit, JSON alike)', () => {
  const span = ExportTraceServiceRequest.lookupType('opentelemetry.proto.trace.v1.Span');
  const attr = protobuf.Writer.create().uint32((1 << 3) | 2).string('deep').uint32((2 << 3) | 2).bytes(deepAnyValue(300)).finish();
  // A span's fields, then its attribute (field 9) appended: protobuf messages concatenate.
  const withAttr = Buffer.concat([span.encode(span.fromObject(good())).finish(), protobuf.Writer.create().uint32((9 << 3) | 2).bytes(attr).finish()]);
  const scopeSpans = protobuf.Writer.create().uint32((2 << 3) | 2).bytes(withAttr).finish();
  const resourceSpans = protobuf.Writer.create().uint32((2 << 3) | 2).bytes(scopeSpans).finish();
  const body = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(resourceSpans).finish();
  const out = decodeOtlpTracesProtobuf(body);
  assert.equal(out.malformed, undefined);
  const deep = out.records[0]!.spans[0]!.attributes[0]!;
  assert.equal(deep.key, 'deep');
  assert.match(String(deep.value), /"stringValue":"leaf"/);
  let value: Record<string, unknown> = { stringValue: 'leaf' };
  for (let i = 0; i < 300; i++) value = { kvlistValue: { values: [{ key: `k${i}`, value }] } };
  const json = decodeOtlpTracesJson(
    JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE.toString('hex'), spanId: SPAN.toString('hex'), attributes: [{ key: 'deep', value }] }] }] }] }),
  );
  assert.equal(json.malformed, undefined);
  assert.equal(json.records[0]!.spans[0]!.attributes[0]!.value, deep.value);
});

test('export responses: partial_success in protobuf and JSON; empty on full success', () => {
  assert.equal(encodeExportTraceResponse().length, 0);
  assert.equal(exportTraceResponseJson(), '{}');
  const decoded = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(encodeExportTraceResponse({ rejectedSpans: 2, errorMessage: 'x' })), { longs: Number });
  assert.deepEqual(decoded, { partialSuccess: { rejectedSpans: 2, errorMessage: 'x' } });
  assert.deepEqual(JSON.parse(exportTraceResponseJson({ rejectedSpans: 2, errorMessage: 'x' })), { partialSuccess: { rejectedSpans: '2', errorMessage: 'x' } });
});
