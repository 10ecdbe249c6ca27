import { METRIC_NAME_LABEL, STALE_NAN, compareStrings, formatSeries } from '../model/index.ts';
import type {
  DiscardReason,
  Exemplar,
  Labels,
  MetricMetadata,
  MetricRecord,
  NativeHistogram,
  Rejection,
  TenantId,
} from '../model/index.ts';
import type { AppendOutcome, Appender, CommitStats } from '../storage/index.ts';
import { ByteWriter } from '../objstore/index.ts';
import type { TsdbTenantLimits } from './limits.ts';
import type { AppendReservation, MemSeries } from './mem-series.ts';
import { hashLabels } from './series-index.ts';
import { encodeExemplar, encodeHistogram, encodeMetadata, encodeSamples, encodeSeries } from './wal-records.ts';

/** Prometheus' limit on the total length of an exemplar's label names and values (in runes). */
const MAX_EXEMPLAR_LABELS_RUNES = 128;

/** What an appender needs from the engine; implemented by `Tsdb`. */
export interface AppenderHost {
  /** The series a decoder's (shared, immutable) label object was resolved to before, if still live. */
  cachedSeries(tenant: TenantId, labels: Labels): MemSeries | undefined;
  cacheSeries(tenant: TenantId, labels: Labels, s: MemSeries): void;
  /** Finds or creates the series; returns a rejection when the tenant's series limit is reached. */
  getOrCreateSeries(tenant: TenantId, labels: Labels, hash: number, limits: TsdbTenantLimits): MemSeries | Rejection;
  /**
   * Queues a WAL frame (copied before this returns); `apply` runs once it is durable, then the promise
   * resolves. If the frame is refused, `onFailed` runs synchronously before the promise rejects.
   */
  writeFrame(payload: Uint8Array, apply: () => void, onFailed: () => void): Promise<void>;
  setMetadata(tenant: string, metric: string, meta: MetricMetadata): void;
  /** Stores a durable exemplar in the head's exemplar storage (duplicates and out-of-order ones are dropped). */
  addExemplar(ref: number, e: Exemplar): void;
  /** Counts committed samples for the engine's stats. */
  noteCommitted(samples: number): void;
}

const scratch = new Float64Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** Normalises any NaN whose payload is the stale marker's (even if a JS array quieted it) to the exact marker. */
function normaliseValue(v: number): number {
  if (v === v) return v;
  scratch[0] = v;
  // 0x7ff0000000000002 or its quieted form 0x7ff8000000000002.
  if (scratchBits[0] === 2 && (scratchBits[1]! & 0x7ff7ffff) === 0x7ff00000) return STALE_NAN;
  return v;
}

function sameBits(a: number, b: number): boolean {
  if (a === b) return a !== 0 || 1 / a === 1 / b;
  if (a !== a && b !== b) {
    scratch[0] = a;
    const lo = scratchBits[0];
    const hi = scratchBits[1];
    scratch[0] = b;
    return lo === scratchBits[0] && hi === scratchBits[1];
  }
  return false;
}

function iso(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString();
}

const scratchWriter = new ByteWriter(1 << 16);

/** Columns of one transaction's float samples. */
interface SampleBuffer {
  series: MemSeries[];
  refs: Uint32Array;
  ts: Float64Array;
  vs: Float64Array;
}

/**
 * Sample buffers are pooled: allocating (and growing) three typed arrays per request left hundreds of MB of
 * ArrayBuffer garbage behind under load, which glibc then kept as RSS.
 */
const bufferPool: SampleBuffer[] = [];
const POOLED_BUFFERS = 16;
const POOLED_MAX_SAMPLES = 1 << 16;

function takeBuffer(): SampleBuffer {
  return bufferPool.pop() ?? { series: [], refs: new Uint32Array(4096), ts: new Float64Array(4096), vs: new Float64Array(4096) };
}

