import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STALE_NAN, isStaleNaN } from '../model/index.ts';
import { MemSeries } from './mem-series.ts';
import { SampleArena } from './sample-arena.ts';

test('head samples grow through arena classes, stay sorted, keep NaN bits, and free their blocks', () => {
  const arena = new SampleArena();
  const series = Array.from({ length: 50 }, (_, i) => new MemSeries(i + 1, 't', { __name__: `m${i}` }, i, arena));
  // Interleaved appends so blocks of different series neighbour each other in the pages.
  for (let t = 0; t < 300; t++) for (const [i, s] of series.entries()) s.insert(t * 10, t === 7 && i === 3 ? STALE_NAN : t + i);
  // Out-of-order insert and replacement.
  series[0]!.insert(5, -1);
  series[0]!.insert(10, 42);
  const s0 = series[0]!;
  assert.equal(s0.n, 301);
  assert.deepEqual([...s0.timestamps().subarray(0, 4)], [0, 5, 10, 20]);
  assert.deepEqual([...s0.values().subarray(0, 4)], [0, -1, 42, 2]);
  assert.ok(isStaleNaN(series[3]!.values()[7]!));
  for (const [i, s] of series.entries()) {
    if (i === 0) continue;
    const ts = s.timestamps();
    const vs = s.values();
    assert.equal(ts.length, 300);
    for (let t = 0; t < 300; t++) {
      assert.equal(ts[t], t * 10);
      if (!(t === 7 && i === 3)) assert.equal(vs[t], t + i);
    }
  }
  const r = s0.range(10, 30);
  assert.deepEqual([...r.ts], [10, 20, 30]);
  s0.dropBefore(2000);
  assert.equal(s0.firstT(), 2000);
  assert.equal(s0.values()[0], 200);
  const used = arena.usedDoubles;
  for (const s of series) s.releaseAll();
  assert.ok(used > 0 && arena.usedDoubles === 0);
  // Released blocks are reused rather than growing the arena.
  const pages = arena.pages.length;
  for (const s of series) for (let t = 0; t < 300; t++) s.insert(t, t);
  assert.equal(arena.pages.length, pages);
});
