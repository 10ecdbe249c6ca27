// The real telemetrygen (OpenTelemetry collector-contrib) sends metrics and logs over OTLP gRPC and HTTP to
// the binary. It exits non-zero on any export error, a partial success included (no
// --allow-export-failures), so exit 0 means every record was accepted. Skipped with its reason when
// telemetrygen is absent outside CI; a failure in CI.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { findGoTool, skipUnlessFound } from './go-tools.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

const TELEMETRYGEN = findGoTool('telemetrygen');
const SKIP = skipUnlessFound(
  TELEMETRYGEN,
  'telemetrygen',
  'go install github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@v0.161.0',
);

function run(bin: string, args: readonly string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('telemetrygen over OTLP gRPC and HTTP', { skip: SKIP, timeout: 180_000 }, () => {
  let heimdall: HeimdallProcess;
  before(async () => {
    heimdall = await startHeimdall();
  });
  after(async () => {
    await heimdall?.stop();
  });

  for (const transport of ['grpc', 'http'] as const) {
    test(`metrics over OTLP ${transport}`, async () => {
      assert.ok(TELEMETRYGEN, 'telemetrygen must be installed in CI (.ci/run builds it)');
      const endpoint = transport === 'grpc' ? heimdall.otlpGrpcAddress : new URL(heimdall.otlpHttpUrl).host;
      const name = `tg_${transport}`;
      // One series per point: telemetrygen otherwise repeats a series within a millisecond with another value,
      // a duplicate sample that Heimdall (as Mimir) refuses, which telemetrygen treats as fatal.
      const { code, out } = await run(TELEMETRYGEN, [
        'metrics', '--otlp-endpoint', endpoint, '--otlp-insecure', ...(transport === 'http' ? ['--otlp-http'] : []),
        '--metrics', '5', '--rate', '0', '--unique-timeseries', '--otlp-metric-name', name, '--metric-type', 'Sum',
      ]);
      assert.equal(code, 0, out);
      const res = await fetch(`${heimdall.httpUrl}/prometheus/api/v1/series?match[]=${encodeURIComponent(`{__name__=~"${name}.*"}`)}`);
      const body = (await res.json()) as { data: unknown[] };
      assert.ok(body.data.length > 0, `no ${name} series stored: ${JSON.stringify(body)}`);
    });

    test(`logs over OTLP ${transport}`, async () => {
      assert.ok(TELEMETRYGEN, 'telemetrygen must be installed in CI (.ci/run builds it)');
      const endpoint = transport === 'grpc' ? heimdall.otlpGrpcAddress : new URL(heimdall.otlpHttpUrl).host;
      const { code, out } = await run(TELEMETRYGEN, [
        'logs', '--otlp-endpoint', endpoint, '--otlp-insecure', ...(transport === 'http' ? ['--otlp-http'] : []),
        '--logs', '5', '--rate', '0', '--body', `hello from ${transport}`,
      ]);
      assert.equal(code, 0, out);
      const u = new URL(`${heimdall.httpUrl}/loki/api/v1/query_range`);
      u.searchParams.set('query', `{service_name=~".+"} |= "hello from ${transport}"`);
      u.searchParams.set('start', String((Date.now() - 3_600_000) * 1e6));
      u.searchParams.set('end', String((Date.now() + 60_000) * 1e6));
      u.searchParams.set('limit', '100');
      const body = (await (await fetch(u)).json()) as { data: { result: { values: unknown[] }[] } };
      const lines = body.data.result.reduce((n, s) => n + s.values.length, 0);
      assert.ok(lines >= 5, `${lines} log lines stored: ${JSON.stringify(body).slice(0, 500)}`);
    });
  }
});
