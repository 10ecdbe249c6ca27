import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareLabels, compareLabelsWithNames, sortedLabelNames } from './labels.ts';
import type { Labels } from './labels.ts';

/**
 * Prometheus' TestLabels_Compare (model/labels/labels_test.go): `{aaa="111", bbb="222"}` against each set,
 * with the sign labels.Compare gives; plus byte order (not locale order) and key insertion order.
 */
const BASE: Labels = { aaa: '111', bbb: '222' };
const ROWS: readonly [Labels, Labels, number][] = [
  [BASE, { aaa: '111', bar: '222' }, 1],
  [BASE, { aaa: '111', bbc: '222' }, -1],
  [BASE, { aaa: '111', bb: '222' }, 1],
  [BASE, { aaa: '111', bbb: '222', ccc: '333' }, -1],
  [BASE, { aaa: '111' }, 1],
  [BASE, { bar: '222' }, -1],
  [BASE, { aaa: '111', bbb: '233' }, -1],
  [BASE, { aaa: '111', bbb: '222' }, 0],
  [{}, {}, 0],
  [{}, { a: '' }, -1],
  // Byte order: upper case before lower case, '_' between them.
  [{ a: 'Z' }, { a: 'a' }, -1],
  [{ A: '1' }, { _: '1' }, -1],
  [{ _: '1' }, { a: '1' }, -1],
  // Insertion order of the keys does not matter.
  [{ bbb: '222', aaa: '111' }, BASE, 0],
  [{ z: '1', __name__: 'up' }, { __name__: 'up', y: '1' }, 1],
];

test('label sets compare as Prometheus labels.Compare', () => {
  for (const [a, b, want] of ROWS) {
    const where = `${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
    assert.equal(Math.sign(compareLabels(a, b)), want, where);
    assert.equal(Math.sign(compareLabels(b, a)), -want || 0, `${where} (reversed)`);
    assert.equal(Math.sign(compareLabelsWithNames(a, sortedLabelNames(a), b, sortedLabelNames(b))), want, `${where} (with names)`);
  }
});
