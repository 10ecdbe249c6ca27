import type { RoleDefinition } from './role.ts';
import { gatewayRole } from './roles/gateway-role.ts';
import { logsRole } from './roles/logs-role.ts';
import { metricsRole } from './roles/metrics-role.ts';

/** Every role Heimdall can run, in the order `--target all` lists them (start order follows dependencies). */
export const ROLE_REGISTRY: readonly RoleDefinition[] = [metricsRole, logsRole, gatewayRole];
