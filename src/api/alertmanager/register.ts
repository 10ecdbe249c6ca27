import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { TenantId } from '../../model/index.ts';
import { SilenceError, matchesAll, parseMatchers } from '../../notifier/index.ts';
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
 * `unprocessed`, `filter`, `receiver`; POST), `silences` (GET with `filter`; POST creates or updates) and
 * `silence/{id}` (GET, DELETE expires). Errors are Alertmanager's: the message as a JSON string.
 */
export async function registerAlertmanagerApi(app: FastifyInstance, deps: AlertmanagerApiDeps): Promise<void> {
  const startedAt = new Date().toISOString();
  const handle = (fn: (am: TenantAlertmanager, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        const ids = readTenants(deps.tenants, req);
        if (ids.length !== 1) throw new ApiError('bad_data', 'the Alertmanager API takes exactly one tenant in X-Scope-OrgID');
        const am = await deps.notifier.tenant(ids[0] as TenantId);
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
          const q = req.query as Record<string, string | string[] | undefined>;
          const flag = (name: string): boolean => {
            const v = q[name];
            return v === undefined || String(v) !== 'false';
          };
          const filter = filterMatchers(q['filter']);
          const receiverRe = q['receiver'] === undefined ? undefined : anchored(String(q['receiver']));
          const now = Date.now();
          return am
            .list(now)
            .filter(({ alert }) => alert.endsAtMs > now && matchesAll(filter, alert.labels))
            .filter(({ receivers }) => receiverRe === undefined || receivers.some((r) => receiverRe.test(r)))
            .filter(({ silencedBy, inhibitedBy }) => {
              const state = silencedBy.length > 0 || inhibitedBy.length > 0 ? 'suppressed' : 'active';
              if (state === 'active') return flag('active');
              return (silencedBy.length > 0 && flag('silenced')) || (inhibitedBy.length > 0 && flag('inhibited'));
            })
            .map(({ alert, receivers, silencedBy, inhibitedBy }) => ({
              labels: alert.labels,
              annotations: alert.annotations,
              startsAt: new Date(alert.startsAtMs).toISOString(),
              endsAt: new Date(alert.endsAtMs).toISOString(),
              updatedAt: new Date(alert.updatedAtMs).toISOString(),
              generatorURL: alert.generatorURL,
              fingerprint: alert.fingerprint,
              receivers: receivers.map((name) => ({ name })),
              status: { state: silencedBy.length > 0 || inhibitedBy.length > 0 ? 'suppressed' : 'active', silencedBy, inhibitedBy, mutedBy: [] },
            }))
            .sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
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
