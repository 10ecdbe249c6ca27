import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { TenantId } from '../../model/index.ts';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { AlertmanagerConfigError, SilenceError, matchesAll, parseMatchers } from '../../notifier/index.ts';
import type { AmMatcher, BuiltinNotifier, PostableAlert, PostableSilence, TenantAlertmanager } from '../../notifier/index.ts';
import type { TenantResolver } from '../../tenant/index.ts';
import { ApiError, toApiError } from '../errors.ts';
import { readTenants } from '../request-context.ts';

export interface AlertmanagerApiDeps {
  readonly notifier: BuiltinNotifier;
  readonly tenants: TenantResolver;
  readonly logger: Logger;
  readonly version: string;
}

/** The answer Alertmanager's API gives for a bad request: 400 with the message as a JSON string. */
class BadRequest extends Error {}

/**
 * Alertmanager's API v2 for the built-in notifier, under Mimir's prefix `/alertmanager/api/v2`, per tenant
 * (`X-Scope-OrgID`): `status`, `receivers`, `alerts` (GET with `active`, `silenced`, `inhibited`,
 * `unprocessed`, `filter`, `receiver`; POST), `alerts/groups` (the same filters and `muted`), `silences` (GET with `filter`; POST creates or updates) and
 * `silence/{id}` (GET, DELETE expires). Errors are Alertmanager's: the message as a JSON string.
 */
export async function registerAlertmanagerApi(app: FastifyInstance, deps: AlertmanagerApiDeps): Promise<void> {
  const startedAt = new Date().toISOString();
  const handle = (fn: (am: TenantAlertmanager, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        const am = await deps.notifier.tenant(singleTenant(deps, req));
        const out = await fn(am, req, reply);
        if (!reply.sent) return reply.code(200).send(out ?? '');
        return reply;
      } catch (err) {
        if (err instanceof BadRequest || err instanceof SilenceError) return reply.code(400).send(JSON.stringify(err.message));
        const mapped = toApiError(err, req.id);
        if (mapped.internal) deps.logger.error({ err, url: req.url }, 'Alertmanager API request failed');
        return reply.code(mapped.status).send(JSON.stringify(mapped.message));
      }
    };

  await app.register(
    async (scope) => {
      scope.get(
        '/status',
        handle(async (am) => ({
          cluster: { status: 'disabled', peers: [] },
          config: { original: am.currentConfig.original },
          uptime: startedAt,
          versionInfo: { version: deps.version, revision: '', branch: '', buildUser: '', buildDate: '', goVersion: '' },
        })),
      );
      scope.get('/receivers', handle(async (am) => [...am.currentConfig.receivers.keys()].map((name) => ({ name }))));
      scope.get(
        '/alerts',
        handle(async (am, req) => {
          const keep = alertFilter(req);
          const now = Date.now();
          return am
            .list(now)
            .filter((x) => x.alert.endsAtMs > now && keep(x))
            .map((x) => gettableAlert(x, []))
            .sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
        }),
      );
      scope.get(
        '/alerts/groups',
        handle(async (am, req) => {
          const keep = alertFilter(req);
          const showMuted = flagOf(req, 'muted');
          const now = Date.now();
          const out = [];
          for (const g of am.alertGroups(now)) {
            if (g.mutedBy.length > 0 && !showMuted) continue;
            // The receiver filter applies to the group's own receiver here (Alertmanager filters routes).
            const alerts = g.alerts.filter((x) => x.alert.endsAtMs > now && keep({ ...x, receivers: [g.route.receiver] }));
            if (alerts.length === 0) continue;
            out.push({
              labels: g.labels,
              routeLabels: {},
              receiver: { name: g.route.receiver },
              alerts: alerts.map((x) => gettableAlert(x, g.mutedBy)).sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1)),
            });
          }
          return out.sort((a, b) => compareLabelSets(a.labels, b.labels) || (a.receiver.name < b.receiver.name ? -1 : a.receiver.name > b.receiver.name ? 1 : 0));
        }),
      );
      scope.post(
        '/alerts',
        handle(async (am, req) => {
          if (!Array.isArray(req.body)) throw new BadRequest('the body must be a JSON list of alerts');
          const problems = am.put(req.body as PostableAlert[]);
          if (problems.length > 0) throw new BadRequest(problems.join('; '));
          return '';
        }),
      );
      scope.get(
        '/silences',
        handle(async (am, req) => {
          const filter = filterMatchers((req.query as Record<string, string | string[] | undefined>)['filter']);
          const order = { active: 0, pending: 1, expired: 2 };
          return am.silences
            .list(Date.now())
            .filter(({ silence }) => filter.every((f) => silence.matchers.some((m) => m.name === f.name && f.test(m.value))))
            .sort((a, b) => order[a.state] - order[b.state] || (a.silence.endsAt < b.silence.endsAt ? -1 : 1))
            .map(({ silence, state }) => ({ ...silence, status: { state } }));
        }),
      );
      scope.post(
        '/silences',
        handle(async (am, req) => {
          if (req.body === null || typeof req.body !== 'object') throw new BadRequest('the body must be a JSON silence');
          const id = await am.silences.upsert(req.body as PostableSilence, Date.now());
          return { silenceID: id };
        }),
      );
      scope.get(
        '/silence/:id',
        handle(async (am, req, reply) => {
          const found = am.silences.get((req.params as { id: string }).id, Date.now());
          if (!found) return reply.code(404).send(JSON.stringify('silence not found'));
          return { ...found.silence, status: { state: found.state } };
        }),
      );
      scope.delete(
        '/silence/:id',
        handle(async (am, req, reply) => {
          if (!(await am.silences.expire((req.params as { id: string }).id, Date.now()))) return reply.code(404).send(JSON.stringify('silence not found'));
          return '';
        }),
      );
    },
    { prefix: '/alertmanager/api/v2' },
  );
  await registerConfigApi(app, deps);
}

