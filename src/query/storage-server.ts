import type { LabelMatcher, TenantId, TimeRange } from '../model/index.ts';
import type {
  LogCountParams,
  LogQuerier,
  LogQueryable,
  LogSelectParams,
  LogStreamBatch,
  MetricQuerier,
  MetricQueryable,
  SeriesData,
  AttributeScope,
  StoredTrace,
  TraceQuerier,
  TraceQueryable,
  SpanCountParams,
  TraceSelectParams,
  TraceTimeRange,
} from '../storage/index.ts';
import type { StorageOp } from './protocol.ts';

/** A reply value and the buffers to transfer (not copy) with it. */
export interface StorageReply {
  readonly value: unknown;
  readonly transfer: ArrayBuffer[];
}

/**
 * The serving-thread side of one running query's storage reads: it owns the real queryable, opens the
 * queriers and iterators the worker asks for, and closes whatever the worker left open when the query ends.
 *
 * Batches leave as fresh copies of their typed arrays, transferred: storage may hand out views of arrays it
 * reuses, and a transfer would detach them under it; a memcpy per series is far cheaper than cloning
 * samples one by one. A batch's copies share a few buffers (see `packed`).
 */
export class QueryStorageSession {
  private readonly metrics: MetricQueryable | undefined;
  private readonly logs: LogQueryable | undefined;
  private readonly traces: TraceQueryable | undefined;
  private readonly signal: AbortSignal;
  private readonly handles = new Map<number, MetricQuerier | LogQuerier | TraceQuerier>();
  private readonly iterators = new Map<number, AsyncIterator<readonly SeriesData[] | readonly LogStreamBatch[] | readonly StoredTrace[]>>();
  private nextHandle = 1;
  /** Iterators whose batches cross as they are (no typed arrays to copy out). */
  private readonly plainIterators = new Set<number>();
  private closed = false;

  constructor(queryable: { metrics?: MetricQueryable; logs?: LogQueryable; traces?: TraceQueryable }, signal: AbortSignal) {
    this.metrics = queryable.metrics;
    this.logs = queryable.logs;
    this.traces = queryable.traces;
    this.signal = signal;
  }

