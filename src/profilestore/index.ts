export { ProfileStore } from './profile-store.ts';
export type { ProfileStoreOptions } from './profile-store.ts';
export { FORMAT_VERSION as PROFILESTORE_FORMAT_VERSION } from './format.ts';
export type { ProfileStoreSettings, ProfileStoreTenantLimits } from './limits.ts';
