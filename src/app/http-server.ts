import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import formbody from '@fastify/formbody';
import Fastify, { LogController } from 'fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { HeimdallError } from '../model/index.ts';
import type { SelfMetrics } from '../selfobs/index.ts';
import { ConnectionDrain } from './connection-drain.ts';
import { limitConnections } from './listener-limits.ts';
import type { HttpListenerLimits } from './listener-limits.ts';

export interface HttpServerOptions {
  /** The listener's name in logs (`http`, `otlp-http`). */
  readonly name: string;
  readonly logger: Logger;
  readonly selfMetrics: SelfMetrics;
  readonly maxRequestBodyBytes: number;
  readonly limits: HttpListenerLimits;
  /**
   * Answers a GET or HEAD of a path no route has (the web UI's pages and files), or returns undefined to leave
   * it a 404. Consulted after the 405 check, so it never shadows a route.
   */
  readonly pageFallback?: (request: FastifyRequest, reply: FastifyReply, path: string) => FastifyReply | undefined;
}

/**
 * Creates a Fastify server with Heimdall's cross-cutting behaviour: request ids (`X-Request-Id`), one debug
 * log line and the `heimdall_http_*` metrics per request, form bodies, the fallback error mapping for
 * routes whose owners did not set their own error handler (query APIs set envelope-specific ones), and the
 * listener limits: a request whose headers or body arrive too slowly is answered 408 and its connection
 * closed, idle keep-alive connections are closed, and connections past the cap are refused; stopping waits for
 * in-flight requests, not for open connections.
 */
export async function createHttpServer(opts: HttpServerOptions): Promise<FastifyInstance> {
  const { limits } = opts;
  const app = Fastify({
    // Fastify's own lines ("Server listening at ...") stay below info: Heimdall logs one ready line itself.
    loggerInstance: opts.logger.child({}, { level: 'warn' }),
    // Heimdall logs its own line per request (onResponse below); Fastify's would be a second one.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.maxRequestBodyBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    http: {
      // Node checks the header and request timeouts on this tick (30 s by default, which would double a
      // 30 s timeout); a tenth of the shortest one keeps the cut close to the configured time.
      connectionsCheckingInterval: checkingIntervalMs(limits),
    },
    forceCloseConnections: false,
    return503OnClosing: true,
    clientErrorHandler: answerClientError(opts),
  });
  // Set on the Node server itself: Fastify's options would turn a configured 0 ("no limit") into its defaults.
  app.server.headersTimeout = limits.readHeaderTimeoutMs;
  app.server.requestTimeout = limits.readTimeoutMs;
  app.server.keepAliveTimeout = limits.idleTimeoutMs;
  limitConnections(app.server, limits.maxConnections, opts.name, 'server.http_max_connections', opts.logger);
  // Stopping waits for in-flight requests only, never for connections without one.
  const drain = new ConnectionDrain(app.server);
  app.addHook('preClose', (done) => {
    drain.beginDrain();
    done();
  });
  await app.register(formbody, { bodyLimit: opts.maxRequestBodyBytes });

  const timings = new WeakMap<object, bigint>();
  app.addHook('onRequest', async (request, reply) => {
    timings.set(request, process.hrtime.bigint());
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const started = timings.get(request);
    const seconds = started === undefined ? 0 : Number(process.hrtime.bigint() - started) / 1e9;
    opts.selfMetrics.httpRequests.inc({ route, method: request.method, code: String(reply.statusCode) });
    opts.selfMetrics.httpDuration.observe({ route, method: request.method }, seconds);
    opts.logger.debug(
      { reqId: request.id, method: request.method, url: request.url, status: reply.statusCode, durationMs: Math.round(seconds * 1000) },
      'request',
    );
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const mapped = mapError(err, opts);
    if (mapped.status >= 500) opts.logger.error({ err, reqId: request.id, url: request.url }, 'request failed');
    if (mapped.retryAfterSeconds !== undefined) reply.header('retry-after', String(mapped.retryAfterSeconds));
    return reply.code(mapped.status).type('text/plain; charset=utf-8').send(
      mapped.status >= 500 && mapped.status !== 503 ? `internal error (request id ${request.id})` : mapped.message,
    );
  });
  // A known path asked with another method is a 405 naming the allowed ones, as Prometheus' router and
  // Loki's gorilla/mux answer; only paths no route has are 404s.
  const routeMethods = new RouteMethods();
  app.addHook('onRoute', (route) => routeMethods.add(route.url, route.method));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = routeMethods.allowed(path);
    if (allowed.length > 0) {
      return reply.code(405).header('allow', allowed.join(', ')).type('text/plain; charset=utf-8').send(`method ${request.method} not allowed on ${path}; allowed: ${allowed.join(', ')}`);
    }
    if (opts.pageFallback && (request.method === 'GET' || request.method === 'HEAD')) {
      const page = opts.pageFallback(request, reply, path);
      if (page) return page;
    }
    return reply.code(404).type('text/plain; charset=utf-8').send(`404 page not found: ${request.method} ${path}`);
  });
  // The pino-typed instance is a FastifyInstance with a richer logger type; roles only need the base type.
  return app as unknown as FastifyInstance;
}

