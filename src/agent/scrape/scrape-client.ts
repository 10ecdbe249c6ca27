import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import { readSecret, tlsFiles } from '../../config/index.ts';
import type { ScrapeConfig } from '../../config/index.ts';

/** What a scrape got back. */
export interface ScrapeResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** Largest exposition read (decompressed); a bigger body fails the scrape rather than the agent's memory. */
const MAX_BODY_BYTES = 256 * 1024 * 1024;

/**
 * The HTTP(S) client of one scrape config, as Prometheus' scrape client: keep-alive connections, gzip, the job's
 * `tls_config` (CA, client certificate, server name, or no verification; files read once at start) and its
 * credentials (`basic_auth`, `bearer_token`, `bearer_token_file`, `authorization`; token files read before every
 * scrape, so a rotated service account token works, as kubelet's `/metrics/cadvisor` needs).
 */
export class ScrapeClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent: https.Agent;
  private readonly where: string;

  constructor(private readonly config: ScrapeConfig) {
    this.where = `scrape_configs job ${config.job_name}`;
    const tls = config.tls_config;
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      ...tlsFiles(tls, this.where, 'tls_config'),
      ...(tls.server_name !== undefined ? { servername: tls.server_name } : {}),
      rejectUnauthorized: !tls.insecure_skip_verify,
    });
  }

  /** The `Authorization` header value, or undefined; token files are read now. */
  private authorization(): string | undefined {
    const c = this.config;
    if (c.basic_auth !== undefined) return `Basic ${Buffer.from(`${c.basic_auth.username}:${c.basic_auth.password}`).toString('base64')}`;
    if (c.bearer_token !== undefined) return `Bearer ${c.bearer_token}`;
    if (c.bearer_token_file !== undefined) return `Bearer ${readSecret(c.bearer_token_file, `${this.where} bearer_token_file`)}`;
    const a = c.authorization;
    if (a === undefined) return undefined;
    return `${a.type} ${a.credentials ?? readSecret(a.credentials_file!, `${this.where} authorization.credentials_file`)}`;
  }

  /** GETs `url` within `timeoutMs`; rejects on a network or TLS error, the timeout, or an oversized body. */
  get(url: string, headers: Record<string, string>, timeoutMs: number): Promise<ScrapeResponse> {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const auth = this.authorization();
    const all = { ...headers, 'accept-encoding': 'gzip', ...(auth !== undefined ? { authorization: auth } : {}) };
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(target, { agent: secure ? this.httpsAgent : this.httpAgent, headers: all, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
        const stream = res.headers['content-encoding'] === 'gzip' ? res.pipe(zlib.createGunzip()) : res;
        const chunks: Buffer[] = [];
        let bytes = 0;
        stream.on('data', (c: Buffer) => {
          bytes += c.length;
          if (bytes > MAX_BODY_BYTES) {
            req.destroy(new Error(`the exposition is larger than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        stream.on('error', reject);
        res.on('error', reject);
        stream.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
