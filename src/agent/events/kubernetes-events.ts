import { CoreV1Api, Watch } from '@kubernetes/client-node';
import type { CoreV1Event, CoreV1EventList } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { AgentConfig } from '../../config/index.ts';
import { logfmtLine } from '../../ingest/faro.ts';
import type { LogRecord } from '../../model/index.ts';
import { kubeConfigFor } from '../scrape/kubernetes-discovery.ts';

type EventsConfig = AgentConfig['kubernetes_events'];

/** Wait before listing again after the API failed or a watch ended with an error; doubles up to the maximum. */
const MIN_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

function toMs(t: Date | string | undefined): number | undefined {
  if (t === undefined) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * One event as a log record: stream labels `job` and `namespace` (so the event lands in its namespace's tenant),
 * stamped with the event's last occurrence, and a logfmt line with Alloy's `loki.source.kubernetes_events`
 * keys. The same event (same count, same time) always makes the same entry, so a re-list is dropped as a duplicate
 * by the log store; a repeated event (its count and last timestamp move) is a new line.
 */
export function eventRecord(ev: CoreV1Event, job: string): LogRecord {
  const o = ev.involvedObject;
  const at = toMs(ev.lastTimestamp) ?? toMs(ev.eventTime) ?? toMs(ev.firstTimestamp) ?? toMs(ev.metadata.creationTimestamp) ?? Date.now();
  const kv = new Map<string, string>();
  const add = (k: string, v: string | number | undefined): void => {
    if (v !== undefined && v !== '') kv.set(k, String(v));
  };
  add('name', o.name);
  add('kind', o.kind);
  add('objectAPIversion', o.apiVersion);
  add('objectRV', o.resourceVersion);
  add('eventRV', ev.metadata.resourceVersion);
  add('reportinginstance', ev.reportingInstance);
  add('reportingcontroller', ev.reportingComponent);
  add('sourcecomponent', ev.source?.component);
  add('sourcehost', ev.source?.host);
  add('reason', ev.reason);
  add('type', ev.type);
  add('count', ev.count);
  add('msg', ev.message);
  const namespace = o.namespace ?? ev.metadata.namespace ?? '';
  return {
    labels: { job, ...(namespace !== '' ? { namespace } : {}) },
    entries: [{ timestampNs: BigInt(at) * 1_000_000n, line: logfmtLine(kv) }],
  };
}

/**
 * The eventrouter role: lists the cluster's events (or those of `namespaces`) through the Kubernetes API, then
 * watches from the list's resource version, writing each event as a log line through `send` (the agent's record
 * sink, so to its namespace's tenant). When the watch ends (the API closes it, or its version expired) or the API
 * cannot be reached, it lists again after a backoff.
 */
export class KubernetesEvents {
  private readonly api: CoreV1Api;
  private readonly watcher: Watch;
  private readonly stopController = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    private readonly config: EventsConfig,
    private readonly send: (records: LogRecord[]) => Promise<void>,
    private readonly logger: Logger,
  ) {
    const kc = kubeConfigFor(config);
    this.api = kc.makeApiClient(CoreV1Api);
    this.watcher = new Watch(kc);
  }

  start(): void {
    const scopes = this.config.namespaces.length === 0 ? [undefined] : this.config.namespaces;
    this.running = Promise.all(scopes.map((ns) => this.follow(ns))).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    await this.running;
  }

  /** List then watch one scope (a namespace, or all) until stopped. */
  private async follow(namespace: string | undefined): Promise<void> {
    const signal = this.stopController.signal;
    const path = namespace === undefined ? '/api/v1/events' : `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const list: CoreV1EventList = namespace === undefined ? await this.api.listEventForAllNamespaces() : await this.api.listNamespacedEvent({ namespace });
        await this.deliver(list.items);
        const ended = await this.watch(path, list.metadata?.resourceVersion);
        failures = 0;
        if (ended !== undefined) throw ended;
        continue; // The API closed the watch (it does every few minutes): list again at once.
      } catch (err) {
        if (signal.aborted) return;
        const delay = Math.min(MAX_RETRY_MS, MIN_RETRY_MS * 2 ** failures++);
        this.logger.warn({ err, path, retryInMs: delay }, `kubernetes events: ${(err as Error).message}; listing again`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
        });
      }
    }
  }

  /** Writes events; a write the queue refuses is logged (the event is lost; the next re-list offers it again). */
  private async deliver(events: readonly CoreV1Event[]): Promise<void> {
    if (events.length === 0) return;
    try {
      await this.send(events.map((e) => eventRecord(e, this.config.job)));
    } catch (err) {
      this.logger.warn({ err, events: events.length }, 'kubernetes events could not be queued for sending');
    }
  }

  /** Watches from `resourceVersion` until the watch ends: resolves with its error, or undefined for a clean close. */
  private async watch(path: string, resourceVersion: string | undefined): Promise<Error | undefined> {
    let chain = Promise.resolve();
    let failure: Error | undefined;
    let finish: (err: unknown) => void = () => {};
    const ended = new Promise<void>((resolve) => {
      finish = (err: unknown) => {
        if (err !== null && err !== undefined && failure === undefined) failure = err instanceof Error ? err : new Error(String(err));
        resolve();
      };
    });
    // The callback may run before `watch` resolves with the controller.
    const started: { controller?: AbortController } = {};
    const controller = await this.watcher.watch(
      path,
      { allowWatchBookmarks: true, ...(resourceVersion !== undefined ? { resourceVersion } : {}) },
      (phase, obj: CoreV1Event & { code?: number; message?: string }) => {
        if (phase === 'ADDED' || phase === 'MODIFIED') chain = chain.then(() => this.deliver([obj]));
        else if (phase === 'ERROR') {
          // Typically 410 Gone: the version is too old; list again.
          failure ??= new Error(`the watch answered an error: ${obj.code ?? ''} ${obj.message ?? ''}`.trim());
          started.controller?.abort();
        }
      },
      finish,
    );
    started.controller = controller;
    const onStop = (): void => controller.abort();
    if (failure !== undefined || this.stopController.signal.aborted) controller.abort();
    this.stopController.signal.addEventListener('abort', onStop, { once: true });
    await ended;
    this.stopController.signal.removeEventListener('abort', onStop);
    await chain;
    return failure;
  }
}
