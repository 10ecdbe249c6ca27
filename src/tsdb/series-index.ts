import { compareLabels, compareLabelsWithNames, compareStrings, compileMatcher, literalPrefixes, setOwnLabel, sortedLabelNames } from '../model/index.ts';
import type { LabelMatcher, Labels } from '../model/index.ts';
import type { MemSeries } from './mem-series.ts';

/**
 * Hashes a label set (names given in byte order) to a 30-bit integer (a V8 small integer: no heap number
 * per series). Equal sets hash equally; collisions are resolved by comparing labels.
 */
export function hashLabels(labels: Labels, sortedNames: readonly string[]): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (const name of sortedNames) {
    const value = labels[name]!;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    h1 = Math.imul(h1 ^ 0xff, 0x01000193);
    h2 = Math.imul(h2 ^ 0xff, 0x5bd1e995);
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    h1 = Math.imul(h1 ^ 0xfe, 0x01000193);
    h2 = Math.imul(h2 ^ 0xfe, 0x5bd1e995);
  }
  return (h1 ^ Math.imul(h2, 0x27d4eb2d) ^ (h2 >>> 15)) & 0x3fffffff;
}

/** Whether two label sets are equal. */
export function labelsEqual(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

/** A sorted list of series refs. */
export type Postings = Uint32Array;

const EMPTY: Postings = new Uint32Array(0);

/** Growable ascending list of refs; appends are O(1), a rare smaller ref is inserted in place. */
class RefList {
  refs: number[] = [];

  constructor(
    /** The canonical copy of the label value, shared by every series that has it. */
    readonly value: string,
  ) {}

  add(ref: number): void {
    const r = this.refs;
    if (r.length === 0 || r[r.length - 1]! < ref) {
      r.push(ref);
      return;
    }
    let lo = 0;
    let hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (r[mid]! < ref) lo = mid + 1;
      else hi = mid;
    }
    if (r[lo] !== ref) r.splice(lo, 0, ref);
  }
}

/** Object factories per label-name list (see {@link buildLabels}). */
const factories = new Map<string, (values: readonly string[]) => Labels>();
const MAX_FACTORIES = 4096;

/**
 * Builds a label object with the given names (in order) and values. Objects from a per-name-list factory
 * (an object literal) keep every property in-object: ~80 bytes less per series than adding properties one
 * by one, which spills them into a separate property array.
 */
export function buildLabels(names: readonly string[], values: readonly string[]): Labels {
  const key = names.join('\u0000');
  let make = factories.get(key);
  if (!make) {
    if (factories.size >= MAX_FACTORIES || names.length > 64 || names.includes('__proto__')) {
      const out: Record<string, string> = {};
      for (let i = 0; i < names.length; i++) setOwnLabel(out, names[i]!, values[i]!);
      return out;
    }
    // Names are embedded as JSON string literals, so any label name is safe here.
    const body = `return {${names.map((n, i) => `${JSON.stringify(n)}: v[${i}]`).join(', ')}};`;
    make = new Function('v', body) as (values: readonly string[]) => Labels;
    factories.set(key, make);
  }
  return make(values);
}

/** Values of one label name → their postings; remembers the canonical copy of the name. */
class ValueMap extends Map<string, RefList> {
  private sorted: string[] | null = null;

  constructor(readonly name: string) {
    super();
  }

  override set(value: string, list: RefList): this {
    if (!this.has(value)) this.sorted = null;
    return super.set(value, list);
  }

  override delete(value: string): boolean {
    this.sorted = null;
    return super.delete(value);
  }

  /** The values in code-unit order (cached until a value is added or removed). */
  sortedValues(): readonly string[] {
    return (this.sorted ??= [...this.keys()].sort(compareStrings));
  }
}

/**
 * The in-memory inverted index of one tenant: label set → series, and label name → value → refs.
 * Rebuilt from the WAL checkpoint and segments at open. Not thread-safe (Node runs it on one thread).
 */
export class TenantIndex {
  private readonly byHash = new Map<number, MemSeries | MemSeries[]>();
  private readonly postings = new Map<string, ValueMap>();
  private readonly all = new RefList('');
  count = 0;
  /** Every series sorted by labels (`rank` = index), plus those added since it was last brought up to date. */
  private sorted: MemSeries[] = [];
  private unsorted: MemSeries[] = [];
  private ranksStale = false;
  /**
   * Label objects handed in by decoders (which reuse one object per repeated series) → their series.
   * Bounded by the engine; callers check the series is still live. (A Map: a WeakMap of this size makes
   * every GC walk its ephemerons.)
   */
  readonly labelCache = new Map<Labels, MemSeries>();

