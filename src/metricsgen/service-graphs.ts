import type { Attribute, Span } from '../model/index.ts';
import type { SeriesRegistry } from './series-registry.ts';
import type { TenantGeneratorSettings } from './settings.ts';
import { attributeText, dimensionLabel, durationSeconds } from './span-metrics.ts';

/** One side of an edge: what a client (or producer) or server (or consumer) span says about its call. */
interface Side {
  readonly service: string;
  readonly seconds: number;
  readonly failed: boolean;
  readonly traceId: string;
  readonly dimensions: Record<string, string>;
  /** Client side only: the peer attribute value that names a virtual server if nothing answers. */
  readonly peer?: string;
}

interface PendingEdge {
  client?: Side;
  server?: Side;
  messaging: boolean;
  readonly createdMs: number;
}

/** What happened to the edges of one tenant, for `heimdall_metricsgen_*` self-metrics. */
export interface EdgeCounters {
  /** Edges completed (both sides, or a virtual node). */
  paired: number;
  /** Edges whose other half did not arrive within the wait and that named no peer. */
  expired: number;
  /** Spans not held because the store of unpaired edges was full. */
  dropped: number;
}

const CONNECTION_MESSAGING = 'messaging_system';
const CONNECTION_DATABASE = 'database';
const CONNECTION_VIRTUAL = 'virtual_node';

/**
 * Tempo's service-graph processor for one tenant: a client (or producer) span and the server (or consumer)
 * span whose parent it is make an edge `client → server`, paired through an expiring store keyed by trace and
 * span id, whichever arrives first. A completed edge counts `traces_service_graph_request_total` (and
 * `_failed_total` when either side failed) and observes `_request_client_seconds` and
 * `_request_server_seconds`, labelled `client`, `server`, `connection_type` (`messaging_system` for
 * producer/consumer, `database` for a client span with `db.name`, `virtual_node` for the virtual nodes
 * below) and the tenant's dimensions as `client_<d>`/`server_<d>`. A root server span is called by the
 * virtual client `user`; a client span nobody answered within the wait becomes an edge to its peer attribute
 * (`peer.service`, `db.name`, ...) when it has one, else it is counted as expired.
 */
export class ServiceGraphs {
  /** Unpaired edges in creation order, so expiry reads from the front. */
  private readonly pending = new Map<string, PendingEdge>();
  readonly counters: EdgeCounters = { paired: 0, expired: 0, dropped: 0 };

  constructor(
    private readonly registry: SeriesRegistry,
    private readonly waitMs: number,
    private readonly maxEdges: number,
  ) {}

  /** Unpaired edges held now. */
  get pendingEdges(): number {
    return this.pending.size;
  }

  consume(settings: TenantGeneratorSettings, service: string, span: Span, resource: readonly Attribute[], nowMs: number): void {
    const side = (): Side => {
      const dimensions: Record<string, string> = {};
      for (const d of settings.serviceGraphDimensions) dimensions[dimensionLabel(d)] = attributeText(d, span, resource);
      let peer: string | undefined;
      for (const p of settings.peerAttributes) {
        const v = attributeText(p, span, resource);
        if (v !== '') {
          peer = v;
          break;
        }
      }
      return { service, seconds: durationSeconds(span), failed: span.statusCode === 2, traceId: span.traceId, dimensions, ...(peer ? { peer } : {}) };
    };
    if (span.kind === 3 || span.kind === 4) {
      const s = side();
      const db = span.kind === 3 ? attributeText('db.name', span, resource) : '';
      if (db !== '') {
        // A database call: no server span will come, the database is the server.
        this.complete(settings, { client: s, server: undefined, messaging: false, createdMs: nowMs }, db, CONNECTION_DATABASE, nowMs);
        return;
      }
      this.pair(settings, `${span.traceId}/${span.spanId}`, 'client', s, span.kind === 4, nowMs);
    } else if (span.kind === 2 || span.kind === 5) {
      const s = side();
      if (span.parentSpanId === undefined) {
        this.complete(settings, { server: s, messaging: false, createdMs: nowMs }, 'user', CONNECTION_VIRTUAL, nowMs);
        return;
      }
      this.pair(settings, `${span.traceId}/${span.parentSpanId}`, 'server', s, span.kind === 5, nowMs);
    }
  }

  /** Completes or expires the edges that waited longer than the wait; call before each collection. */
  expire(settings: TenantGeneratorSettings, nowMs: number): void {
    for (const [key, e] of this.pending) {
      if (nowMs - e.createdMs < this.waitMs) break;
      this.pending.delete(key);
      if (e.client?.peer !== undefined && e.server === undefined) this.complete(settings, e, e.client.peer, CONNECTION_VIRTUAL, nowMs);
      else this.counters.expired++;
    }
  }

  private pair(settings: TenantGeneratorSettings, key: string, which: 'client' | 'server', s: Side, messaging: boolean, nowMs: number): void {
    const e = this.pending.get(key);
    if (e === undefined) {
      if (this.maxEdges > 0 && this.pending.size >= this.maxEdges) {
        this.counters.dropped++;
        return;
      }
      this.pending.set(key, { [which]: s, messaging, createdMs: nowMs });
      return;
    }
    e[which] = s;
    e.messaging ||= messaging;
    if (e.client !== undefined && e.server !== undefined) {
      this.pending.delete(key);
      this.complete(settings, e, undefined, e.messaging ? CONNECTION_MESSAGING : '', nowMs);
    }
  }

  /** Records one edge; `otherSide` names the missing side's service (a database, a peer, `user`). */
  private complete(settings: TenantGeneratorSettings, e: PendingEdge, otherSide: string | undefined, connectionType: string, nowMs: number): void {
    this.counters.paired++;
    const client = e.client?.service ?? otherSide ?? '';
    const server = e.server?.service ?? otherSide ?? '';
    const labels: Record<string, string> = { client, server, connection_type: connectionType };
    for (const d of settings.serviceGraphDimensions) {
      const name = dimensionLabel(d);
      const c = e.client?.dimensions[name];
      const s = e.server?.dimensions[name];
      if (c) labels[`client_${name}`] = c;
      if (s) labels[`server_${name}`] = s;
    }
    const traceId = e.server?.traceId ?? e.client?.traceId;
    const exemplar = traceId === undefined ? undefined : { traceId, value: 1, timestampMs: nowMs };
    const buckets = settings.serviceGraphBuckets;
    this.registry.inc('traces_service_graph_request_total', 'Requests between two services, by client, server and connection type.', labels, 1, nowMs, exemplar);
    if (e.client?.failed || e.server?.failed) {
      this.registry.inc('traces_service_graph_request_failed_total', 'Failed requests between two services.', labels, 1, nowMs, exemplar);
    }
    if (e.server) {
      this.registry.observe('traces_service_graph_request_server_seconds', 'Request durations as the server saw them, in seconds.', labels, buckets, e.server.seconds, nowMs, e.server.traceId);
    }
    if (e.client) {
      this.registry.observe('traces_service_graph_request_client_seconds', 'Request durations as the client saw them, in seconds.', labels, buckets, e.client.seconds, nowMs, e.client.traceId);
    }
  }
}
