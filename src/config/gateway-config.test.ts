import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from './schema.ts';

test('gateway.forward: defaults filled per endpoint, durations and sizes parsed', () => {
  const c = configSchema.parse({ gateway: { forward: { metrics: [{ url: 'http://mimir:8080/api/v1/push', batch_max_wait: '2s', queue_max_bytes: '10MiB' }] } } });
  const [e] = c.gateway.forward.metrics;
  assert.equal(e?.protocol, 'remote_write_v1');
  assert.equal(e?.batch_max_wait, 2000);
  assert.equal(e?.queue_max_bytes, 10 * 1024 * 1024);
  assert.equal(e?.tenant.header, 'X-Scope-OrgID');
  assert.equal(e?.concurrency, 4);
  assert.deepEqual(c.gateway.forward.logs, []);
  assert.deepEqual(configSchema.parse({}).gateway.forward.traces, []);
});

test('gateway.forward: bad endpoints are refused with the reason', () => {
  const refused = (forward: unknown): string => {
    const r = configSchema.safeParse({ gateway: { forward } });
    assert.equal(r.success, false);
    return JSON.stringify(r.error?.issues);
  };
  assert.match(refused({ logs: [{ url: 'ftp://x/y' }] }), /http:\/\/ or https:\/\//);
  assert.match(refused({ logs: [{ url: 'http://a/b', bearer_token: 't', basic_auth: { username: 'u', password: 'p' } }] }), /at most one of basic_auth/);
  assert.match(refused({ traces: [{ url: 'http://a/b' }, { url: 'http://a/b' }] }), /listed twice/);
  assert.match(refused({ metrics: [{ url: 'http://a/b', protocol: 'remote_write_v3' }] }), /remote_write_v1/);
  assert.match(refused({ logs: [{ url: 'http://a/b', tls: { cert_file: '/c' } }] }), /cert_file and key_file go together/);
  assert.match(refused({ traces: [{ url: 'http://a:4317', protocol: 'grpc+web' }] }), /http\/protobuf/);
  assert.match(refused({ exemplars: [] }), /exemplars/);
});
