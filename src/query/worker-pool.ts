import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { HeimdallError } from '../model/index.ts';
import type { TenantId } from '../model/index.ts';
import type { EncodedQueryResult, LogQueryable, MetricQueryable, TraceQueryable } from '../storage/index.ts';
import { fromWireError, toWireError } from './protocol.ts';
import type { FromWorker, QueryJob, ToWorker } from './protocol.ts';
import { QueryStorageSession } from './storage-server.ts';

/** How the pool runs queries; the config keys under `query:` (README) set them. */
export interface QueryPoolOptions {
  /** Worker threads, each evaluating one query at a time. */
  readonly workers: number;
  /** V8 heap limit per worker (`query.worker_memory_limit`). */
  readonly workerHeapBytes: number;
  /** Queries of one tenant key evaluated at once (`query.max_concurrent_per_tenant`). */
  readonly maxConcurrentPerTenant: number;
  /** Queries of one tenant key waiting (`query.max_queued_per_tenant`); beyond: 429. */
  readonly maxQueuedPerTenant: number;
  /** Longest wait in the queue (`query.queue_timeout`); beyond: 503. */
  readonly queueTimeoutMs: number;
  /** How long a canceled or overdue query may take to stop before its worker is terminated (`query.cancel_grace_period`). */
  readonly cancelGraceMs: number;
  readonly logger?: Logger;
}

/** The queryable a query reads; the worker reaches it through a {@link QueryStorageSession}. */
export interface PoolQueryable {
  readonly metrics?: MetricQueryable;
  readonly logs?: LogQueryable;
  readonly traces?: TraceQueryable;
}

/** One query's request to the pool. */
export interface PoolQuery {
  readonly queryable: PoolQueryable;
  readonly tenants: readonly TenantId[];
  readonly job: QueryJob;
  /** The query's time budget; the worker is terminated if it has not answered `cancelGraceMs` after it. */
  readonly timeoutMs: number;
  /** Names the setting of the timeout in the error a terminated query gets, e.g. `metrics.query.timeout`. */
  readonly timeoutSetting: string;
  readonly signal?: AbortSignal;
}

interface Task {
  readonly id: number;
  readonly key: string;
  readonly q: PoolQuery;
  readonly resolve: (r: EncodedQueryResult) => void;
  readonly reject: (e: Error) => void;
  settled: boolean;
  queueTimer?: NodeJS.Timeout;
  slot?: Slot;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  task?: Task;
  session?: QueryStorageSession;
  sessionAbort?: AbortController;
  /** Fires when the running query overstays (its budget plus grace, or grace after a cancel): terminate. */
  watchdog?: NodeJS.Timeout;
  /** Set once the running task was answered early (canceled, timed out) and the worker is asked to stop. */
  stopping?: boolean;
  /** Why the worker died, for the answer of its query. */
  failure?: Error;
  exited: boolean;
}

const MIB = 1024 * 1024;
/**
 * A query allocates its per-series step arrays, label sets and result JSON in bursts of tens of MB that
 * mostly die together when it ends. With V8's default young generation (16 MiB semi-spaces) they are
 * scavenged and promoted repeatedly: GC was a fifth to a quarter of the metrics bench's range-query CPU
 * (`bench/metrics/profile-queries.ts --prof`); with 32 MiB semi-spaces (the young generation is three of them)
 * GC time fell for most bench queries there (`rate` 283 → 104 ms, `topk` 592 → 424 ms). Reserved per worker,
 * committed only as it fills.
 */
const QUERY_WORKER_YOUNG_GENERATION_MB = 96;

