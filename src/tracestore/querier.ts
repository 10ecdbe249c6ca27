import { compareStrings } from '../model/index.ts';
import type { AttributeScalar, TenantId } from '../model/index.ts';
import type { AttributeScope, SpanCountParams, SpanCountRow, StoredSpan, StoredTrace, TraceQuerier, TraceSelectParams, TraceTimeRange } from '../storage/index.ts';
import { compileConditions } from './span-condition.ts';
import type { SpanSource, TagScope } from './span-source.ts';

/** Traces assembled and yielded per batch of a select. */
const TRACES_PER_BATCH = 500;
/** The first batch of a newest-first select (later ones double up to TRACES_PER_BATCH). */
const FIRST_NEWEST_BATCH = 32;
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
 * `select` finds the ids of traces with a span that may satisfy the prefilter (pushed into each source, which also
 * tells which of them matched inside the range), checks the range of the few that matched only outside it, then
 * loads the candidates' spans in batches. Not safe for concurrent selects (the seam's contract); `close` is cheap.
 */
export class TraceStoreQuerier implements TraceQuerier {
  private closed = false;

  constructor(
    private readonly host: QuerierHost,
    private readonly tenant: TenantId,
  ) {}

  readonly newestFirst = true;

  async *select(params: TraceSelectParams): AsyncIterable<readonly StoredTrace[]> {
    this.checkOpen();
    const { startNs, endNs, signal } = params;
    if (endNs <= startNs) return;
    const { sources, release } = this.host.acquire();
    try {
      // A trace's spans start within its lifetime of the range: blocks farther off are not read, and the
      // prefilter looks this much wider, so a trace whose matching span started just outside the range is found.
      const near = { startNs: startNs - this.host.matchSlackNs, endNs: endNs + this.host.matchSlackNs };
      // Each candidate with a bound no earlier than its start: the earliest start any source holds.
      const bounds = new Map<string, bigint>();
      const bound = (id: string, start: bigint): void => {
        const had = bounds.get(id);
        if (had === undefined || start < had) bounds.set(id, start);
      };
      const predicate = compileConditions(params.conditions, params.conditionsMatch);
      if (predicate) {
        // With a prefilter, the traces that may match come first (usually few), with the bounds of those whose
        // matching span is in the range; only the others (a match just outside it) need their range checked.
        const filter = { conditions: params.conditions!, match: params.conditionsMatch ?? 'all', predicate };
        const unsure = new Set<string>();
        for (const src of sources) {
          for (const [id, start] of await src.idsMatching(this.tenant, filter, near, { startNs, endNs }, signal)) {
            if (start === undefined) unsure.add(id);
            else bound(id, start);
          }
        }
        for (const id of bounds.keys()) unsure.delete(id);
        if (unsure.size > 0) {
          for (const src of sources) for (const [id, start] of await src.idsInRange(this.tenant, startNs, endNs, signal, unsure)) bound(id, start);
        }
      } else {
        for (const src of sources) for (const [id, start] of await src.idsInRange(this.tenant, startNs, endNs, signal)) bound(id, start);
      }
      const candidates = [...bounds.keys()];
      if (params.order !== 'newest') {
        candidates.sort(compareStrings);
        for (let i = 0; i < candidates.length; i += TRACES_PER_BATCH) {
          signal?.throwIfAborted();
          const traces = await assemble(sources, this.tenant, new Set(candidates.slice(i, i + TRACES_PER_BATCH)), near, signal);
          if (traces.length > 0) yield traces;
        }
        return;
      }
      yield* this.newestFirstBatches(sources, candidates, bounds, near, signal);
    } finally {
      release();
    }
  }

  /**
   * Candidates assembled in order of their start bound, newest first, in batches growing from a few (a search
   * for the newest 20 reads little). A trace's true start is known once assembled and is at most its bound, so
   * a trace is yielded only when no candidate still to be read can start later (or equally late with a smaller
   * id): the yielded order is exactly by start descending, ties by trace id.
   */
  private async *newestFirstBatches(
    sources: readonly SpanSource[],
    candidates: string[],
    bounds: ReadonlyMap<string, bigint>,
    near: TraceTimeRange,
    signal: AbortSignal | undefined,
  ): AsyncIterable<readonly StoredTrace[]> {
    candidates.sort((a, b) => compareNewest(bounds.get(a)!, a, bounds.get(b)!, b));
    let held: { trace: StoredTrace; startNs: bigint }[] = [];
    let size = FIRST_NEWEST_BATCH;
    for (let i = 0; i < candidates.length || held.length > 0; ) {
      signal?.throwIfAborted();
      const batch = candidates.slice(i, i + size);
      i += batch.length;
      size = Math.min(size * 2, TRACES_PER_BATCH);
      for (const trace of await assemble(sources, this.tenant, new Set(batch), near, signal)) {
        held.push({ trace, startNs: trace.spans.length > 0 ? trace.spans[0]!.span.startTimeUnixNs : bounds.get(trace.traceId)! });
      }
      held.sort((a, b) => compareNewest(a.startNs, a.trace.traceId, b.startNs, b.trace.traceId));
      // The next candidate's bound caps every later trace's start.
      const next = candidates[i];
      const cut = next === undefined ? held.length : held.findIndex((h) => compareNewest(h.startNs, h.trace.traceId, bounds.get(next)!, next) > 0);
      const ready = cut < 0 ? held : held.slice(0, cut);
      held = cut < 0 ? [] : held.slice(cut);
      if (ready.length > 0) yield ready.map((h) => h.trace);
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

  async countSpans(params: SpanCountParams): Promise<SpanCountRow[] | undefined> {
    this.checkOpen();
    const { sources, release } = this.host.acquire();
    try {
      const merged = new Map<string, SpanCountRow>();
      for (let i = 0; i < sources.length; i++) {
        const src = sources[i]!;
        // A span a later source also holds (a client's retry after its trace was cut into a block) is that source's
        // to count: only the traces this one holds in range are looked up there (usually few, and few found).
        let counted: Map<string, Set<string>> | undefined;
        if (i < sources.length - 1) {
          const ids = new Set((await src.idsInRange(this.tenant, params.fromNs + 1n, params.toNs + 1n, params.signal)).keys());
          for (const later of sources.slice(i + 1)) {
            for (const [id, spans] of await later.spansOf(this.tenant, ids, undefined, params.signal)) {
              let set = counted?.get(id);
              if (!set) (counted ??= new Map()).set(id, (set = new Set()));
              for (const s of spans) set.add(s.span.spanId);
            }
          }
        }
        const rows = await src.countSpans(this.tenant, params, counted);
        if (rows === undefined) return undefined;
        for (const row of rows) {
          const key = `${row.interval}\u0000${JSON.stringify(row.values)}`;
          const have = merged.get(key);
          merged.set(key, have ? { ...have, count: have.count + row.count } : row);
        }
      }
      return [...merged.values()];
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

/** Order of (start, trace id) pairs: later start first, then smaller id. */
function compareNewest(aStart: bigint, aId: string, bStart: bigint, bId: string): number {
  return aStart > bStart ? -1 : aStart < bStart ? 1 : compareStrings(aId, bId);
}
