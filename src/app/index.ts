// Only cheap modules are imported here (the CLI's help loads this file); the composition root is behind
// launchHeimdall.
export type { HeimdallApp, ListenAddresses } from './app.ts';
export { launchHeimdall } from './launch.ts';
export { ROLE_REGISTRY } from './registry.ts';
export type { RoleContext, RoleDefinition, RoleInstance, RoleModule, RoleOutputs } from './role.ts';
