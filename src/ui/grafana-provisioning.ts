import { stringify } from 'yaml';
import { DEFAULT_CORRELATIONS } from '../config/index.ts';
import type { UiCorrelationsConfig } from '../config/index.ts';
import type { UiOrg } from './orgs.ts';

/** The uids the provisioned data sources get; the correlations between them refer to these. */
const PROVISIONED_UIDS = { metrics: 'heimdall-metrics', logs: 'heimdall-logs', traces: 'heimdall-traces', profiles: 'heimdall-profiles' } as const;

/** One provisioning file: where it goes (a name under Grafana's `provisioning/datasources/`) and its YAML. */
export interface ProvisioningFile {
  readonly fileName: string;
  readonly yaml: string;
}

/** The correlation settings of the metrics, logs and traces sources (`ui.datasources[].correlations`). */
export interface ProvisionedCorrelations {
  readonly metrics: UiCorrelationsConfig;
  readonly logs: UiCorrelationsConfig;
  readonly traces: UiCorrelationsConfig;
}

const DEFAULTS: ProvisionedCorrelations = { metrics: DEFAULT_CORRELATIONS, logs: DEFAULT_CORRELATIONS, traces: DEFAULT_CORRELATIONS };

/**
 * Grafana data-source provisioning for each org: Heimdall's four APIs as Prometheus, Loki, Tempo and Pyroscope data
 * sources sending the org's tenants as `X-Scope-OrgID`, wired with the same correlations as Heimdall's own UI:
 * exemplars and log trace ids open the trace (exemplarTraceIdDestinations, derivedFields), a span opens its logs,
 * its service's RED metrics and its profile (tracesToLogsV2, tracesToMetrics, tracesToProfiles), and the service map
 * reads the metrics-generator's series (serviceMap). `grafanaOrgIds` maps Heimdall org names to Grafana's numeric
 * org ids (default: position + 1, so the first org is Grafana's Main Org.). The exemplar label, the log fields and
 * regex that carry trace ids and the attribute → label mapping are the configured sources' `correlations`.
 */
export function grafanaProvisioning(
  orgs: readonly UiOrg[],
  heimdallUrl: string,
  grafanaOrgIds: Readonly<Record<string, number>> = {},
  correlations: ProvisionedCorrelations = DEFAULTS,
): ProvisioningFile[] {
  const base = heimdallUrl.replace(/\/+$/, '');
  return orgs.map((org, i) => {
    const orgId = grafanaOrgIds[org.name] ?? i + 1;
    const tenant = { jsonData: { httpHeaderName1: 'X-Scope-OrgID' }, secureJsonData: { httpHeaderValue1: org.tenants.join('|') } };
    const withTenant = (jsonData: Record<string, unknown>): Record<string, unknown> => ({ jsonData: { ...tenant.jsonData, ...jsonData }, secureJsonData: tenant.secureJsonData });
    const mapped = Object.entries(correlations.traces.attribute_labels).map(([key, value]) => ({ key, value }));
    // Profiles and span metrics name the service only; the span metrics' label is `service`.
    const serviceAttr = mapped.find((m) => m.value === 'service_name')?.key ?? 'service.name';
    const serviceTag = (label: string): { key: string; value: string }[] => [{ key: serviceAttr, value: label }];
    const datasources = [
      {
        name: 'Heimdall metrics',
        uid: PROVISIONED_UIDS.metrics,
        orgId,
        type: 'prometheus',
        access: 'proxy',
        url: `${base}/prometheus`,
        isDefault: true,
        ...withTenant({ httpMethod: 'POST', exemplarTraceIdDestinations: [{ name: correlations.metrics.exemplar_trace_id_label, datasourceUid: PROVISIONED_UIDS.traces }] }),
      },
      {
        name: 'Heimdall logs',
        uid: PROVISIONED_UIDS.logs,
        orgId,
        type: 'loki',
        access: 'proxy',
        url: base,
        ...withTenant({
          derivedFields: [
            // OpenTelemetry logs carry the id as structured metadata; other loggers write it in the line.
            ...correlations.logs.trace_id_fields.map((field) => ({ name: field, matcherType: 'label', matcherRegex: field, datasourceUid: PROVISIONED_UIDS.traces, url: '${__value.raw}', urlDisplayLabel: 'Open trace' })),
            { name: 'TraceID in line', matcherType: 'regex', matcherRegex: correlations.logs.trace_id_regex, datasourceUid: PROVISIONED_UIDS.traces, url: '${__value.raw}', urlDisplayLabel: 'Open trace' },
          ],
        }),
      },
      {
        name: 'Heimdall traces',
        uid: PROVISIONED_UIDS.traces,
        orgId,
        type: 'tempo',
        access: 'proxy',
        url: `${base}/tempo`,
        ...withTenant({
          streamingEnabled: { search: false, metrics: false },
          serviceMap: { datasourceUid: PROVISIONED_UIDS.metrics },
          nodeGraph: { enabled: true },
          search: { hide: false },
          lokiSearch: { datasourceUid: PROVISIONED_UIDS.logs },
          tracesToLogsV2: {
            datasourceUid: PROVISIONED_UIDS.logs,
            spanStartTimeShift: '-1m',
            spanEndTimeShift: '1m',
            tags: mapped,
            filterByTraceID: correlations.traces.filter_logs_by_trace_id,
            filterBySpanID: false,
          },
          tracesToMetrics: {
            datasourceUid: PROVISIONED_UIDS.metrics,
            spanStartTimeShift: '-5m',
            spanEndTimeShift: '5m',
            tags: serviceTag('service'),
            queries: [
              { name: 'Request rate', query: 'sum(rate(traces_spanmetrics_calls_total{$__tags}[5m]))' },
              { name: 'Error rate', query: 'sum(rate(traces_spanmetrics_calls_total{$__tags, status_code="STATUS_CODE_ERROR"}[5m]))' },
              { name: 'p95 latency', query: 'histogram_quantile(0.95, sum by (le) (rate(traces_spanmetrics_latency_bucket{$__tags}[5m])))' },
            ],
          },
          tracesToProfiles: {
            datasourceUid: PROVISIONED_UIDS.profiles,
            profileTypeId: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
            tags: serviceTag('service_name'),
            customQuery: false,
          },
        }),
      },
      {
        name: 'Heimdall profiles',
        uid: PROVISIONED_UIDS.profiles,
        orgId,
        type: 'grafana-pyroscope-datasource',
        access: 'proxy',
        url: `${base}/pyroscope`,
        ...withTenant({}),
      },
    ];
    const header = `# Grafana data sources for Heimdall org "${org.name}" (tenants: ${org.tenants.join(', ')}), Grafana org id ${orgId}.\n# Written by \`heimdall grafana-provisioning\`; put it in Grafana's provisioning/datasources/.\n`;
    return { fileName: `heimdall-${org.name.replace(/[^A-Za-z0-9._-]+/g, '_')}.yaml`, yaml: header + stringify({ apiVersion: 1, datasources }, { lineWidth: 0 }) };
  });
}
