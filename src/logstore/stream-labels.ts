import type { DuckDBConnection, DuckDBMapValue } from '@duckdb/node-api';
import { quoteString } from '../columnar/index.ts';
import { compileMatcher } from '../model/index.ts';
import type { LabelMatcher, Labels, TenantId } from '../model/index.ts';

/** Tenants whose stream labels are kept; the least recently read beyond this are dropped. */
const MAX_TENANTS = 64;

/**
 * The label sets of each tenant's streams (`log_streams`), read once and kept until the stream index
 * changes, so a query matches its selector in memory instead of reading and decoding every stream's label
 * map from DuckDB (tens of milliseconds per query at 5,000 streams).
 *
 * Contract: `version()` must change after every committed change of `log_streams` (new streams, pruned
 * streams). A load records the version seen before it reads, so a change racing a load makes the next
 * call read again. The returned maps are shared: callers must not modify them.
 */
export class StreamLabelCache {
  private readonly byTenant = new Map<TenantId, { version: number; streams: ReadonlyMap<bigint, Labels> }>();

  constructor(private readonly version: () => number) {}

  /** Every stream of `tenant` with its labels. */
  async all(conn: DuckDBConnection, tenant: TenantId): Promise<ReadonlyMap<bigint, Labels>> {
    const version = this.version();
    const hit = this.byTenant.get(tenant);
    if (hit && hit.version === version) {
      this.byTenant.delete(tenant); // re-inserted: most recently used last
      this.byTenant.set(tenant, hit);
      return hit.streams;
    }
    const r = await conn.runAndReadAll(`SELECT stream_id, labels FROM log_streams WHERE tenant = ${quoteString(tenant)}`);
    const streams = new Map<bigint, Labels>();
    for (const [sid, labels] of r.getRows()) streams.set(sid as bigint, mapToLabels(labels as DuckDBMapValue));
    this.byTenant.delete(tenant);
    this.byTenant.set(tenant, { version, streams });
    while (this.byTenant.size > MAX_TENANTS) this.byTenant.delete(this.byTenant.keys().next().value!);
    return streams;
  }

  /**
   * The streams of `tenant` matching every matcher (RE2, anchored; a missing label reads as ''), and whether
   * that is all of them. With no matchers, or when all match, the shared map itself is returned.
   */
  async matching(conn: DuckDBConnection, tenant: TenantId, matchers: readonly LabelMatcher[]): Promise<{ streams: ReadonlyMap<bigint, Labels>; all: boolean }> {
    const all = await this.all(conn, tenant);
    if (matchers.length === 0) return { streams: all, all: true };
    const preds = matchers.map((m) => ({ name: m.name, pred: compileMatcher(m) }));
    const out = new Map<bigint, Labels>();
    for (const [sid, labels] of all) {
      if (preds.every(({ name, pred }) => pred(Object.hasOwn(labels, name) ? labels[name]! : ''))) out.set(sid, labels);
    }
    return out.size === all.size ? { streams: all, all: true } : { streams: out, all: false };
  }
}

function mapToLabels(m: DuckDBMapValue): Labels {
  // fromEntries defines own properties: a `__proto__` label stays a label.
  return Object.fromEntries(m.entries.map(({ key, value }) => [String(key), String(value)]));
}
