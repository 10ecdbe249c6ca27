export { LogStore } from './log-store.ts';
export type { LogStoreOptions } from './log-store.ts';
export type { LogStoreSettings, LogStoreTenantLimits, RetentionStreamRule } from './limits.ts';
export { FORMAT_VERSION as LOGSTORE_FORMAT_VERSION } from './format.ts';
export { RetentionPolicy, DEFAULT_CLASS } from './retention.ts';