/**
 * Runs queries on worker threads so that evaluation never blocks the serving thread: `/ready`, writes and
 * other tenants' reads keep answering while queries run.
 *
 * Scheduling follows Mimir's query scheduler: one queue per tenant key (the federated `a|b` set counts as one
 * key), served round-robin, with at most `maxConcurrentPerTenant` running per key. A full queue answers
 * `rate_limited` (429), a query that waited `queueTimeoutMs` answers `unavailable` (503), both with
 * `Retry-After`.
 *
 * Cancellation: the query's `signal` (client gone, server stopping) and its time budget both ask the worker
 * to stop through its AbortSignal; a worker that has not stopped within `cancelGraceMs` is terminated and
 * replaced. A worker that runs out of heap (`workerHeapBytes`) takes only its own query down: that query
 * fails with an `execution` error naming the limit, and a fresh worker takes its place.
 */
export class QueryWorkerPool {
  private readonly opts: QueryPoolOptions;
  private readonly entry: URL;
  private readonly fromSource: boolean;
  private readonly slots: Slot[] = [];
  private readonly queues = new Map<string, Task[]>();
  private readonly runningByKey = new Map<string, number>();
  private nextId = 1;
  private closed = false;

  constructor(opts: QueryPoolOptions) {
    this.opts = opts;
    // Compiled, this module is dist/query/worker-pool.js beside query-worker.js; under tsx both are .ts.
    this.fromSource = import.meta.url.endsWith('.ts');
    this.entry = new URL(this.fromSource ? './query-worker.ts' : './query-worker.js', import.meta.url);
    for (let i = 0; i < opts.workers; i++) this.slots.push(this.spawn());
  }

