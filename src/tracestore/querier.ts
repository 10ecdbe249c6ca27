import { compareStrings } from '../model/index.ts';
import type { AttributeScalar, TenantId } from '../model/index.ts';
import type { AttributeScope, StoredSpan, StoredTrace, TraceQuerier, TraceSelectParams, TraceTimeRange } from '../storage/index.ts';
import { compileConditions } from './span-condition.ts';
import type { SpanSource, TagScope } from './span-source.ts';

/** Traces assembled and yielded per batch of a select. */
const TRACES_PER_BATCH = 500;
/** Default and ceiling of `tagValues`' limit. */
const DEFAULT_TAG_VALUES_LIMIT = 10_000;

/** What a querier reads from its store. */
export interface QuerierHost {
  /** The sources to read, acquired for one read (`release` when done, so blocks are not dropped meanwhile). */
  acquire(): { sources: readonly SpanSource[]; release(): void };
  /**
   * How far outside a select's range a trace's other spans may lie (its longest life in the head plus the
   * idle period): the prefilter looks at spans this much wider, so a trace whose matching span started
   * just outside the range is still found.
   */
  readonly matchSlackNs: bigint;
}

/**
 * A querier over one tenant of the trace store. Every read asks all sources (head and blocks) and assembles
 * a trace's spans from all of them, keeping one span per span id.
 *
 * `select` finds the ids of traces with a span in the range (every source), intersects them with the ids of
 * traces with a span that may satisfy the prefilter (pushed into each source), then loads the candidates'
 * spans in batches. Not safe for concurrent selects (the seam's contract); `close` is cheap.
 */
export class TraceStoreQuerier implements TraceQuerier {
  private closed = false;

  constructor(
    private readonly host: QuerierHost,
    private readonly tenant: TenantId,
  ) {}

  async *select(params: TraceSelectParams): AsyncIterable<readonly StoredTrace[]> {
    this.checkOpen();
    const { startNs, endNs, signal } = params;
    if (endNs <= startNs) return;
    const { sources, release } = this.host.acquire();
    try {
      const ids = new Set<string>();
      for (const src of sources) for (const id of await src.idsInRange(this.tenant, startNs, endNs, signal)) ids.add(id);
      const predicate = compileConditions(params.conditions, params.conditionsMatch);
      let candidates = [...ids];
      if (predicate && ids.size > 0) {
        const filter = { conditions: params.conditions!, match: params.conditionsMatch ?? 'all', predicate };
        const slack = this.host.matchSlackNs;
        const matching = new Set<string>();
        for (const src of sources) {
          for (const id of await src.idsMatching(this.tenant, filter, startNs - slack, endNs + slack, signal)) matching.add(id);
        }
        candidates = candidates.filter((id) => matching.has(id));
      }
      candidates.sort(compareStrings);
      for (let i = 0; i < candidates.length; i += TRACES_PER_BATCH) {
        signal?.throwIfAborted();
        const batch = new Set(candidates.slice(i, i + TRACES_PER_BATCH));
        // A trace's spans start within its lifetime of the range: blocks farther off are not read.
        const near = { startNs: startNs - this.host.matchSlackNs, endNs: endNs + this.host.matchSlackNs };
        const traces = await assemble(sources, this.tenant, batch, near, signal);
        if (traces.length > 0) yield traces;
      }
    } finally {
      release();
    }
  }

  async traceById(traceId: string, range?: TraceTimeRange): Promise<StoredTrace | undefined> {
    this.checkOpen();
    const { sources, release } = this.host.acquire();
    try {
      return (await assemble(sources, this.tenant, new Set([traceId]), range))[0];
    } finally {
      release();
    }
  }

  async tagNames(scope: TagScope, range?: TraceTimeRange): Promise<string[]> {
    this.checkOpen();
    const { sources, release } = this.host.acquire();
    try {
      const names = new Set<string>();
      for (const src of sources) for (const n of await src.tagNames(this.tenant, scope, range)) names.add(n);
      return [...names].sort(compareStrings);
    } finally {
      release();
    }
  }

  async tagValues(scope: AttributeScope, name: string, range?: TraceTimeRange, limit?: number): Promise<AttributeScalar[]> {
    this.checkOpen();
    const max = limit !== undefined && limit > 0 ? Math.min(limit, DEFAULT_TAG_VALUES_LIMIT) : DEFAULT_TAG_VALUES_LIMIT;
    const { sources, release } = this.host.acquire();
    try {
      const values = new Map<string, AttributeScalar>();
      for (const src of sources) {
        if (values.size >= max) break;
        await src.tagValues(this.tenant, scope, name, range, max, values);
      }
      return [...values.entries()].sort((a, b) => compareStrings(a[0], b[0])).map(([, v]) => v);
    } finally {
      release();
    }
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('trace querier used after close');
  }
}

/** The traces of `ids` assembled from every source (one span per span id, ordered by start time). */
async function assemble(
  sources: readonly SpanSource[],
  tenant: TenantId,
  ids: ReadonlySet<string>,
  range: TraceTimeRange | undefined,
  signal?: AbortSignal,
): Promise<StoredTrace[]> {
  const merged = new Map<string, { spans: StoredSpan[]; seen: Set<string> }>();
  for (const src of sources) {
    const found = await src.spansOf(tenant, ids, range, signal);
    for (const [id, spans] of found) {
      let m = merged.get(id);
      if (!m) merged.set(id, (m = { spans: [], seen: new Set() }));
      for (const s of spans) {
        if (m.seen.has(s.span.spanId)) continue;
        m.seen.add(s.span.spanId);
        m.spans.push(s);
      }
    }
  }
  const out: StoredTrace[] = [];
  for (const [traceId, m] of merged) {
    m.spans.sort((a, b) => (a.span.startTimeUnixNs < b.span.startTimeUnixNs ? -1 : a.span.startTimeUnixNs > b.span.startTimeUnixNs ? 1 : compareStrings(a.span.spanId, b.span.spanId)));
    out.push({ traceId, spans: m.spans });
  }
  return out.sort((a, b) => compareStrings(a.traceId, b.traceId));
}
