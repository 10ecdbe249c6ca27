import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { decodeOtlpLogsJson, decodeOtlpLogsProtobuf, normalizeLabel } from './otlp-logs.ts';
import { ExportLogsServiceRequest, ExportLogsServiceResponse, encodeExportLogsResponse, exportLogsResponseJson } from './otlp-logs-proto.ts';

const FIXTURE = '/work/shared/fixtures/otlp/logs.json';

test('OTLP/JSON (the specification example) maps to Loki labels and structured metadata', () => {
  const out = decodeOtlpLogsJson(readFileSync(FIXTURE));
  assert.equal(out.malformed, undefined);
  assert.equal(out.records.length, 1);
  const rec = out.records[0]!;
  assert.deepEqual(rec.labels, { service_name: 'my.service' });
  const e = rec.entries[0]!;
  assert.equal(e.timestampNs, 1_544_712_660_300_000_000n);
  assert.equal(e.line, 'Example log record');
  const md = e.structuredMetadata!;
  assert.equal(md.scope_name, 'my.library');
  assert.equal(md.scope_version, '1.0.0');
  assert.equal(md.my_scope_attribute, 'some scope attribute');
  assert.equal(md.string_attribute, 'some string');
  assert.equal(md.boolean_attribute, 'true');
  assert.equal(md.int_attribute, '10');
  assert.equal(md.double_attribute, '637.704');
  assert.equal(md.array_attribute, '["many","values"]');
  assert.equal(md.severity_number, '10');
  assert.equal(md.severity_text, 'Information');
  assert.equal(md.trace_id, '5b8efff798038103d269b633813fc60c');
  assert.equal(md.span_id, 'eee19b7ec3c1b174');
  assert.equal(md.observed_timestamp, '1544712660300000000');
  // a map attribute is flattened into key_subkey names
  assert.ok(Object.keys(md).some((k) => k.startsWith('map_attribute_')), JSON.stringify(md));
});

test('OTLP/protobuf: index attributes, namespaces, body kinds, timestamps and precedence', () => {
  const now = 1_700_000_000_000_000_000n;
  const msg = ExportLogsServiceRequest.fromObject({
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'checkout' } },
            { key: 'k8s.namespace.name', value: { stringValue: 'shop' } },
            { key: 'host.name', value: { stringValue: 'node-1' } },
            { key: 'dup', value: { stringValue: 'resource' } },
          ],
        },
        scopeLogs: [
          {
            scope: { name: 'lib', attributes: [{ key: 'dup', value: { stringValue: 'scope' } }] },
            logRecords: [
              {
                timeUnixNano: '1763000000000000123',
                observedTimeUnixNano: '1763000000000000999',
                severityNumber: 17,
                severityText: 'ERROR',
                body: { kvlistValue: { values: [{ key: 'msg', value: { stringValue: 'boom' } }, { key: 'code', value: { intValue: 500 } }] } },
                attributes: [{ key: 'dup', value: { stringValue: 'own' } }, { key: 'http.status_code', value: { intValue: 500 } }],
                traceId: Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex'),
                spanId: Buffer.from('0000000000000000', 'hex'),
                flags: 1,
              },
              { observedTimeUnixNano: '1763000000000000777', body: { intValue: 42 } },
              { body: { stringValue: 'no time at all' } },
            ],
          },
        ],
      },
      { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'empty' } }] }, scopeLogs: [] },
    ],
  });
  const out = decodeOtlpLogsProtobuf(ExportLogsServiceRequest.encode(msg).finish(), now);
  assert.equal(out.malformed, undefined);
  assert.equal(out.entries, 3);
  assert.equal(out.records.length, 1);
  const rec = out.records[0]!;
  assert.deepEqual(rec.labels, { service_name: 'checkout', k8s_namespace_name: 'shop' });
  assert.equal(out.namespaces.get(rec), 'shop');
  const [a, b, c] = rec.entries;
  assert.equal(a!.timestampNs, 1_763_000_000_000_000_123n);
  assert.equal(a!.line, '{"msg":"boom","code":500}');
  assert.deepEqual(a!.structuredMetadata, {
    host_name: 'node-1',
    dup: 'own',
    scope_name: 'lib',
    http_status_code: '500',
    observed_timestamp: '1763000000000000999',
    severity_number: '17',
    severity_text: 'ERROR',
    flags: '1',
    trace_id: '0102030405060708090a0b0c0d0e0f10',
  });
  assert.equal(b!.timestampNs, 1_763_000_000_000_000_777n);
  assert.equal(b!.line, '42');
  assert.equal(b!.structuredMetadata!.observed_timestamp, undefined, 'no observed_timestamp without a timestamp');
  assert.equal(c!.timestampNs, now);
});

test('malformed OTLP bodies and response encodings', () => {
  assert.match(decodeOtlpLogsProtobuf(Buffer.from([0x0a, 0xff])).malformed!, /malformed OTLP logs protobuf/);
  assert.match(decodeOtlpLogsJson('{"resourceLogs": 3}').malformed!, /malformed OTLP\/JSON/);
  assert.match(decodeOtlpLogsJson('nope').malformed!, /malformed OTLP\/JSON/);
  const decoded = ExportLogsServiceResponse.decode(encodeExportLogsResponse({ rejectedLogRecords: 3, errorMessage: 'x' })) as unknown as {
    partialSuccess: { rejectedLogRecords: { toString(): string }; errorMessage: string };
  };
  assert.equal(String(decoded.partialSuccess.rejectedLogRecords), '3');
  assert.equal(exportLogsResponseJson(), '{}');
  assert.equal(normalizeLabel('k8s.pod.name'), 'k8s_pod_name');
  assert.equal(normalizeLabel('0abc'), 'key_0abc');
  assert.equal(normalizeLabel('_x'), 'key_x');
  assert.equal(normalizeLabel('__x'), '__x');
});
