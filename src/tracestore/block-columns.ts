import type { Attribute, AttributeScalar, AttributeValue } from '../model/index.ts';

/**
 * The attribute struct of a block's key/value lists (docs/formats/tracestore.md, "Blocks"): one of `s`, `n`,
 * `b` holds a scalar by type (`n` is a double: every number the model holds, NaN and infinities included),
 * `a` an array as JSON text (non-finite numbers as `{"$f": "NaN"}`, as in the WAL).
 */
export const ATTR_TYPE = 'STRUCT(k VARCHAR, s VARCHAR, n DOUBLE, b BOOLEAN, a VARCHAR)';

/** A well-known attribute kept in its own column when its value has the column's type. */
export interface DedicatedColumn {
  /** The attribute key. */
  readonly key: string;
  /** The Parquet column. */
  readonly column: string;
  readonly type: 'VARCHAR' | 'BIGINT';
}

/**
 * Resource attributes with their own columns (Tempo's vParquet dedicated resource columns, plus the
 * Kubernetes names Heimdall's tenancy reads).
 */
export const RESOURCE_COLUMNS: readonly DedicatedColumn[] = [
  { key: 'service.name', column: 'service_name', type: 'VARCHAR' },
  { key: 'k8s.namespace.name', column: 'k8s_namespace_name', type: 'VARCHAR' },
  { key: 'k8s.pod.name', column: 'k8s_pod_name', type: 'VARCHAR' },
  { key: 'k8s.container.name', column: 'k8s_container_name', type: 'VARCHAR' },
  { key: 'k8s.cluster.name', column: 'k8s_cluster_name', type: 'VARCHAR' },
  { key: 'cluster', column: 'cluster', type: 'VARCHAR' },
  { key: 'namespace', column: 'namespace', type: 'VARCHAR' },
  { key: 'pod', column: 'pod', type: 'VARCHAR' },
  { key: 'container', column: 'container', type: 'VARCHAR' },
];

/** Span attributes with their own columns (old and new HTTP semantic conventions, databases, RPC). */
export const SPAN_COLUMNS: readonly DedicatedColumn[] = [
  { key: 'http.method', column: 'http_method', type: 'VARCHAR' },
  { key: 'http.request.method', column: 'http_request_method', type: 'VARCHAR' },
  { key: 'http.status_code', column: 'http_status_code', type: 'BIGINT' },
  { key: 'http.response.status_code', column: 'http_response_status_code', type: 'BIGINT' },
  { key: 'http.url', column: 'http_url', type: 'VARCHAR' },
  { key: 'url.full', column: 'url_full', type: 'VARCHAR' },
  { key: 'http.route', column: 'http_route', type: 'VARCHAR' },
  { key: 'db.system', column: 'db_system', type: 'VARCHAR' },
  { key: 'rpc.service', column: 'rpc_service', type: 'VARCHAR' },
];

/** An attribute list split into dedicated values and the rest, with where the dedicated ones stood. */
interface SplitAttributes {
  /** Per dedicated column, its value or null. */
  readonly dedicated: (string | bigint | null)[];
  /** The other attributes, in their order. */
  readonly rest: Attribute[];
  /**
   * Where the dedicated values stood, `<column index>@<position>` joined by commas in position order, or null
   * when there are none: the list is rebuilt exactly, order included.
   */
  readonly slots: string | null;
}

/** Splits `list` by `columns`: the first attribute of a dedicated key with the column's type goes to it. */
export function splitAttributes(list: readonly Attribute[], columns: readonly DedicatedColumn[], index: ReadonlyMap<string, number>): SplitAttributes {
  const dedicated: (string | bigint | null)[] = new Array<string | bigint | null>(columns.length).fill(null);
  let rest: Attribute[] | undefined;
  let slots: string | null = null;
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    const c = index.get(a.key);
    let v: string | bigint | null = null;
    if (c !== undefined && dedicated[c] === null) {
      const col = columns[c]!;
      if (col.type === 'VARCHAR' && typeof a.value === 'string') v = a.value;
      else if (col.type === 'BIGINT' && typeof a.value === 'number' && Number.isSafeInteger(a.value) && !Object.is(a.value, -0)) v = BigInt(a.value);
    }
    if (v === null) {
      rest?.push(a);
      continue;
    }
    rest ??= list.slice(0, i);
    dedicated[c!] = v;
    slots = slots === null ? `${c}@${i}` : `${slots},${c}@${i}`;
  }
  return { dedicated, rest: rest ?? (list as Attribute[]), slots };
}

/** The inverse of {@link splitAttributes}. */
export function joinAttributes(rest: Attribute[], columns: readonly DedicatedColumn[], values: readonly unknown[], slots: string | null): Attribute[] {
  if (slots === null) return rest;
  const out = rest.slice();
  for (const slot of slots.split(',')) {
    const at = slot.indexOf('@');
    const c = Number(slot.slice(0, at));
    const pos = Number(slot.slice(at + 1));
    const col = columns[c]!;
    const raw = values[c];
    const value = col.type === 'BIGINT' ? Number(raw) : (raw as string);
    out.splice(pos, 0, { key: col.key, value });
  }
  return out;
}

/** A column index by attribute key. */
export function columnIndex(columns: readonly DedicatedColumn[]): Map<string, number> {
  return new Map(columns.map((c, i) => [c.key, i]));
}

/** The struct fields of one attribute as appended to the staging table. */
interface AttrCells {
  readonly s: string | null;
  readonly n: number | null;
  readonly b: boolean | null;
  readonly a: string | null;
}

/** An attribute value as the struct's cells. */
export function attrCells(v: AttributeValue): AttrCells {
  if (Array.isArray(v)) return { s: null, n: null, b: null, a: JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? { $f: String(x) } : x)) };
  if (typeof v === 'string') return { s: v, n: null, b: null, a: null };
  if (typeof v === 'number') return { s: null, n: v, b: null, a: null };
  return { s: null, n: null, b: v as boolean, a: null };
}

/** An attribute struct as read back. */
export interface AttrRow {
  readonly k: string;
  readonly s: string | null;
  readonly n: number | null;
  readonly b: boolean | null;
  readonly a: string | null;
}

/** The attributes of a list column as read back (null for an absent optional list). */
export function attributesOf(rows: readonly AttrRow[] | null): Attribute[] {
  if (!rows) return [];
  return rows.map((r) => ({ key: r.k, value: valueOf(r) }));
}

function valueOf(r: AttrRow): AttributeValue {
  if (r.a !== null) {
    return (JSON.parse(r.a) as unknown[]).map((x) =>
      x !== null && typeof x === 'object' && '$f' in x ? Number((x as { $f: string }).$f) : (x as AttributeScalar),
    );
  }
  if (r.s !== null) return r.s;
  if (r.n !== null) return r.n;
  return r.b!;
}
