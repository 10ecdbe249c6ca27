import http from 'node:http';
import https from 'node:https';
import { readSecret, tlsFiles } from '../config/index.ts';
import type { ForwardCredentials, ForwardEndpointConfig } from '../config/index.ts';

/** What one POST answered: a status and at most {@link MAX_ERROR_BODY_BYTES} of its body (for the log line). */
export interface RemoteResponse {
  readonly status: number;
  /** Seconds to wait from `Retry-After` (delta seconds or an HTTP date), when the remote sent one. */
  readonly retryAfterSeconds: number | undefined;
  readonly body: string;
}

/** Bytes of an error answer kept for the log line; the rest is read and discarded. */
const MAX_ERROR_BODY_BYTES = 1024;

/** The headers a set of credentials adds: its own headers and its `Authorization`. Secret files are read once, here. */
function credentialHeaders(c: ForwardCredentials, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (c.basic_auth) {
    const password = c.basic_auth.password_file !== undefined ? readSecret(c.basic_auth.password_file, `${where} basic_auth.password_file`) : (c.basic_auth.password ?? '');
    out['authorization'] = `Basic ${Buffer.from(`${c.basic_auth.username}:${password}`).toString('base64')}`;
  } else if (c.bearer_token !== undefined) {
    out['authorization'] = `Bearer ${c.bearer_token}`;
  } else if (c.bearer_token_file !== undefined) {
    out['authorization'] = `Bearer ${readSecret(c.bearer_token_file, `${where} bearer_token_file`)}`;
  }
  for (const [k, v] of Object.entries(c.headers ?? {})) out[k.toLowerCase()] = v;
  return out;
}

/**
 * How batches reach one endpoint: HTTP POST ({@link RemoteClient}) or a gRPC unary call (`GrpcRemoteClient`).
 * Either answers with an HTTP-like status so one sender classifies every answer the same way (2xx sent, 429 and
 * 5xx retried, other 4xx dropped); a network failure, a timeout or `signal` rejects.
 */
export interface RemoteTransport {
  readonly url: URL;
  /** The request headers (gRPC metadata) for `tenant`: computed ones, the tenant header, the credentials. */
  headersFor(tenant: string, computed: Readonly<Record<string, string>>): Record<string, string>;
  post(body: Uint8Array, headers: Record<string, string>, signal: AbortSignal): Promise<RemoteResponse>;
  close(): void;
}

/** An endpoint's identity on every request: user agent, tenant header and its (or a tenant's) credentials. */
export class EndpointHeaders {
  private readonly baseHeaders: Record<string, string>;
  private readonly tenantHeaders = new Map<string, Record<string, string>>();

  constructor(
    private readonly endpoint: ForwardEndpointConfig,
    private readonly userAgent: string,
    where: string,
  ) {
    this.baseHeaders = credentialHeaders(endpoint, where);
    for (const [tenant, c] of Object.entries(endpoint.tenant.credentials)) {
      this.tenantHeaders.set(tenant, credentialHeaders(c, `${where} tenant.credentials.${tenant}`));
    }
  }

  /** The request headers for `tenant`: computed ones first, then the endpoint's (or the tenant's) own, which win. */
  headersFor(tenant: string, computed: Readonly<Record<string, string>>): Record<string, string> {
    const out: Record<string, string> = { 'user-agent': this.userAgent, ...computed };
    const header = this.endpoint.tenant.header;
    if (header !== '') out[header.toLowerCase()] = tenant;
    Object.assign(out, this.tenantHeaders.get(tenant) ?? this.baseHeaders);
    return out;
  }
}

/** Names an endpoint in error messages about its settings. */
export function endpointWhere(url: URL): string {
  return `gateway.forward endpoint ${redactedUrl(url)}`;
}

/**
 * POSTs batches to one endpoint over keep-alive connections (at most `concurrency` of them), with the endpoint's
 * TLS settings, its credentials or a tenant's, and the tenant header. Holds no queue of its own.
 */
export class RemoteClient implements RemoteTransport {
  readonly url: URL;
  private readonly agent: http.Agent;
  private readonly headers: EndpointHeaders;

  constructor(endpoint: ForwardEndpointConfig, userAgent: string) {
    this.url = new URL(endpoint.url);
    const where = endpointWhere(this.url);
    const agentOptions = { keepAlive: true, maxSockets: endpoint.concurrency };
    if (this.url.protocol === 'https:') {
      const tls = endpoint.tls;
      this.agent = new https.Agent({
        ...agentOptions,
        ...tlsFiles(tls, where),
        ...(tls.server_name !== undefined ? { servername: tls.server_name } : {}),
        rejectUnauthorized: !tls.insecure_skip_verify,
      });
    } else {
      this.agent = new http.Agent(agentOptions);
    }
    this.headers = new EndpointHeaders(endpoint, userAgent, where);
  }

  headersFor(tenant: string, computed: Readonly<Record<string, string>>): Record<string, string> {
    return this.headers.headersFor(tenant, computed);
  }

  /** POSTs `body`; rejects on a network error, a TLS failure or `signal` (timeout, shutdown). */
  post(body: Uint8Array, headers: Record<string, string>, signal: AbortSignal): Promise<RemoteResponse> {
    const transport = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        this.url,
        { method: 'POST', agent: this.agent, headers: { ...headers, 'content-length': String(body.length) }, signal },
        (res) => {
          const chunks: Buffer[] = [];
          let kept = 0;
          res.on('data', (c: Buffer) => {
            if (kept < MAX_ERROR_BODY_BYTES) {
              chunks.push(c);
              kept += c.length;
            }
          });
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            resolve({
              status,
              retryAfterSeconds: parseRetryAfter(res.headers['retry-after']),
              body: Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY_BYTES).toString('utf8'),
            });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** `Retry-After` as seconds: delta seconds, or an HTTP date from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, (at - Date.now()) / 1000);
}

/** The URL without credentials or query, for logs and metric labels. */
export function redactedUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