  constructor(readonly tenant: string) {}

  get(labels: Labels, hash: number): MemSeries | undefined {
    const hit = this.byHash.get(hash);
    if (hit === undefined) return undefined;
    if (!Array.isArray(hit)) return labelsEqual(hit.labels, labels) ? hit : undefined;
    return hit.find((s) => labelsEqual(s.labels, labels));
  }

  /**
   * Returns `labels` rebuilt from the index's canonical strings where the name or value is already known,
   * so series share one copy of each label string (less memory, and equal values compare by pointer).
   */
  canonical(labels: Labels): Labels {
    const names = Object.keys(labels);
    const vals: string[] = new Array(names.length);
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const v = labels[name]!;
      const values = this.postings.get(name);
      const list = values?.get(v);
      vals[i] = list ? list.value : v;
    }
    return buildLabels(names, vals);
  }

  add(s: MemSeries): void {
    const hit = this.byHash.get(s.hash);
    if (hit === undefined) this.byHash.set(s.hash, s);
    else if (Array.isArray(hit)) hit.push(s);
    else this.byHash.set(s.hash, [hit, s]);
    for (const name of Object.keys(s.labels)) {
      let values = this.postings.get(name);
      if (!values) this.postings.set(name, (values = new ValueMap(name)));
      let list = values.get(s.labels[name]!);
      if (!list) values.set(s.labels[name]!, (list = new RefList(s.labels[name]!)));
      list.add(s.ref);
    }
    this.all.add(s.ref);
    this.count++;
    this.unsorted.push(s);
  }

  /**
   * The tenant's series sorted by labels, each with `rank` set to its index. Kept incrementally: series
   * added since the last call are sorted among themselves and merged in, so a query sorts its selection by
   * rank (numbers) instead of comparing label sets.
   */
  ordered(): readonly MemSeries[] {
    if (this.unsorted.length > 0) {
      const added = this.unsorted
        .map((s) => ({ s, names: sortedLabelNames(s.labels) }))
        .sort((a, b) => compareLabelsWithNames(a.s.labels, a.names, b.s.labels, b.names))
        .map((x) => x.s);
      this.unsorted = [];
      const base = this.sorted;
      const merged: MemSeries[] = new Array(base.length + added.length);
      let i = 0;
      let k = 0;
      for (const s of added) {
        // Binary search the insertion point among the existing series (k·log n label comparisons).
        let lo = i;
        let hi = base.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (compareLabels(base[mid]!.labels, s.labels) < 0) lo = mid + 1;
          else hi = mid;
        }
        while (i < lo) merged[k++] = base[i++]!;
        merged[k++] = s;
      }
      while (i < base.length) merged[k++] = base[i++]!;
      this.sorted = merged;
      this.ranksStale = true;
    }
    if (this.ranksStale) {
      const sorted = this.sorted;
      for (let r = 0; r < sorted.length; r++) sorted[r]!.rank = r;
      this.ranksStale = false;
    }
    return this.sorted;
  }

  /** Removes series (e.g. all their data expired). */
  remove(dropped: readonly MemSeries[]): void {
    if (dropped.length === 0) return;
    const refs = new Set<number>();
    for (const s of dropped) {
      refs.add(s.ref);
      const hit = this.byHash.get(s.hash);
      if (hit === s) this.byHash.delete(s.hash);
      else if (Array.isArray(hit)) {
        const rest = hit.filter((x) => x !== s);
        if (rest.length === 1) this.byHash.set(s.hash, rest[0]!);
        else this.byHash.set(s.hash, rest);
      }
    }
    const keep = (l: RefList): void => {
      l.refs = l.refs.filter((r) => !refs.has(r));
    };
    for (const [name, values] of this.postings) {
      for (const [value, list] of values) {
        keep(list);
        if (list.refs.length === 0) values.delete(value);
      }
      if (values.size === 0) this.postings.delete(name);
    }
    keep(this.all);
    this.count -= refs.size;
    this.sorted = this.sorted.filter((x) => !refs.has(x.ref));
    this.unsorted = this.unsorted.filter((x) => !refs.has(x.ref));
    this.ranksStale = true;
  }

  /**
   * Refs of series matching every matcher, ascending. Matchers that match the empty string also select
   * series lacking the label, as in Prometheus. Throws on an invalid regular expression.
   */
  select(matchers: readonly LabelMatcher[]): Postings {
    let result: Postings | null = null;
    const emptyMatching: LabelMatcher[] = [];
    // Equality matchers first: they are the most selective and cheapest.
    const ordered = [...matchers].sort((a, b) => (a.op === '=' ? 0 : 1) - (b.op === '=' ? 0 : 1));
    for (const m of ordered) {
      const pred = compileMatcher(m);
      if (pred('')) {
        emptyMatching.push(m);
        continue;
      }
      const values = this.postings.get(m.name);
      if (!values) return EMPTY;
      let list: Postings;
      if (m.op === '=') {
        const l = values.get(m.value);
        list = l ? Uint32Array.from(l.refs) : EMPTY;
      } else if (m.op === '=~') {
        list = unionMatching(values, m.value, pred);
      } else {
        list = unionWhere(values, pred);
      }
      result = result === null ? list : intersect(result, list);
      if (result.length === 0) return EMPTY;
    }
    for (const m of emptyMatching) {
      const values = this.postings.get(m.name);
      if (!values) continue; // no series has the label: '' matches everywhere
      // The series to drop are those whose value does not match.
      let excluded: Postings;
      if (m.op === '!=') {
        const l = values.get(m.value);
        excluded = l ? Uint32Array.from(l.refs) : EMPTY;
      } else if (m.op === '!~') {
        excluded = unionMatching(values, m.value, compileMatcher({ op: '=~', name: m.name, value: m.value }));
      } else {
        const pred = compileMatcher(m);
        excluded = unionWhere(values, (v) => !pred(v));
      }
      if (result === null) result = Uint32Array.from(this.all.refs);
      result = subtract(result, excluded);
      if (result.length === 0) return EMPTY;
    }
    return result ?? Uint32Array.from(this.all.refs);
  }

  /** Every label name used by the tenant's series (unsorted). */
  names(): IterableIterator<string> {
    return this.postings.keys();
  }

  /** Every value of `name` with its series refs. */
  values(name: string): ReadonlyMap<string, { readonly refs: readonly number[] }> | undefined {
    return this.postings.get(name);
  }
}

