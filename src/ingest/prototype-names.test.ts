// Names of Object.prototype members (`__proto__`, `constructor`, `toString`, ...) are ordinary label and
// structured-metadata names in every decoder: they are kept as own properties, never dropped, renamed or
// confused with the prototype.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { Labels } from '../model/index.ts';
import { decodeLokiPushJson, decodeLokiPushProtobuf } from './loki-push.ts';
import { enrichLokiRecord } from './loki-push-enrichment.ts';
import { decodeOtlpLogsJson, decodeOtlpLogsProtobuf } from './otlp-logs.ts';
import { ExportLogsServiceRequest } from './otlp-logs-proto.ts';
import { decodeOtlpMetricsJson, decodeOtlpMetricsProtobuf } from './otlp-metrics.ts';
import { ExportMetricsServiceRequest } from './otlp-metrics-proto.ts';
import { decodeRemoteWriteV1 } from './remote-write-v1.ts';
import { decodeRemoteWriteV2 } from './remote-write-v2.ts';

const NAMES = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'];
const here = path.dirname(fileURLToPath(import.meta.url));
const PushRequest = protobuf.loadSync(path.join(here, '../../proto/loki/push.proto')).lookupType('logproto.PushRequest');
const WriteRequest = protobuf.loadSync(path.join(here, '../../proto/prometheus/remote.proto')).lookupType('prometheus.WriteRequest');
const V2Request = protobuf.loadSync(path.join(here, '../../proto/prometheus/io/prometheus/write/v2/types.proto')).lookupType('io.prometheus.write.v2.Request');

/** Asserts every prototype name is an own, enumerable string property with the expected value. */
function assertOwn(labels: Labels | undefined, expected: (name: string) => string, what: string): void {
  assert.ok(labels, `${what}: present`);
  for (const name of NAMES) {
    const key: string | undefined = Object.keys(labels).find((k) => k === name || k.endsWith(name));
    assert.ok(key !== undefined && Object.hasOwn(labels, key), `${what}: ${name} is an own name in ${JSON.stringify(Object.keys(labels))}`);
    assert.equal(labels[key], expected(name), `${what}: ${name}`);
  }
  assert.equal(Object.getPrototypeOf(labels), Object.prototype, `${what}: prototype untouched`);
}

const sortedNames = [...NAMES].sort();
const value = (n: string) => `v-${n}`;

test('Loki push (protobuf and JSON): prototype names as labels and structured metadata', () => {
  const labelText = `{${sortedNames.map((n) => `${n}="${value(n)}"`).join(', ')}}`;
  const md = NAMES.map((n) => ({ name: n, value: value(n) }));
  const pb = decodeLokiPushProtobuf(PushRequest.encode(PushRequest.fromObject({
    streams: [{ labels: labelText, entries: [{ timestamp: { seconds: 1 }, line: 'l', structuredMetadata: md }] }],
  })).finish());
  assert.equal(pb.rejections.length, 0, JSON.stringify(pb.rejections));
  assertOwn(pb.records[0]?.labels, value, 'protobuf labels');
  assertOwn(pb.records[0]?.entries[0]?.structuredMetadata, value, 'protobuf metadata');
  const jsonText = `{"streams":[{"stream":{${NAMES.map((n) => `"${n}":"${value(n)}"`).join(',')}},"values":[["1","l",{${NAMES.map((n) => `"${n}":"${value(n)}"`).join(',')}}]]}]}`;
  const js = decodeLokiPushJson(jsonText);
  assert.equal(js.malformed, undefined);
  assertOwn(js.records[0]?.labels, value, 'JSON labels');
  assertOwn(js.records[0]?.entries[0]?.structuredMetadata, value, 'JSON metadata');
  const enriched = enrichLokiRecord(js.records[0]!, { discoverServiceName: ['service'], discoverLogLevels: true });
  assertOwn(enriched.labels, value, 'enriched labels');
  assertOwn(enriched.entries[0]?.structuredMetadata, value, 'enriched metadata');
});

test('OTLP logs (protobuf and JSON): prototype names as resource and record attributes', () => {
  const attrs = NAMES.map((n) => ({ key: n, value: { stringValue: value(n) } }));
  const req = { resourceLogs: [{ resource: { attributes: attrs }, scopeLogs: [{ logRecords: [{ timeUnixNano: '1000', body: { stringValue: 'l' }, attributes: attrs }] }] }] };
  const pb = decodeOtlpLogsProtobuf(ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject(req)).finish());
  const js = decodeOtlpLogsJson(JSON.stringify(req));
  for (const [what, out] of [['protobuf', pb], ['JSON', js]] as const) {
    assert.equal(out.malformed, undefined, what);
    assertOwn(out.records[0]?.entries[0]?.structuredMetadata, value, `OTLP logs ${what} metadata`);
  }
});

