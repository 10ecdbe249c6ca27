// `define`, `template` and `block` of Go's text/template, and template sets with methods on the data: what
// Alertmanager's notification templates are written in (test/e2e/alertmanager-compat.test.ts compares the
// rendered messages with a real Alertmanager).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GoTemplate, GoTemplateSet } from './go-template.ts';
import type { GoValue, MethodLookup } from './go-template-value.ts';

const funcs = { upper: (s: GoValue) => String(s).toUpperCase() };

test('define and template: a named template runs with the given dot, and $ is that dot', () => {
  const t = new GoTemplate('t', '{{define "greet"}}hi {{.}} ({{$}}){{end}}{{$x := "outer"}}[{{template "greet" .name}}][{{template "greet" "bob"}}]', funcs);
  assert.equal(t.execute({ name: 'ann' }), '[hi ann (ann)][hi bob (bob)]');
  // A called template cannot see the caller's variables.
  assert.throws(() => new GoTemplate('t', '{{define "x"}}{{$x}}{{end}}{{$x := 1}}{{template "x"}}', funcs).execute({}), /undefined variable: \$x/);
});

test('block defines a default that a define elsewhere replaces; unknown templates and runaway recursion fail', () => {
  assert.equal(new GoTemplate('t', '<{{block "b" .}}default {{.}}{{end}}>', funcs).execute('d'), '<default d>');
  const set = new GoTemplateSet(funcs);
  set.addFile('override.tmpl', '{{define "b"}}override {{upper .}}{{end}}');
  assert.equal(new GoTemplate('t', '<{{block "b" .}}default {{.}}{{end}}>', funcs, set).execute('d'), '<override D>');
  assert.throws(() => new GoTemplate('t', '{{template "nope" .}}', funcs).execute({}), /template "nope" not defined/);
  assert.throws(() => new GoTemplate('t', '{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}', funcs).execute({}), /exceeded maximum template depth \(100\)/);
  assert.throws(() => new GoTemplate('t', '{{define "x"}}unclosed', funcs), /unexpected EOF in define/);
  assert.throws(() => new GoTemplate('t', '{{template x}}', funcs), /expected a template name string/);
});

test('a set: later files replace earlier defines, natives answer names no file defines, methods apply to marked data', () => {
  const lists = new WeakSet<object>();
  const methods: MethodLookup = (receiver, name) =>
    Array.isArray(receiver) && lists.has(receiver) && name === 'Evens' ? () => (receiver as bigint[]).filter((n) => n % 2n === 0n) : undefined;
  const set = new GoTemplateSet(funcs, { native: (dot) => `native(${String(dot)})` }, methods);
  set.addFile('a.tmpl', '{{define "x"}}first{{end}}');
  set.addFile('b.tmpl', '{{define "x"}}second{{end}}');
  const nums: bigint[] = [1n, 2n, 3n, 4n];
  lists.add(nums);
  const t = new GoTemplate('t', '{{template "x"}} {{template "native" "v"}} {{len .nums.Evens}} {{range .nums.Evens}}{{.}}{{end}}', funcs, set);
  assert.equal(t.execute({ nums }), 'second native(v) 2 24');
  // A define in one template's own text does not leak into the set.
  new GoTemplate('own', '{{define "x"}}own{{end}}', funcs, set);
  assert.equal(new GoTemplate('t2', '{{template "x"}}', funcs, set).execute({}), 'second');
  // Methods with arguments are called like functions; an unmarked list has none.
  const withArgs: MethodLookup = (receiver, name) => (name === 'Has' && Array.isArray(receiver) ? (x) => (receiver).includes(x) : undefined);
  const s2 = new GoTemplateSet(funcs, undefined, withArgs);
  assert.equal(new GoTemplate('t', '{{.list.Has "b"}} {{if .list.Has "z"}}yes{{else}}no{{end}}', funcs, s2).execute({ list: ['a', 'b'] }), 'true no');
  assert.throws(() => new GoTemplate('t', '{{.nums.Evens}}', funcs).execute({ nums: [1n] }), /can't evaluate field Evens/);
});
