import type { HeimdallConfig } from '../config/index.ts';
import { grafanaProvisioning, resolveOrgs } from '../ui/index.ts';
import type { ProvisioningFile } from '../ui/index.ts';

/** The Grafana provisioning files for the orgs of `config` (see `grafanaProvisioning`), for the CLI. */
export function grafanaProvisioningFor(config: HeimdallConfig, heimdallUrl: string, grafanaOrgIds: Readonly<Record<string, number>>): ProvisioningFile[] {
  return grafanaProvisioning(resolveOrgs(config), heimdallUrl, grafanaOrgIds);
}
