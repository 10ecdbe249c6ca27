export { Tsdb } from './tsdb.ts';
export type { TsdbOptions, TsdbStats } from './tsdb.ts';
export type { TsdbTenantLimits } from './limits.ts';
export { TSDB_FORMAT_VERSION } from './format.ts';
