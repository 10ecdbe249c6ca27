export { TenantError, isValidTenantId, validateTenantId } from './validate.ts';
export { TENANT_HEADER, TenantResolver } from './resolver.ts';
export type { TenancySettings, TenantSplit, WriteTenancy } from './resolver.ts';