  /** Runs one operation the worker asked for. Rejects with the storage error (the worker rethrows it). */
  async handle(op: StorageOp, args: readonly unknown[]): Promise<StorageReply> {
    if (this.closed) throw new Error('the query has ended');
    switch (op) {
      case 'metrics.open': {
        if (!this.metrics) throw new Error('no metrics queryable for this query');
        const q = await this.metrics.querier(args[0] as TenantId[], args[1] as TimeRange);
        return plain(this.register(q));
      }
      case 'logs.open': {
        if (!this.logs) throw new Error('no logs queryable for this query');
        const q = await this.logs.querier(args[0] as TenantId[]);
        return plain({ handle: this.register(q), counts: q.counts !== undefined, stats: q.stats !== undefined });
      }
      case 'traces.open': {
        if (!this.traces) throw new Error('no traces queryable for this query');
        const q = await this.traces.querier(args[0] as TenantId[]);
        return plain({ handle: this.register(q), newestFirst: q.newestFirst === true, countSpans: q.countSpans !== undefined });
      }
      case 'traces.select': {
        const q = this.querier(args[0]) as TraceQuerier;
        const h = this.iterate(q.select({ ...(args[1] as TraceSelectParams), signal: this.signal }));
        this.plainIterators.add(h);
        return plain(h);
      }
      case 'traces.countSpans': {
        const q = this.querier(args[0]) as TraceQuerier;
        return plain(await q.countSpans!({ ...(args[1] as SpanCountParams), signal: this.signal }));
      }
      case 'traces.traceById':
        return plain(await (this.querier(args[0]) as TraceQuerier).traceById(args[1] as string, args[2] as TraceTimeRange | undefined));
      case 'traces.tagNames':
        return plain(await (this.querier(args[0]) as TraceQuerier).tagNames(args[1] as Exclude<AttributeScope, 'any' | 'intrinsic'>, args[2] as TraceTimeRange | undefined));
      case 'traces.tagValues':
        return plain(
          await (this.querier(args[0]) as TraceQuerier).tagValues(
            args[1] as Exclude<AttributeScope, 'intrinsic'>,
            args[2] as string,
            args[3] as TraceTimeRange | undefined,
            args[4] as number | undefined,
          ),
        );
      case 'metrics.select': {
        const q = this.querier(args[0]) as MetricQuerier;
        const hints = (args[2] ?? {}) as { labelsOnly?: boolean; limit?: number };
        return plain(this.iterate(q.select(args[1] as LabelMatcher[], { ...hints, signal: this.signal })));
      }
      case 'logs.select': {
        const q = this.querier(args[0]) as LogQuerier;
        return plain(this.iterate(q.select({ ...(args[1] as LogSelectParams), signal: this.signal })));
      }
      case 'next': {
        const it = this.iterators.get(args[0] as number);
        if (!it) throw new Error('unknown iterator');
        const r = await it.next();
        if (r.done) {
          this.iterators.delete(args[0] as number);
          this.plainIterators.delete(args[0] as number);
          return plain(undefined);
        }
        // Traces are plain objects (structured clone copies them); metric and log batches hold typed arrays.
        if (this.plainIterators.has(args[0] as number)) return plain(r.value);
        return copyBatch(r.value as readonly SeriesData[] | readonly LogStreamBatch[]);
      }
      case 'metrics.labelNames':
        return plain(await (this.querier(args[0]) as MetricQuerier).labelNames(args[1] as LabelMatcher[] | undefined, args[2] as number | undefined));
      case 'metrics.labelValues':
        return plain(
          await (this.querier(args[0]) as MetricQuerier).labelValues(args[1] as string, args[2] as LabelMatcher[] | undefined, args[3] as number | undefined),
        );
      case 'logs.labelNames':
        return plain(await (this.querier(args[0]) as LogQuerier).labelNames(args[1] as TimeRange, args[2] as LabelMatcher[] | undefined));
      case 'logs.labelValues':
        return plain(await (this.querier(args[0]) as LogQuerier).labelValues(args[1] as string, args[2] as TimeRange, args[3] as LabelMatcher[] | undefined));
      case 'logs.series':
        return plain(await (this.querier(args[0]) as LogQuerier).series(args[1] as TimeRange, args[2] as LabelMatcher[]));
      case 'logs.counts': {
        const q = this.querier(args[0]) as LogQuerier;
        if (!q.counts) throw new Error('this log querier has no counts');
        const rows = await q.counts({ ...(args[1] as LogCountParams), signal: this.signal });
        const transfer: ArrayBuffer[] = [];
        const arrays = packed(rows.flatMap((r) => [r.counts, r.bytes]), (n) => new Float64Array(n), transfer);
        const value = rows.map((r, i) => ({ labels: r.labels, counts: arrays[2 * i]!, bytes: arrays[2 * i + 1]! }));
        return { value, transfer };
      }
      case 'logs.stats': {
        const q = this.querier(args[0]) as LogQuerier;
        if (!q.stats) throw new Error('this log querier has no stats');
        return plain(await q.stats(args[1] as TimeRange, args[2] as LabelMatcher[]));
      }
      case 'close': {
        const q = this.handles.get(args[0] as number);
        this.handles.delete(args[0] as number);
        await q?.close();
        return plain(undefined);
      }
    }
  }

  /** Ends the session: returns every open iterator and closes every open querier. Never rejects. */
  async close(): Promise<void> {
    this.closed = true;
    const iterators = [...this.iterators.values()];
    const queriers = [...this.handles.values()];
    this.iterators.clear();
    this.handles.clear();
    await Promise.allSettled(iterators.map((it) => it.return?.()));
    await Promise.allSettled(queriers.map((q) => q.close()));
  }

