import { randomUUID } from 'node:crypto';
import formbody from '@fastify/formbody';
import Fastify, { LogController } from 'fastify';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { HeimdallError } from '../model/index.ts';
import type { SelfMetrics } from '../selfobs/index.ts';

export interface HttpServerOptions {
  readonly logger: Logger;
  readonly selfMetrics: SelfMetrics;
  readonly maxRequestBodyBytes: number;
}

/**
 * Creates a Fastify server with Heimdall's cross-cutting behaviour: request ids (`X-Request-Id`), one debug
 * log line and the `heimdall_http_*` metrics per request, form bodies, and the fallback error mapping for
 * routes whose owners did not set their own error handler (query APIs set envelope-specific ones).
 */
export async function createHttpServer(opts: HttpServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // Fastify's own lines ("Server listening at ...") stay below info: Heimdall logs one ready line itself.
    loggerInstance: opts.logger.child({}, { level: 'warn' }),
    // Heimdall logs its own line per request (onResponse below); Fastify's would be a second one.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.maxRequestBodyBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Grafana and remote_write senders keep connections alive for long; do not cut them early.
    keepAliveTimeout: 65_000,
    forceCloseConnections: false,
    return503OnClosing: true,
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
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).type('text/plain; charset=utf-8').send(`404 page not found: ${request.method} ${request.url.split('?')[0]}`),
  );
  // The pino-typed instance is a FastifyInstance with a richer logger type; roles only need the base type.
  return app as unknown as FastifyInstance;
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
