import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeimdallError } from '../model/index.ts';
import type { Span, SpanRecord, TenantId } from '../model/index.ts';
import { TraceAdmission, estimateSpanBytes } from './trace-admission.ts';
import type { TraceIngestLimits } from './trace-admission.ts';

const OFF: TraceIngestLimits = {
  max_bytes_per_trace: 0,
  max_attribute_bytes: 0,
  ingestion_rate_limit_bytes: 0,
  ingestion_burst_size_bytes: 0,
  max_traces_per_user: 0,
};

function span(traceNo: number, spanNo: number, attrs: Span['attributes'] = []): Span {
  return {
    traceId: traceNo.toString(16).padStart(32, '0'),
    spanId: spanNo.toString(16).padStart(16, '0'),
    name: 'op',
    kind: 1,
    startTimeUnixNs: 1n,
    endTimeUnixNs: 2n,
    attributes: attrs,
    statusCode: 0,
    scope: { name: 's' },
  };
}
const rec = (...spans: Span[]): SpanRecord => ({ resource: [{ key: 'service.name', value: 'svc' }], spans });
const T = 't' as TenantId;
const OTHER = 'other' as TenantId;
const noRate = (): void => assert.fail('not rate limited');

test('max_traces_per_user refuses spans that would start a trace past the limit, until traces go idle', () => {
  let now = 0;
  const a = new TraceAdmission(() => ({ ...OFF, max_traces_per_user: 2 }), 10_000, () => now);
  const out = a.admit(T, [rec(span(1, 1), span(2, 1), span(3, 1), span(3, 2), span(1, 2))], noRate);
  assert.deepEqual(out.records[0]!.spans.map((s) => [s.traceId.slice(-1), s.spanId.slice(-1)]), [['1', '1'], ['2', '1'], ['1', '2']]);
  assert.deepEqual(out.rejections.map((r) => [r.reason, r.count]), [['live_traces_exceeded', 2]]);
  assert.match(out.rejections[0]!.message, /max_traces_per_user/);
  assert.equal(a.liveTraces(T), 2);
  assert.equal(a.liveTraces(OTHER), 0, 'per tenant');
  now = 10_000;
  assert.equal(a.liveTraces(T), 0, 'idle traces are no longer live');
  assert.equal(a.admit(T, [rec(span(3, 1))], noRate).rejections.length, 0);
});

test('max_bytes_per_trace refuses the spans that would take a live trace past it; others pass', () => {
  const size = estimateSpanBytes(span(1, 1));
  const a = new TraceAdmission(() => ({ ...OFF, max_bytes_per_trace: size * 2 }), 10_000, () => 0);
  const out = a.admit(T, [rec(span(1, 1), span(1, 2), span(1, 3), span(2, 1))], noRate);
  assert.equal(out.records[0]!.spans.length, 3);
  assert.deepEqual(out.rejections.map((r) => [r.reason, r.count]), [['trace_too_large', 1]]);
  assert.match(out.rejections[0]!.message, /TRACE_TOO_LARGE.*00000000000000000000000000000001.*max_bytes_per_trace/);
  // the trace stays too large across requests while it is live
  assert.equal(a.admit(T, [rec(span(1, 4))], noRate).rejections[0]!.reason, 'trace_too_large');
});

test('the ingestion rate refuses a whole batch with a retryable 429 naming the setting, and counts its spans', () => {
  let now = 0;
  const size = estimateSpanBytes(span(1, 1)) + 6 + 'service.name'.length + 3;
  const limits = { ...OFF, ingestion_rate_limit_bytes: size, ingestion_burst_size_bytes: size * 2 };
  const a = new TraceAdmission(() => limits, 10_000, () => now);
  assert.equal(a.admit(T, [rec(span(1, 1))], noRate).records.length, 1);
  assert.equal(a.admit(T, [rec(span(1, 2))], noRate).records.length, 1);
  let refused = 0;
  assert.throws(
    () => a.admit(T, [rec(span(1, 3))], (n) => (refused = n)),
    (err: unknown) => err instanceof HeimdallError && err.kind === 'rate_limited' && err.retryAfterSeconds === 1 && /ingestion_rate_limit_bytes/.test(err.message),
  );
  assert.equal(refused, 1);
  assert.equal(a.admit(OTHER, [rec(span(1, 3))], noRate).records.length, 1, 'another tenant has its own bucket');
  now = 1000;
  assert.equal(a.admit(T, [rec(span(1, 3))], noRate).records.length, 1, 'refilled after a second');
  assert.throws(
    () => a.admit(T, [rec(span(1, 4), span(1, 5), span(1, 6))], () => {}),
    (err: unknown) => err instanceof HeimdallError && /exceeds the ingestion burst size/.test(err.message),
  );
});

test('max_attribute_bytes truncates keys and string values on a UTF-8 boundary everywhere, counting them', () => {
  const a = new TraceAdmission(() => ({ ...OFF, max_attribute_bytes: 4 }), 10_000, () => 0);
  const s: Span = {
    ...span(1, 1, [{ key: 'longkey', value: 'ééé' }, { key: 'n', value: 123456789 }, { key: 'arr', value: ['abcdef', 1] }]),
    events: [{ timeUnixNs: 1n, name: 'e', attributes: [{ key: 'k', value: 'abcdef' }] }],
    links: [{ traceId: '1'.padStart(32, '0'), spanId: '2'.padStart(16, '0'), attributes: [{ key: 'k', value: 'abcdef' }] }],
    scope: { name: 's', attributes: [{ key: 'k', value: 'abcdef' }] },
  };
  const out = a.admit(T, [{ resource: [{ key: 'service.name', value: 'checkout' }], spans: [s] }], noRate);
  const r = out.records[0]!;
  assert.deepEqual(r.resource, [{ key: 'serv', value: 'chec' }]);
  const t = r.spans[0]!;
  assert.deepEqual(t.attributes, [{ key: 'long', value: 'éé' }, { key: 'n', value: 123456789 }, { key: 'arr', value: ['abcd', 1] }]);
  assert.equal(t.events![0]!.attributes![0]!.value, 'abcd');
  assert.equal(t.links![0]!.attributes![0]!.value, 'abcd');
  assert.equal(t.scope.attributes![0]!.value, 'abcd');
  assert.equal(out.truncatedAttributes, 8);
  // untouched records are passed through as they are
  const plain: SpanRecord = { resource: [{ key: 'a', value: 'b' }], spans: [span(2, 1)] };
  assert.equal(a.admit(T, [plain], noRate).records[0], plain);
});
