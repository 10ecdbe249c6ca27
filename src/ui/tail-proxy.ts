import websocketPlugin from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { UiDatasourceConfig } from '../config/index.ts';
import { TENANT_HEADER } from '../tenant/index.ts';
import { withCredentials } from './datasource-proxy.ts';
import { tenantHeaderFor } from './orgs.ts';
import type { UiOrg } from './orgs.ts';

/** The live tail through the proxy: a browser cannot set headers on a WebSocket, so the org is a query parameter. */
export const TAIL_PROXY_ROUTE = '/api/datasources/proxy/uid/:uid/loki/api/v1/tail';

/** The tail parameters passed upstream (the rest, `org` among them, stay here). */
const TAIL_PARAMS = ['query', 'limit', 'start', 'delay_for'];

/**
 * Registers Loki's live tail through the data-source proxy: `GET <TAIL_PROXY_ROUTE>?org=ORG&query=…` upgraded
 * to a WebSocket, piped to the source's own `/loki/api/v1/tail` WebSocket opened with the org's
 * `X-Scope-OrgID` (and a remote source's credentials, which never reach the browser). An embedded source is
 * Heimdall's own listener (`ownAddress`). Refusals happen before the upgrade with a plain-text 400/404; an
 * upstream refusal or drop closes the browser's socket with its reason.
 */
export async function registerTailProxy(
  http: FastifyInstance,
  deps: { orgs: ReadonlyMap<string, UiOrg>; sources: ReadonlyMap<string, UiDatasourceConfig>; ownAddress: () => string; logger: Logger },
): Promise<void> {
  if (!http.hasDecorator('websocketServer')) await http.register(websocketPlugin);
  const upstreams = new WeakMap<FastifyRequest, { url: string; headers: Record<string, string> }>();
  http.get(
    TAIL_PROXY_ROUTE,
    {
      websocket: true,
      preValidation: async (request, reply) => {
        const { uid } = request.params as { uid: string };
        const q = request.query as Record<string, string | undefined>;
        const source = deps.sources.get(uid);
        if (!source || source.type !== 'loki') return reply.code(404).type('text/plain; charset=utf-8').send(`no Loki data source with uid "${uid}"`);
        const org = q.org === undefined ? undefined : deps.orgs.get(q.org);
        if (!org) return reply.code(400).type('text/plain; charset=utf-8').send(`unknown or missing org "${q.org ?? ''}": pass ?org=NAME`);
        const params = new URLSearchParams();
        for (const p of TAIL_PARAMS) if (q[p] !== undefined) params.set(p, q[p]);
        const headers = source.url === undefined ? { [TENANT_HEADER]: tenantHeaderFor(org, source) } : withCredentials(source, { [TENANT_HEADER]: tenantHeaderFor(org, source) });
        const base = source.url === undefined ? `ws://${deps.ownAddress()}` : source.url.replace(/^http/, 'ws').replace(/\/+$/, '');
        upstreams.set(request, { url: `${base}/loki/api/v1/tail?${params.toString()}`, headers });
        return undefined;
      },
    },
    (browser, request) => {
      const target = upstreams.get(request)!;
      const upstream = new WebSocket(target.url, { headers: target.headers });
      upstream.on('message', (data, isBinary) => browser.send(data, { binary: isBinary }));
      upstream.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => browser.close(1008, `tail refused (${res.statusCode}): ${body}`.slice(0, 120)));
      });
      upstream.on('error', (err) => {
        deps.logger.warn({ err, url: target.url }, 'tail proxy: upstream failed');
        if (browser.readyState === browser.OPEN) browser.close(1011, `tail upstream failed: ${err.message}`.slice(0, 120));
      });
      upstream.on('close', (code, reason) => {
        if (browser.readyState === browser.OPEN) browser.close(code === 1005 || code === 1006 ? 1011 : code, reason.toString().slice(0, 120));
      });
      browser.on('close', () => upstream.close());
    },
  );
}
