import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, limitsForTenant, parseBytes, parseDurationMs } from './index.ts';

function withFile(text: string, fn: (file: string) => void): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-config-'));
  try {
    const file = path.join(dir, 'heimdall.yaml');
    writeFileSync(file, text);
    fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('defaults match ARCHITECTURE.md §1a', () => {
  const c = loadConfig({});
  assert.equal(c.data_dir, './data');
  assert.deepEqual(c.target, ['all']);
  assert.equal(c.http_address, '127.0.0.1:3000');
  assert.equal(c.otlp_grpc_address, '127.0.0.1:4317');
  assert.equal(c.otlp_http_address, '127.0.0.1:4318');
  assert.equal(c.multitenancy, false);
  assert.equal(c.metrics.limits.retention_period, 15 * 86_400_000);
  assert.equal(c.logs.limits.retention_period, 7 * 86_400_000);
  assert.equal(c.logs.limits.max_line_size, 256 * 1024);
  assert.equal(c.server.shutdown_timeout, 30_000);
});

test('precedence: flag > environment > file > default', () => {
  withFile('data_dir: /from/file\nhttp_address: 127.0.0.1:1\nmultitenancy: false\n', (file) => {
    const c = loadConfig({
      file,
      env: { HEIMDALL_HTTP_ADDRESS: '127.0.0.1:2', HEIMDALL_MULTITENANCY: 'true', HEIMDALL_DATA_DIR: '/from/env' },
      flags: { data_dir: '/from/flag' },
    });
    assert.equal(c.data_dir, '/from/flag');
    assert.equal(c.http_address, '127.0.0.1:2');
    assert.equal(c.multitenancy, true);
  });
  const viaEnvFile = () => withFile('log_level: debug\n', (file) => assert.equal(loadConfig({ env: { HEIMDALL_CONFIG: file } }).log_level, 'debug'));
  viaEnvFile();
});

test('per-tenant overrides replace only the keys they name', () => {
  withFile('metrics:\n  overrides:\n    t1:\n      max_label_names_per_series: 5\nlogs:\n  overrides:\n    t2:\n      retention_period: 30d\n', (file) => {
    const c = loadConfig({ file });
    assert.equal(limitsForTenant(c.metrics, 't1').max_label_names_per_series, 5);
    assert.equal(limitsForTenant(c.metrics, 't1').retention_period, 15 * 86_400_000);
    assert.equal(limitsForTenant(c.metrics, 'other').max_label_names_per_series, 30);
    assert.equal(limitsForTenant(c.logs, 't2').retention_period, 30 * 86_400_000);
    assert.equal(limitsForTenant(c.logs, 't2').max_line_size, 256 * 1024);
  });
});

test('bad configuration names the key path, the value and what is allowed', () => {
  withFile('metricz: 1\nmetrics:\n  limits:\n    max_label_names_per_series: abc\nhttp_address: nope\ntarget: metrics,bogus\nserver:\n  shutdown_timeout: 5x\nlogs:\n  store:\n    partition_window: 7m\n', (file) => {
    assert.throws(
      () => loadConfig({ file }),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /unknown key "metricz" at the top level/);
        assert.match(err.message, /"metrics\.limits\.max_label_names_per_series": .*expected number.*\(got "abc"\)/);
        assert.match(err.message, /"http_address": expected HOST:PORT.*\(got "nope"\)/);
        assert.match(err.message, /unknown role "bogus": allowed are all, metrics, logs, traces, profiles, gateway/);
        assert.match(err.message, /"server\.shutdown_timeout": invalid duration "5x"/);
        assert.match(err.message, /"logs\.store\.partition_window": must divide a day and be at least 1m/);
        return true;
      },
    );
  });
  withFile('a: [1, 2\n', (file) => assert.throws(() => loadConfig({ file }), /not valid YAML/));
  withFile('- 1\n- 2\n', (file) => assert.throws(() => loadConfig({ file }), /must be a YAML mapping/));
  assert.throws(() => loadConfig({ file: '/nonexistent/heimdall.yaml' }), /cannot read config file/);
  assert.throws(() => loadConfig({ env: { HEIMDALL_MULTITENANCY: 'maybe' } }), /HEIMDALL_MULTITENANCY: invalid boolean "maybe"/);
});

test('sizes and durations parse with units', () => {
  assert.equal(parseBytes('10MiB'), 10 * 1024 * 1024);
  assert.equal(parseBytes('512kb'), 512_000);
  assert.equal(parseBytes('12'), 12);
  assert.equal(parseBytes('12 parsecs'), undefined);
  assert.equal(parseDurationMs('1h30m'), 5_400_000);
  assert.equal(parseDurationMs('500ms'), 500);
  assert.equal(parseDurationMs('15d'), 15 * 86_400_000);
  assert.equal(parseDurationMs('1.5h'), undefined);
});

test('listener limits: defaults like Loki/Mimir and Prometheus, a header timeout beyond the request timeout refused', () => {
  const s = loadConfig({}).server;
  assert.equal(s.http_read_timeout, 30_000);
  assert.equal(s.http_read_header_timeout, 30_000);
  assert.equal(s.http_idle_timeout, 120_000);
  assert.equal(s.http_max_connections, 512);
  assert.equal(s.grpc_keepalive_time, 2 * 3_600_000);
  assert.equal(s.grpc_keepalive_timeout, 20_000);
  withFile('server:\n  http_read_header_timeout: 1m\n  http_read_timeout: 30s\n', (file) =>
    assert.throws(() => loadConfig({ file }), /"server\.http_read_header_timeout": must not exceed server\.http_read_timeout \(30s\)/),
  );
  withFile('server:\n  http_read_header_timeout: 1m\n  http_read_timeout: 0\n', (file) => assert.equal(loadConfig({ file }).server.http_read_timeout, 0));
});