function growBuffer(b: SampleBuffer): void {
  const cap = b.ts.length * 2;
  const refs = new Uint32Array(cap);
  refs.set(b.refs);
  const ts = new Float64Array(cap);
  ts.set(b.ts);
  const vs = new Float64Array(cap);
  vs.set(b.vs);
  b.refs = refs;
  b.ts = ts;
  b.vs = vs;
}

function releaseBuffer(b: SampleBuffer): void {
  if (bufferPool.length >= POOLED_BUFFERS || b.ts.length > POOLED_MAX_SAMPLES) return;
  b.series.length = 0;
  bufferPool.push(b);
}

const KEEP = 0;
const IGNORE = 1;
const DROP = 2;
const NO_REJECTIONS: readonly Rejection[] = Object.freeze([]);

/**
 * A write transaction of one tenant (see {@link Appender}). Validation happens in `append` against each
 * series' reservation — the head's state plus every open transaction's accepted samples — and advances it
 * in the same synchronous step, so the check and the append are atomic per series (Prometheus' semantics:
 * of two concurrent overlapping requests, the later samples are out of order). The head is updated only
 * after the WAL frame holding the transaction is durable; the reservation is released then, or on rollback.
 */
export class TsdbAppender implements Appender<MetricRecord> {
  /** Sample columns, taken from a pool at the first sample and returned once the head has them. */
  private buf: SampleBuffer | null = null;
  private n = 0;
  /** Exact re-sends accepted without storing (Prometheus counts them as written). */
  private resent = 0;
  private readonly pending = new Map<MemSeries, AppendReservation>();
  private readonly hists: { s: MemSeries; t: number; h: NativeHistogram }[] = [];
  private readonly exemplars: { s: MemSeries; e: Exemplar }[] = [];
  private readonly metadata: { metric: string; meta: MetricMetadata }[] = [];
  private finished = false;

  constructor(
    private readonly host: AppenderHost,
    readonly tenant: TenantId,
    private readonly limits: TsdbTenantLimits,
    private readonly nowMs: number,
  ) {}

