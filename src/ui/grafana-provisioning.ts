import { stringify } from 'yaml';
import type { UiOrg } from './orgs.ts';

/** The uids the provisioned data sources get; the correlations between them refer to these. */
const PROVISIONED_UIDS = { metrics: 'heimdall-metrics', logs: 'heimdall-logs', traces: 'heimdall-traces', profiles: 'heimdall-profiles' } as const;

/** One provisioning file: where it goes (a name under Grafana's `provisioning/datasources/`) and its YAML. */
export interface ProvisioningFile {
  readonly fileName: string;
  readonly yaml: string;
}

/**
 * Grafana data-source provisioning for each org: Heimdall's four APIs as Prometheus, Loki, Tempo and Pyroscope data
 * sources sending the org's tenants as `X-Scope-OrgID`, wired with the same correlations as Heimdall's own UI:
 * exemplars and log trace ids open the trace (exemplarTraceIdDestinations, derivedFields), a span opens its logs,
 * its service's RED metrics and its profile (tracesToLogsV2, tracesToMetrics, tracesToProfiles), and the service map
 * reads the metrics-generator's series (serviceMap). `grafanaOrgIds` maps Heimdall org names to Grafana's numeric
 * org ids (default: position + 1, so the first org is Grafana's Main Org.).
 */
export function grafanaProvisioning(orgs: readonly UiOrg[], heimdallUrl: string, grafanaOrgIds: Readonly<Record<string, number>> = {}): ProvisioningFile[] {
  const base = heimdallUrl.replace(/\/+$/, '');
  return orgs.map((org, i) => {
    const orgId = grafanaOrgIds[org.name] ?? i + 1;
    const tenant = { jsonData: { httpHeaderName1: 'X-Scope-OrgID' }, secureJsonData: { httpHeaderValue1: org.tenants.join('|') } };
    const withTenant = (jsonData: Record<string, unknown>): Record<string, unknown> => ({ jsonData: { ...tenant.jsonData, ...jsonData }, secureJsonData: tenant.secureJsonData });
    const serviceTag = (label: string): { key: string; value: string }[] => [{ key: 'service.name', value: label }];
    const datasources = [
      {
        name: 'Heimdall metrics',
        uid: PROVISIONED_UIDS.metrics,
        orgId,
        type: 'prometheus',
        access: 'proxy',
        url: `${base}/prometheus`,
        isDefault: true,
        ...withTenant({ httpMethod: 'POST', exemplarTraceIdDestinations: [{ name: 'trace_id', datasourceUid: PROVISIONED_UIDS.traces }] }),
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
            { name: 'trace_id', matcherType: 'label', matcherRegex: 'trace_id', datasourceUid: PROVISIONED_UIDS.traces, url: '${__value.raw}', urlDisplayLabel: 'Open trace' },
            { name: 'TraceID', matcherType: 'regex', matcherRegex: '(?i)trace_?id["\']?\\s*[=:]\\s*["\']?([0-9a-f]{16,32})', datasourceUid: PROVISIONED_UIDS.traces, url: '${__value.raw}', urlDisplayLabel: 'Open trace' },
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
            tags: [...serviceTag('service_name'), { key: 'k8s.namespace.name', value: 'namespace' }, { key: 'k8s.pod.name', value: 'pod' }],
            filterByTraceID: true,
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
