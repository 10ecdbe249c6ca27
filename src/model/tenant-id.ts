/**
 * A validated tenant id. Only `src/tenant/` creates values of this type (after validation), so a function
 * that takes a `TenantId` can use it in a file path or storage key without checking it again.
 */
export type TenantId = string & { readonly __brand: 'TenantId' };

/** The tenant every request belongs to when multi-tenancy is off, as in Mimir. */
export const DEFAULT_TENANT = 'anonymous';
