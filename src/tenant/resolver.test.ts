import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TenantError, TenantResolver, validateTenantId } from './index.ts';

const on = (extra: Partial<ConstructorParameters<typeof TenantResolver>[0]> = {}) =>
  new TenantResolver({ multitenancy: true, fromNamespace: false, defaultTenant: 'default', namespaceMap: {}, ...extra });
const off = new TenantResolver({ multitenancy: false, fromNamespace: true, defaultTenant: 'default', namespaceMap: {} });

function status(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof TenantError) return err.status;
    throw err;
  }
  return undefined;
}

test('tenant ids follow the upstream rules: charset, 150 bytes, not . or ..', () => {
  for (const ok of ['a', 'team-a', "o'brien", 'A.b_c!d*(e)', 'x'.repeat(150)]) assert.equal(validateTenantId(ok), ok);
  assert.throws(() => validateTenantId('x'.repeat(151)), /tenant ID is too long: max 150 characters/);
  assert.throws(() => validateTenantId('.'), /tenant ID is '.' or '..'/);
  assert.throws(() => validateTenantId('..'), /tenant ID is '.' or '..'/);
  assert.throws(() => validateTenantId('a/b'), /tenant ID 'a\/b' contains unsupported character '\/'/);
  assert.throws(() => validateTenantId('a b'), /unsupported character ' '/);
  assert.throws(() => validateTenantId('é'), /unsupported character 'é'/);
});

test('multi-tenancy off: everything is anonymous and the header is ignored', () => {
  assert.deepEqual(off.forRead(undefined), ['anonymous']);
  assert.deepEqual(off.forRead('a|b'), ['anonymous']);
  assert.deepEqual(off.forWrite('x'), { kind: 'fixed', tenant: 'anonymous' });
  assert.deepEqual(off.forWrite('bad/tenant'), { kind: 'fixed', tenant: 'anonymous' });
});

test('multi-tenancy on: reads need the header and may federate; writes take exactly one tenant', () => {
  const r = on();
  assert.equal(status(() => r.forRead(undefined)), 401);
  assert.equal(status(() => r.forRead('  ')), 401);
  assert.throws(() => r.forRead(undefined), /no org id/);
  assert.deepEqual(r.forRead('a'), ['a']);
  assert.deepEqual(r.forRead('a|b|a|c'), ['a', 'b', 'c']);
  assert.equal(status(() => r.forRead('a|b/c')), 400);
  assert.deepEqual(r.forWrite('team-a'), { kind: 'fixed', tenant: 'team-a' });
  assert.equal(status(() => r.forWrite('a|b')), 400);
  assert.equal(status(() => r.forWrite(undefined)), 401);
  assert.equal(status(() => r.forWrite('..')), 400);
});

test('namespace tenancy: header first, else per-record namespace with map and default; batches split', () => {
  const r = on({ fromNamespace: true, defaultTenant: 'shared', namespaceMap: { 'kube-system': 'infrastructure' } });
  assert.deepEqual(r.forWrite('explicit'), { kind: 'fixed', tenant: 'explicit' });
  const tenancy = r.forWrite(undefined);
  assert.deepEqual(tenancy, { kind: 'by-namespace' });
  const records = [
    { ns: 'shop', v: 1 },
    { ns: 'kube-system', v: 2 },
    { ns: undefined, v: 3 },
    { ns: 'shop', v: 4 },
    { ns: 'bad ns', v: 5 },
  ];
  const split = r.split(records, tenancy, (x) => x.ns);
  assert.deepEqual(Object.fromEntries([...split.batches].map(([t, rs]) => [t, rs.map((x) => x.v)])), {
    shop: [1, 4],
    infrastructure: [2],
    shared: [3],
  });
  assert.equal(split.invalid.length, 1);
  assert.equal(split.invalid[0]!.namespace, 'bad ns');
  assert.match(split.invalid[0]!.message, /unsupported character/);
  const fixed = r.split(records, { kind: 'fixed', tenant: validateTenantId('one') }, (x) => x.ns);
  assert.deepEqual([...fixed.batches.keys()], ['one']);
  assert.equal(fixed.batches.get(validateTenantId('one'))!.length, 5);
});

test('without from_namespace a write with no header is refused even if records carry namespaces', () => {
  assert.equal(status(() => on().forWrite(undefined)), 401);
});

test('namespaces named after Object.prototype members are ordinary tenants, mapped or not', () => {
  const r = on({ fromNamespace: true, namespaceMap: { valueOf: 'values-team' } });
  const names = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'];
  const split = r.split(names, r.forWrite(undefined), (ns) => ns);
  assert.equal(split.invalid.length, 0, JSON.stringify(split.invalid));
  assert.deepEqual(
    [...split.batches.keys()].sort(),
    ['__defineGetter__', 'constructor', 'hasOwnProperty', 'isPrototypeOf', 'toString', 'values-team'].sort(),
  );
});
