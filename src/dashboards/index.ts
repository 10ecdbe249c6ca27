export { DashboardConflictError, DashboardStore, slugify } from './dashboard-store.ts';
export type { DashboardModel, Folder, StoredDashboard } from './dashboard-store.ts';
export { BUILTIN_DASHBOARDS_DIR, ProvisionedDashboards } from './provisioned-dashboards.ts';
export type { ProvisionedDashboard, ProvisioningSource } from './provisioned-dashboards.ts';
