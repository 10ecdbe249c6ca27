export { TraceStore } from './trace-store.ts';
export type { TraceStoreOptions } from './trace-store.ts';
export { FORMAT_VERSION as TRACESTORE_FORMAT_VERSION } from './format.ts';
export type { TraceStoreSettings, TraceStoreTenantLimits } from './limits.ts';