  /** Queries waiting for a worker, over all tenants. */
  get queued(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /** Workers evaluating (or being stopped from evaluating) a query. */
  get busy(): number {
    return this.slots.filter((s) => s.task !== undefined).length;
  }

  /** Runs one query; rejects with a HeimdallError (see the class comment for the kinds). */
  run(q: PoolQuery): Promise<EncodedQueryResult> {
    if (this.closed) return Promise.reject(shuttingDown());
    if (q.signal?.aborted) return Promise.reject(canceled());
    const key = q.tenants.join('|');
    const queue = this.queues.get(key) ?? [];
    if (queue.length >= this.opts.maxQueuedPerTenant && !this.canStartNow(key)) {
      return Promise.reject(
        new HeimdallError('rate_limited', `too many outstanding requests: the tenant's query queue is full (query.max_queued_per_tenant = ${this.opts.maxQueuedPerTenant})`, {
          code: 'query_queue_full',
          retryAfterSeconds: 1,
        }),
      );
    }
    return new Promise<EncodedQueryResult>((resolve, reject) => {
      const task: Task = { id: this.nextId++, key, q, resolve, reject, settled: false };
      task.queueTimer = setTimeout(() => this.expireQueued(task), this.opts.queueTimeoutMs);
      task.queueTimer.unref();
      if (q.signal) {
        task.onAbort = () => this.cancel(task, canceled());
        q.signal.addEventListener('abort', task.onAbort, { once: true });
      }
      queue.push(task);
      this.queues.set(key, queue);
      this.dispatch();
    });
  }

  /**
   * Refuses new queries, cancels queued and running ones (they answer `unavailable`, retryable, so a client
   * retries against the next instance), waits up to the grace period for workers to stop, then terminates
   * them all.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const queue of this.queues.values()) for (const t of [...queue]) this.cancel(t, shuttingDown());
    for (const s of this.slots) if (s.task) this.cancel(s.task, shuttingDown());
    const deadline = Date.now() + this.opts.cancelGraceMs;
    while (this.slots.some((s) => s.task !== undefined) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await Promise.allSettled(this.slots.map((s) => s.worker.terminate()));
  }

  private canStartNow(key: string): boolean {
    return this.slots.some((s) => s.task === undefined && !s.exited) && (this.runningByKey.get(key) ?? 0) < this.opts.maxConcurrentPerTenant;
  }

  private spawn(): Slot {
    const options = {
      resourceLimits: { maxOldGenerationSizeMb: Math.max(16, Math.floor(this.opts.workerHeapBytes / MIB)), maxYoungGenerationSizeMb: QUERY_WORKER_YOUNG_GENERATION_MB },
      name: 'heimdall-query',
    };
    // From source (tests, HEIMDALL_FROM_SOURCE) the thread needs tsx's loader before it can import .ts:
    // neither `--import tsx` nor a main-thread `register()` reaches a worker's entry on Node 20.
    const worker = this.fromSource
      ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(this.entry.href)}); });`, { ...options, eval: true })
      : new Worker(this.entry, options);
    const slot: Slot = { worker, exited: false };
    worker.on('message', (msg: FromWorker) => this.onMessage(slot, msg));
    worker.on('error', (err: Error) => {
      slot.failure = (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? new HeimdallError('execution', `query processing ran out of memory: it needs more than the query worker heap limit (query.worker_memory_limit = ${Math.floor(this.opts.workerHeapBytes / MIB)}MiB)`, { code: 'query_out_of_memory', cause: err })
        : new Error(`query worker failed: ${err.message}`, { cause: err });
    });
    worker.on('exit', (code) => this.onExit(slot, code));
    // An idle worker must not keep a stopping process alive.
    worker.unref();
    return slot;
  }

  private dispatch(): void {
    if (this.closed) return;
    for (const slot of this.slots) {
      if (slot.task !== undefined || slot.exited) continue;
      const task = this.nextRunnable();
      if (!task) return;
      this.start(slot, task);
    }
  }

  /** The next task round-robin over tenant keys, skipping keys at their concurrency limit. */
  private nextRunnable(): Task | undefined {
    for (const [key, queue] of this.queues) {
      if ((this.runningByKey.get(key) ?? 0) >= this.opts.maxConcurrentPerTenant) continue;
      const task = queue.shift();
      // Re-inserting moves the key to the back: the next pick starts with another tenant.
      this.queues.delete(key);
      if (queue.length > 0) this.queues.set(key, queue);
      if (task) return task;
    }
    return undefined;
  }

  private start(slot: Slot, task: Task): void {
    clearTimeout(task.queueTimer);
    task.slot = slot;
    slot.task = task;
    slot.stopping = false;
    this.runningByKey.set(task.key, (this.runningByKey.get(task.key) ?? 0) + 1);
    slot.sessionAbort = new AbortController();
    slot.session = new QueryStorageSession(task.q.queryable, slot.sessionAbort.signal);
    slot.watchdog = setTimeout(() => this.overdue(slot, task), task.q.timeoutMs + this.opts.cancelGraceMs);
    slot.watchdog.unref();
    slot.worker.ref();
    const msg: ToWorker = { t: 'run', id: task.id, tenants: task.q.tenants, job: task.q.job, timeoutMs: task.q.timeoutMs };
    slot.worker.postMessage(msg);
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    const task = slot.task;
    if (!task || task.id !== msg.id) return;
    switch (msg.t) {
      case 'call': {
        const session = slot.session;
        if (!session) return;
        session.handle(msg.op, msg.args).then(
          (reply) => {
            if (slot.task === task) slot.worker.postMessage({ t: 'reply', callId: msg.callId, ok: true, value: reply.value } satisfies ToWorker, reply.transfer);
          },
          (err: unknown) => {
            if (slot.task === task) slot.worker.postMessage({ t: 'reply', callId: msg.callId, ok: false, error: toWireError(err) } satisfies ToWorker);
          },
        );
        return;
      }
      case 'done':
        this.settle(task, undefined, msg.result);
        this.finish(slot);
        return;
      case 'failed':
        this.settle(task, fromWireError(msg.error));
        this.finish(slot);
        return;
    }
  }

  /** The worker is free again: release the query's storage and take the next one. */
  private finish(slot: Slot): void {
    const task = slot.task;
    if (task) this.runningByKey.set(task.key, (this.runningByKey.get(task.key) ?? 1) - 1);
    if (task && this.runningByKey.get(task.key) === 0) this.runningByKey.delete(task.key);
    clearTimeout(slot.watchdog);
    slot.sessionAbort?.abort();
    const session = slot.session;
    slot.task = undefined;
    slot.session = undefined;
    slot.sessionAbort = undefined;
    slot.stopping = false;
    if (!slot.exited) slot.worker.unref();
    void session?.close();
    this.dispatch();
  }

  private settle(task: Task, err: Error | undefined, result?: EncodedQueryResult): void {
    if (task.settled) return;
    task.settled = true;
    clearTimeout(task.queueTimer);
    if (task.onAbort) task.q.signal?.removeEventListener('abort', task.onAbort);
    if (err) task.reject(err);
    else task.resolve(result!);
  }

  private expireQueued(task: Task): void {
    if (task.slot || task.settled) return;
    this.removeQueued(task);
    const seconds = this.opts.queueTimeoutMs / 1000;
    this.settle(
      task,
      new HeimdallError('unavailable', `the query waited ${seconds}s for a free query worker (query.queue_timeout); retry later`, {
        code: 'query_queue_timeout',
        retryAfterSeconds: Math.max(1, Math.ceil(seconds / 10)),
      }),
    );
  }

  private removeQueued(task: Task): void {
    const queue = this.queues.get(task.key);
    if (!queue) return;
    const i = queue.indexOf(task);
    if (i >= 0) queue.splice(i, 1);
    if (queue.length === 0) this.queues.delete(task.key);
  }

  /** Answers `task` with `err` now; a running one is asked to stop and terminated after the grace period. */
  private cancel(task: Task, err: Error): void {
    if (task.settled) return;
    const slot = task.slot;
    if (!slot) {
      this.removeQueued(task);
      this.settle(task, err);
      return;
    }
    this.settle(task, err);
    this.stopRunning(slot, task);
  }

  private stopRunning(slot: Slot, task: Task): void {
    if (slot.stopping || slot.task !== task) return;
    slot.stopping = true;
    slot.sessionAbort?.abort();
    slot.worker.postMessage({ t: 'cancel', id: task.id } satisfies ToWorker);
    clearTimeout(slot.watchdog);
    slot.watchdog = setTimeout(() => this.terminate(slot, 'did not stop within query.cancel_grace_period after it was canceled'), this.opts.cancelGraceMs);
    slot.watchdog.unref();
  }

  /** The running query is past its budget and the grace period: answer it with the timeout, stop the worker. */
  private overdue(slot: Slot, task: Task): void {
    if (slot.task !== task) return;
    this.settle(task, new HeimdallError('timeout', `query timed out after ${task.q.timeoutMs / 1000}s (${task.q.timeoutSetting})`, { code: 'query_timeout' }));
    this.terminate(slot, 'ran past its timeout and did not stop');
  }

  private terminate(slot: Slot, why: string): void {
    if (slot.exited) return;
    this.opts.logger?.warn({ why, tenant: slot.task?.key, threadId: slot.worker.threadId }, 'terminating a query worker');
    void slot.worker.terminate();
  }

  private onExit(slot: Slot, code: number): void {
    slot.exited = true;
    clearTimeout(slot.watchdog);
    const task = slot.task;
    if (task) {
      const why = slot.failure ?? new Error(`query worker exited with code ${code} while evaluating`);
      if (!task.settled && slot.failure === undefined) this.opts.logger?.error({ code, tenant: task.key }, 'query worker exited');
      if (slot.failure && !(slot.failure instanceof HeimdallError)) this.opts.logger?.error({ err: slot.failure, tenant: task.key }, 'query worker failed');
      this.settle(task, why);
      this.finish(slot);
    }
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    if (this.closed) return;
    this.slots[i] = this.spawn();
    this.dispatch();
  }
}

function canceled(): HeimdallError {
  return new HeimdallError('canceled', 'the query was canceled', { code: 'query_canceled' });
}

function shuttingDown(): HeimdallError {
  return new HeimdallError('unavailable', 'the server is shutting down; the query was canceled', { code: 'shutting_down', retryAfterSeconds: 1 });
}
