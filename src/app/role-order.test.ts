import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RoleDefinition } from './role.ts';
import { resolveStartOrder } from './role-order.ts';

const role = (name: string, dependsOn: string[]): RoleDefinition =>
  ({ name, dependsOn, description: name, start: () => Promise.resolve({ stop: () => Promise.resolve() }) }) as unknown as RoleDefinition;

const registry = [role('gateway', ['metrics', 'logs']), role('metrics', []), role('logs', [])];

test('all starts every role with dependencies first', () => {
  assert.deepEqual(resolveStartOrder(['all'], registry).map((r) => r.name), ['metrics', 'logs', 'gateway']);
});

test('a subset pulls in its dependencies once', () => {
  assert.deepEqual(resolveStartOrder(['gateway'], registry).map((r) => r.name), ['metrics', 'logs', 'gateway']);
  assert.deepEqual(resolveStartOrder(['logs', 'gateway', 'logs'], registry).map((r) => r.name), ['logs', 'metrics', 'gateway']);
  assert.deepEqual(resolveStartOrder(['metrics'], registry).map((r) => r.name), ['metrics']);
});

test('unknown roles and cycles are refused by name', () => {
  assert.throws(() => resolveStartOrder(['bogus'], registry), /unknown role "bogus"/);
  const cyclic = [role('metrics', ['logs']), role('logs', ['metrics'])];
  assert.throws(() => resolveStartOrder(['metrics'], cyclic), /role dependency cycle: metrics → logs → metrics/);
});
