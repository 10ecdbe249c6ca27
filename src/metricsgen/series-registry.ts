import { labelsKey, setOwnLabel } from '../model/index.ts';
import type { Exemplar, Labels, MetricMetadata, MetricRecord } from '../model/index.ts';

/** The exemplar a series carries to the next collection: the trace that last moved it. */
interface PendingExemplar {
  readonly traceId: string;
  readonly value: number;
  readonly timestampMs: number;
}

interface CounterSeries {
  readonly labels: Labels;
  value: number;
  lastUpdateMs: number;
  /** Not collected yet: its first collection writes a 0 before the value (see `collect`). */
  fresh: boolean;
  exemplar?: PendingExemplar;
}

interface HistogramSeries {
  readonly labels: Labels;
  readonly bounds: readonly number[];
  /** Cumulative count per bound (`le`), the last one being +Inf. */
  readonly buckets: number[];
  sum: number;
  count: number;
  lastUpdateMs: number;
  fresh: boolean;
  /** Per bucket: the last observation that fell in it. */
  readonly exemplars: (PendingExemplar | undefined)[];
}

/**
 * One tenant's generated series, kept cumulative in memory as Tempo's metrics-generator keeps them (its
 * "registry"): counters and classic histograms (`_bucket` with `le`, `_sum`, `_count`), each collected as one
 * sample per series at the collection time, with the last exemplar (`trace_id`) since the previous collection.
 * Series not updated for `staleMs` are dropped, so memory follows the active series. Not thread-safe.
 */
export class SeriesRegistry {
  private readonly counters = new Map<string, CounterSeries>();
  private readonly histograms = new Map<string, HistogramSeries>();
  private readonly metadata = new Map<string, MetricMetadata>();
  /** Families whose metadata has been collected once (the store keeps it from then on). */
  private readonly metadataSent = new Set<string>();

  constructor(private readonly staleMs: number) {}

  /** Series held now (counters, and histograms counted once each). */
  get size(): number {
    return this.counters.size + this.histograms.size;
  }

  /** Adds `by` to the counter `name{labels}`. */
  inc(name: string, help: string, labels: Labels, by: number, nowMs: number, exemplar?: PendingExemplar): void {
    this.metadata.set(name, { type: 'counter', help, unit: '' });
    const full = withName(name, labels);
    const key = labelsKey(full);
    let s = this.counters.get(key);
    if (!s) this.counters.set(key, (s = { labels: full, value: 0, lastUpdateMs: nowMs, fresh: true }));
    s.value += by;
    s.lastUpdateMs = nowMs;
    if (exemplar) s.exemplar = exemplar;
  }

  /** Observes `value` in the histogram `name{labels}` with the bucket upper bounds `bounds` (ascending). */
  observe(name: string, help: string, labels: Labels, bounds: readonly number[], value: number, nowMs: number, traceId?: string): void {
    this.metadata.set(name, { type: 'histogram', help, unit: 'seconds' });
    const key = `${name}\u0000${labelsKey(labels)}`;
    let h = this.histograms.get(key);
    if (!h || h.bounds !== bounds) {
      // A changed bucket layout (a new per-tenant setting) starts the series over.
      h = { labels: withName(name, labels), bounds, buckets: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0, lastUpdateMs: nowMs, fresh: true, exemplars: [] };
      this.histograms.set(key, h);
    }
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    for (let j = i; j < h.buckets.length; j++) h.buckets[j]!++;
    h.sum += value;
    h.count++;
    h.lastUpdateMs = nowMs;
    if (traceId !== undefined) h.exemplars[i] = { traceId, value, timestampMs: nowMs };
  }

  /**
   * The current value of every series as metric records stamped `nowMs` (exemplars since the last collection
   * attached and then cleared), after dropping the stale ones. A series collected for the first time gets a 0 sample
   * first, at the end of the minute before `nowMs`, as Tempo's generator writes one: without it a series whose first
   * value is already 1 (an edge or span seen once) shows no increase, so `rate()` and `increase()` say 0.
   */
  collect(nowMs: number): MetricRecord[] {
    const out: MetricRecord[] = [];
    const zeroMs = Math.floor(nowMs / 60_000) * 60_000 - 1;
    for (const [family, meta] of this.metadata) {
      if (this.metadataSent.has(family)) continue;
      this.metadataSent.add(family);
      out.push({ labels: { __name__: family }, metadata: meta });
    }
    for (const [key, s] of this.counters) {
      if (nowMs - s.lastUpdateMs > this.staleMs) {
        this.counters.delete(key);
        continue;
      }
      out.push(record(s.labels, s.value, nowMs, s.exemplar, s.fresh ? zeroMs : undefined));
      s.exemplar = undefined;
      s.fresh = false;
    }
    for (const [key, h] of this.histograms) {
      if (nowMs - h.lastUpdateMs > this.staleMs) {
        this.histograms.delete(key);
        continue;
      }
      const name = h.labels.__name__!;
      for (let i = 0; i < h.buckets.length; i++) {
        const le = i < h.bounds.length ? formatBound(h.bounds[i]!) : '+Inf';
        const labels = withName(`${name}_bucket`, { ...h.labels, le });
        out.push(record(labels, h.buckets[i]!, nowMs, h.exemplars[i], h.fresh ? zeroMs : undefined));
        h.exemplars[i] = undefined;
      }
      out.push(record(withName(`${name}_sum`, h.labels), h.sum, nowMs, undefined, h.fresh ? zeroMs : undefined));
      out.push(record(withName(`${name}_count`, h.labels), h.count, nowMs, undefined, h.fresh ? zeroMs : undefined));
      h.fresh = false;
    }
    return out;
  }
}

function withName(name: string, labels: Labels): Labels {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) setOwnLabel(out, k, v);
  out.__name__ = name;
  return out;
}

/** A series' sample at `nowMs`, preceded by a 0 at `zeroMs` when given (its first collection). */
function record(labels: Labels, value: number, nowMs: number, ex?: PendingExemplar, zeroMs?: number): MetricRecord {
  const exemplars: Exemplar[] | undefined = ex && [{ labels: { trace_id: ex.traceId }, value: ex.value, timestampMs: ex.timestampMs }];
  const samples = zeroMs === undefined ? [{ timestampMs: nowMs, value }] : [{ timestampMs: zeroMs, value: 0 }, { timestampMs: nowMs, value }];
  return { labels, samples, ...(exemplars ? { exemplars } : {}) };
}

/** A bucket bound as Prometheus' client libraries print `le` (Go's %g-like shortest form). */
function formatBound(b: number): string {
  return Number.isInteger(b) ? `${b}` : String(b);
}
