import type { TraceSpan } from '../datasource/tempo.ts';

/**
 * Links between signals (Grafana's correlations with their defaults): every one is an Explore URL, so it keeps
 * the org and opens the other signal with a time range around what was clicked. An absent `ds` lets Explore pick
 * the first data source of the type the link names (`type=`), so the links work without knowing the uids.
 */
export interface ExploreLink {
  readonly org: string;
  readonly type: 'prometheus' | 'loki' | 'tempo' | 'pyroscope';
  readonly ds?: string;
  readonly params: Record<string, string>;
}

export function exploreHref(link: ExploreLink): string {
  const p = new URLSearchParams({ org: link.org, ...(link.ds ? { ds: link.ds } : { type: link.type }), ...link.params });
  return `/explore?${p.toString()}`;
}

/** The panes of Explore's split view, by the URL prefix of their keys: the left pane's keys are bare. */
export const PANE_PREFIXES = ['', 'r.'] as const;
export type PanePrefix = (typeof PANE_PREFIXES)[number];

/** URL keys of the page, not of a pane. */
const PAGE_KEYS = new Set(['org', 'from', 'to']);

/**
 * `link` opened in Explore's split view beside the pane it was clicked in (`from`), keeping the page's time range
 * (the link's own `from`/`to` are only for a link opened on its own). From the left pane the target replaces the
 * right pane; from the right pane the right pane moves left and the target opens on the right, so each step of a
 * chain (exemplar → trace → logs → profile) stays beside the one it came from.
 */
export function splitViewHref(current: URLSearchParams, from: PanePrefix, link: ExploreLink): string {
  const out = new URLSearchParams();
  out.set('org', link.org);
  for (const k of ['from', 'to']) {
    const v = current.get(k) ?? link.params[k];
    if (v !== undefined) out.set(k, v);
  }
  for (const [k, v] of current) {
    if (PAGE_KEYS.has(k)) continue;
    const isRight = k.startsWith('r.');
    if (from === '' && !isRight) out.append(k, v);
    if (from === 'r.' && isRight) out.append(k.slice(2), v);
  }
  out.set(link.ds ? 'r.ds' : 'r.type', link.ds ?? link.type);
  for (const [k, v] of Object.entries(link.params)) if (!PAGE_KEYS.has(k)) out.set(`r.${k}`, v);
  return `/explore?${out.toString()}`;
}

/** Resource attributes of a span mapped to the log/profile labels that carry the same thing (tracesToLogsV2 tags). */
export const ATTRIBUTE_TO_LABEL: readonly (readonly [string, string])[] = [
  ['service.name', 'service_name'],
  ['k8s.namespace.name', 'namespace'],
  ['k8s.pod.name', 'pod'],
];

const WINDOW_MS = 60_000;

function spanWindow(span: TraceSpan): { from: string; to: string } {
  return { from: String(Number(span.startNs / 1_000_000n) - WINDOW_MS), to: String(Number(span.endNs / 1_000_000n) + WINDOW_MS) };
}

function selector(span: TraceSpan, only: readonly string[] = []): string {
  const matchers = ATTRIBUTE_TO_LABEL.filter(([attr, label]) => span.resource[attr] !== undefined && (only.length === 0 || only.includes(label))).map(
    ([attr, label]) => `${label}=${JSON.stringify(span.resource[attr])}`,
  );
  return `{${matchers.join(', ')}}`;
}

/** The trace view of `traceId` (from a log line, an exemplar or a span link). */
export function traceLink(org: string, traceId: string, range: { from: string; to: string }, ds?: string): ExploreLink {
  return { org, type: 'tempo', ...(ds ? { ds } : {}), params: { trace: traceId, from: range.from, to: range.to } };
}

/**
 * The logs of the span's service (and pod, when known) around the span. With `byTraceId` only the lines that name
 * the trace: a `trace_id` label or structured metadata field, or the id anywhere in the line.
 */
export function spanLogsLink(org: string, span: TraceSpan, byTraceId: boolean, ds?: string): ExploreLink {
  const filter = byTraceId ? ` | trace_id = ${JSON.stringify(span.traceId)}` : '';
  return { org, type: 'loki', ...(ds ? { ds } : {}), params: { expr: `${selector(span)}${filter}`, ...spanWindow(span) } };
}

