import type { FastifyInstance } from 'fastify';
import { TENANT_HEADER } from '../tenant/index.ts';
import { ORG_HEADER } from './orgs.ts';
import type { UiOrg } from './orgs.ts';

/** The Alertmanager v2 calls the Alerting page makes: reads, and creating and expiring silences. */
const ALLOWED: { method: string; path: RegExp }[] = [
  { method: 'GET', path: /^(status|receivers|alerts|silences|silence\/[^/]+)$/ },
  { method: 'POST', path: /^silences$/ },
  { method: 'DELETE', path: /^silence\/[^/]+$/ },
];

/**
 * The UI's way to the built-in notifier: `GET|POST|DELETE /api/alertmanager/<v2 path>` with the org in
 * `X-Heimdall-Org`, answered in process by `/alertmanager/api/v2/<path>` as the org's tenant (`?tenant=` picks
 * one of an org's several tenants; the first otherwise: silences belong to one tenant). Only the calls the
 * Alerting page makes are forwarded; the rest is a 404 naming the path.
 */
export function registerAlertmanagerProxy(http: FastifyInstance, deps: { orgs: readonly UiOrg[] }): void {
  const orgs = new Map(deps.orgs.map((o) => [o.name, o]));
  http.route({
    method: ['GET', 'POST', 'DELETE'],
    url: '/api/alertmanager/*',
    handler: async (request, reply) => {
      const sub = (request.params as { '*': string })['*'];
      const orgName = request.headers[ORG_HEADER];
      const org = typeof orgName === 'string' ? orgs.get(orgName) : undefined;
      if (!org) return reply.code(400).type('text/plain; charset=utf-8').send(`unknown or missing org in ${ORG_HEADER}; configured: ${[...orgs.keys()].join(', ')}`);
      if (!ALLOWED.some((a) => a.method === request.method && a.path.test(sub)) || sub.split('/').some((s) => s === '..' || s === '.')) {
        return reply.code(404).type('text/plain; charset=utf-8').send(`the Alertmanager proxy does not forward ${request.method} ${sub}`);
      }
      const params = new URLSearchParams(request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '');
      const wanted = params.get('tenant');
      params.delete('tenant');
      const tenant = wanted !== null && org.tenants.includes(wanted) ? wanted : org.tenants[0]!;
      const q = params.toString();
      const res = await http.inject({
        method: request.method as 'GET' | 'POST' | 'DELETE',
        url: `/alertmanager/api/v2/${sub.split('/').map(encodeURIComponent).join('/')}${q ? `?${q}` : ''}`,
        headers: { [TENANT_HEADER]: tenant, ...(request.method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        ...(request.method === 'POST' ? { payload: JSON.stringify(request.body ?? {}) } : {}),
      });
      const type = res.headers['content-type'];
      if (type !== undefined) reply.header('content-type', type);
      return reply.code(res.statusCode).send(res.rawPayload);
    },
  });
}
