import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { decodeLokiPushJson, decodeLokiPushProtobuf, parseRfc3339Nano } from './loki-push.ts';
import { enrichLokiRecord, levelFromLine } from './loki-push-enrichment.ts';
import { parseLokiLabels } from './loki-push-labels.ts';

const root = protobuf.loadSync(fileURLToPath(new URL('../../proto/loki/push.proto', import.meta.url)));
const PushRequest = root.lookupType('logproto.PushRequest');

function encode(obj: object): Uint8Array {
  return PushRequest.encode(PushRequest.fromObject(obj)).finish();
}

test('protobuf PushRequest: labels, ns timestamps (also negative and large), lines, structured metadata', () => {
  const body = encode({
    streams: [
      {
        labels: '{app="api", env="prod"}',
        entries: [
          { timestamp: { seconds: 1_763_000_000, nanos: 123_456_789 }, line: 'GET /a 200 ünïcode', structuredMetadata: [{ name: 'trace_id', value: 'abc' }] },
          { timestamp: { seconds: -5, nanos: 1 }, line: 'before the epoch' },
          { timestamp: { seconds: '9000000000' }, line: 'far future' },
        ],
        hash: '12345678901234',
      },
      { labels: '{app=api}', entries: [{ timestamp: { seconds: 1 }, line: 'bad labels' }] },
      { labels: '{a="1", a="2"}', entries: [{ timestamp: { seconds: 1 }, line: 'dup' }, { timestamp: { seconds: 2 }, line: 'dup' }] },
    ],
    format: 'loki',
  });
  const out = decodeLokiPushProtobuf(body);
  assert.equal(out.malformed, undefined);
  assert.equal(out.entries, 6);
  assert.equal(out.records.length, 1);
  assert.deepEqual(out.records[0]!.labels, { app: 'api', env: 'prod' });
  assert.deepEqual(out.records[0]!.entries, [
    { timestampNs: 1_763_000_000_123_456_789n, line: 'GET /a 200 ünïcode', structuredMetadata: { trace_id: 'abc' } },
    { timestampNs: -4_999_999_999n, line: 'before the epoch' },
    { timestampNs: 9_000_000_000_000_000_000n, line: 'far future' },
  ]);
  assert.deepEqual(out.rejections.map((r) => [r.reason, r.count]), [['invalid_labels', 1], ['duplicate_label_names', 2]]);
  assert.match(out.rejections[0]!.message, /^Error parsing labels '\{app=api\}' with error: 1:6: parse error: /);
});

test('a truncated protobuf body is malformed', () => {
  const body = encode({ streams: [{ labels: '{a="b"}', entries: [{ line: 'x'.repeat(100) }] }] });
  const out = decodeLokiPushProtobuf(body.subarray(0, body.length - 10));
  assert.match(out.malformed ?? '', /malformed Loki PushRequest protobuf/);
});

test('JSON push: v1 values with metadata, legacy labels/entries, and clear errors', () => {
  const out = decodeLokiPushJson(
    JSON.stringify({
      streams: [
        { stream: { app: 'web', empty: '' }, values: [['1763000000000000001', 'hello'], ['1763000000000000002', 'meta', { user: 'u1' }]] },
        { labels: '{job="legacy"}', entries: [{ ts: '2026-11-21T10:00:00.123456789Z', line: 'old style' }] },
      ],
    }),
  );
  assert.equal(out.malformed, undefined);
  assert.deepEqual(out.records, [
    {
      labels: { app: 'web' },
      entries: [
        { timestampNs: 1_763_000_000_000_000_001n, line: 'hello' },
        { timestampNs: 1_763_000_000_000_000_002n, line: 'meta', structuredMetadata: { user: 'u1' } },
      ],
    },
    { labels: { job: 'legacy' }, entries: [{ timestampNs: parseRfc3339Nano('2026-11-21T10:00:00.123456789Z')!, line: 'old style' }] },
  ]);
  assert.equal(parseRfc3339Nano('2026-11-21T10:00:00.123456789Z'), BigInt(Date.parse('2026-11-21T10:00:00Z')) * 1_000_000n + 123_456_789n);
  assert.match(decodeLokiPushJson('{"streams":[{"stream":{"a":"b"},"values":[[1763000000000000000,"x"]]}]}').malformed!, /must be a Unix nanosecond timestamp as a string/);
  assert.match(decodeLokiPushJson('{"streams": 5}').malformed!, /expected \{"streams":\[...\]\}/);
  assert.match(decodeLokiPushJson('{"streams": [').malformed!, /malformed JSON push body/);
});

test('label text parsing follows the Prometheus/Loki syntax', () => {
  assert.deepEqual(parseLokiLabels('{}'), { labels: {} });
  assert.deepEqual(parseLokiLabels(' { a = "x\\"y\\n" , b=\'q\', c=`r\\aw`, d="", } '), { labels: { a: 'x"y\n', b: 'q', c: 'r\\aw' } });
  assert.deepEqual(parseLokiLabels('{a="\\u00e9\\x41"}'), { labels: { a: 'éA' } });
  for (const bad of ['a="b"', '{a=~"b"}', '{a="b"', '{1a="b"}', '{a="b"} x', '{a="\\q"}']) {
    const r = parseLokiLabels(bad);
    assert.ok('reason' in r && r.reason === 'invalid_labels', bad);
  }
});

test('enrichment: service_name discovery and detected_level as Loki 3 does', () => {
  const settings = { discoverServiceName: ['service', 'app', 'job'], discoverLogLevels: true };
  const r = enrichLokiRecord(
    {
      labels: { app: 'api', job: 'j' },
      entries: [
        { timestampNs: 1n, line: 'ts=1 level=WARN msg="x"' },
        { timestampNs: 2n, line: '{"msg":"y","level":"error"}' },
        { timestampNs: 3n, line: 'plain text with an ERROR inside' },
        { timestampNs: 4n, line: 'no level', structuredMetadata: { severity_number: '9' } },
        { timestampNs: 5n, line: 'kept', structuredMetadata: { detected_level: 'debug' } },
      ],
    },
    settings,
  );
  assert.deepEqual(r.labels, { app: 'api', job: 'j', service_name: 'api' });
  assert.deepEqual(r.entries.map((e) => e.structuredMetadata?.detected_level), ['warn', 'error', 'error', 'info', 'debug']);
  assert.equal(enrichLokiRecord({ labels: { x: '1' }, entries: [] }, settings).labels.service_name, 'unknown_service');
  assert.equal(enrichLokiRecord({ labels: { service_name: 's', level: 'info' }, entries: [{ timestampNs: 1n, line: 'error!' }] }, settings).entries[0]!.structuredMetadata?.detected_level, 'info');
  const off = { labels: { a: 'b' }, entries: [{ timestampNs: 1n, line: 'x' }] };
  assert.equal(enrichLokiRecord(off, { discoverServiceName: [], discoverLogLevels: false }), off);
  assert.equal(levelFromLine('{"level":30,"msg":"pino info"}'), 'info');
  assert.equal(levelFromLine('lvl=dbg x=y'), 'debug');
  assert.equal(levelFromLine('nothing here'), 'unknown');
});
