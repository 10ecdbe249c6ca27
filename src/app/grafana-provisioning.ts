import { DEFAULT_CORRELATIONS } from '../config/index.ts';
import type { HeimdallConfig } from '../config/index.ts';
import { grafanaProvisioning, resolveOrgs } from '../ui/index.ts';
import type { ProvisioningFile } from '../ui/index.ts';

/**
 * The Grafana provisioning files for the orgs of `config` (see `grafanaProvisioning`), for the CLI, with the
 * correlation settings of the first configured source of each type.
 */
export function grafanaProvisioningFor(config: HeimdallConfig, heimdallUrl: string, grafanaOrgIds: Readonly<Record<string, number>>): ProvisioningFile[] {
  const of = (type: string): typeof DEFAULT_CORRELATIONS => config.ui.datasources.find((d) => d.type === type)?.correlations ?? DEFAULT_CORRELATIONS;
  return grafanaProvisioning(resolveOrgs(config), heimdallUrl, grafanaOrgIds, { metrics: of('prometheus'), logs: of('loki'), traces: of('tempo') });
}
