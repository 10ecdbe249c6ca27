import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Where `scripts/build.mjs` puts the Vite build of `web/` (the same relative path from src/ui and dist/ui). */
export const WEB_DIST_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');

/**
 * Path prefixes that belong to APIs: an unknown path under one of them is the API's 404, never the UI's page.
 * Heimdall's own API lives under `/api/`; the rest are the upstream-compatible roots (wire-apis.md).
 */
const API_PREFIXES = ['/api/', '/prometheus/', '/loki/', '/otlp/', '/tempo/', '/pyroscope/', '/v1/', '/ingest', '/push.v1.', '/querier.v1.', '/collect', '/metrics', '/ready'];

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

interface SiteFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
  /** Filled on the first request that accepts gzip; undefined when gzip would not pay. */
  gzipped?: Buffer | null;
}

/**
 * The built web UI, held in memory (a few hundred KB): files under `/assets/` carry a content hash in their name
 * and are cached for a year (`immutable`); every other path without a file behind it is a client-side route
 * and gets `index.html`, revalidated on each load (`no-cache` + ETag), so a new build shows at once.
 */
export class StaticSite {
  private readonly files = new Map<string, SiteFile>();

  private constructor(readonly dir: string) {}

  /** Reads `dir` (the Vite output); undefined when it was never built (the UI then answers 503 saying so). */
  static load(dir: string = WEB_DIST_DIR): StaticSite | undefined {
    if (!existsSync(path.join(dir, 'index.html'))) return undefined;
    const site = new StaticSite(dir);
    site.readDir(dir);
    return site;
  }

  private readDir(dir: string): void {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue; // the build's own stamp, not part of the site
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        this.readDir(full);
        continue;
      }
      const rel = '/' + path.relative(this.dir, full).split(path.sep).join('/');
      const body = readFileSync(full);
      this.files.set(rel, {
        body,
        contentType: CONTENT_TYPES[path.extname(full)] ?? 'application/octet-stream',
        etag: `"${createHash('sha1').update(body).digest('base64url')}"`,
      });
    }
  }

  /** Whether a GET of `urlPath` is the UI's to answer: not under an API prefix. */
  static isPagePath(urlPath: string): boolean {
    return !API_PREFIXES.some((p) => urlPath === p.replace(/\/$/, '') || urlPath.startsWith(p));
  }

  /**
   * Answers a GET/HEAD of a non-API path that no route has: the file itself, or `index.html` for a client
   * route. A missing file with an extension (a stale asset name) is a 404, not the page.
   */
  serve(request: FastifyRequest, reply: FastifyReply, urlPath: string): FastifyReply {
    let file = this.files.get(urlPath);
    const isAsset = file !== undefined && urlPath.startsWith('/assets/');
    if (file === undefined || urlPath === '/index.html') {
      if (/\.[a-z0-9]+$/i.test(urlPath) && urlPath !== '/index.html') {
        return reply.code(404).type('text/plain; charset=utf-8').send(`404 page not found: ${urlPath}`);
      }
      file = this.files.get('/index.html')!;
    }
    reply.header('content-type', file.contentType);
    reply.header('etag', file.etag);
    reply.header('cache-control', isAsset ? 'public, max-age=31536000, immutable' : 'no-cache');
    reply.header('vary', 'accept-encoding');
    reply.header('x-content-type-options', 'nosniff');
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    const gzip = acceptsGzip(request.headers['accept-encoding']) ? gzipped(file) : null;
    if (gzip) {
      reply.header('content-encoding', 'gzip');
      return reply.send(gzip);
    }
    return reply.send(file.body);
  }
}

function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : header ?? '';
  return /\bgzip\b/.test(value);
}

function gzipped(file: SiteFile): Buffer | null {
  if (file.gzipped === undefined) {
    const compressible = /^(text\/|application\/json|image\/svg)/.test(file.contentType) && file.body.length > 1024;
    file.gzipped = compressible ? gzipSync(file.body, { level: 9 }) : null;
  }
  return file.gzipped;
}