  append(rec: MetricRecord): AppendOutcome {
    if (this.finished) throw new Error('metrics appender used after commit or rollback');
    const samples = rec.samples ?? [];
    const histograms = rec.histograms ?? [];
    const exemplars = rec.exemplars ?? [];
    const total = samples.length + histograms.length;
    const rejections: Rejection[] = [];

    // Decoders hand out the same label object for a series they have seen before: skip normalising,
    // hashing and comparing labels for those.
    let s = this.host.cachedSeries(this.tenant, rec.labels);
    if (s === undefined) {
      const norm = this.normaliseLabels(rec.labels, total, rejections);
      if (norm === null) return { accepted: 0, rejections };
      const { labels, names } = norm;
      if (total === 0 && exemplars.length === 0) {
        if (rec.metadata) this.metadata.push({ metric: labels[METRIC_NAME_LABEL]!, meta: rec.metadata });
        return { accepted: 0, rejections };
      }
      const got = this.host.getOrCreateSeries(this.tenant, labels, hashLabels(labels, names), this.limits);
      if (!('ref' in got)) {
        if (rec.metadata) this.metadata.push({ metric: labels[METRIC_NAME_LABEL]!, meta: rec.metadata });
        rejections.push({ ...got, count: Math.max(total, 1) });
        return { accepted: 0, rejections };
      }
      // Only a series seen before is worth remembering: decoders reuse label objects of repeated series.
      if (got.maxT !== -Infinity || got.maxHistT !== -Infinity) this.host.cacheSeries(this.tenant, rec.labels, got);
      s = got;
    }
    if (rec.metadata) this.metadata.push({ metric: s.labels[METRIC_NAME_LABEL]!, meta: rec.metadata });

    let p = this.pending.get(s);
    if (!p) {
      p = s.acquireReservation();
      this.pending.set(s, p);
    }
    this.groups = null;
    const maxFuture = this.nowMs + this.limits.creation_grace_period;
    const minPast = this.limits.past_grace_period > 0 ? this.nowMs - this.limits.past_grace_period : -Infinity;

    let accepted = 0;
    for (let i = 0; i < samples.length; i++) {
      const smp = samples[i]!;
      const t = smp.timestampMs;
      let v = smp.value;
      if (v !== v) v = normaliseValue(v);
      // Fast path: newer than anything seen, within the time limits.
      if (t > p.maxT && t <= maxFuture && t >= minPast && t - t === 0) {
        this.push(s, t, v);
        p.maxT = t;
        p.lastValue = v;
        accepted++;
        continue;
      }
      const verdict = this.checkSlow(s, t, p.maxT, maxFuture, minPast, v, p.lastValue, false);
      if (verdict === KEEP) {
        this.push(s, t, v);
        if (t > p.maxT) {
          p.maxT = t;
          p.lastValue = v;
        }
        accepted++;
      } else if (verdict === IGNORE) {
        this.resent++;
        accepted++;
      }
    }

    for (const hs of histograms) {
      const t = hs.timestampMs;
      const verdict = t > p.maxHistT && t <= maxFuture && t >= minPast && t - t === 0
        ? KEEP
        : this.checkSlow(s, t, p.maxHistT, maxFuture, minPast, 0, 0, true);
      if (verdict !== KEEP) continue;
      this.hists.push({ s, t, h: hs.histogram });
      if (t > p.maxHistT) p.maxHistT = t;
      accepted++;
    }

    let badExemplars = 0;
    let exemplarMessage = '';
    for (const e of exemplars) {
      let runes = 0;
      for (const [k, v] of Object.entries(e.labels)) runes += [...k].length + [...v].length;
      if (runes > MAX_EXEMPLAR_LABELS_RUNES || !Number.isFinite(e.timestampMs)) {
        if (badExemplars++ === 0) {
          exemplarMessage = runes > MAX_EXEMPLAR_LABELS_RUNES
            ? `exemplar labels have ${runes} UTF-8 characters, exceeding the limit of ${MAX_EXEMPLAR_LABELS_RUNES}, series: '${formatSeries(s.labels)}'`
            : `exemplar has an invalid timestamp, series: '${formatSeries(s.labels)}'`;
        }
        continue;
      }
      this.exemplars.push({ s, e });
    }
    if (badExemplars > 0) {
      rejections.push({ signal: 'metrics', reason: 'exemplar_invalid', message: exemplarMessage, subject: formatSeries(s.labels), count: badExemplars });
    }

    // `reject` (called from checkSlow) may have set it; TypeScript cannot see that.
    const groups = this.groups as Map<DiscardReason, { count: number; message: string }> | null;
    if (groups !== null) {
      const subject = formatSeries(s.labels);
      for (const [reason, g] of groups) rejections.push({ signal: 'metrics', reason, message: g.message, subject, count: g.count });
      this.groups = null;
    }
    return accepted === samples.length + histograms.length && rejections.length === 0 ? { accepted, rejections: NO_REJECTIONS } : { accepted, rejections };
  }

  /** Rejections of the record being appended, grouped by reason (null while there are none). */
  private groups: Map<DiscardReason, { count: number; message: string }> | null = null;

  private reject(reason: DiscardReason, message: () => string): void {
    const groups = (this.groups ??= new Map());
    const g = groups.get(reason);
    if (g) g.count++;
    else groups.set(reason, { count: 1, message: message() });
  }

