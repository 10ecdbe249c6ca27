import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { UiDatasourceConfig } from '../config/index.ts';
import { TENANT_HEADER } from '../tenant/index.ts';
import { ORG_HEADER, tenantHeaderFor } from './orgs.ts';
import { registerTailProxy } from './tail-proxy.ts';
import type { UiOrg } from './orgs.ts';

/** The route of the proxy; `*` is the API path below the data source's root (`api/v1/query`, `loki/api/v1/query`). */
export const PROXY_ROUTE = '/api/datasources/proxy/uid/:uid/*';

/**
 * The read paths a data source of each type may be asked for, below its root (Grafana's data source URL). Writes
 * (push) and anything else stay unreachable through the proxy, so the UI can never write into a tenant.
 */
const READ_PATHS: Record<UiDatasourceConfig['type'], RegExp> = {
  prometheus:
    /^api\/v1\/(query|query_range|query_exemplars|series|labels|label\/[^/]+\/values|metadata|status\/buildinfo|status\/flags|format_query|parse_query|rules|alerts)$/,
  loki: /^loki\/api\/v1\/(query|query_range|labels|label\/[^/]+\/values|series|index\/stats|index\/volume|index\/volume_range|detected_labels|detected_fields|detected_field\/[^/]+\/values|patterns|format_query)$/,
  tempo: /^api\/(traces\/[0-9A-Fa-f]{1,32}|v2\/traces\/[0-9A-Fa-f]{1,32}|search|search\/tags|v2\/search\/tags|search\/tag\/[^/]+\/values|v2\/search\/tag\/[^/]+\/values|metrics\/query_range|metrics\/query|echo|status\/buildinfo)$/,
  // Pyroscope's query API is Connect RPC: POSTs, but every method listed only reads.
  pyroscope:
    /^querier\.v1\.QuerierService\/(ProfileTypes|LabelNames|LabelValues|Series|SelectMergeStacktraces|SelectMergeSpanProfile|SelectMergeProfile|SelectSeries|Diff|GetProfileStats)$/,
};

/** Where an embedded source's API lives on Heimdall's own HTTP server. */
const EMBEDDED_ROOT: Record<UiDatasourceConfig['type'], string> = { prometheus: '/prometheus', loki: '', tempo: '/tempo', pyroscope: '/pyroscope' };

/**
 * Request headers passed on (the rest, cookies and the browser's own `X-Scope-OrgID` among them, are dropped).
 * Loki's encoding flags ask for structured metadata and parsed labels apart from the stream's labels.
 */
const FORWARDED_REQUEST_HEADERS = ['accept', 'content-type', 'user-agent', 'x-loki-response-encoding-flags'];
/** Response headers passed back. */
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'retry-after', 'x-request-id', 'results-cache-status'];

/**
 * Registers the data-source proxy: `GET|POST /api/datasources/proxy/uid/<uid>/<api path>` with the org in
 * `X-Heimdall-Org`. The org (not the browser) decides `X-Scope-OrgID`. An embedded source is answered in process
 * by Heimdall's own API routes; a remote one is fetched with the configured credentials, which never reach the
 * browser. Loki's live tail is proxied too (see {@link registerTailProxy}). Errors are plain text naming the problem: 400 unknown/missing org, 404 unknown source or a path the
 * proxy does not forward, 502 upstream unreachable, 504 upstream too slow.
 */
