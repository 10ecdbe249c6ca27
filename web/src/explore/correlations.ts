import type { TraceSpan } from '../datasource/tempo.ts';
import type { DatasourceCorrelations } from '../shell/settings.ts';

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

/**
 * Where a span's links lead, from its traces source's correlations: the org, the data sources to open (the first
 * of each type when absent), which resource attributes map to which log and profile labels, and whether a span's
 * logs are only those naming its trace.
 */
export interface CorrelationTargets {
  readonly org: string;
  readonly logsUid?: string;
  readonly profilesUid?: string;
  readonly tracesUid?: string;
  readonly metricsUid?: string;
  readonly attributeLabels: Readonly<Record<string, string>>;
  readonly filterLogsByTraceId: boolean;
}

/** The targets of a traces source's span links, from its correlation settings. */
export function correlationTargets(org: string, tracesUid: string, c: DatasourceCorrelations): CorrelationTargets {
  return {
    org,
    tracesUid,
    ...(c.logs_uid ? { logsUid: c.logs_uid } : {}),
    ...(c.profiles_uid ? { profilesUid: c.profiles_uid } : {}),
    ...(c.metrics_uid ? { metricsUid: c.metrics_uid } : {}),
    attributeLabels: c.attribute_labels,
    filterLogsByTraceId: c.filter_logs_by_trace_id,
  };
}

const WINDOW_MS = 60_000;

function spanWindow(span: TraceSpan): { from: string; to: string } {
  return { from: String(Number(span.startNs / 1_000_000n) - WINDOW_MS), to: String(Number(span.endNs / 1_000_000n) + WINDOW_MS) };
}

/** The span's resource attributes as the labels they map to (only the `only` labels, when given). */
function selector(span: TraceSpan, attributeLabels: Readonly<Record<string, string>>, only: readonly string[] = []): string {
  const matchers = Object.entries(attributeLabels)
    .filter(([attr, label]) => span.resource[attr] !== undefined && (only.length === 0 || only.includes(label)))
    .map(([attr, label]) => `${label}=${JSON.stringify(span.resource[attr])}`);
  return `{${matchers.join(', ')}}`;
}

/** The trace view of `traceId` (from a log line, an exemplar or a span link). */
export function traceLink(org: string, traceId: string, range: { from: string; to: string }, ds?: string): ExploreLink {
  return { org, type: 'tempo', ...(ds ? { ds } : {}), params: { trace: traceId, from: range.from, to: range.to } };
}

/**
 * The logs of the span's service (and pod, when known) around the span. With `byTraceId` (and the source's
 * `filter_logs_by_trace_id`) only the lines that carry the trace id in a `trace_id` label or structured metadata.
 */
export function spanLogsLink(t: CorrelationTargets, span: TraceSpan, byTraceId: boolean): ExploreLink {
  const filter = byTraceId && t.filterLogsByTraceId ? ` | trace_id = ${JSON.stringify(span.traceId)}` : '';
  return { org: t.org, type: 'loki', ...(t.logsUid ? { ds: t.logsUid } : {}), params: { expr: `${selector(span, t.attributeLabels)}${filter}`, ...spanWindow(span) } };
}

/** The span's own profile (SelectMergeSpanProfile), or with `spanOnly` false the service's profile around it. */
export function spanProfileLink(t: CorrelationTargets, span: TraceSpan, spanOnly: boolean): ExploreLink {
  return {
    org: t.org,
    type: 'pyroscope',
    ...(t.profilesUid ? { ds: t.profilesUid } : {}),
    params: { expr: selector(span, t.attributeLabels, ['service_name']), ...spanWindow(span), ...(spanOnly ? { span: span.spanId } : {}) },
  };
}

/**
 * The span's service's request rate by operation and status from the metrics-generator's span metrics
 * (`traces_spanmetrics_calls_total`, labelled `service`), half an hour either side of the span.
 */
export function spanMetricsLink(t: CorrelationTargets, span: TraceSpan): ExploreLink {
  const atMs = Number(span.startNs / 1_000_000n);
  return {
    org: t.org,
    type: 'prometheus',
    ...(t.metricsUid ? { ds: t.metricsUid } : {}),
    params: {
      expr: `sum by (span_name, status_code) (rate(traces_spanmetrics_calls_total{service=${JSON.stringify(span.serviceName)}}[5m]))`,
      from: String(atMs - 1_800_000),
      to: String(atMs + 1_800_000),
    },
  };
}

/** The RED panels (rate, errors, duration from the span metrics) of the span's service, beside the service graph. */
export function spanRedLink(t: CorrelationTargets, span: TraceSpan): ExploreLink {
  return { org: t.org, type: 'tempo', ...(t.tracesUid ? { ds: t.tracesUid } : {}), params: { view: 'servicegraph', red: span.serviceName, ...spanWindow(span) } };
}

/**
 * The trace id a log line names: one of the source's `trace_id_fields` among its labels, structured metadata or
 * parsed fields (Loki's derivedFields with matcherType label), else the first capture of its `trace_id_regex` in
 * the line (`trace_id=<hex>`, `"traceId":"<hex>"` by default).
 */
export function traceIdOfLogLine(fields: readonly Readonly<Record<string, string>>[], line: string, c: Pick<DatasourceCorrelations, 'trace_id_fields' | 'trace_id_regex'>): string | undefined {
  const inLine = new RegExp(c.trace_id_regex).exec(line)?.[1];
  return traceIdOfFields(fields, c.trace_id_fields) ?? (inLine && /^[0-9a-fA-F]{1,32}$/.test(inLine) ? inLine.toLowerCase() : undefined);
}

/** The trace id in the first of `keys` among labels or fields (an exemplar's labels, a log line's fields). */
export function traceIdOfFields(fields: readonly Readonly<Record<string, string>>[], keys: readonly string[]): string | undefined {
  for (const f of fields) {
    for (const k of keys) {
      const v = f[k];
      if (v && /^[0-9a-fA-F]{1,32}$/.test(v)) return v.toLowerCase();
    }
  }
  return undefined;
}

/**
 * The services a query's series name (the first of the source's `service_labels` each series has: `service_name`,
 * `service`, `job` by default), sorted, at most 10.
 */
export function servicesOfSeries(series: readonly Readonly<Record<string, string>>[], serviceLabels: readonly string[]): string[] {
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