  /**
   * The full check of one sample's timestamp against the time limits and the series' newest sample:
   * KEEP it, IGNORE it (an exact re-send) or DROP it (a rejection was recorded).
   */
  private checkSlow(
    s: MemSeries,
    t: number,
    newest: number,
    maxFuture: number,
    minPast: number,
    v: number,
    lastValue: number,
    histogram: boolean,
  ): number {
    const series = (): string => formatSeries(s.labels);
    const oooWindow = this.limits.out_of_order_time_window;
    if (!Number.isFinite(t)) {
      this.reject('invalid_record', () => `invalid sample timestamp ${t} for series '${series()}'`);
      return DROP;
    }
    if (t > maxFuture) {
      this.reject('sample_too_far_in_future', () =>
        `received a sample whose timestamp is too far in the future, timestamp: ${iso(t)} series: '${series()}' ` +
        `(err-mimir-too-far-in-future). To adjust the related per-tenant limit, configure creation_grace_period`);
      return DROP;
    }
    if (t < minPast) {
      this.reject('sample_too_old', () =>
        `received a sample whose timestamp is too far in the past, timestamp: ${iso(t)} series: '${series()}' ` +
        `(err-mimir-sample-timestamp-too-old). To adjust the related per-tenant limit, configure past_grace_period`);
      return DROP;
    }
    if (t === newest) {
      if (!histogram && sameBits(v, lastValue)) return IGNORE;
      if (oooWindow > 0) return KEEP;
      this.reject('sample_duplicate_timestamp', () =>
        `duplicate sample for timestamp: a different value was already ingested at ${iso(t)} for series ` +
        `'${series()}' (err-mimir-sample-duplicate-timestamp)`);
      return DROP;
    }
    if (t < newest) {
      if (oooWindow === 0) {
        this.reject('sample_out_of_order', () =>
          `out of order sample: timestamp ${iso(t)} is older than the series' newest sample ${iso(newest)}, ` +
          `series: '${series()}' (err-mimir-sample-out-of-order). Out-of-order samples are rejected unless ` +
          `out_of_order_time_window is set`);
        return DROP;
      }
      if (t < newest - oooWindow) {
        this.reject('sample_too_old', () =>
          `too old sample: timestamp ${iso(t)} is outside the out-of-order window (out_of_order_time_window) ` +
          `behind the series' newest sample ${iso(newest)}, series: '${series()}' (err-mimir-sample-too-old)`);
        return DROP;
      }
    }
    return KEEP;
  }

  async commit(): Promise<CommitStats> {
    if (this.finished) throw new Error('metrics appender committed twice');
    this.finished = true;
    const n = this.n;
    if (n === 0 && this.hists.length === 0 && this.exemplars.length === 0 && this.metadata.length === 0) {
      this.releaseReservations();
      return { records: this.resent, histograms: 0, exemplars: 0 };
    }
    // The WAL copies the frame synchronously in `writeFrame`, so one scratch writer serves every commit.
    const w = scratchWriter;
    w.reset();
    const logged: MemSeries[] = [];
    const logSeries = (s: MemSeries): void => {
      if (s.walLogged) return;
      encodeSeries(w, s.ref, s.tenant, s.labels);
      s.walLogged = true;
      logged.push(s);
    };
    for (const s of this.pending.keys()) logSeries(s);
    if (n > 0 && this.buf) encodeSamples(w, this.buf.refs, this.buf.ts, this.buf.vs, n);
    for (const { s, t, h } of this.hists) encodeHistogram(w, s.ref, t, h);
    for (const { s, e } of this.exemplars) encodeExemplar(w, s.ref, e);
    for (const { metric, meta } of this.metadata) encodeMetadata(w, this.tenant, metric, meta);

    const buf = this.buf;
    this.buf = null;
    const hists = this.hists;
    const exemplars = this.exemplars;
    const metadata = this.metadata;
    try {
      await this.host.writeFrame(
        w.view_(),
        () => {
          if (buf) {
            const { series, ts, vs } = buf;
            for (let i = 0; i < n; i++) series[i]!.insert(ts[i]!, vs[i]!);
          }
          for (const { s, t, h } of hists) s.insertHistogram(t, h);
          for (const { s, e } of exemplars) this.host.addExemplar(s.ref, e);
          for (const { metric, meta } of metadata) this.host.setMetadata(this.tenant, metric, meta);
          this.host.noteCommitted(n);
          this.releaseReservations();
        },
        // Not durable: a later transaction must log these series itself (reset before any other frame is
        // encoded, or that frame would reference a series no WAL record defines).
        () => {
          for (const s of logged) s.walLogged = false;
        },
      );
    } finally {
      // On failure too: a retry must not be refused as out of order against samples that were never stored.
      this.releaseReservations();
      if (buf) releaseBuffer(buf);
    }
    return { records: n + this.resent, histograms: hists.length, exemplars: exemplars.length, newSeries: logged.length };
  }

