import { HeimdallError, isHeimdallError } from '../model/index.ts';
import type { ErrorKind, TenantId } from '../model/index.ts';
import type {
  EncodedQueryResult,
  LogqlInstantQuery,
  LogqlRangeQuery,
  PromqlInstantQuery,
  PromqlRangeQuery,
  TraceqlMetricsInstantQuery,
  TraceqlMetricsRangeQuery,
  TraceqlSearchQuery,
} from '../storage/index.ts';
import type { LogqlEngineOptions } from '../logql/index.ts';
import type { PromqlEngineOptions } from '../promql/index.ts';
import type { TraceqlEngineOptions } from '../traceql/index.ts';

/*
 * The messages between the serving thread and a query worker. One query runs on a worker at a time; while it
 * runs, the worker reads storage by calling back into the serving thread (`call`), which owns the real
 * queryables. Everything here is structured-clone safe.
 */

/** What a worker evaluates: one query of one language, with the engine settings to evaluate it under. */
export type QueryJob =
  | { readonly lang: 'promql'; readonly mode: 'instant'; readonly query: PromqlInstantQuery; readonly engine: PromqlEngineOptions }
  | { readonly lang: 'promql'; readonly mode: 'range'; readonly query: PromqlRangeQuery; readonly engine: PromqlEngineOptions }
  | { readonly lang: 'logql'; readonly mode: 'instant'; readonly query: LogqlInstantQuery; readonly engine: LogqlEngineOptions }
  | { readonly lang: 'logql'; readonly mode: 'range'; readonly query: LogqlRangeQuery; readonly engine: LogqlEngineOptions }
  | { readonly lang: 'traceql'; readonly mode: 'search'; readonly query: TraceqlSearchQuery; readonly engine: TraceqlEngineOptions }
  | { readonly lang: 'traceql'; readonly mode: 'instant'; readonly query: TraceqlMetricsInstantQuery; readonly engine: TraceqlEngineOptions }
  | { readonly lang: 'traceql'; readonly mode: 'range'; readonly query: TraceqlMetricsRangeQuery; readonly engine: TraceqlEngineOptions };

/** The storage operations a worker may ask the serving thread for (see storage-server.ts). */
export type StorageOp =
  | 'metrics.open'
  | 'metrics.select'
  | 'metrics.labelNames'
  | 'metrics.labelValues'
  | 'logs.open'
  | 'logs.select'
  | 'logs.labelNames'
  | 'logs.labelValues'
  | 'logs.series'
  | 'logs.counts'
  | 'logs.stats'
  | 'traces.open'
  | 'traces.select'
  | 'traces.traceById'
  | 'traces.tagNames'
  | 'traces.tagValues'
  | 'traces.countSpans'
  | 'next'
  | 'close';

export type ToWorker =
  | {
      readonly t: 'run';
      readonly id: number;
      readonly tenants: readonly TenantId[];
      readonly job: QueryJob;
      readonly timeoutMs?: number;
    }
  | { readonly t: 'cancel'; readonly id: number }
  | { readonly t: 'reply'; readonly callId: number; readonly ok: true; readonly value: unknown }
  | { readonly t: 'reply'; readonly callId: number; readonly ok: false; readonly error: WireError };

export type FromWorker =
  | { readonly t: 'done'; readonly id: number; readonly result: EncodedQueryResult }
  | { readonly t: 'failed'; readonly id: number; readonly error: WireError }
  | { readonly t: 'call'; readonly id: number; readonly callId: number; readonly op: StorageOp; readonly args: readonly unknown[] };

/** An error crossing the thread boundary: classes do not survive structured cloning, kinds and messages do. */
export interface WireError {
  /** Undefined for an error that was no HeimdallError (a bug or I/O failure: `internal` to the client). */
  readonly kind?: ErrorKind;
  readonly code?: string;
  readonly retryAfterSeconds?: number;
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/** Flattens an error for posting to the other thread. */
export function toWireError(err: unknown): WireError {
  if (isHeimdallError(err)) {
    return {
      kind: err.kind,
      code: err.code,
      ...(err.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: err.retryAfterSeconds }),
      name: err.name,
      message: err.message,
      ...(err.stack === undefined ? {} : { stack: err.stack }),
    };
  }
  if (err instanceof Error) return { name: err.name, message: err.message, ...(err.stack === undefined ? {} : { stack: err.stack }) };
  return { name: 'Error', message: String(err) };
}

/**
 * Rebuilds an error posted by {@link toWireError}: a HeimdallError of the same kind, code and message, or
 * for anything else a plain Error keeping name, message and the other thread's stack (logged as internal).
 */
export function fromWireError(w: WireError): Error {
  if (w.kind !== undefined) {
    const err = new HeimdallError(w.kind, w.message, {
      ...(w.code === undefined ? {} : { code: w.code }),
      ...(w.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: w.retryAfterSeconds }),
    });
    err.name = w.name;
    if (w.stack !== undefined) err.stack = w.stack;
    return err;
  }
  const err = new Error(w.message);
  err.name = w.name;
  if (w.stack !== undefined) err.stack = w.stack;
  return err;
}