/** The span's own profile (SelectMergeSpanProfile), or with `spanOnly` false the service's profile around it. */
export function spanProfileLink(org: string, span: TraceSpan, spanOnly: boolean, ds?: string): ExploreLink {
  return {
    org,
    type: 'pyroscope',
    ...(ds ? { ds } : {}),
    params: { expr: selector(span, ['service_name']), ...spanWindow(span), ...(spanOnly ? { span: span.spanId } : {}) },
  };
}

/**
 * The span's service's request rate by operation and status from the metrics-generator's span metrics
 * (`traces_spanmetrics_calls_total`, labelled `service`), half an hour either side of the span.
 */
export function spanMetricsLink(org: string, span: TraceSpan, ds?: string): ExploreLink {
  const atMs = Number(span.startNs / 1_000_000n);
  return {
    org,
    type: 'prometheus',
    ...(ds ? { ds } : {}),
    params: {
      expr: `sum by (span_name, status_code) (rate(traces_spanmetrics_calls_total{service=${JSON.stringify(span.serviceName)}}[5m]))`,
      from: String(atMs - 1_800_000),
      to: String(atMs + 1_800_000),
    },
  };
}

/** The RED panels (rate, errors, duration from the span metrics) of the span's service, beside the service graph. */
export function spanRedLink(org: string, span: TraceSpan, ds?: string): ExploreLink {
  return { org, type: 'tempo', ...(ds ? { ds } : {}), params: { view: 'servicegraph', red: span.serviceName, ...spanWindow(span) } };
}

const TRACE_ID_KEYS = ['trace_id', 'traceid', 'traceID', 'traceId', 'trace-id', 'TraceId'];
const TRACE_ID_IN_LINE = /\btrace[_-]?id["']?\s*[=:]\s*["']?([0-9a-fA-F]{16,32})\b/i;

/**
 * The trace id a log line names: a `trace_id` label, structured metadata or parsed field (Loki's derivedFields
 * with matcherType label), else a `trace_id=<hex>` / `"traceId":"<hex>"` in the line (the regex matcher).
 */
export function traceIdOfLogLine(fields: readonly Readonly<Record<string, string>>[], line: string): string | undefined {
  return traceIdOfFields(fields) ?? TRACE_ID_IN_LINE.exec(line)?.[1]?.toLowerCase();
}

/** The trace id among labels or fields (`trace_id`, `traceID`, …: an exemplar's labels, a log line's fields). */
export function traceIdOfFields(fields: readonly Readonly<Record<string, string>>[]): string | undefined {
  for (const f of fields) {
    for (const k of TRACE_ID_KEYS) {
      const v = f[k];
      if (v && /^[0-9a-fA-F]{1,32}$/.test(v)) return v.toLowerCase();
    }
  }
  return undefined;
}

/**
 * Series labels that name a service, in order of preference: `service_name` (OpenTelemetry, Pyroscope), `service`
 * (span metrics), `job` (a Prometheus scrape, `namespace/app` in Kubernetes as Alloy names it).
 */
export const SERVICE_LABELS: readonly string[] = ['service_name', 'service', 'job'];

/** The services a query's series name (the first of `serviceLabels` each series has), sorted, at most 10. */
export function servicesOfSeries(series: readonly Readonly<Record<string, string>>[], serviceLabels: readonly string[] = SERVICE_LABELS): string[] {
  const out = new Set<string>();
  for (const labels of series) {
    const label = serviceLabels.find((l) => labels[l]);
    if (label) out.add(labels[label]!);
  }
  return [...out].sort().slice(0, 10);
}

/** The profiles of `service` (Pyroscope's `service_name`) over `range`: metrics → profiles. */
export function serviceProfileLink(org: string, service: string, range: { from: string; to: string }, ds?: string): ExploreLink {
  return { org, type: 'pyroscope', ...(ds ? { ds } : {}), params: { expr: `{service_name=${JSON.stringify(service)}}`, ...range } };
}
