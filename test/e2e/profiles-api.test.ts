// Grafana's Pyroscope data source flows against the real binary (`/pyroscope` is the data source URL). The real
// Pyroscope Node SDK (@pyroscope/nodejs) profiles a child process and pushes to `/ingest`; the flame graph read
// back through Connect `SelectMergeStacktraces` (protobuf codec, as Grafana's connect-go client sends it) holds
// the child's hot function. Fixture profiles go in through the legacy `/ingest` (multipart and raw) and Connect
// `Push` (JSON and protobuf); the query API is read in both codecs: profile types, label names and values,
// series, series over time with groupBy, merged pprof, span profiles, diff, stats, legacy render. Multi-tenancy
// is on: a tenant never sees another's profiles, `a|b` reads both, and a tenant over its ingestion rate gets 429
// with Retry-After.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { decodePprof } from '../../src/ingest/pprof.ts';
import { GENEROUS_MS } from '../support/bounds.ts';
import { SHARED_FIXTURES_DIR, missingFixturesReason } from '../conformance/shared-fixtures.ts';
import { REPO, startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

const root = protobuf.loadSync(['push.proto', 'querier.proto'].map((f) => path.join(REPO, 'proto', 'pyroscope', f)));
root.resolveAll();
const CHILD = fileURLToPath(new URL('./testdata/pyroscope-node-child.mjs', import.meta.url));
const FIXTURES = SHARED_FIXTURES_DIR;
const skipFixtures = missingFixturesReason('pprof fixtures', path.join(FIXTURES, 'pprof'));
const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';

let heimdall: HeimdallProcess;
let base: string;

before(async () => {
  heimdall = await startHeimdall({
    args: ['--multitenancy'],
    config: { profiles: { overrides: { limited: { ingestion_rate_limit_bytes: 1000, ingestion_burst_size_bytes: 2000 } } } },
  });
  base = `${heimdall.httpUrl}/pyroscope`;
});

after(async () => {
  await heimdall?.stop();
});

/** Calls a QuerierService method with the JSON codec. */
async function queryJson(method: string, tenant: string, body: object): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}/querier.v1.QuerierService/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-scope-orgid': tenant },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Calls a QuerierService method with the protobuf codec, as connect-go does. */
async function queryProto(method: string, tenant: string, requestType: string, responseType: string, body: object): Promise<Record<string, unknown>> {
  const req = root.lookupType(requestType);
  const res = await fetch(`${base}/querier.v1.QuerierService/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/proto', 'connect-protocol-version': '1', 'x-scope-orgid': tenant },
    body: req.encode(req.fromObject(body)).finish(),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'application/proto');
  const resp = root.lookupType(responseType);
  return resp.toObject(resp.decode(new Uint8Array(await res.arrayBuffer())), { longs: Number, defaults: true });
}

interface FlameGraph {
  names: string[];
  levels: { values: number[] }[];
  total: number;
  maxSelf: number;
}

function ingest(tenant: string, query: string, body: string | Buffer | FormData, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${heimdall.httpUrl}/ingest?${query}`, { method: 'POST', headers: { 'x-scope-orgid': tenant, ...headers }, body });
}

