import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

export const GRAFANA_PROVISIONING_HELP = `Usage: heimdall grafana-provisioning [options]

Writes Grafana data-source provisioning YAML for every org of the UI config (ui.orgs; one org "default" without
it): Heimdall's Prometheus, Loki, Tempo and Pyroscope APIs as data sources sending the org's tenants as
X-Scope-OrgID, with the correlations between them (exemplars and log trace ids → trace, span → logs, metrics and
profile, the service map).

Options:
  --config FILE          Heimdall's YAML configuration (for ui.orgs, multitenancy, http_address)
  --url URL              Heimdall as Grafana reaches it          default http://<http_address>
  --out DIR              write one file per org into DIR         default: every file to stdout
  --org-id NAME=ID       Grafana's org id for a Heimdall org (repeatable)   default: 1, 2, ... in ui.orgs order
  -h, --help             this text
`;

/** `heimdall grafana-provisioning`: returns the exit code. */
export async function grafanaProvisioningCommand(args: readonly string[]): Promise<number> {
  let values: { config?: string; url?: string; out?: string; 'org-id'?: string[]; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { config: { type: 'string' }, url: { type: 'string' }, out: { type: 'string' }, 'org-id': { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`heimdall grafana-provisioning: ${(err as Error).message}\n\n${GRAFANA_PROVISIONING_HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(GRAFANA_PROVISIONING_HELP);
    return 0;
  }
  const orgIds: Record<string, number> = {};
  for (const pair of values['org-id'] ?? []) {
    const m = /^(.+)=(\d+)$/.exec(pair);
    if (!m) {
      process.stderr.write(`heimdall grafana-provisioning: --org-id "${pair}" is not NAME=ID (e.g. team-a=2)\n`);
      return 2;
    }
    orgIds[m[1]!] = Number(m[2]);
  }
  const { ConfigError, loadConfig } = await import('../config/index.ts');
  const { grafanaProvisioningFor } = await import('../app/grafana-provisioning.ts');
  let files;
  try {
    const config = loadConfig({ ...(values.config ? { file: values.config } : {}), env: process.env, flags: {} });
    files = grafanaProvisioningFor(config, values.url ?? `http://${config.http_address}`, orgIds);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`heimdall: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (!values.out) {
    process.stdout.write(files.map((f) => f.yaml).join('---\n'));
    return 0;
  }
  mkdirSync(values.out, { recursive: true });
  for (const f of files) {
    writeFileSync(path.join(values.out, f.fileName), f.yaml);
    process.stderr.write(`wrote ${path.join(values.out, f.fileName)}\n`);
  }
  return 0;
}
