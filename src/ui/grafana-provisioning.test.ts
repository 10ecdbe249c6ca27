// The Grafana provisioning Heimdall writes: one file per org, each a valid data-source provisioning document
// (Grafana's schema: apiVersion 1, datasources with name/uid/orgId/type/url/jsonData/secureJsonData) whose
// correlations point at data sources of the right type in the same file; and the CLI that writes them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { grafanaProvisioningCommand } from '../cmd/grafana-provisioning.ts';
import { uiConfigSchema } from '../config/ui-config.ts';
import { grafanaProvisioning } from './grafana-provisioning.ts';

interface Ds {
  name: string;
  uid: string;
  orgId: number;
  type: string;
  url: string;
  access: string;
  jsonData: Record<string, unknown>;
  secureJsonData: Record<string, string>;
}

const ORGS = [
  { name: 'team-a', tenants: ['team-a'] },
  { name: 'platform', tenants: ['team-a', 'team-b'] },
];

function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'datasourceUid' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

test('one file per org: four data sources with the org’s tenant header and correlations that resolve', () => {
  const files = grafanaProvisioning(ORGS, 'http://heimdall:3000/', { platform: 7 });
  assert.deepEqual(files.map((f) => f.fileName), ['heimdall-team-a.yaml', 'heimdall-platform.yaml']);
  for (const [i, f] of files.entries()) {
    const doc = parse(f.yaml) as { apiVersion: number; datasources: Ds[] };
    assert.deepEqual(Object.keys(doc).sort(), ['apiVersion', 'datasources']);
    assert.equal(doc.apiVersion, 1);
    const byType = Object.fromEntries(doc.datasources.map((d) => [d.type, d]));
    assert.deepEqual(Object.keys(byType).sort(), ['grafana-pyroscope-datasource', 'loki', 'prometheus', 'tempo']);
    assert.deepEqual(
      doc.datasources.map((d) => d.url),
      ['http://heimdall:3000/prometheus', 'http://heimdall:3000', 'http://heimdall:3000/tempo', 'http://heimdall:3000/pyroscope'],
    );
    for (const d of doc.datasources) {
      assert.equal(d.orgId, i === 0 ? 1 : 7);
      assert.equal(d.access, 'proxy');
      assert.equal(d.jsonData.httpHeaderName1, 'X-Scope-OrgID');
      assert.equal(d.secureJsonData.httpHeaderValue1, i === 0 ? 'team-a' : 'team-a|team-b');
      assert.ok(/^[A-Za-z0-9_-]{1,40}$/.test(d.uid), d.uid);
    }
    // Every correlation names a data source of this file, of the type it needs.
    const uidType = new Map(doc.datasources.map((d) => [d.uid, d.type]));
    for (const d of doc.datasources) for (const uid of refs(d.jsonData)) assert.ok(uidType.has(uid), `${d.name} refers to ${uid}`);
    const prom = byType.prometheus!.jsonData as { exemplarTraceIdDestinations: { name: string; datasourceUid: string }[] };
    assert.deepEqual(prom.exemplarTraceIdDestinations.map((e) => [e.name, uidType.get(e.datasourceUid)]), [['trace_id', 'tempo']]);
    const loki = byType.loki!.jsonData as { derivedFields: { matcherType: string; matcherRegex: string; datasourceUid: string }[] };
    assert.deepEqual([...new Set(loki.derivedFields.map((f) => `${f.matcherType} ${uidType.get(f.datasourceUid)}`))], ['label tempo', 'regex tempo']);
    assert.equal(loki.derivedFields[0]!.matcherRegex, 'trace_id');
    const regex = new RegExp(loki.derivedFields.at(-1)!.matcherRegex);
    assert.equal(regex.exec('level=info traceID=0af7651916cd43dd8448eb211c80319c msg=x')?.[1], '0af7651916cd43dd8448eb211c80319c');
    const tempo = byType.tempo!.jsonData as Record<string, { datasourceUid: string; tags?: { key: string; value: string }[] }>;
    assert.equal(uidType.get(tempo.tracesToLogsV2!.datasourceUid), 'loki');
    assert.deepEqual(tempo.tracesToLogsV2!.tags![0], { key: 'service.name', value: 'service_name' });
    assert.equal(uidType.get(tempo.tracesToMetrics!.datasourceUid), 'prometheus');
    assert.equal(uidType.get(tempo.tracesToProfiles!.datasourceUid), 'grafana-pyroscope-datasource');
    assert.equal(uidType.get(tempo.serviceMap!.datasourceUid), 'prometheus');
  }
});