export async function registerDatasourceProxy(
  http: FastifyInstance,
  deps: { orgs: readonly UiOrg[]; datasources: readonly UiDatasourceConfig[]; logger: Logger },
): Promise<void> {
  const orgs = new Map(deps.orgs.map((o) => [o.name, o]));
  const sources = new Map(deps.datasources.map((d) => [d.uid, d]));
  await registerTailProxy(http, { orgs, sources, ownAddress: () => ownAddress(http), logger: deps.logger });
  await http.register(async (scope) => {
    // The body goes upstream as it came: no parsing (the root's form parser would turn it into an object).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.route({
      method: ['GET', 'POST'],
      url: PROXY_ROUTE,
      handler: async (request, reply) => {
        const { uid, '*': subPath } = request.params as { uid: string; '*': string };
        const source = sources.get(uid);
        if (!source) return text(reply, 404, `unknown data source uid "${uid}"; configured: ${[...sources.keys()].join(', ')}`);
        const orgName = headerValue(request, ORG_HEADER);
        if (orgName === undefined) return text(reply, 400, `missing ${ORG_HEADER} header: name the org the request is for`);
        const org = orgs.get(orgName);
        if (!org) return text(reply, 400, `unknown org "${orgName}"; configured: ${[...orgs.keys()].join(', ')}`);
        const segments = subPath.split('/');
        if (!READ_PATHS[source.type].test(subPath) || segments.some((seg) => seg === '.' || seg === '..')) {
          return text(reply, 404, `the ${source.type} data source proxy does not forward "${subPath}"`);
        }
        const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
        // Segments were decoded by the router; a label name goes back on the wire encoded.
        const apiPath = segments.map(encodeURIComponent).join('/');
        const headers: Record<string, string> = { [TENANT_HEADER]: tenantHeaderFor(org, source) };
        for (const h of FORWARDED_REQUEST_HEADERS) {
          const v = headerValue(request, h);
          if (v !== undefined) headers[h] = v;
        }
        const body = request.method === 'POST' && Buffer.isBuffer(request.body) ? request.body : undefined;
        return source.url === undefined
          ? forwardInProcess(http, request, reply, `${EMBEDDED_ROOT[source.type]}/${apiPath}${query}`, headers, body)
          : forwardRemote(request, reply, source, `${source.url.replace(/\/+$/, '')}/${apiPath}${query}`, headers, body, deps.logger);
      },
    });
  });
}

async function forwardInProcess(
  http: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  url: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
): Promise<FastifyReply> {
  const res = await http.inject({ method: request.method as 'GET' | 'POST', url, headers, ...(body ? { payload: body } : {}) });
  for (const h of FORWARDED_RESPONSE_HEADERS) {
    const v = res.headers[h];
    if (v !== undefined) reply.header(h, v);
  }
  return reply.code(res.statusCode).send(res.rawPayload);
}

async function forwardRemote(
  request: FastifyRequest,
  reply: FastifyReply,
  source: UiDatasourceConfig,
  url: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  logger: Logger,
): Promise<FastifyReply> {
  const upstreamHeaders = withCredentials(source, headers);
  // Gone browsers cancel their upstream request; slow upstreams end at the source's timeout.
  const gone = new AbortController();
  request.raw.once('close', () => {
    if (!reply.sent) gone.abort();
  });
  let res: Response;
  try {
    res = await fetch(url, {
      method: request.method,
      headers: upstreamHeaders,
      ...(body ? { body } : {}),
      signal: AbortSignal.any([gone.signal, AbortSignal.timeout(source.timeout)]),
      redirect: 'manual',
    });
  } catch (err) {
    const e = err as Error;
    if (e.name === 'TimeoutError') return text(reply, 504, `data source "${source.name}" did not answer within ${source.timeout / 1000}s (ui.datasources[].timeout)`);
    const cause = (e.cause as { code?: string; message?: string } | undefined) ?? {};
    logger.warn({ err, datasource: source.uid }, 'data source unreachable');
    return text(reply, 502, `data source "${source.name}" at ${new URL(url).origin} is unreachable: ${cause.code ?? cause.message ?? e.message}`);
  }
  reply.code(res.status);
  for (const h of FORWARDED_RESPONSE_HEADERS) {
    const v = res.headers.get(h);
    if (v !== null) reply.header(h, v);
  }
  return reply.send(res.body ? Readable.fromWeb(res.body) : '');
}

/** `headers` plus a remote source's configured headers and basic auth (sent upstream, never to the browser). */
export function withCredentials(source: UiDatasourceConfig, headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { ...headers, ...source.headers };
  if (source.basic_auth) out.authorization = `Basic ${Buffer.from(`${source.basic_auth.username}:${source.basic_auth.password}`).toString('base64')}`;
  return out;
}

/** Where this server listens, as a loopback-reachable `host:port` (a wildcard address is reached on loopback). */
function ownAddress(http: FastifyInstance): string {
  const a = http.server.address();
  if (a === null || typeof a === 'string') throw new Error('the HTTP server is not listening on a TCP port');
  const host = a.address === '0.0.0.0' ? '127.0.0.1' : a.address === '::' ? '::1' : a.address;
  return host.includes(':') ? `[${host}]:${a.port}` : `${host}:${a.port}`;
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function text(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(message);
}
