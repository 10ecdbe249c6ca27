import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { MetricMetadata } from '../../model/index.ts';
import type { MetricsStorage } from '../../storage/index.ts';
import type { TenantResolver } from '../../tenant/index.ts';
import { ApiError } from '../errors.ts';
import { apiRoute } from './handler.ts';
import { parseGoInt } from './params.ts';

/**
 * The Mimir `features` buildinfo reports when the caller passes none. Buildinfo advertises only what exists (a
 * feature listed `"true"` is reported; the rest are left out), so with none the answer carries no `features`
 * object and Grafana treats the data source as Prometheus instead of looking for a Mimir ruler API that would
 * answer 404 (`pkg/promlib/heuristics.go`, `features/alerting/unified/api/buildInfo.ts`). The metrics role passes
 * `ruler_config_api` when the ruler role runs in the process.
 */
const DEFAULT_BUILD_FEATURES: Readonly<Record<string, string>> = {};

/** Registers `metadata` and `status/buildinfo` (relative to the API prefix). */
export function registerMetadataRoutes(
  app: FastifyInstance,
  deps: {
    queryable: MetricsStorage;
    tenants: TenantResolver;
    logger: Logger;
    buildFeatures?: Readonly<Record<string, string>>;
  },
): void {
  app.get(
    '/metadata',
    apiRoute(deps.tenants, deps.logger, async (req) => {
      const limit = intOr(req.form.get('limit'), -1, 'limit must be a number');
      const limitPerMetric = intOr(req.form.get('limit_per_metric'), -1, 'limit_per_metric must be a number');
      const metric = req.form.get('metric') || undefined;
      const data: Record<string, MetricMetadata[]> = {};
      if (limit === 0) return { data };
      const found = await deps.queryable.metadata(req.tenants, metric, limit > 0 ? limit : undefined);
      const names = [...found.keys()].sort();
      for (const name of names) {
        if (limit >= 0 && Object.keys(data).length >= limit) break;
        const unique = dedupe(found.get(name) ?? []);
        data[name] = limitPerMetric > 0 ? unique.slice(0, limitPerMetric) : unique;
      }
      return { data };
    }),
  );

  const info = buildInfo(deps.buildFeatures ?? DEFAULT_BUILD_FEATURES);
  app.get(
    '/status/buildinfo',
    apiRoute(deps.tenants, deps.logger, async () => ({ data: info }), { tenantless: true }),
  );
}

function intOr(value: string | undefined, fallback: number, message: string): number {
  if (value === undefined || value === '') return fallback;
  const n = parseGoInt(value);
  if (n === undefined) throw new ApiError('bad_data', message);
  return n;
}

function dedupe(list: readonly MetricMetadata[]): MetricMetadata[] {
  const seen = new Map<string, MetricMetadata>();
  for (const m of list) {
    const entry = { type: m.type, help: m.help, unit: m.unit };
    seen.set(JSON.stringify(entry), entry);
  }
  return [...seen.values()];
}

/** Prometheus' PrometheusVersion fields plus Mimir's `application`, and `features` only for served APIs. */
function buildInfo(features: Readonly<Record<string, string>>): Record<string, unknown> {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  const info: Record<string, unknown> = {
    application: 'Heimdall',
    version: pkg.version ?? 'unknown',
    revision: 'unknown',
    branch: 'unknown',
    buildUser: 'unknown',
    buildDate: 'unknown',
    goVersion: `node${process.versions.node}`,
  };
  const served = Object.entries(features).filter(([, v]) => v === 'true');
  return served.length === 0 ? info : { ...info, features: Object.fromEntries(served) };
}