function checkingIntervalMs(limits: HttpListenerLimits): number {
  const timeouts = [limits.readHeaderTimeoutMs, limits.readTimeoutMs].filter((t) => t > 0);
  return timeouts.length === 0 ? 30_000 : Math.min(1000, Math.max(50, Math.min(...timeouts) / 10));
}

/**
 * Answers what Node rejects before a request reaches Fastify (too slow, too large, malformed), in plain
 * text naming the setting involved, then closes the connection.
 */
function answerClientError(opts: HttpServerOptions): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  const { limits } = opts;
  const seconds = (ms: number): string => (ms > 0 ? `${ms / 1000}s` : 'no limit');
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    let status = 400;
    let text = `malformed HTTP request (${err.code ?? err.message})`;
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      text =
        `request not received in time: headers are allowed ${seconds(limits.readHeaderTimeoutMs)} (server.http_read_header_timeout), ` +
        `the whole request ${seconds(limits.readTimeoutMs)} (server.http_read_timeout)`;
    } else if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      text = 'request headers too large';
    }
    opts.logger.debug({ listener: opts.name, status, code: err.code }, `client error: ${text}`);
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
      );
    }
    socket.destroy(err);
  };
}

interface MappedError {
  status: number;
  message: string;
  retryAfterSeconds?: number;
}

/** The fallback error→status mapping for non-API routes (ingest paths and Heimdall's own endpoints). */
function mapError(err: FastifyError, opts: HttpServerOptions): MappedError {
  if (err instanceof HeimdallError) {
    return err.retryAfterSeconds === undefined
      ? { status: err.httpStatus, message: err.message }
      : { status: err.httpStatus, message: err.message, retryAfterSeconds: err.retryAfterSeconds };
  }
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, message: `request body exceeds ${opts.maxRequestBodyBytes} bytes (set server.max_request_body_bytes to raise the limit)` };
  }
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, message: err.message };
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return { status: err.statusCode, message: err.message };
  }
  return { status: 500, message: err.message };
}

/** The methods registered per route pattern, to tell a wrong method (405) from an unknown path (404). */
class RouteMethods {
  private readonly routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  add(url: string, method: string | readonly string[]): void {
    let r = this.routes.get(url);
    if (!r) {
      // Fastify's `:param` matches one path segment, `*` the rest of the path.
      const source = url
        .split('/')
        .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/');
      r = { pattern: new RegExp(`^${source}/?$`), methods: new Set() };
      this.routes.set(url, r);
    }
    for (const m of typeof method === 'string' ? [method] : method) r.methods.add(m.toUpperCase());
  }

  /** The methods some route accepts for `path` (sorted), or none when no route has the path. */
  allowed(path: string): string[] {
    const out = new Set<string>();
    for (const r of this.routes.values()) if (r.pattern.test(path)) for (const m of r.methods) out.add(m);
    return [...out].sort();
  }
}