/**
 * Mimir's Alertmanager configuration API (what `mimirtool alertmanager load/get/delete` calls), per tenant:
 * `GET /api/v1/alerts` answers the tenant's YAML (`template_files`, `alertmanager_config`) or 404 while it runs
 * the fallback configuration, `POST` validates and stores one (201; 400 with the parse error, nothing
 * stored), `DELETE` returns the tenant to the fallback configuration.
 */
async function registerConfigApi(app: FastifyInstance, deps: AlertmanagerApiDeps): Promise<void> {
  const fail = (req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply => {
    if (err instanceof BadRequest || err instanceof AlertmanagerConfigError) return reply.code(400).type('text/plain').send(`error validating Alertmanager config: ${err.message}`);
    const mapped = toApiError(err, req.id);
    if (mapped.internal) deps.logger.error({ err, url: req.url }, 'Alertmanager configuration request failed');
    return reply.code(mapped.status).type('text/plain').send(mapped.message);
  };
  await app.register(async (scope) => {
    // The body is YAML (mimirtool sends it without a useful content type): read every body as text.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.get('/api/v1/alerts', async (req, reply) => {
      try {
        const own = await deps.notifier.userConfig(singleTenant(deps, req));
        if (!own) return reply.code(404).type('text/plain').send('alertmanager storage object not found');
        return reply.code(200).type('application/yaml').send(toYaml({ template_files: own.template_files, alertmanager_config: own.alertmanager_config }));
      } catch (err) {
        return fail(req, reply, err);
      }
    });
    scope.post('/api/v1/alerts', async (req, reply) => {
      try {
        const tenant = singleTenant(deps, req);
        let doc: unknown;
        try {
          doc = parseYaml(String(req.body ?? ''));
        } catch (err) {
          throw new BadRequest(`the body is not YAML: ${(err as Error).message}`);
        }
        if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new BadRequest('the body must be a YAML mapping with alertmanager_config and template_files');
        const body = doc as Record<string, unknown>;
        if (typeof body['alertmanager_config'] !== 'string' || body['alertmanager_config'].trim() === '') throw new BadRequest('configuration provided is empty, if you\'d like to remove your configuration please use the delete configuration endpoint');
        const files: Record<string, string> = {};
        const given = body['template_files'] ?? {};
        if (given === null || typeof given !== 'object' || Array.isArray(given)) throw new BadRequest('template_files must be a mapping of file names to templates');
        for (const [name, text] of Object.entries(given)) {
          if (typeof text !== 'string') throw new BadRequest(`template_files.${name} must be a string`);
          if (name.includes('/') || name === '.' || name === '..') throw new BadRequest(`template_files: ${JSON.stringify(name)} is not a valid file name`);
          files[name] = text;
        }
        await deps.notifier.setUserConfig(tenant, { alertmanager_config: body['alertmanager_config'], template_files: files });
        return reply.code(201).send('');
      } catch (err) {
        return fail(req, reply, err);
      }
    });
    scope.delete('/api/v1/alerts', async (req, reply) => {
      try {
        await deps.notifier.deleteUserConfig(singleTenant(deps, req));
        return reply.code(200).send('');
      } catch (err) {
        return fail(req, reply, err);
      }
    });
  });
}

