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
    assert.deepEqual(loki.derivedFields.map((f) => [f.matcherType, uidType.get(f.datasourceUid)]), [['label', 'tempo'], ['regex', 'tempo']]);
    const regex = new RegExp(loki.derivedFields[1]!.matcherRegex.replace('(?i)', ''), 'i');
    assert.equal(regex.exec('level=info traceID=0af7651916cd43dd8448eb211c80319c msg=x')?.[1], '0af7651916cd43dd8448eb211c80319c');
    const tempo = byType.tempo!.jsonData as Record<string, { datasourceUid: string; tags?: { key: string; value: string }[] }>;
    assert.equal(uidType.get(tempo.tracesToLogsV2!.datasourceUid), 'loki');
    assert.deepEqual(tempo.tracesToLogsV2!.tags![0], { key: 'service.name', value: 'service_name' });
    assert.equal(uidType.get(tempo.tracesToMetrics!.datasourceUid), 'prometheus');
    assert.equal(uidType.get(tempo.tracesToProfiles!.datasourceUid), 'grafana-pyroscope-datasource');
    assert.equal(uidType.get(tempo.serviceMap!.datasourceUid), 'prometheus');
  }
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
