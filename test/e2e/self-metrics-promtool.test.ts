// `promtool check metrics` (the real Prometheus 3 tool) on the binary's own /metrics: exposition format
// and naming rules (no gauge named like a counter, units, no reserved suffixes). Skipped with its reason
// when promtool is absent outside CI; a failure in CI.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { findGoTool, skipUnlessFound } from './go-tools.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

const PROMTOOL = findGoTool('promtool');
const SKIP = skipUnlessFound(PROMTOOL, 'promtool', 'go install github.com/prometheus/prometheus/cmd/promtool@v0.316.0');

function promtoolCheck(bin: string, text: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out }));
    child.stdin.end(text);
  });
}

describe('promtool check metrics on /metrics', { skip: SKIP }, () => {
  let heimdall: HeimdallProcess;
  before(async () => {
    heimdall = await startHeimdall();
  });
  after(async () => {
    await heimdall?.stop();
  });

  test('the exposition passes every promtool lint', async () => {
    assert.ok(PROMTOOL, 'promtool must be installed in CI (.ci/run builds it)');
    // Traffic first, so labelled series (requests, ingest counters) are exposed too.
    await fetch(`${heimdall.httpUrl}/prometheus/api/v1/query?query=1`);
    const res = await fetch(`${heimdall.httpUrl}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^# TYPE heimdall_http_requests_total counter$/m);
    const { code, out } = await promtoolCheck(PROMTOOL, text);
    assert.equal(out.trim(), '', 'promtool found problems');
    assert.equal(code, 0);
  });
});
