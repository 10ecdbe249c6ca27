export { registerAlertmanagerApi } from './register.ts';
export type { AlertmanagerApiDeps } from './register.ts';