test('the sources’ correlation settings shape the provisioning: exemplar label, log fields and regex, attribute mapping', () => {
  const base = uiConfigSchema.parse({}).datasources[0]!.correlations;
  const [file] = grafanaProvisioning(ORGS.slice(0, 1), 'http://h', {}, {
    metrics: { ...base, exemplar_trace_id_label: 'traceID' },
    logs: { ...base, trace_id_fields: ['tid'], trace_id_regex: 'tid=(\\w+)' },
    traces: { ...base, attribute_labels: { 'service.name': 'app' }, filter_logs_by_trace_id: false },
  });
  const byType = Object.fromEntries((parse(file!.yaml) as { datasources: Ds[] }).datasources.map((d) => [d.type, d.jsonData]));
  assert.deepEqual(byType.prometheus!.exemplarTraceIdDestinations, [{ name: 'traceID', datasourceUid: 'heimdall-traces' }]);
  assert.deepEqual((byType.loki!.derivedFields as { matcherRegex: string }[]).map((f) => f.matcherRegex), ['tid', 'tid=(\\w+)']);
  const logs = byType.tempo!.tracesToLogsV2 as { tags: unknown; filterByTraceID: boolean };
  assert.deepEqual([logs.tags, logs.filterByTraceID], [[{ key: 'service.name', value: 'app' }], false]);
});

test('a correlation naming a missing source or one of the wrong type is refused with the path', () => {
  const bad = uiConfigSchema.safeParse({ datasources: [{ uid: 'm', name: 'M', type: 'prometheus', correlations: { traces_uid: 'm' } }] });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error?.issues.map((i) => [i.path.join('.'), i.message]), [['datasources.0.correlations.traces_uid', '"m" is not a tempo data source of ui.datasources']]);
  const regex = uiConfigSchema.safeParse({ datasources: [{ uid: 'l', name: 'L', type: 'loki', correlations: { trace_id_regex: 'no group' } }] });
  assert.match(JSON.stringify(regex.error?.issues), /capture group/);
});

test('the command writes the files of the configured orgs, or prints them; bad flags are refused', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'grafana-prov-'));
  try {
    const config = path.join(dir, 'heimdall.yaml');
    writeFileSync(config, 'multitenancy: true\nui:\n  orgs:\n    - { name: team-a, tenants: [team-a] }\n    - { name: team-b, tenants: [team-b] }\n');
    const out = path.join(dir, 'out');
    assert.equal(await grafanaProvisioningCommand(['--config', config, '--out', out, '--url', 'http://h:3000', '--org-id', 'team-b=3']), 0);
    assert.deepEqual(readdirSync(out).sort(), ['heimdall-team-a.yaml', 'heimdall-team-b.yaml']);
    const b = parse(readFileSync(path.join(out, 'heimdall-team-b.yaml'), 'utf8')) as { datasources: Ds[] };
    assert.deepEqual([...new Set(b.datasources.map((d) => `${d.orgId} ${d.secureJsonData.httpHeaderValue1}`))], ['3 team-b']);
    assert.equal(await grafanaProvisioningCommand(['--org-id', 'nope']), 2);
    assert.equal(await grafanaProvisioningCommand(['--bogus']), 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
