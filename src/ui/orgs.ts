import type { HeimdallConfig, UiDatasourceConfig } from '../config/index.ts';
import { validateTenantId } from '../tenant/index.ts';

/** An org of the UI with its tenants validated. */
export interface UiOrg {
  readonly name: string;
  readonly tenants: readonly string[];
}

/** The header a UI request names its org in; the proxy turns the org into `X-Scope-OrgID`. */
export const ORG_HEADER = 'x-heimdall-org';

/**
 * The orgs from `ui.orgs`, or the single default org (`default`, reading `anonymous` with multitenancy off and
 * `tenancy.default_tenant` with it on). Throws naming the org when one of its tenants breaks the tenant-id rules.
 */
export function resolveOrgs(config: HeimdallConfig): UiOrg[] {
  if (config.ui.orgs.length === 0) {
    return [{ name: 'default', tenants: [config.multitenancy ? config.tenancy.default_tenant : 'anonymous'] }];
  }
  return config.ui.orgs.map((o) => {
    for (const t of o.tenants) {
      try {
        validateTenantId(t);
      } catch (err) {
        throw new Error(`ui.orgs: org "${o.name}" has an invalid tenant "${t}": ${(err as Error).message}`, { cause: err });
      }
    }
    return { name: o.name, tenants: [...new Set(o.tenants)] };
  });
}

/** The `X-Scope-OrgID` a request of `org` to `datasource` carries: the source's fixed tenant or the org's, `|`-joined. */
export function tenantHeaderFor(org: UiOrg, datasource: UiDatasourceConfig): string {
  return datasource.tenant ?? org.tenants.join('|');
}
