import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { sortedLabelNames } from '../../model/index.ts';
import type { TenantId } from '../../model/index.ts';
import { RuleFileError, groupToYamlObject, parseRuleGroup, toYaml } from '../../rules/index.ts';
import type { ExpressionValidator, RuleGroup, RuleLanguage, RuleStore, Ruler } from '../../rules/index.ts';
import type { TenantResolver } from '../../tenant/index.ts';
import { ApiError, toApiError } from '../errors.ts';
import { apiRoute } from '../prometheus/handler.ts';
import { readTenants } from '../request-context.ts';

/** A source of API-managed rules: its store and the ruler source name its groups run under. */
export interface RuleSource {
  readonly store: RuleStore;
  readonly source: string;
  readonly language: RuleLanguage;
}

/** What the ruler APIs work on. */
export interface RulerApiDeps {
  readonly ruler: Ruler;
  /** PromQL rules: the Mimir ruler config API. */
  readonly prometheus: RuleSource;
  /** LogQL rules: the Loki ruler API; absent when the logs role does not run. */
  readonly loki?: RuleSource;
  readonly validate: ExpressionValidator;
  readonly tenants: TenantResolver;
  readonly logger: Logger;
}

/**
 * Registers the ruler APIs: the Mimir ruler config API at `/prometheus/config/v1/rules[/{ns}[/{group}]]`
 * (YAML, `POST` answers 202, as `mimirtool rules` expects), the Loki ruler API at `/loki/api/v1/rules...`
 * (and its legacy alias `/api/prom/rules...`), and Prometheus' `GET /prometheus/api/v1/rules` and
 * `/prometheus/api/v1/alerts` (also the paths Grafana's Loki data source asks, so they list metric and log
 * rules together). A change is durable before it is acknowledged and takes effect at once.
 */
export async function registerRulerApi(app: FastifyInstance, deps: RulerApiDeps): Promise<void> {
  await app.register(async (scope) => {
    // Rule groups arrive as YAML (`application/yaml`, or no useful type from curl); read every body as text.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    registerConfigRoutes(scope, '/prometheus/config/v1/rules', deps.prometheus, deps);
    if (deps.loki) {
      registerConfigRoutes(scope, '/loki/api/v1/rules', deps.loki, deps);
      registerConfigRoutes(scope, '/api/prom/rules', deps.loki, deps);
    }
  });
  await app.register(
    async (scope) => {
      scope.get('/rules', apiRoute(deps.tenants, deps.logger, async (req) => ({ data: { groups: listGroups(deps, req.tenants, req.form) } })));
      scope.get('/alerts', apiRoute(deps.tenants, deps.logger, async (req) => ({ data: { alerts: listAlerts(deps, req.tenants) } })));
    },
    { prefix: '/prometheus/api/v1' },
  );
}

function registerConfigRoutes(app: FastifyInstance, prefix: string, src: RuleSource, deps: RulerApiDeps): void {
  const handle = (fn: (tenant: TenantId, params: Record<string, string>, body: unknown) => Promise<ConfigAnswer>) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        const tenant = singleTenant(deps.tenants, request);
        const answer = await fn(tenant, request.params as Record<string, string>, request.body);
        if (answer.yaml !== undefined) return reply.code(200).type('application/yaml').send(answer.yaml);
        return reply.code(answer.status).send({ status: 'success', data: null, errorType: '', error: '' });
      } catch (err) {
        if (err instanceof RuleFileError) return reply.code(400).type('text/plain; charset=utf-8').send(`${err.message}\n`);
        const mapped = toApiError(err, request.id);
        if (mapped.internal) deps.logger.error({ err, url: request.url }, 'ruler API request failed');
        return reply.code(mapped.status).type('text/plain; charset=utf-8').send(`${mapped.message}\n`);
      }
    };
  const sync = (tenant: TenantId): Promise<void> => deps.ruler.sync(tenant, src.source, src.language, src.store.namespaces(tenant));

  app.get(prefix, handle(async (tenant) => namespacesYaml(src.store, tenant)));
  app.get(`${prefix}/:namespace`, handle(async (tenant, p) => namespacesYaml(src.store, tenant, p.namespace)));
  app.get(
    `${prefix}/:namespace/:group`,
    handle(async (tenant, p) => {
      const group = src.store.namespaces(tenant).get(p.namespace!)?.find((g) => g.name === p.group);
      if (!group) throw new ApiError('not_found', 'group does not exist');
      return { status: 200, yaml: toYaml(groupToYamlObject(group)) };
    }),
  );
  app.post(
    `${prefix}/:namespace`,
    handle(async (tenant, p, body) => {
      if (typeof body !== 'string' || body.trim() === '') throw new RuleFileError('the request body holds no rule group');
      const group = parseRuleGroup(body, src.language, deps.validate);
      await src.store.setGroup(tenant, p.namespace!, group);
      await sync(tenant);
      return { status: 202 };
    }),
  );
  app.delete(
    `${prefix}/:namespace/:group`,
    handle(async (tenant, p) => {
      if (!(await src.store.deleteGroup(tenant, p.namespace!, p.group!))) throw new ApiError('not_found', 'group does not exist');
      await sync(tenant);
      return { status: 202 };
    }),
  );
  app.delete(
    `${prefix}/:namespace`,
    handle(async (tenant, p) => {
      if (!(await src.store.deleteNamespace(tenant, p.namespace!))) throw new ApiError('not_found', 'no rule groups found');
      await sync(tenant);
      return { status: 202 };
    }),
  );
}

