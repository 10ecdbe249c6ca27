/*
 * The entry of a query worker thread (see worker-pool.ts): evaluates one query at a time with the real
 * PromQL/LogQL/TraceQL engines over storage proxied to the serving thread, encodes the answer to JSON here, and
 * posts back the text (or transfers its bytes). A `cancel` aborts the running query's signal; a query that
 * ignores it is the pool's to terminate.
 */
import { parentPort } from 'node:worker_threads';
import { LogqlEngine } from '../logql/index.ts';
import { PromqlEngine } from '../promql/index.ts';
import { TraceqlEngine } from '../traceql/index.ts';
import type { TenantId } from '../model/index.ts';
import type { EncodedQueryResult } from '../storage/index.ts';
import { InProcessLogQueryEngine, InProcessMetricQueryEngine } from './in-process-engines.ts';
import { fromWireError, toWireError } from './protocol.ts';
import type { FromWorker, QueryJob, StorageOp, ToWorker } from './protocol.ts';
import { RemoteLogQueryable, RemoteMetricQueryable, RemoteTraceQueryable } from './storage-client.ts';
import type { StorageCall } from './storage-client.ts';

const port = parentPort;
if (!port) throw new Error('query-worker.ts runs only as a worker thread');

const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
const running = new Map<number, AbortController>();
let nextCallId = 1;

function post(msg: FromWorker): void {
  // An answer encoded as bytes moves to the serving thread instead of being copied.
  if (msg.t === 'done' && typeof msg.result.dataJson !== 'string') port!.postMessage(msg, [msg.result.dataJson.buffer as ArrayBuffer]);
  else port!.postMessage(msg);
}

function storageCall(id: number): StorageCall {
  return (op: StorageOp, args: readonly unknown[]) =>
    new Promise((resolve, reject) => {
      const callId = nextCallId++;
      pending.set(callId, { resolve, reject });
      post({ t: 'call', id, callId, op, args });
    });
}

async function run(id: number, tenants: readonly TenantId[], job: QueryJob, timeoutMs: number | undefined, signal: AbortSignal): Promise<EncodedQueryResult> {
  const call = storageCall(id);
  const controls = { signal, ...(timeoutMs === undefined ? {} : { timeoutMs }) };
  if (job.lang === 'promql') {
    const engine = new InProcessMetricQueryEngine(new PromqlEngine(job.engine));
    const queryable = new RemoteMetricQueryable(call);
    return job.mode === 'instant' ? engine.instant(queryable, tenants, job.query, controls) : engine.range(queryable, tenants, job.query, controls);
  }
  if (job.lang === 'traceql') {
    // The TraceQL engine encodes Tempo's JSON itself; it needs no in-process adapter.
    const engine = new TraceqlEngine(job.engine);
    const queryable = new RemoteTraceQueryable(call);
    if (job.mode === 'search') return engine.search(queryable, tenants, job.query, controls);
    return job.mode === 'instant' ? engine.instant(queryable, tenants, job.query, controls) : engine.range(queryable, tenants, job.query, controls);
  }
  const engine = new InProcessLogQueryEngine(new LogqlEngine(job.engine));
  const queryable = new RemoteLogQueryable(call);
  return job.mode === 'instant' ? engine.instant(queryable, tenants, job.query, controls) : engine.range(queryable, tenants, job.query, controls);
}

port.on('message', (msg: ToWorker) => {
  switch (msg.t) {
    case 'run': {
      const controller = new AbortController();
      running.set(msg.id, controller);
      void run(msg.id, msg.tenants, msg.job, msg.timeoutMs, controller.signal)
        .then(
          (result) => post({ t: 'done', id: msg.id, result }),
          (err: unknown) => post({ t: 'failed', id: msg.id, error: toWireError(err) }),
        )
        .finally(() => running.delete(msg.id));
      return;
    }
    case 'cancel':
      running.get(msg.id)?.abort(new DOMException('the query was canceled', 'AbortError'));
      return;
    case 'reply': {
      const p = pending.get(msg.callId);
      pending.delete(msg.callId);
      if (!p) return;
      if (msg.ok) p.resolve(msg.value);
      else p.reject(fromWireError(msg.error));
      return;
    }
  }
});
