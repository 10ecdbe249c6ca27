import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ConfigError, loadAgentConfig } from './index.ts';

const EXAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'agent.example.yaml');

test('the sample agent config in docs/ is valid', () => {
  const c = loadAgentConfig({ file: EXAMPLE, env: { HEIMDALL_NODE_NAME: 'worker-9' } });
  assert.equal(c.node_name, 'worker-9');
  assert.equal(c.host_metrics.proc_root, '/host/proc');
  assert.equal(c.scrape_configs.length, 4);
  assert.equal(c.scrape_configs[0]!.kubernetes_sd_configs[0]!.role, 'pod');
  assert.equal(c.scrape_configs[1]!.bearer_token_file, '/var/run/secrets/kubernetes.io/serviceaccount/token');
  assert.equal(c.self_metrics.listen_address, '0.0.0.0:9101');
  assert.equal(c.forward.logs[0]!.batch_max_wait, 1000);
});

test('agent config problems are named by key path, as the server config', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-agent-config-'));
  try {
    const file = path.join(dir, 'a.yaml');
    writeFileSync(file, 'forward: {}\nscrape_configs:\n  - job_name: a\n    relabel_configs: [{ action: hashmod, target_label: x }]\n    scrape_intervall: 5s\n');
    assert.throws(
      () => loadAgentConfig({ file }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /the agent needs somewhere to send/.test(err.message) &&
        /unknown key "scrape_intervall" under "scrape_configs.0"/.test(err.message) &&
        /"scrape_configs.0.relabel_configs.0.modulus": relabel action hashmod requires modulus/.test(err.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a scrape config takes one kind of credentials, as Prometheus', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-agent-config-'));
  try {
    const file = path.join(dir, 'a.yaml');
    writeFileSync(file, 'forward: { metrics: [{ url: "http://g/api/v1/push" }] }\nscrape_configs:\n  - job_name: a\n    bearer_token: x\n    authorization: { credentials: y }\n');
    assert.throws(() => loadAgentConfig({ file, env: {} }), /scrape_configs\.0\.authorization.*at most one of bearer_token, authorization/s);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
