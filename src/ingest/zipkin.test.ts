import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeZipkinJson } from './zipkin.ts';

const base = {
  traceId: '5B8EFFF798038103D269B633813FC60C',
  id: 'eee19b7ec3c1b174',
  name: 'get /api',
  timestamp: 1_700_000_000_000_000,
  duration: 250_000,
  localEndpoint: { serviceName: 'frontend', ipv4: '10.0.0.1', port: 8080 },
};

test('Zipkin v2 JSON maps as the collector does: service, kind, times, tags, endpoints, status, annotations', () => {
  const out = decodeZipkinJson(
    JSON.stringify([
      {
        ...base,
        parentId: '0102030405060708',
        kind: 'SERVER',
        remoteEndpoint: { serviceName: 'browser', ipv6: '::1', port: 5000 },
        tags: {
          'http.method': 'GET',
          'http.status_code': '500',
          error: 'boom',
          'k8s.namespace.name': 'shop',
          'otel.scope.name': 'io.lib',
          'otel.scope.version': '1.2',
          'w3c.tracestate': 'a=b',
        },
        annotations: [
          { timestamp: 1_700_000_000_100_000, value: 'cache miss' },
          { timestamp: 1_700_000_000_200_000, value: 'exception|{"exception.type":"E","n":3,"f":1.5}|0' },
        ],
      },
      { ...base, traceId: 'd269b633813fc60c', id: '1', kind: 'CLIENT', localEndpoint: { serviceName: 'frontend', ipv4: '10.0.0.1', port: 8080 } },
      { ...base, id: 'a', localEndpoint: undefined, tags: { 'span.kind': 'internal', 'otel.status_code': 'STATUS_CODE_OK' } },
    ]),
  );
  assert.equal(out.malformed, undefined);
  assert.deepEqual(out.rejections, []);
  assert.equal(out.spans, 3);
  // Grouped by resource: frontend (ns shop), frontend (no namespace tag), and a resource without service.name.
  assert.equal(out.records.length, 3);
  const [a, b, c] = out.records;
  assert.deepEqual(a!.resource, [{ key: 'service.name', value: 'frontend' }, { key: 'k8s.namespace.name', value: 'shop' }]);
  assert.equal(out.namespaces.get(a!), 'shop');
  const s = a!.spans[0]!;
  assert.equal(s.traceId, '5b8efff798038103d269b633813fc60c');
  assert.equal(s.parentSpanId, '0102030405060708');
  assert.equal(s.kind, 2);
  assert.equal(s.startTimeUnixNs, 1_700_000_000_000_000_000n);
  assert.equal(s.endTimeUnixNs, 1_700_000_000_250_000_000n);
  assert.equal(s.statusCode, 2);
  assert.equal(s.statusMessage, 'boom');
  assert.equal(s.traceState, 'a=b');
  assert.deepEqual(s.scope, { name: 'io.lib', version: '1.2' });
  assert.deepEqual(s.attributes, [
    { key: 'http.method', value: 'GET' },
    { key: 'http.status_code', value: '500' },
    { key: 'net.host.ip', value: '10.0.0.1' },
    { key: 'net.host.port', value: 8080 },
    { key: 'peer.service', value: 'browser' },
    { key: 'net.peer.ip', value: '::1' },
    { key: 'net.peer.port', value: 5000 },
  ]);
  assert.deepEqual(s.events, [
    { timeUnixNs: 1_700_000_000_100_000_000n, name: 'cache miss' },
    { timeUnixNs: 1_700_000_000_200_000_000n, name: 'exception', attributes: [{ key: 'exception.type', value: 'E' }, { key: 'n', value: 3 }, { key: 'f', value: 1.5 }] },
  ]);
  const client = b!.spans[0]!;
  assert.equal(client.traceId, '0000000000000000d269b633813fc60c', '64-bit trace ids are padded');
  assert.equal(client.spanId, '0000000000000001');
  assert.equal(client.kind, 3);
  assert.deepEqual(c!.resource, []);
  assert.equal(c!.spans[0]!.kind, 1);
  assert.equal(c!.spans[0]!.statusCode, 1);
});

test('bad Zipkin spans are refused one by one; the rest stays; a non-array body is malformed', () => {
  const out = decodeZipkinJson(
    JSON.stringify([
      base,
      { ...base, traceId: 'xyz' },
      { ...base, id: '0' },
      { ...base, id: '12345678901234567' },
      { ...base, timestamp: -1 },
      { ...base, kind: 'SIDEWAYS' },
      { ...base, tags: ['x'] },
      'not a span',
    ]),
  );
  assert.equal(out.records.length, 1);
  assert.equal(out.records[0]!.spans.length, 1);
  assert.equal(out.rejections.length, 7);
  assert.ok(out.rejections.every((r) => r.reason === 'invalid_record' && r.signal === 'traces' && r.count === 1));
  assert.match(decodeZipkinJson('{"a":1}').malformed ?? '', /expected an array of spans/);
  assert.match(decodeZipkinJson('[').malformed ?? '', /malformed Zipkin v2 JSON/);
});
