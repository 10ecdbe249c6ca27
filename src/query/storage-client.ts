import type { AttributeScalar, LabelMatcher, Labels, TenantId, TimeRange } from '../model/index.ts';
import type {
  LogCountParams,
  LogIndexStats,
  LogQuerier,
  LogQueryable,
  LogSelectParams,
  LogStreamBatch,
  LogStreamCounts,
  MetricQuerier,
  MetricQueryable,
  SelectHints,
  SeriesData,
  AttributeScope,
  StoredTrace,
  TraceQuerier,
  TraceQueryable,
  SpanCountParams,
  SpanCountRow,
  TraceSelectParams,
  TraceTimeRange,
} from '../storage/index.ts';
import type { StorageOp } from './protocol.ts';

/** Calls the serving thread's {@link QueryStorageSession} of the running query. */
export type StorageCall = (op: StorageOp, args: readonly unknown[]) => Promise<unknown>;

/**
 * Pulls an iterator of the serving thread one batch per round trip, so storage never runs ahead of the
 * engine (a slow evaluation does not pile batches up in memory). Stopping early closes it there.
 */
async function* remoteBatches<T>(call: StorageCall, open: Promise<unknown>): AsyncGenerator<T> {
  const handle = (await open) as number;
  while (true) {
    const batch = (await call('next', [handle])) as T | undefined;
    if (batch === undefined) return;
    yield batch;
  }
}

/** Signals cannot cross threads: the worker drops them; the serving thread applies the query's own. */
function withoutSignal<T extends { signal?: AbortSignal }>(p: T): Omit<T, 'signal'> {
  const { signal: _signal, ...rest } = p;
  return rest;
}

/** A {@link MetricQueryable} whose reads run in the serving thread (the worker side of a query). */
export class RemoteMetricQueryable implements MetricQueryable {
  private readonly call: StorageCall;

  constructor(call: StorageCall) {
    this.call = call;
  }

  async querier(tenants: readonly TenantId[], range: TimeRange): Promise<MetricQuerier> {
    const call = this.call;
    const handle = (await call('metrics.open', [tenants, range])) as number;
    return {
      select: (matchers: readonly LabelMatcher[], hints?: SelectHints): AsyncIterable<readonly SeriesData[]> =>
        remoteBatches<readonly SeriesData[]>(call, call('metrics.select', [handle, matchers, hints ? withoutSignal(hints) : undefined])),
      labelNames: async (matchers?: readonly LabelMatcher[], limit?: number) => (await call('metrics.labelNames', [handle, matchers, limit])) as string[],
      labelValues: async (name: string, matchers?: readonly LabelMatcher[], limit?: number) =>
        (await call('metrics.labelValues', [handle, name, matchers, limit])) as string[],
      close: async () => {
        await call('close', [handle]);
      },
    };
  }
}

/** A {@link LogQueryable} whose reads run in the serving thread (the worker side of a query). */
export class RemoteLogQueryable implements LogQueryable {
  private readonly call: StorageCall;

  constructor(call: StorageCall) {
    this.call = call;
  }

  async querier(tenants: readonly TenantId[]): Promise<LogQuerier> {
    const call = this.call;
    const opened = (await call('logs.open', [tenants])) as { handle: number; counts: boolean; stats: boolean };
    const handle = opened.handle;
    const querier: LogQuerier = {
      select: (params: LogSelectParams): AsyncIterable<readonly LogStreamBatch[]> =>
        remoteBatches<readonly LogStreamBatch[]>(call, call('logs.select', [handle, withoutSignal(params)])),
      labelNames: async (range: TimeRange, matchers?: readonly LabelMatcher[]) => (await call('logs.labelNames', [handle, range, matchers])) as string[],
      labelValues: async (name: string, range: TimeRange, matchers?: readonly LabelMatcher[]) =>
        (await call('logs.labelValues', [handle, name, range, matchers])) as string[],
      series: async (range: TimeRange, matchers: readonly LabelMatcher[]) => (await call('logs.series', [handle, range, matchers])) as Labels[],
      close: async () => {
        await call('close', [handle]);
      },
    };
    // The engine falls back to `select` where the store has no pushed-down counts; keep that choice.
    if (opened.counts) {
      querier.counts = async (params: LogCountParams) => (await call('logs.counts', [handle, withoutSignal(params)])) as LogStreamCounts[];
    }
    if (opened.stats) {
      querier.stats = async (range: TimeRange, matchers: readonly LabelMatcher[]) => (await call('logs.stats', [handle, range, matchers])) as LogIndexStats;
    }
    return querier;
  }
}

/** A {@link TraceQueryable} whose reads run in the serving thread (the worker side of a query). */
export class RemoteTraceQueryable implements TraceQueryable {
  private readonly call: StorageCall;

  constructor(call: StorageCall) {
    this.call = call;
  }

  async querier(tenants: readonly TenantId[]): Promise<TraceQuerier> {
    const call = this.call;
    const opened = (await call('traces.open', [tenants])) as { handle: number; newestFirst: boolean; countSpans: boolean };
    const handle = opened.handle;
    const querier: TraceQuerier = {
      // The search stops early only when the store yields newest first; keep what it says.
      newestFirst: opened.newestFirst,
      select: (params: TraceSelectParams): AsyncIterable<readonly StoredTrace[]> =>
        remoteBatches<readonly StoredTrace[]>(call, call('traces.select', [handle, withoutSignal(params)])),
      traceById: async (traceId: string, range?: TraceTimeRange) => (await call('traces.traceById', [handle, traceId, range])) as StoredTrace | undefined,
      tagNames: async (scope: Exclude<AttributeScope, 'any' | 'intrinsic'>, range?: TraceTimeRange) => (await call('traces.tagNames', [handle, scope, range])) as string[],
      tagValues: async (scope: Exclude<AttributeScope, 'intrinsic'>, name: string, range?: TraceTimeRange, limit?: number) =>
        (await call('traces.tagValues', [handle, scope, name, range, limit])) as AttributeScalar[],
      close: async () => {
        await call('close', [handle]);
      },
    };
    if (opened.countSpans) querier.countSpans = async (params: SpanCountParams) => (await call('traces.countSpans', [handle, withoutSignal(params)])) as SpanCountRow[] | undefined;
    return querier;
  }
}
