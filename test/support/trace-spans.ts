// Span fixtures for the trace store's tests and benchmarks: deterministic ids, every span field covered.
import { createHash } from 'node:crypto';
import type { Attribute, Span, SpanKind, SpanRecord } from '../../src/model/index.ts';

/** A deterministic 32-digit trace id for `n`. */
export function traceIdOf(n: number): string {
  return createHash('sha256').update(`trace-${n}`).digest('hex').slice(0, 32);
}

/** A deterministic 16-digit span id for trace `n`, span `i`. */
export function spanIdOf(n: number, i: number): string {
  return createHash('sha256').update(`span-${n}-${i}`).digest('hex').slice(0, 16);
}

export interface SpanSpec {
  readonly trace: number;
  readonly index: number;
  readonly parent?: number;
  readonly startNs: bigint;
  readonly durationNs?: bigint;
  readonly name?: string;
  readonly kind?: SpanKind;
  readonly error?: boolean;
  readonly attributes?: readonly Attribute[];
}

/** A span of trace `trace` with the given shape (events and links on every third span, to cover them). */
export function makeSpan(s: SpanSpec): Span {
  const start = s.startNs;
  const withExtras = s.index % 3 === 2;
  return {
    traceId: traceIdOf(s.trace),
    spanId: spanIdOf(s.trace, s.index),
    ...(s.parent !== undefined ? { parentSpanId: spanIdOf(s.trace, s.parent) } : {}),
    name: s.name ?? `op-${s.index}`,
    kind: s.kind ?? (s.parent === undefined ? 2 : 3),
    startTimeUnixNs: start,
    endTimeUnixNs: start + (s.durationNs ?? 1_000_000n),
    attributes: s.attributes ?? [
      { key: 'http.method', value: 'GET' },
      { key: 'http.status_code', value: s.error ? 500 : 200 },
      { key: 'ratio', value: 0.25 },
      { key: 'retry', value: false },
      { key: 'tags', value: ['a', 'b'] },
    ],
    statusCode: s.error ? 2 : 0,
    ...(s.error ? { statusMessage: 'boom' } : {}),
    ...(withExtras
      ? {
          events: [{ timeUnixNs: start + 10n, name: 'exception', attributes: [{ key: 'exception.type', value: 'Err' }] }],
          links: [{ traceId: traceIdOf(s.trace + 1), spanId: spanIdOf(s.trace + 1, 0), attributes: [{ key: 'link.kind', value: 'follows' }] }],
        }
      : {}),
    scope: { name: 'test-lib', version: '1.0.0', attributes: [{ key: 'scope.attr', value: 7 }] },
  };
}

/** One resource's record. */
export function record(service: string, spans: readonly Span[], namespace = 'default'): SpanRecord {
  return {
    resource: [
      { key: 'service.name', value: service },
      { key: 'k8s.namespace.name', value: namespace },
    ],
    spans,
  };
}
