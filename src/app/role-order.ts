import type { RoleName } from '../config/index.ts';
import { ROLE_NAMES } from '../config/index.ts';
import type { RoleDefinition } from './role.ts';

/**
 * Expands a target list into the roles to run in start order: `all` means every role; each role's
 * dependencies are added and start before it. Throws for an unknown role or a dependency cycle.
 */
export function resolveStartOrder(targets: readonly string[], registry: readonly RoleDefinition[]): RoleDefinition[] {
  const byName = new Map<string, RoleDefinition>(registry.map((r) => [r.name, r]));
  const wanted = targets.includes('all') ? registry.map((r) => r.name) : [...targets];
  const order: RoleDefinition[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: readonly string[]): void => {
    const role = byName.get(name);
    if (!role) {
      throw new Error(`unknown role "${name}": allowed are all, ${ROLE_NAMES.join(', ')}`);
    }
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`role dependency cycle: ${[...path, name].join(' → ')}`);
    state.set(name, 'visiting');
    for (const dep of role.dependsOn) visit(dep, [...path, name]);
    state.set(name, 'done');
    order.push(role);
  };
  for (const name of wanted) visit(name, []);
  return order;
}

/** The role names of a start order, for the start-up log line. */
export function roleNames(order: readonly RoleDefinition[]): RoleName[] {
  return order.map((r) => r.name);
}