interface ConfigAnswer {
  readonly status: number;
  readonly yaml?: string;
}

function namespacesYaml(store: RuleStore, tenant: TenantId, only?: string): ConfigAnswer {
  const out: Record<string, unknown> = {};
  for (const [ns, groups] of [...store.namespaces(tenant)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (only === undefined || ns === only) out[ns] = groups.map(groupToYamlObject);
  }
  if (Object.keys(out).length === 0) throw new ApiError('not_found', 'no rule groups found');
  return { status: 200, yaml: toYaml(out) };
}

function singleTenant(tenants: TenantResolver, request: FastifyRequest): TenantId {
  const ids = readTenants(tenants, request);
  if (ids.length !== 1) throw new ApiError('bad_data', 'the ruler API takes exactly one tenant in X-Scope-OrgID');
  return ids[0]!;
}

/** Prometheus' zero time, which the rules API shows for a rule never evaluated. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

function rfc3339(ms: number): string {
  return ms === 0 ? ZERO_TIME : new Date(ms).toISOString();
}

/** Go's `strconv.FormatFloat(v, 'e', -1, 64)`, the form of an alert's `value` in the API. */
function formatValueE(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
}

function sortedGroups(deps: RulerApiDeps, tenants: readonly TenantId[]): RuleGroup[] {
  const key = (g: RuleGroup): string => `${g.id.tenant}\0${g.id.namespace}`;
  return deps.ruler.groups(tenants).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function listGroups(deps: RulerApiDeps, tenants: readonly TenantId[], form: { all(name: string): string[]; get(name: string): string | undefined }): unknown[] {
  const type = form.get('type');
  if (type !== undefined && type !== '' && type !== 'alert' && type !== 'record') {
    throw new ApiError('bad_data', `invalid query parameter type='${type}', must be one of 'alert' or 'record'`);
  }
  const names = new Set(form.all('rule_name[]'));
  const groupNames = new Set(form.all('rule_group[]'));
  const files = new Set(form.all('file[]'));
  const excludeAlerts = form.get('exclude_alerts') === 'true';
  const out: unknown[] = [];
  for (const g of sortedGroups(deps, tenants)) {
    if (groupNames.size > 0 && !groupNames.has(g.spec.name)) continue;
    if (files.size > 0 && !files.has(g.id.namespace)) continue;
    const rules: unknown[] = [];
    for (const r of g.rules) {
      const name = r.spec.alert ?? r.spec.record ?? '';
      if (names.size > 0 && !names.has(name)) continue;
      const common = {
        name,
        query: r.spec.expr,
        labels: { ...r.spec.labels },
        health: r.status.health,
        lastError: r.status.lastError,
        evaluationTime: r.status.evaluationTimeMs / 1000,
        lastEvaluation: rfc3339(r.status.lastEvaluationMs),
      };
      if (r.alerting) {
        if (type === 'record') continue;
        const alerts = [...r.alerting.active.values()].filter((a) => a.state !== 'inactive');
        const state = alerts.some((a) => a.state === 'firing') ? 'firing' : alerts.length > 0 ? 'pending' : 'inactive';
        rules.push({
          state,
          name,
          query: r.spec.expr,
          duration: r.spec.forMs / 1000,
          keepFiringFor: r.spec.keepFiringForMs / 1000,
          labels: { ...r.spec.labels },
          annotations: { ...r.spec.annotations },
          ...(excludeAlerts ? {} : { alerts: alerts.map(alertJson) }),
          health: common.health,
          lastError: common.lastError,
          evaluationTime: common.evaluationTime,
          lastEvaluation: common.lastEvaluation,
          type: 'alerting',
        });
      } else {
        if (type === 'alert') continue;
        rules.push({ ...common, type: 'recording' });
      }
    }
    if (rules.length === 0 && (names.size > 0 || (type !== undefined && type !== ''))) continue;
    out.push({
      name: g.spec.name,
      file: g.id.namespace,
      rules,
      interval: g.intervalMs / 1000,
      limit: g.spec.limit,
      evaluationTime: g.lastDurationMs / 1000,
      lastEvaluation: rfc3339(g.lastEvaluationMs),
    });
  }
  return out;
}

function alertJson(a: { labels: Readonly<Record<string, string>>; annotations: Record<string, string>; state: string; activeAtMs: number; value: number; keepFiringSinceMs: number }): unknown {
  return {
    labels: sortedLabels(a.labels),
    annotations: { ...a.annotations },
    state: a.state,
    activeAt: rfc3339(a.activeAtMs),
    ...(a.keepFiringSinceMs !== 0 ? { keepFiringSince: rfc3339(a.keepFiringSinceMs) } : {}),
    value: formatValueE(a.value),
  };
}

/** Labels in Prometheus' order (sorted by name), as its API marshals a label set. */
function sortedLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of sortedLabelNames(labels)) out[name] = labels[name]!;
  return out;
}

function listAlerts(deps: RulerApiDeps, tenants: readonly TenantId[]): unknown[] {
  const out: unknown[] = [];
  for (const g of sortedGroups(deps, tenants)) {
    for (const r of g.rules) {
      if (!r.alerting) continue;
      for (const a of r.alerting.active.values()) if (a.state !== 'inactive') out.push(alertJson(a));
    }
  }
  return out;
}
