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
}

export async function loadSettings(): Promise<FrontendSettings> {
  const res = await fetch('/api/frontend/settings');
  if (!res.ok) throw new Error(`GET /api/frontend/settings answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as FrontendSettings;
}
