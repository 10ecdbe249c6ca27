/** What Heimdall tells the UI at start-up (`GET /api/frontend/settings`). */
export interface FrontendSettings {
  readonly version: string;
  readonly multitenancy: boolean;
  readonly orgs: readonly Org[];
  readonly datasources: readonly DatasourceRef[];
}

/** An org: its name (sent as `X-Heimdall-Org`) and the tenants the server reads for it. */
export interface Org {
  readonly name: string;
  readonly tenants: readonly string[];
}

/** A data source as the browser sees it: no URL, no credentials (those stay on the server's proxy). */
export interface DatasourceRef {
  readonly uid: string;
  readonly name: string;
  readonly type: 'prometheus' | 'loki' | string;
  readonly embedded: boolean;
  /** Its links to the other signals (`ui.datasources[].correlations`, defaults and target uids filled in by the server). */
  readonly correlations: DatasourceCorrelations;
}

/** A data source's correlation settings; see `correlations` in the configuration reference. */
export interface DatasourceCorrelations {
  readonly traces_uid?: string;
  readonly logs_uid?: string;
  readonly profiles_uid?: string;
  readonly metrics_uid?: string;
  readonly exemplar_trace_id_label: string;
  readonly service_labels: readonly string[];
  readonly trace_id_fields: readonly string[];
  readonly trace_id_regex: string;
  readonly attribute_labels: Readonly<Record<string, string>>;
  readonly filter_logs_by_trace_id: boolean;
}

export async function loadSettings(): Promise<FrontendSettings> {
  const res = await fetch('/api/frontend/settings');
  if (!res.ok) throw new Error(`GET /api/frontend/settings answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as FrontendSettings;
}