/** The one tenant of the request: the Alertmanager APIs are per tenant (no federated reads). */
function singleTenant(deps: AlertmanagerApiDeps, req: FastifyRequest): TenantId {
  const ids = readTenants(deps.tenants, req);
  if (ids.length !== 1) throw new ApiError('bad_data', 'the Alertmanager APIs take exactly one tenant in X-Scope-OrgID');
  return ids[0] as TenantId;
}

type ListedAlert = ReturnType<TenantAlertmanager['list']>[number];

/** A boolean query flag of Alertmanager's API: true unless given as `false`. */
function flagOf(req: FastifyRequest, name: string): boolean {
  const v = (req.query as Record<string, string | string[] | undefined>)[name];
  return v === undefined || String(v) !== 'false';
}

/** The `filter`, `receiver`, `active`, `silenced` and `inhibited` parameters as one predicate. */
function alertFilter(req: FastifyRequest): (x: Pick<ListedAlert, 'alert' | 'receivers' | 'silencedBy' | 'inhibitedBy'>) => boolean {
  const q = req.query as Record<string, string | string[] | undefined>;
  const filter = filterMatchers(q['filter']);
  const receiverRe = q['receiver'] === undefined ? undefined : anchored(String(q['receiver']));
  const [active, silenced, inhibited] = [flagOf(req, 'active'), flagOf(req, 'silenced'), flagOf(req, 'inhibited')];
  return ({ alert, receivers, silencedBy, inhibitedBy }) => {
    if (!matchesAll(filter, alert.labels)) return false;
    if (receiverRe !== undefined && !receivers.some((r) => receiverRe.test(r))) return false;
    if (silencedBy.length === 0 && inhibitedBy.length === 0) return active;
    return (silencedBy.length > 0 && silenced) || (inhibitedBy.length > 0 && inhibited);
  };
}

/** Alertmanager's `gettableAlert`; an alert of a muted group is `suppressed` with the intervals in `mutedBy`. */
function gettableAlert({ alert, receivers, silencedBy, inhibitedBy }: ListedAlert, mutedBy: readonly string[]): Record<string, unknown> & { fingerprint: string } {
  const suppressed = silencedBy.length > 0 || inhibitedBy.length > 0 || mutedBy.length > 0;
  return {
    labels: alert.labels,
    annotations: alert.annotations,
    startsAt: new Date(alert.startsAtMs).toISOString(),
    endsAt: new Date(alert.endsAtMs).toISOString(),
    updatedAt: new Date(alert.updatedAtMs).toISOString(),
    generatorURL: alert.generatorURL,
    fingerprint: alert.fingerprint,
    receivers: receivers.map((name) => ({ name })),
    status: { state: suppressed ? 'suppressed' : 'active', silencedBy, inhibitedBy, mutedBy: [...mutedBy] },
  };
}

/** Alertmanager's order of label sets: by sorted names, then values, then size. */
function compareLabelSets(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): number {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    const na = ka[i]!;
    const nb = kb[i]!;
    if (na !== nb) return na < nb ? -1 : 1;
    if (a[na] !== b[nb]) return a[na]! < b[nb]! ? -1 : 1;
  }
  return ka.length - kb.length;
}

function filterMatchers(v: string | string[] | undefined): AmMatcher[] {
  const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
  try {
    return list.flatMap((f) => parseMatchers(f));
  } catch (err) {
    throw new BadRequest((err as Error).message);
  }
}

function anchored(re: string): RegExp {
  try {
    return new RegExp(`^(?:${re})$`);
  } catch (err) {
    throw new BadRequest(`bad receiver regular expression: ${(err as Error).message}`);
  }
}