  rollback(): void {
    this.finished = true;
    this.releaseReservations();
    if (this.buf) releaseBuffer(this.buf);
    this.buf = null;
    this.n = 0;
  }

  /** Leaves every series' reservation once (idempotent: commit, its failure and rollback all call it). */
  private releaseReservations(): void {
    for (const s of this.pending.keys()) s.releaseReservation();
    this.pending.clear();
  }

  private push(s: MemSeries, t: number, v: number): void {
    let b = this.buf;
    if (b === null) b = this.buf = takeBuffer();
    if (this.n === b.ts.length) growBuffer(b);
    b.series[this.n] = s;
    b.refs[this.n] = s.ref;
    b.ts[this.n] = t;
    b.vs[this.n] = v;
    this.n++;
  }

  /**
   * Drops empty-valued labels (they mean "absent" in Prometheus), sorts names and applies the label limits.
   * Returns null (with a rejection pushed) when the series is refused.
   */
  private normaliseLabels(
    raw: Labels,
    count: number,
    rejections: Rejection[],
  ): { labels: Labels; names: string[] } | null {
    const names: string[] = [];
    for (const k of Object.keys(raw)) if (raw[k] !== '') names.push(k);
    names.sort(compareStrings);
    const labels: Record<string, string> = {};
    for (const k of names) {
      // A label may be called `__proto__`; plain assignment would set the prototype instead.
      if (k === '__proto__') Object.defineProperty(labels, k, { value: raw[k]!, enumerable: true, writable: true, configurable: true });
      else labels[k] = raw[k]!;
    }
    const rej = (reason: DiscardReason, message: string): null => {
      rejections.push({ signal: 'metrics', reason, message, subject: formatSeries(labels), count: Math.max(count, 1) });
      return null;
    };
    if (labels[METRIC_NAME_LABEL] === undefined) {
      return rej('missing_metric_name', `received series has no metric name, series: '${formatSeries(labels)}' (err-mimir-missing-metric-name)`);
    }
    const lim = this.limits;
    if (names.length > lim.max_label_names_per_series) {
      return rej(
        'max_label_names_per_series',
        `received a series whose number of labels exceeds the limit (actual: ${names.length}, limit: ` +
          `${lim.max_label_names_per_series}) series: '${truncate(formatSeries(labels), 200)}' ` +
          `(err-mimir-max-label-names-per-series). To adjust the related per-tenant limit, configure max_label_names_per_series`,
      );
    }
    for (const k of names) {
      if (k.length === 0) return rej('invalid_label_name', `received a series with an empty label name, series: '${formatSeries(labels)}'`);
      if (k.length > lim.max_label_name_length) {
        return rej(
          'label_name_too_long',
          `received a series whose label name length exceeds the limit, label: '${truncate(k, 200)}' series: ` +
            `'${truncate(formatSeries(labels), 200)}' (err-mimir-label-name-too-long). To adjust the related per-tenant limit, configure max_label_name_length`,
        );
      }
      const v = labels[k]!;
      if (v.length > lim.max_label_value_length) {
        return rej(
          'label_value_too_long',
          `received a series whose label value length exceeds the limit, value: '${truncate(v, 200)}' (truncated) ` +
            `actual length: ${v.length}, limit: ${lim.max_label_value_length}, label name: '${k}' series: ` +
            `'${truncate(formatSeries(labels), 200)}' (err-mimir-label-value-too-long). To adjust the related per-tenant limit, configure max_label_value_length`,
        );
      }
    }
    return { labels, names };
  }
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) : s;
}
