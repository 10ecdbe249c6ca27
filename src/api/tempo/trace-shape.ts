import { estimateAttributesBytes, estimateSpanBytes } from '../../model/index.ts';
import type { Attribute, InstrumentationScope, Span } from '../../model/index.ts';
import type { StoredTrace } from '../../storage/index.ts';

/** Spans of one instrumentation scope within one resource (OTLP `ScopeSpans`). */
export interface ScopeGroup {
  readonly scope: InstrumentationScope;
  readonly spans: Span[];
}

/** Spans of one resource (OTLP `ResourceSpans`). */
export interface ResourceGroup {
  readonly resource: readonly Attribute[];
  readonly scopes: ScopeGroup[];
}

/** A trace as Tempo answers it: OTLP's resource → scope → span nesting, possibly cut at the size limit. */
export interface ShapedTrace {
  readonly resources: ResourceGroup[];
  /** True when spans were left out because the trace is over the size limit. */
  readonly partial: boolean;
  /** Spans in the answer, and in the stored trace. */
  readonly spanCount: number;
  readonly storedSpanCount: number;
  /** Estimated protobuf bytes of the whole stored trace (Tempo's `inspectedBytes`). */
  readonly storedBytes: number;
}

function compareSpans(a: Span, b: Span): number {
  if (a.startTimeUnixNs !== b.startTimeUnixNs) return a.startTimeUnixNs < b.startTimeUnixNs ? -1 : 1;
  return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}

/**
 * The content identity of a resource's attributes or of a scope. Storage shares one array per resource and one
 * object per scope only within one read source: a trace read from the head and from a block (or from two
 * blocks) holds equal resources as different objects, which must still form one `ResourceSpans`, as in Tempo.
 * JSON keeps 1 and "1" apart, as TraceQL does.
 */
class ContentKeys<T extends object> {
  private readonly byObject = new Map<T, string>();
  constructor(private readonly encode: (value: T) => string) {}
  of(value: T): string {
    let key = this.byObject.get(value);
    if (key === undefined) {
      key = this.encode(value);
      this.byObject.set(value, key);
    }
    return key;
  }
}

/**
 * Groups a stored trace's spans by resource and scope (by content, see `ContentKeys`) in start-time order,
 * so the answer is deterministic. When `maxBytes` is
 * positive, spans are taken earliest first until the next one would pass `maxBytes` (estimated encoded
 * bytes by `estimateSpanBytes`, as ingest admission counts them; resources counted once); the rest are
 * left out and `partial` is set. `maxBytes` 0 means no limit, as Tempo's `max_bytes_per_trace: 0` does.
 */
export function shapeTrace(trace: StoredTrace, maxBytes: number): ShapedTrace {
  const ordered = [...trace.spans].sort((a, b) => compareSpans(a.span, b.span));
  const resources = new Map<string, { group: ResourceGroup; scopes: Map<string, ScopeGroup> }>();
  const resourceKeys = new ContentKeys<readonly Attribute[]>((attributes) => JSON.stringify(attributes));
  const scopeKeys = new ContentKeys<InstrumentationScope>((s) => JSON.stringify([s.name, s.version ?? '', s.attributes ?? []]));
  let budgetLeft = maxBytes > 0 ? maxBytes : Number.POSITIVE_INFINITY;
  let storedBytes = 0;
  let spanCount = 0;
  let partial = false;
  const counted = new Set<string>();
  for (const stored of ordered) {
    const resourceKey = resourceKeys.of(stored.resource);
    const resourceCost = counted.has(resourceKey) ? 0 : estimateAttributesBytes(stored.resource) + 8;
    const cost = resourceCost + estimateSpanBytes(stored.span);
    storedBytes += cost;
    if (partial || cost > budgetLeft) {
      partial = true;
      continue;
    }
    budgetLeft -= cost;
    counted.add(resourceKey);
    spanCount++;
    let entry = resources.get(resourceKey);
    if (entry === undefined) {
      entry = { group: { resource: stored.resource, scopes: [] }, scopes: new Map() };
      resources.set(resourceKey, entry);
    }
    const scopeKey = scopeKeys.of(stored.span.scope);
    let scope = entry.scopes.get(scopeKey);
    if (scope === undefined) {
      scope = { scope: stored.span.scope, spans: [] };
      entry.scopes.set(scopeKey, scope);
      entry.group.scopes.push(scope);
    }
    scope.spans.push(stored.span);
  }
  return { resources: [...resources.values()].map((e) => e.group), partial, spanCount, storedSpanCount: ordered.length, storedBytes };
}

/** Tempo's `status`/`message` text for a trace cut at the size limit (`combiner/trace_by_id_v2.go`). */
export function partialMessage(maxBytes: number): string {
  return `Trace exceeds maximum size of ${maxBytes} bytes, a partial trace is returned`;
}
