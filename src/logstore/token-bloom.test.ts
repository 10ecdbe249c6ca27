import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../bench/shared/prng.ts';
import { compileRe2 } from '../model/index.ts';
import { TokenBloomBuilder, TokenBlooms, candidateRows, requiredLiterals, requiredTokens } from './token-bloom.ts';

/** A seeded PRNG, so a failure reproduces. */
const prng = mulberry32;

test('token blooms: the inner tokens of a needle are required, its edge tokens never', () => {
  assert.deepEqual(requiredTokens([{ op: '|=', value: 'quux-7f3a-needle' }]), ['7f3a']);
  assert.deepEqual(requiredTokens([{ op: '|=', value: 'needle' }]), []);
  assert.deepEqual(requiredTokens([{ op: '|=', value: ' GET /Api/v1 ' }]), ['get', 'api', 'v1']);
  assert.deepEqual(requiredTokens([{ op: '!=', value: ' a b ' }, { op: '!~', value: ' a b ' }]), []);
  assert.deepEqual(requiredTokens([{ op: '|~', value: 'deadlock detected on table [a-z]+ tx=9\\d{3}' }]), ['detected', 'on', 'table', 'tx']);
  // A quantifier makes the character before it optional; case-insensitive regexes use ASCII tokens only.
  assert.deepEqual(requiredTokens([{ op: '|~', value: 'x alpha beta? gamma' }]), ['alpha']);
  assert.deepEqual(requiredTokens([{ op: '|~', value: '(?i)x Alpha é b' }]), ['alpha']);
  assert.deepEqual(requiredTokens([{ op: '|~', value: 'x é b' }]), ['é']);
  // Alternation, mid-pattern flags and \Q are not understood: no tokens.
  assert.equal(requiredLiterals('a b c|d'), undefined);
  assert.equal(requiredLiterals('x (?i)a b c'), undefined);
  assert.equal(requiredLiterals('\\Qa b c\\E'), undefined);
  assert.deepEqual(requiredTokens([{ op: '|~', value: 'x (a b c)+ d\\.e\\.f' }]), ['d', 'e']);
});

test('token blooms: every line holding a needle (or matching a regex) is in a candidate group', () => {
  const rand = prng(7);
  const words = ['GET', 'get', 'Kelvin', '\u212Aelvin', 'ſtate', 'state', 'é', 'É', 'id_42', 'x9', 'tx', '7f3a', 'quux', 'needle', 'a'];
  const seps = [' ', '-', '=', '/', ':', '"', '.', ''];
  const piece = (): string => words[Math.floor(rand() * words.length)]! + seps[Math.floor(rand() * seps.length)]!;
  const lines: string[] = [];
  for (let i = 0; i < 5000; i++) lines.push(Array.from({ length: 1 + Math.floor(rand() * 8) }, piece).join(''));
  const builder = new TokenBloomBuilder(64);
  lines.forEach((l, i) => builder.add(i, l));
  const blooms = TokenBlooms.parse(builder.serialize());
  assert.equal(blooms.groups, Math.ceil(lines.length / 64));
  let skipped = 0;
  for (let q = 0; q < 400; q++) {
    // Needles cut from real lines at random offsets (so edge tokens are partial) and regexes built from them.
    const src = lines[Math.floor(rand() * lines.length)]!;
    const from = Math.floor(rand() * src.length);
    const needle = src.slice(from, from + 1 + Math.floor(rand() * 20));
    const escaped = needle.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
    for (const f of [
      { op: '|=' as const, value: needle },
      { op: '|~' as const, value: escaped },
      { op: '|~' as const, value: `(?i)${escaped.toUpperCase()}` },
    ]) {
      const tokens = requiredTokens([f]);
      const ranges = candidateRows(blooms, tokens);
      const re = f.op === '|~' ? compileRe2(f.value) : undefined;
      lines.forEach((l, row) => {
        const hit = re ? re.matcher(l).find() : l.includes(f.value);
        if (!hit) return;
        const inRange = ranges === undefined || ranges.some(([s, e]) => row >= s && row < e);
        assert.ok(inRange, `row ${row} ${JSON.stringify(l)} matches ${f.op} ${JSON.stringify(f.value)} (tokens ${tokens.join(',')}) but its group was skipped`);
      });
      if (ranges !== undefined) skipped++;
    }
  }
  assert.ok(skipped > 0, 'some queries pruned groups');
});

test('token blooms: a rare token prunes nearly every group', () => {
  const builder = new TokenBloomBuilder(1000);
  for (let i = 0; i < 100_000; i++) builder.add(i, i === 54_321 ? 'unexpected state quux-7f3a-needle in reconciler' : `GET /api/v1/items/${i} 200 took ${i % 977}ms trace=${(i * 2654435761) >>> 0}`);
  const blooms = TokenBlooms.parse(builder.serialize());
  const ranges = candidateRows(blooms, requiredTokens([{ op: '|=', value: 'quux-7f3a-needle' }]))!;
  assert.ok(ranges.some(([s, e]) => s <= 54_321 && 54_321 < e));
  assert.ok(ranges.length <= 10, `${ranges.length} of 100 groups are candidates`);
});
