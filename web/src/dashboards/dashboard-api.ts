import { ORG_HEADER } from '../datasource/proxy-fetch.ts';
import type { DashboardJson } from './dashboard-model.ts';

/** A search hit of `/api/search`. */
export interface SearchHit {
  readonly uid: string;
  readonly title: string;
  readonly url: string;
  readonly type: 'dash-db' | 'dash-folder';
  readonly tags: readonly string[];
  readonly folderUid?: string;
  readonly folderTitle?: string;
  readonly provisioned?: boolean;
}

export interface DashboardMeta {
  readonly folderUid: string;
  readonly folderTitle: string;
  readonly provisioned: boolean;
  readonly canSave: boolean;
  readonly version: number;
  readonly provisionedExternalId?: string;
}

/** Calls Heimdall's Grafana-shaped dashboard API as `org`; an error answer throws its `message`. */
async function api<T>(org: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: { [ORG_HEADER]: org, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 200)}`);
  }
  if (!res.ok) throw Object.assign(new Error((json as { message?: string }).message ?? `HTTP ${res.status}`), { status: res.status });
  return json as T;
}

export const searchDashboards = (org: string, query: string): Promise<SearchHit[]> => api(org, 'GET', `/api/search?query=${encodeURIComponent(query)}`);
export const getDashboard = (org: string, uid: string): Promise<{ dashboard: DashboardJson; meta: DashboardMeta }> => api(org, 'GET', `/api/dashboards/uid/${encodeURIComponent(uid)}`);
export const saveDashboard = (org: string, dashboard: DashboardJson, folderUid: string, overwrite: boolean): Promise<{ uid: string; url: string; version: number }> =>
  api(org, 'POST', '/api/dashboards/db', { dashboard, folderUid, overwrite });
export const deleteDashboard = (org: string, uid: string): Promise<unknown> => api(org, 'DELETE', `/api/dashboards/uid/${encodeURIComponent(uid)}`);
export const listFolders = (org: string): Promise<{ uid: string; title: string }[]> => api(org, 'GET', '/api/folders');
export const createFolder = (org: string, title: string): Promise<{ uid: string; title: string }> => api(org, 'POST', '/api/folders', { title });

/** Offers `dashboard` as a download, as Grafana's "Export → Save to file" does. */
export function downloadJson(dashboard: DashboardJson): void {
  const blob = new Blob([JSON.stringify(dashboard, null, 2)], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `${(dashboard.title ?? 'dashboard').replace(/[^\w-]+/g, '-')}-${Date.now()}.json`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