/**
 * Union of the postings of values matching regex `pattern` (`pred` is its compiled form). When every
 * top-level alternative starts with a literal, only values with one of those prefixes are tested (found
 * by binary search in the sorted value list), as Prometheus does, so `instance=~"host-12.*"` over a million
 * values tests a handful.
 */
function unionMatching(values: ValueMap, pattern: string, pred: (v: string) => boolean): Postings {
  const prefixes = literalPrefixes(pattern);
  if (prefixes === null || values.size < 64) return unionWhere(values, pred);
  const sorted = values.sortedValues();
  const hits: RefList[] = [];
  for (const prefix of new Set(prefixes)) {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < sorted.length && sorted[i]!.startsWith(prefix); i++) {
      if (pred(sorted[i]!)) hits.push(values.get(sorted[i]!)!);
    }
  }
  return unionLists(hits);
}

function unionLists(lists: readonly RefList[]): Postings {
  if (lists.length === 0) return EMPTY;
  if (lists.length === 1) return Uint32Array.from(lists[0]!.refs);
  let total = 0;
  for (const l of lists) total += l.refs.length;
  const out = new Uint32Array(total);
  let pos = 0;
  for (const l of lists) for (let i = 0; i < l.refs.length; i++) out[pos++] = l.refs[i]!;
  return out.sort();
}

function unionWhere(values: Map<string, RefList>, pred: (v: string) => boolean): Postings {
  const parts: number[][] = [];
  let total = 0;
  for (const [value, list] of values) {
    if (pred(value)) {
      parts.push(list.refs);
      total += list.refs.length;
    }
  }
  if (parts.length === 0) return EMPTY;
  if (parts.length === 1) return Uint32Array.from(parts[0]!);
  const out = new Uint32Array(total);
  let pos = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) out[pos++] = p[i]!;
  }
  // A series has one value per name, so the parts are disjoint: sorting is enough.
  return out.sort();
}

/** Intersection of two ascending lists. */
export function intersect(a: Postings, b: Postings): Postings {
  const out = new Uint32Array(Math.min(a.length, b.length));
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out[n++] = x;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out.subarray(0, n);
}

/** Elements of ascending `a` not in ascending `b`. */
export function subtract(a: Postings, b: Postings): Postings {
  if (b.length === 0) return a;
  const out = new Uint32Array(a.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length) {
    const x = a[i]!;
    while (j < b.length && b[j]! < x) j++;
    if (j < b.length && b[j] === x) {
      i++;
      continue;
    }
    out[n++] = x;
    i++;
  }
  return out.subarray(0, n);
}