test('OTLP metrics (protobuf and JSON): prototype names as attributes become labels', () => {
  const attrs = NAMES.map((n) => ({ key: n, value: { stringValue: value(n) } }));
  const req = {
    resourceMetrics: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 's' } }] },
      scopeMetrics: [{ metrics: [{ name: 'g', gauge: { dataPoints: [{ timeUnixNano: '1000000', asDouble: 1, attributes: attrs }] } }] }],
    }],
  };
  const pb = decodeOtlpMetricsProtobuf(ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(req)).finish());
  const js = decodeOtlpMetricsJson(Buffer.from(JSON.stringify(req)));
  for (const [what, out] of [['protobuf', pb], ['JSON', js]] as const) {
    assert.equal(out.malformed, undefined, what);
    const series = out.records.find((r) => r.labels.__name__ === 'g' && r.samples !== undefined);
    // OTLP label normalization turns a single leading `_` into `key_`; `__proto__` keeps its name.
    assertOwn(series?.labels, value, `OTLP metrics ${what}`);
  }
});

test('remote_write 1.0 and 2.0: prototype names as label names', () => {
  const labels = [{ name: '__name__', value: 'm' }, ...sortedNames.map((n) => ({ name: n, value: value(n) }))].sort((a, b) => (a.name < b.name ? -1 : 1));
  const v1 = decodeRemoteWriteV1(WriteRequest.encode(WriteRequest.fromObject({ timeseries: [{ labels, samples: [{ value: 1, timestamp: 1 }] }] })).finish());
  assert.equal(v1.rejections.length, 0, JSON.stringify(v1.rejections));
  assertOwn(v1.records[0]?.labels, value, 'remote_write 1.0');
  const symbols = [''];
  const refs: number[] = [];
  for (const l of labels) {
    refs.push(symbols.length, symbols.length + 1);
    symbols.push(l.name, l.value);
  }
  const v2 = decodeRemoteWriteV2(V2Request.encode(V2Request.fromObject({ symbols, timeseries: [{ labelsRefs: refs, samples: [{ value: 1, timestamp: 1 }] }] })).finish());
  assert.equal(v2.rejections.length, 0, JSON.stringify(v2.rejections));
  assertOwn(v2.records[0]?.labels, value, 'remote_write 2.0');
});

/** An OTLP AnyValue nested `levels` deep (kvlist within kvlist), hand-encoded (protobufjs' encoder has its own limit). */
function deepAnyValue(levels: number): Uint8Array {
  let v = protobuf.Writer.create().uint32((1 << 3) | 2).string('leaf').finish();
  for (let i = 0; i < levels; i++) {
    const kv = protobuf.Writer.create().uint32((1 << 3) | 2).string('k').uint32((2 << 3) | 2).bytes(v).finish();
    const list = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(kv).finish();
    v = protobuf.Writer.create().uint32((6 << 3) | 2).bytes(list).finish();
  }
  return v;
}

test('OTLP logs and metrics: values nested past protobufjs default depth (33 levels) are accepted', () => {
  for (const levels of [33, 100, 300]) {
    const v = deepAnyValue(levels);
    // LogRecord{time_unix_nano(1), body(5)}, ScopeLogs{log_records(2)}, ResourceLogs{scope_logs(2)}, request{resource_logs(1)}
    const lr = protobuf.Writer.create().uint32((1 << 3) | 1).fixed64(1000).uint32((5 << 3) | 2).bytes(v).finish();
    const ok = protobuf.Writer.create().uint32((1 << 3) | 1).fixed64(2000).uint32((5 << 3) | 2).bytes(protobuf.Writer.create().uint32((1 << 3) | 2).string('fine').finish()).finish();
    const sl = protobuf.Writer.create().uint32((2 << 3) | 2).bytes(lr).uint32((2 << 3) | 2).bytes(ok).finish();
    const rl = protobuf.Writer.create().uint32((2 << 3) | 2).bytes(sl).finish();
    const logs = decodeOtlpLogsProtobuf(protobuf.Writer.create().uint32((1 << 3) | 2).bytes(rl).finish());
    assert.equal(logs.malformed, undefined, `logs at ${levels} levels`);
    assert.equal(logs.records[0]?.entries.length, 2);
    assert.ok(logs.records[0].entries[0]!.line.includes('leaf'));
    // NumberDataPoint{attributes(7): KeyValue{key, value}, time_unix_nano(3), as_double(4)} in a gauge metric.
    const attr = protobuf.Writer.create().uint32((1 << 3) | 2).string('deep').uint32((2 << 3) | 2).bytes(v).finish();
    const dp = protobuf.Writer.create().uint32((7 << 3) | 2).bytes(attr).uint32((3 << 3) | 1).fixed64(1_000_000).uint32((4 << 3) | 1).double(1).finish();
    const gauge = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(dp).finish();
    const metric = protobuf.Writer.create().uint32((1 << 3) | 2).string('g').uint32((5 << 3) | 2).bytes(gauge).finish();
    const sm = protobuf.Writer.create().uint32((2 << 3) | 2).bytes(metric).finish();
    const rm = protobuf.Writer.create().uint32((2 << 3) | 2).bytes(sm).finish();
    const metrics = decodeOtlpMetricsProtobuf(protobuf.Writer.create().uint32((1 << 3) | 2).bytes(rm).finish());
    assert.equal(metrics.malformed, undefined, `metrics at ${levels} levels`);
    assert.ok(metrics.records.some((r) => r.labels.deep?.includes('leaf')), `metrics at ${levels} levels keep the label`);
  }
});
