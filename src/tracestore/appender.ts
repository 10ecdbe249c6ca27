import type { Rejection, Span, SpanRecord, TenantId } from '../model/index.ts';
import type { AppendOutcome, Appender, CommitStats } from '../storage/index.ts';

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** What a span fails, or undefined when the store can keep it. */
export function invalidSpanReason(s: Span): string | undefined {
  if (!TRACE_ID.test(s.traceId) || s.traceId === ZERO_TRACE_ID) return `invalid trace id "${s.traceId}": expected 32 lowercase hex digits, not all zero`;
  if (!SPAN_ID.test(s.spanId) || s.spanId === ZERO_SPAN_ID) return `invalid span id "${s.spanId}" in trace ${s.traceId}: expected 16 lowercase hex digits, not all zero`;
  if (s.parentSpanId !== undefined && !SPAN_ID.test(s.parentSpanId)) return `invalid parent span id "${s.parentSpanId}" in trace ${s.traceId}`;
  return undefined;
}

/**
 * One tenant's write transaction. `append` keeps the spans with well-formed ids (the decoders enforce
 * Tempo's limits before this) and reports the others as `invalid_record`; `commit` hands the batch to the
 * store, which resolves once it is in the WAL and fsynced, and queryable.
 */
export class TraceAppender implements Appender<SpanRecord> {
  private readonly records: SpanRecord[] = [];
  private spans = 0;
  private done = false;

  constructor(
    private readonly tenant: TenantId,
    private readonly submit: (tenant: TenantId, records: readonly SpanRecord[], spans: number) => Promise<void>,
  ) {}

  append(record: SpanRecord): AppendOutcome {
    if (this.done) throw new Error('trace appender used after commit or rollback');
    let bad: Rejection | undefined;
    let keep: Span[] | undefined;
    for (let i = 0; i < record.spans.length; i++) {
      const s = record.spans[i]!;
      const why = invalidSpanReason(s);
      if (why === undefined) {
        keep?.push(s);
        continue;
      }
      keep ??= record.spans.slice(0, i);
      if (bad) bad = { ...bad, count: bad.count + 1 };
      else bad = { signal: 'traces', reason: 'invalid_record', message: why, subject: s.traceId, count: 1 };
    }
    const spans = keep ?? record.spans;
    if (spans.length > 0) {
      this.records.push(keep ? { resource: record.resource, spans } : record);
      this.spans += spans.length;
    }
    return { accepted: spans.length, rejections: bad ? [bad] : [] };
  }

  async commit(): Promise<CommitStats> {
    if (this.done) throw new Error('trace appender committed twice');
    this.done = true;
    if (this.spans === 0) return { records: 0 };
    await this.submit(this.tenant, this.records, this.spans);
    return { records: this.spans };
  }

  rollback(): void {
    this.done = true;
  }
}
