export { StaticSite, WEB_DIST_DIR } from './static-site.ts';
export { registerUiRoutes } from './ui-routes.ts';
export type { FrontendSettings, UiRoutes } from './ui-routes.ts';
export { ORG_HEADER, resolveOrgs, tenantHeaderFor } from './orgs.ts';
export type { UiOrg } from './orgs.ts';
export { PROXY_ROUTE } from './datasource-proxy.ts';
export { grafanaProvisioning } from './grafana-provisioning.ts';
export type { ProvisioningFile } from './grafana-provisioning.ts';