test('the Pyroscope Node SDK pushes from a child process; the flame graph holds its hot function', async () => {
  const child = spawn(process.execPath, [CHILD, heimdall.httpUrl, 'node-e2e', 'sdk'], { cwd: REPO, stdio: 'ignore' });
  try {
    const deadline = Date.now() + GENEROUS_MS;
    let fg: FlameGraph | undefined;
    while (Date.now() < deadline) {
      const types = (await queryProto('ProfileTypes', 'sdk', 'querier.v1.ProfileTypesRequest', 'querier.v1.ProfileTypesResponse', {})) as {
        profileTypes: { ID: string }[];
      };
      const wallCpu = types.profileTypes.find((t) => t.ID.startsWith('wall:cpu:'));
      if (wallCpu) {
        const answer = await queryProto('SelectMergeStacktraces', 'sdk', 'querier.v1.SelectMergeStacktracesRequest', 'querier.v1.SelectMergeStacktracesResponse', {
          profileTypeID: wallCpu.ID,
          labelSelector: '{service_name="node-e2e", env="e2e"}',
          start: Date.now() - 3_600_000,
          end: Date.now() + 60_000,
          maxNodes: 1024,
        });
        fg = answer.flamegraph as FlameGraph;
        if (fg.names.some((n) => n.includes('heimdallHotLoop'))) break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(fg?.names.some((n) => n.includes('heimdallHotLoop')), `the flame graph names the hot function: ${JSON.stringify(fg?.names)}`);
    assert.equal(fg!.names[0], 'total');
    assert.equal(fg!.levels[0]!.values[1], fg!.total);
    const types = (await queryJson('ProfileTypes', 'sdk', {})).json.profileTypes as { ID: string }[];
    assert.ok(types.some((t) => t.ID === 'memory:inuse_space:bytes:inuse_space:bytes'), 'the heap profile is there too');
    assert.deepEqual((await queryJson('ProfileTypes', 'other', {})).json, {}, 'another tenant sees nothing');
  } finally {
    child.kill('SIGTERM');
  }
});

test('fixtures through /ingest (multipart, raw) and Connect Push (JSON, protobuf); every query method', { skip: skipFixtures }, async () => {
  const cpuSmall = readFileSync(path.join(FIXTURES, 'pprof/go-cpu-small.pb.gz'));
  const form = new FormData();
  form.append('profile', new Blob([cpuSmall]), 'profile.pprof');
  form.append('sample_type_config', new Blob([readFileSync(path.join(FIXTURES, 'agpl-3.0-only/pyroscope-pprof/go-goroutine.st.json'))]), 'st.json');
  const now = Math.floor(Date.now() / 1000);
  assert.equal((await ingest('fx', `name=goapp.cpu{env=prod}&from=${now}&until=${now + 10}&spyName=gospy`, form)).status, 200);
  const heap = readFileSync(path.join(FIXTURES, 'pprof/go-heap-alloc-delta.pb.gz'));
  assert.equal((await ingest('fx', `name=goapp.alloc_space&format=pprof&from=${now}`, heap)).status, 200);

  const invalid = await ingest('fx', 'name=bad&format=pprof', readFileSync(path.join(FIXTURES, 'agpl-3.0-only/pyroscope-pprof/invalid-utf8.pb.gz')));
  assert.equal(invalid.status, 422);
  assert.match(await invalid.text(), /not valid UTF-8/);
  const jfr = await ingest('fx', 'name=javaapp&format=jfr', 'x');
  assert.equal(jfr.status, 415);
  assert.match(await jfr.text(), /jfr/);
  assert.equal((await ingest('fx', 'name=foldedapp.cpu&sampleRate=100', 'main;work;hot 10\nmain;idle 5\n')).status, 200);

  // Connect Push, JSON then protobuf (what Alloy's pyroscope.write sends).
  const mutex = readFileSync(path.join(FIXTURES, 'agpl-3.0-only/pyroscope-pprof/go-mutex.pb.gz'));
  const pushJson = await fetch(`${heimdall.httpUrl}/push.v1.PusherService/Push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-scope-orgid': 'fx' },
    body: JSON.stringify({
      series: [{ labels: [{ name: '__name__', value: 'mutex' }, { name: 'service_name', value: 'pushed' }], samples: [{ rawProfile: mutex.toString('base64'), ID: 'p1' }] }],
    }),
  });
  assert.equal(pushJson.status, 200, await pushJson.clone().text());
  assert.equal(await pushJson.text(), '{}');
  const Push = root.lookupType('push.v1.PushRequest');
  const pushProto = await fetch(`${base}/push.v1.PusherService/Push`, {
    method: 'POST',
    headers: { 'content-type': 'application/proto', 'x-scope-orgid': 'fx' },
    body: Push.encode(Push.fromObject({ series: [{ labels: [{ name: 'service_name', value: 'pushed' }], samples: [{ rawProfile: Buffer.from('not a pprof') }] }] })).finish(),
  });
  assert.equal(pushProto.status, 400);
  assert.equal(((await pushProto.json()) as { code: string }).code, 'invalid_argument');

  const types = ((await queryJson('ProfileTypes', 'fx', {})).json.profileTypes as { ID: string }[]).map((t) => t.ID);
  for (const id of [CPU, 'process_cpu:samples:count:cpu:nanoseconds', 'memory:alloc_space:bytes:space:bytes', 'mutex:contentions:count:contentions:count']) {
    assert.ok(types.includes(id), `${id} in ${types.join(', ')}`);
  }
  assert.deepEqual((await queryJson('LabelValues', 'fx', { name: 'service_name' })).json.names, ['foldedapp', 'goapp', 'pushed']);
  assert.deepEqual((await queryJson('LabelValues', 'fx', { name: 'env', matchers: ['{service_name="goapp"}'] })).json.names, ['prod']);
  const names = (await queryJson('LabelNames', 'fx', { matchers: ['{service_name="goapp"}'] })).json.names as string[];
  assert.ok(names.includes('env') && names.includes('service_name') && names.includes('__name__'));
  const series = (await queryJson('Series', 'fx', { matchers: ['{__profile_type__="' + CPU + '"}'], labelNames: ['service_name'] })).json.labelsSet;
  assert.deepEqual(series, [{ labels: [{ name: 'service_name', value: 'foldedapp' }] }, { labels: [{ name: 'service_name', value: 'goapp' }] }]);

  // The folded profile: 15 samples at 100 Hz are 150 ms of CPU.
  const folded = (await queryJson('SelectMergeStacktraces', 'fx', { profileTypeID: CPU, labelSelector: '{service_name="foldedapp"}', start: 0, end: Date.now() + 60_000 })).json
    .flamegraph as { names: string[]; levels: { values: string[] }[]; total: string; maxSelf: string };
  assert.deepEqual(folded.names, ['total', 'main', 'idle', 'work', 'hot']);
  assert.deepEqual(folded.levels.map((l) => l.values.map(Number)), [[0, 150e6, 0, 0], [0, 150e6, 0, 1], [0, 50e6, 50e6, 2, 0, 100e6, 0, 3], [50e6, 100e6, 100e6, 4]]);
  assert.equal(folded.total, '150000000');
  // maxNodes truncation (Pyroscope's): nodes below the maxNodes-th largest total (100 ms here) fold into "other".
  const truncated = (await queryJson('SelectMergeStacktraces', 'fx', { profileTypeID: CPU, labelSelector: '{service_name="foldedapp"}', start: 0, end: Date.now() + 60_000, maxNodes: 2 })).json
    .flamegraph as { names: string[] };
  assert.deepEqual(truncated.names, ['total', 'main', 'work', 'hot', 'other']);

  const seriesOverTime = (await queryJson('SelectSeries', 'fx', { profileTypeID: CPU, labelSelector: '{}', start: 0, end: Date.now() + 60_000, step: 3600, groupBy: ['service_name'] })).json
    .series as { labels: { value: string }[]; points: { value: number }[] }[];
  assert.deepEqual(seriesOverTime.map((s) => s.labels[0]!.value), ['foldedapp', 'goapp']);
  assert.equal(seriesOverTime[0]!.points.reduce((a, p) => a + p.value, 0), 150e6);

  const diff = (await queryJson('Diff', 'fx', {
    left: { profileTypeID: CPU, labelSelector: '{service_name="foldedapp"}', start: 0, end: Date.now() + 60_000 },
    right: { profileTypeID: CPU, labelSelector: '{service_name="goapp"}', start: 0, end: Date.now() + 60_000 },
  })).json.flamegraph as { leftTicks: string; rightTicks: string; levels: { values: string[] }[] };
  assert.equal(diff.leftTicks, '150000000');
  assert.ok(Number(diff.rightTicks) > 0);
  assert.equal(diff.levels[0]!.values.length, 7);

  const pprofRes = await fetch(`${base}/querier.v1.QuerierService/SelectMergeProfile`, {
    method: 'POST',
    headers: { 'content-type': 'application/proto', 'x-scope-orgid': 'fx' },
    body: root.lookupType('querier.v1.SelectMergeProfileRequest').encode({ profileTypeID: CPU, labelSelector: '{service_name="foldedapp"}', start: 0, end: Date.now() + 60_000 }).finish(),
  });
  const merged = decodePprof(new Uint8Array(await pprofRes.arrayBuffer()), 1 << 20);
  assert.ok(typeof merged !== 'string', String(merged));
  assert.deepEqual(merged.sampleTypes, [{ type: 'cpu', unit: 'nanoseconds' }]);
  assert.equal(merged.samples.reduce((a, s) => a + s.values[0]!, 0), 150e6);

  const stats = (await queryJson('GetProfileStats', 'fx', {})).json;
  assert.equal(stats.dataIngested, true);

  const render = await fetch(`${base}/pyroscope/render?query=${encodeURIComponent(`${CPU}{service_name="foldedapp"}`)}&from=now-1h&until=now%2B1h&format=json`.replace('now%2B1h', String(Date.now() + 60_000)), {
    headers: { 'x-scope-orgid': 'fx' },
  });
  assert.equal(render.status, 200);
  assert.equal(((await render.json()) as { flamebearer: { numTicks: number } }).flamebearer.numTicks, 150e6);
  // render-diff: the folded app against an empty range of itself.
  const foldedQuery = encodeURIComponent(`${CPU}{service_name="foldedapp"}`);
  const renderDiff = await fetch(
    `${base}/pyroscope/render-diff?leftQuery=${foldedQuery}&leftFrom=now-1h&leftUntil=${Date.now() + 60_000}&rightQuery=${foldedQuery}&rightFrom=0&rightUntil=1000&format=json`,
    { headers: { 'x-scope-orgid': 'fx' } },
  );
  assert.equal(renderDiff.status, 200, await renderDiff.clone().text());
  const diffJson = (await renderDiff.json()) as { flamebearer: { names: string[]; levels: number[][] }; metadata: { format: string }; leftTicks: number; rightTicks: number };
  assert.deepEqual([diffJson.metadata.format, diffJson.leftTicks, diffJson.rightTicks], ['double', 150e6, 0]);
  assert.deepEqual(diffJson.flamebearer.levels[0], [0, 150e6, 0, 0, 0, 0, 0], 'a level is [left x, total, self, right x, total, self, name]');
  assert.ok(diffJson.flamebearer.names.includes('hot'));
  const buildinfo = await fetch(`${base}/api/v1/status/buildinfo`);
  assert.equal(((await buildinfo.json()) as { status: string }).status, 'success');
});

/** A pprof with one sample type (cpu/nanoseconds) and two samples on one stack, each with a `span_id` label. */
function pprofWithSpans(): Uint8Array {
  const strings = ['', 'cpu', 'nanoseconds', 'main', 'span_id', '0123456789abcdef', 'fedcba9876543210', 'traced'];
  const w = protobuf.Writer.create();
  w.uint32(10).fork().uint32(8).int64(1).uint32(16).int64(2).ldelim();
  for (const [value, span] of [[7, 5], [5, 6]] as const) {
    w.uint32(18).fork().uint32(8).uint64(span === 5 ? 2 : 1).uint32(16).int64(value).uint32(26).fork().uint32(8).int64(4).uint32(16).int64(span).ldelim().ldelim();
  }
  w.uint32(34).fork().uint32(8).uint64(1).uint32(34).fork().uint32(8).uint64(1).ldelim().ldelim();
  w.uint32(34).fork().uint32(8).uint64(2).uint32(34).fork().uint32(8).uint64(2).ldelim().ldelim();
  w.uint32(42).fork().uint32(8).uint64(1).uint32(16).int64(3).ldelim();
  w.uint32(42).fork().uint32(8).uint64(2).uint32(16).int64(7).ldelim();
  for (const s of strings) w.uint32(50).string(s);
  w.uint32(72).int64(Date.now() * 1e6);
  w.uint32(90).fork().uint32(8).int64(1).uint32(16).int64(2).ldelim();
  return w.finish();
}

test('span profiles, tenant isolation, a|b federation and the ingestion rate limit', async () => {
  const Push = root.lookupType('push.v1.PushRequest');
  for (const tenant of ['a', 'b']) {
    const res = await fetch(`${heimdall.httpUrl}/push.v1.PusherService/Push`, {
      method: 'POST',
      headers: { 'content-type': 'application/proto', 'x-scope-orgid': tenant },
      body: Push.encode(Push.fromObject({ series: [{ labels: [{ name: 'service_name', value: `svc-${tenant}` }], samples: [{ rawProfile: pprofWithSpans() }] }] })).finish(),
    });
    assert.equal(res.status, 200, await res.clone().text());
  }
  const span = (await queryJson('SelectMergeSpanProfile', 'a', { profileTypeID: CPU, labelSelector: '{}', spanSelector: ['0123456789abcdef'], start: 0, end: Date.now() + 60_000 })).json
    .flamegraph as { names: string[]; total: string };
  assert.deepEqual(span.names, ['total', 'traced'], 'only the samples of the span');
  assert.equal(span.total, '7');
  assert.deepEqual((await queryJson('LabelValues', 'a', { name: 'service_name' })).json.names, ['svc-a']);
  assert.deepEqual((await queryJson('LabelValues', 'a|b', { name: 'service_name' })).json.names, ['svc-a', 'svc-b']);
  assert.deepEqual((await queryJson('LabelValues', 'a|b', { name: '__tenant_id__' })).json.names, ['a', 'b']);
  const both = (await queryJson('SelectMergeStacktraces', 'a|b', { profileTypeID: CPU, labelSelector: '{__tenant_id__="b"}', start: 0, end: Date.now() + 60_000 })).json
    .flamegraph as { total: string };
  assert.equal(both.total, '12');

  const noTenant = await fetch(`${base}/querier.v1.QuerierService/ProfileTypes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(noTenant.status, 401);
  assert.equal(((await noTenant.json()) as { code: string }).code, 'unauthenticated');

  // Tenant "limited" may write 1000 bytes/s with a 2000-byte burst: a folded body of about 4000 bytes is over it.
  const big = Array.from({ length: 300 }, (_, i) => `main;fn${i} 1`).join('\n');
  const limited = await ingest('limited', 'name=lim.cpu', big);
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  assert.match(await limited.text(), /profiles\.limits\.ingestion_rate_limit_bytes/);
  const metrics = await (await fetch(`${heimdall.httpUrl}/metrics`)).text();
  assert.match(metrics, /heimdall_discarded_records_total\{signal="profiles",reason="rate_limited",tenant="limited"\} 1/);
});
