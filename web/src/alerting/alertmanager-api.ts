import { parse as parseYaml } from 'yaml';
import { ORG_HEADER, proxyGet } from '../datasource/proxy-fetch.ts';

/** A rule as Prometheus' `/api/v1/rules` lists it. */
export interface ApiRule {
  readonly type: 'alerting' | 'recording';
  readonly name: string;
  readonly query: string;
  readonly health: string;
  readonly lastError?: string;
  readonly state?: 'inactive' | 'pending' | 'firing';
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly alerts?: readonly ApiRuleAlert[];
}
export interface ApiRuleAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: 'pending' | 'firing';
  readonly activeAt: string;
  readonly value: string;
}
export interface ApiRuleGroup {
  readonly name: string;
  readonly file: string;
  readonly interval: number;
  readonly rules: readonly ApiRule[];
  readonly lastEvaluation: string;
  readonly evaluationTime: number;
}

/** The org's rule groups through the Prometheus data source `uid` (metric and log rules together). */
export async function fetchRuleGroups(uid: string, org: string): Promise<ApiRuleGroup[]> {
  const { body } = await proxyGet<{ data: { groups: ApiRuleGroup[] } }>(uid, org, 'api/v1/rules', {});
  return body.data.groups;
}

export interface SilenceMatcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  readonly isEqual: boolean;
}
export interface Silence {
  readonly id: string;
  readonly matchers: readonly SilenceMatcher[];
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
  readonly comment: string;
  readonly status: { readonly state: 'active' | 'pending' | 'expired' };
}

/** A call to the built-in notifier's Alertmanager API as `org`; errors carry Alertmanager's message. */
async function am<T>(org: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`/api/alertmanager/${path}`, {
    method,
    headers: { [ORG_HEADER]: org, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = String(JSON.parse(text));
    } catch {
      // plain text
    }
    throw new Error(`${method} ${path}: ${res.status} ${message}`);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

export const fetchSilences = (org: string): Promise<Silence[]> => am<Silence[]>(org, 'GET', 'silences');
export const createSilence = (org: string, s: Omit<Silence, 'id' | 'status'>): Promise<{ silenceID: string }> => am(org, 'POST', 'silences', s);
export const expireSilence = (org: string, id: string): Promise<void> => am(org, 'DELETE', `silence/${encodeURIComponent(id)}`);

/** A node of the routing tree as the config file writes it. */
export interface RouteNode {
  readonly receiver?: string;
  readonly group_by?: string[];
  readonly matchers?: string[];
  readonly match?: Record<string, string>;
  readonly match_re?: Record<string, string>;
  readonly continue?: boolean;
  readonly group_wait?: string;
  readonly group_interval?: string;
  readonly repeat_interval?: string;
  readonly mute_time_intervals?: string[];
  readonly active_time_intervals?: string[];
  readonly routes?: RouteNode[];
}
export interface ContactPoint {
  readonly name: string;
  /** Integration kinds with a count, e.g. `webhook ×2`, and their targets with secrets left out. */
  readonly integrations: readonly { kind: string; target: string }[];
}

/** The notifier's configuration (read-only): routing tree and contact points, from `status.config.original`. */
export async function fetchNotifierConfig(org: string): Promise<{ route: RouteNode; contactPoints: ContactPoint[] } | undefined> {
  let status: { config: { original: string } };
  try {
    status = await am(org, 'GET', 'status');
  } catch (err) {
    if ((err as Error).message.includes(': 404 ')) return undefined;
    throw err;
  }
  const cfg = parseYaml(status.config.original) as { route: RouteNode; receivers?: Record<string, unknown>[] };
  const contactPoints = (cfg.receivers ?? []).map((r) => ({
    name: String(r['name']),
    integrations: Object.entries(r)
      .filter(([k]) => k.endsWith('_configs'))
      .flatMap(([k, list]) =>
        (list as Record<string, unknown>[]).map((c) => ({
          kind: k.replace(/_configs$/, ''),
          target: String(c['channel'] ?? c['to'] ?? hostOf(c['url'] ?? c['api_url'] ?? c['webhook_url']) ?? ''),
        })),
      ),
  }));
  return { route: cfg.route, contactPoints };
}

/** Only the host of a receiver URL is shown: Slack-style URLs carry their secret in the path. */
function hostOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}
