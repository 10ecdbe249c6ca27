import { z } from 'zod';
import { durationSchema } from './units.ts';

/**
 * An organisation of the web UI: a name and the tenants its queries read. One tenant is an org per tenant
 * (`X-Scope-OrgID: team-alpha`); several make a federating org (`X-Scope-OrgID: a|b|c`). Users, roles and SSO
 * attach to an org later (a user → org → role mapping), which is why the org, not the browser, decides the
 * tenant header.
 */
const orgSchema = z
  .object({
    /** Shown in the org switcher and carried by every UI request (`X-Heimdall-Org`). */
    name: z.string().min(1).max(100).regex(/^[^\s|/]([^|/]*[^\s|/])?$/, 'no "|" or "/", no leading or trailing space'),
    /** The tenants the org reads, joined with `|` into `X-Scope-OrgID`. */
    tenants: z.array(z.string().min(1)).min(1),
  })
  .strict();

/** A regular expression (JavaScript's, as the browser runs it) with a capture group: the trace id. */
const traceIdRegexSchema = z.string().refine((s) => {
  try {
    new RegExp(s);
  } catch {
    return false;
  }
  return /\((?!\?)/.test(s);
}, 'a valid regular expression with a capture group (the trace id)');

/**
 * The links from a data source to the other signals (Grafana's exemplarTraceIdDestinations, derivedFields,
 * tracesToLogsV2, tracesToProfiles, tracesToMetrics), each with a default that works with OpenTelemetry data as
 * Heimdall stores it. A target uid left out is the first data source of the type it needs.
 */
const correlationsSchema = z
  .object({
    /** The Tempo source exemplars and log lines' trace ids open. */
    traces_uid: z.string().min(1).optional(),
    /** The Loki source a span's logs open in. */
    logs_uid: z.string().min(1).optional(),
    /** The Pyroscope source a span's or a graph's profiles open in. */
    profiles_uid: z.string().min(1).optional(),
    /** The Prometheus source of a span's RED metrics and the service graph. */
    metrics_uid: z.string().min(1).optional(),
    /** Prometheus: the exemplar label that carries the trace id. */
    exemplar_trace_id_label: z.string().min(1).default('trace_id'),
    /** Prometheus: series labels naming the service whose profiles a graph links to (the first one present wins). */
    service_labels: z.array(z.string().min(1)).min(1).default(['service_name', 'service', 'job']),
    /** Loki: the stream labels, structured metadata or parsed fields that carry a trace id. */
    trace_id_fields: z.array(z.string().min(1)).default(['trace_id', 'traceid', 'traceID', 'traceId', 'trace-id', 'TraceId']),
    /** Loki: where a trace id is in the line when no field carries it (the first capture group). */
    trace_id_regex: traceIdRegexSchema.default('\\b[tT]race[_-]?[iI][dD]["\']?\\s*[=:]\\s*["\']?([0-9a-fA-F]{16,32})\\b'),
    /** Tempo: span resource attributes → the log and profile labels that carry the same thing. */
    attribute_labels: z.record(z.string().min(1), z.string().min(1)).default({ 'service.name': 'service_name', 'k8s.namespace.name': 'namespace', 'k8s.pod.name': 'pod' }),
    /** Tempo: a span's logs are only the lines naming its trace id. */
    filter_logs_by_trace_id: z.boolean().default(true),
  })
  .strict();

/** The correlation settings of a data source that sets none. */
export const DEFAULT_CORRELATIONS = correlationsSchema.parse({});

/**
 * A data source of the UI, as Grafana has them. Without `url` it is Heimdall's own engine of that type, reached
 * in process; with `url` requests go to that Prometheus/Mimir or Loki server through Heimdall's proxy, which adds
 * `headers` and `basic_auth` so the browser never holds the credentials.
 */
const datasourceSchema = z
  .object({
    /** Stable id used in proxy paths (`/api/datasources/proxy/uid/<uid>/...`) and in links. */
    uid: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, _ and -, at most 40'),
    name: z.string().min(1),
    type: z.enum(['prometheus', 'loki', 'tempo', 'pyroscope']),
    /**
     * Base URL as Grafana takes it: a Prometheus/Mimir query root (`http://mimir/prometheus`), a Loki root
     * (`http://loki:3100`), a Tempo root (`http://tempo:3200`) or a Pyroscope root (`http://pyroscope:4040`).
     * Absent: the embedded engine.
     */
    url: z.url({ protocol: /^https?$/ }).optional(),
    /** A fixed `X-Scope-OrgID` for this source; absent: the tenants of the org the request comes from. */
    tenant: z.string().min(1).optional(),
    /** Extra request headers sent upstream (e.g. `Authorization`); never sent to the browser. */
    headers: z.record(z.string(), z.string()).default({}),
    basic_auth: z.object({ username: z.string(), password: z.string() }).strict().optional(),
    /** How long a proxied request may take before it is answered 504. */
    timeout: durationSchema.prefault('2m'),
    /** Links to the other signals (which keys matter depends on the type). */
    correlations: correlationsSchema.prefault({}),
  })
  .strict();

/** The default data sources: the embedded metrics, logs, traces and profiles engines. */
const EMBEDDED_DATASOURCES = [
  { uid: 'heimdall-metrics', name: 'Heimdall metrics', type: 'prometheus' },
  { uid: 'heimdall-logs', name: 'Heimdall logs', type: 'loki' },
  { uid: 'heimdall-traces', name: 'Heimdall traces', type: 'tempo' },
  { uid: 'heimdall-profiles', name: 'Heimdall profiles', type: 'pyroscope' },
] as const;

/** The `ui` section: whether `/` serves the web UI, its orgs and data sources. */
export const uiConfigSchema = z
  .object({
    /** Serve the web UI at `/` of the HTTP address (API paths always take priority). */
    enabled: z.boolean().default(true),
    /**
     * The orgs of the org switcher. Empty: one org, `default`, reading tenant `anonymous` with multitenancy off
     * or `tenancy.default_tenant` with it on.
     */
    orgs: z.array(orgSchema).default([]),
    /** Replaces the default list (the embedded metrics, logs, traces and profiles engines) when given. */
    datasources: z.array(datasourceSchema).prefault([...EMBEDDED_DATASOURCES]),
    /**
     * A directory of Grafana dashboard JSON files shown in every org, read-only (Grafana's file provisioning):
     * files in a subdirectory go in a folder named after it. Watched: files added, changed or removed (e.g. by a
     * Kubernetes ConfigMap sidecar) show without a restart.
     */
    dashboards_dir: z.string().min(1).optional(),
    /** Show the dashboards shipped with Heimdall (self-monitoring, host overview, logs overview) in folder "Heimdall". */
    builtin_dashboards: z.boolean().default(true),
  })
  .strict()
  .superRefine((ui, ctx) => {
    const seen = new Set<string>();
    ui.orgs.forEach((o, i) => {
      if (seen.has(o.name)) ctx.addIssue({ code: 'custom', path: ['orgs', i, 'name'], message: `duplicate org name "${o.name}"` });
      seen.add(o.name);
    });
    const uids = new Set<string>();
    ui.datasources.forEach((d, i) => {
      if (uids.has(d.uid)) ctx.addIssue({ code: 'custom', path: ['datasources', i, 'uid'], message: `duplicate data source uid "${d.uid}"` });
      uids.add(d.uid);
    });
    // A correlation names a data source of the type it opens.
    const typeOf = new Map(ui.datasources.map((d) => [d.uid, d.type]));
    const wanted = { traces_uid: 'tempo', logs_uid: 'loki', profiles_uid: 'pyroscope', metrics_uid: 'prometheus' } as const;
    ui.datasources.forEach((d, i) => {
      for (const [key, type] of Object.entries(wanted) as [keyof typeof wanted, string][]) {
        const uid = d.correlations[key];
        if (uid !== undefined && typeOf.get(uid) !== type) {
          ctx.addIssue({ code: 'custom', path: ['datasources', i, 'correlations', key], message: `"${uid}" is not a ${type} data source of ui.datasources` });
        }
      }
    });
  })
  .prefault({});

export type UiConfig = z.output<typeof uiConfigSchema>;
export type UiOrgConfig = UiConfig['orgs'][number];
export type UiDatasourceConfig = UiConfig['datasources'][number];
export type UiCorrelationsConfig = UiDatasourceConfig['correlations'];
