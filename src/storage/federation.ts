import { TENANT_ID_LABEL, compileMatcher } from '../model/index.ts';
import type { LabelMatcher, Labels, TenantId } from '../model/index.ts';

/**
 * Splits a federated read's matchers: those on `__tenant_id__` pick which tenants to read, the rest go to
 * storage. Returns the tenants that pass and the remaining matchers.
 */
export function partitionTenantMatchers(
  tenants: readonly TenantId[],
  matchers: readonly LabelMatcher[],
): { tenants: TenantId[]; matchers: LabelMatcher[] } {
  const tenantPreds = matchers.filter((m) => m.name === TENANT_ID_LABEL).map(compileMatcher);
  const rest = matchers.filter((m) => m.name !== TENANT_ID_LABEL);
  return { tenants: tenants.filter((t) => tenantPreds.every((p) => p(t))), matchers: rest };
}

/**
 * Adds `__tenant_id__` to a label set when the read spans more than one tenant, as Loki and Mimir do for
 * `a|b` reads. A single-tenant read leaves labels untouched.
 */
export function labelForTenant(labels: Labels, tenant: TenantId, federated: boolean): Labels {
  return federated ? { ...labels, [TENANT_ID_LABEL]: tenant } : labels;
}
