import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareLabels, compileMatcher } from '../model/index.ts';
import type { LabelMatcher } from '../model/index.ts';
import { MemSeries } from './mem-series.ts';
import { SampleArena } from './sample-arena.ts';
import { TenantIndex, buildLabels, hashLabels } from './series-index.ts';

test('index selection equals brute force for many values and every matcher kind', () => {
  const arena = new SampleArena();
  const idx = new TenantIndex('t');
  const all: MemSeries[] = [];
  for (let i = 0; i < 3000; i++) {
    const labels: Record<string, string> = { __name__: i % 3 ? 'up' : 'down', instance: `host-${String(i % 700).padStart(4, '0')}:9100` };
    if (i % 5) labels['zone'] = `z${i % 7}`;
    const names = Object.keys(labels).sort();
    const sorted: Record<string, string> = {};
    for (const n of names) sorted[n] = labels[n]!;
    const s = new MemSeries(i + 1, 't', idx.canonical(sorted), hashLabels(sorted, names), arena);
    idx.add(s);
    all.push(s);
  }
  const cases: LabelMatcher[][] = [
    [{ op: '=~', name: 'instance', value: 'host-00[1-3]5.*' }],
    [{ op: '=~', name: 'instance', value: 'host-01.*|host-0699:9100' }],
    [{ op: '=~', name: 'instance', value: '.*:9100' }],
    [{ op: '!~', name: 'instance', value: 'host-0[0-5].*' }],
    [{ op: '!=', name: 'zone', value: 'z3' }],
    [{ op: '=~', name: 'zone', value: 'z1|' }],
    [{ op: '=', name: '__name__', value: 'up' }, { op: '!~', name: 'zone', value: 'z[0-4]' }],
  ];
  for (const ms of cases) {
    const got = [...idx.select(ms)];
    const preds = ms.map((m) => [m.name, compileMatcher(m)] as const);
    const want = all.filter((s) => preds.every(([n, p]) => p(s.labels[n] ?? ''))).map((s) => s.ref);
    assert.deepEqual(got, want, JSON.stringify(ms));
  }
});

test('ordered() stays sorted by labels as series are added in rounds and removed', () => {
  const arena = new SampleArena();
  const idx = new TenantIndex('t');
  let ref = 1;
  const live: MemSeries[] = [];
  let seed = 7;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 200; i++) {
      const labels: Record<string, string> = { __name__: `m${rnd(5)}`, a: `v${rnd(50)}` };
      if (rnd(2)) labels['b'] = `w${rnd(9)}`;
      labels['id'] = String(ref);
      const names = Object.keys(labels).sort();
      const sorted: Record<string, string> = {};
      for (const n of names) sorted[n] = labels[n]!;
      const s = new MemSeries(ref++, 't', idx.canonical(sorted), hashLabels(sorted, names), arena);
      idx.add(s);
      live.push(s);
    }
    if (round === 3) {
      const dropped = live.filter((_, i) => i % 3 === 0);
      idx.remove(dropped);
      for (const d of dropped) live.splice(live.indexOf(d), 1);
    }
    const ordered = idx.ordered();
    const want = [...live].sort((x, y) => compareLabels(x.labels, y.labels));
    assert.deepEqual(ordered.map((s) => s.ref), want.map((s) => s.ref));
    ordered.forEach((s, i) => assert.equal(s.rank, i));
  }
});

test('label objects are plain own properties, even for a label called __proto__', () => {
  const l = buildLabels(['__name__', '__proto__', 'a'], ['m', 'x', '1']);
  assert.deepEqual(Object.keys(l), ['__name__', '__proto__', 'a']);
  assert.equal(l['__proto__'], 'x');
  assert.equal(Object.getPrototypeOf(l), Object.prototype);
  const m = buildLabels(['__name__', 'job'], ['up', 'j']);
  assert.deepEqual(m, { __name__: 'up', job: 'j' });
});
