export { HeimdallApp } from './app.ts';
export type { ListenAddresses } from './app.ts';
export { ROLE_REGISTRY } from './registry.ts';
export { resolveStartOrder } from './role-order.ts';
export type { RoleContext, RoleDefinition, RoleInstance, RoleOutputs } from './role.ts';
