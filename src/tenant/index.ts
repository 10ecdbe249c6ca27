export { MAX_TENANT_ID_BYTES, TenantError, isValidTenantId, validateTenantId } from './validate.ts';
export { TENANT_HEADER, TenantResolver } from './resolver.ts';
export type { TenancySettings, TenantSplit, WriteTenancy } from './resolver.ts';
