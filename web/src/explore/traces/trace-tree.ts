import type { TraceSpan } from '../../datasource/tempo.ts';

/** A span in the waterfall: its depth in the tree, its children's count, and whether it is on the critical path. */
export interface TreeRow {
  readonly span: TraceSpan;
  readonly depth: number;
  readonly childCount: number;
  readonly critical: boolean;
}

/** The trace's bounds and its spans in depth-first order (children by start time); orphans become roots. */
export interface TraceTree {
  readonly rows: readonly TreeRow[];
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly services: readonly string[];
}

/**
 * Orders spans as a waterfall: roots (no parent, or a parent not in the trace) first by start time, each followed
 * by its subtree. The critical path is the chain from the longest root down through, at each level, the child that
 * ends last (what the parent waited for).
 */
export function buildTraceTree(spans: readonly TraceSpan[]): TraceTree {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const children = new Map<string, TraceSpan[]>();
  const roots: TraceSpan[] = [];
  for (const s of spans) {
    if (s.parentSpanId && byId.has(s.parentSpanId) && s.parentSpanId !== s.spanId) {
      const list = children.get(s.parentSpanId) ?? [];
      list.push(s);
      children.set(s.parentSpanId, list);
    } else roots.push(s);
  }
  const byStart = (a: TraceSpan, b: TraceSpan): number => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0);
  roots.sort(byStart);
  for (const list of children.values()) list.sort(byStart);

  const critical = new Set<string>();
  let node = roots.reduce<TraceSpan | undefined>((best, r) => (!best || r.endNs - r.startNs > best.endNs - best.startNs ? r : best), undefined);
  while (node && !critical.has(node.spanId)) {
    critical.add(node.spanId);
    node = (children.get(node.spanId) ?? []).reduce<TraceSpan | undefined>((last, c) => (!last || c.endNs > last.endNs ? c : last), undefined);
  }

  const rows: TreeRow[] = [];
  const seen = new Set<string>();
  const visit = (s: TraceSpan, depth: number): void => {
    if (seen.has(s.spanId)) return; // a malformed trace with a cycle is drawn once
    seen.add(s.spanId);
    const kids = children.get(s.spanId) ?? [];
    rows.push({ span: s, depth, childCount: kids.length, critical: critical.has(s.spanId) });
    for (const c of kids) visit(c, depth + 1);
  };
  for (const r of roots) visit(r, 0);

  let startNs = spans[0]?.startNs ?? 0n;
  let endNs = spans[0]?.endNs ?? 0n;
  for (const s of spans) {
    if (s.startNs < startNs) startNs = s.startNs;
    if (s.endNs > endNs) endNs = s.endNs;
  }
  const services = [...new Set(spans.map((s) => s.serviceName))].sort();
  return { rows, startNs, endNs, services };
}

/** Rows left visible when the spans in `collapsed` hide their subtrees. */
export function visibleRows(rows: readonly TreeRow[], collapsed: ReadonlySet<string>): TreeRow[] {
  const out: TreeRow[] = [];
  let hideBelow = -1;
  for (const r of rows) {
    if (hideBelow >= 0 && r.depth > hideBelow) continue;
    hideBelow = collapsed.has(r.span.spanId) ? r.depth : -1;
    out.push(r);
  }
  return out;
}

const SERVICE_COLORS = ['#7eb26d', '#eab839', '#6ed0e0', '#ef843c', '#1f78c1', '#ba43a9', '#705da0', '#508642', '#cca300', '#447ebc', '#c15c17', '#890f02'];

/** A stable colour per service name (a hash into the palette), the same in every trace. */
export function serviceColor(service: string): string {
  let h = 0;
  for (let i = 0; i < service.length; i++) h = (h * 31 + service.charCodeAt(i)) | 0;
  return SERVICE_COLORS[Math.abs(h) % SERVICE_COLORS.length]!;
}