  private register(q: MetricQuerier | LogQuerier | TraceQuerier): number {
    const h = this.nextHandle++;
    this.handles.set(h, q);
    return h;
  }

  private iterate(it: AsyncIterable<readonly SeriesData[] | readonly LogStreamBatch[] | readonly StoredTrace[]>): number {
    const h = this.nextHandle++;
    this.iterators.set(h, it[Symbol.asyncIterator]());
    return h;
  }

  private querier(handle: unknown): MetricQuerier | LogQuerier | TraceQuerier {
    const q = this.handles.get(handle as number);
    if (!q) throw new Error('unknown querier');
    return q;
  }
}

function plain(value: unknown): StorageReply {
  return { value, transfer: [] };
}

/**
 * Elements per shared buffer: 64 KiB of 8-byte elements, under glibc's mmap threshold (128 KiB), so the buffers come
 * from the allocator's reused memory. Larger ones are mapped fresh and page-faulted in on every batch, which cost
 * more than the per-array transfers they replaced (rate over 8,400 series of 260 samples got slower).
 */
const PACK_ELEMENTS = 8192;

/**
 * Copies of `arrays`, in order, as views into a few new buffers pushed to `transfer`: a batch of thousands of
 * short series moves as a handful of buffers instead of one per array (each transferred buffer costs an
 * allocation on both threads). An array longer than a buffer gets its own.
 */
function packed<T extends Float64Array | BigInt64Array>(arrays: readonly T[], make: (n: number) => T, transfer: ArrayBuffer[]): T[] {
  const out: T[] = [];
  let i = 0;
  while (i < arrays.length) {
    // Take arrays while they fit one buffer (always at least one).
    let total = arrays[i]!.length;
    let j = i + 1;
    while (j < arrays.length && total + arrays[j]!.length <= PACK_ELEMENTS) total += arrays[j++]!.length;
    const buf = make(total);
    if (total > 0) transfer.push(buf.buffer as ArrayBuffer);
    let at = 0;
    for (; i < j; i++) {
      const a = arrays[i]!;
      buf.set(a as never, at);
      out.push(buf.subarray(at, at + a.length) as T);
      at += a.length;
    }
  }
  return out;
}

/** A metric or log batch with its typed arrays copied out for transfer. */
function copyBatch(batch: readonly SeriesData[] | readonly LogStreamBatch[]): StorageReply {
  const transfer: ArrayBuffer[] = [];
  const items = batch as readonly (SeriesData | LogStreamBatch)[];
  const nanos: BigInt64Array[] = [];
  const floats: Float64Array[] = [];
  for (const s of items) {
    if ('timestampsNs' in s) nanos.push(s.timestampsNs);
    else {
      floats.push(s.timestampsMs, s.values);
      if (s.histogramTimestampsMs !== undefined) floats.push(s.histogramTimestampsMs);
    }
  }
  const nanoCopies = packed(nanos, (n) => new BigInt64Array(n), transfer);
  const floatCopies = packed(floats, (n) => new Float64Array(n), transfer);
  let ni = 0;
  let fi = 0;
  const value = items.map((s) => {
    if ('timestampsNs' in s) {
      return {
        labels: s.labels,
        timestampsNs: nanoCopies[ni++]!,
        lines: s.lines,
        ...(s.structuredMetadata === undefined ? {} : { structuredMetadata: s.structuredMetadata }),
      };
    }
    const timestampsMs = floatCopies[fi++]!;
    const values = floatCopies[fi++]!;
    return {
      labels: s.labels,
      timestampsMs,
      values,
      ...(s.histogramTimestampsMs === undefined ? {} : { histogramTimestampsMs: floatCopies[fi++]! }),
      ...(s.histograms === undefined ? {} : { histograms: s.histograms }),
    };
  });
  return { value, transfer };
}
