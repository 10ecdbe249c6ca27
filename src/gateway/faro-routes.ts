import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import type { FaroConfig } from '../config/index.ts';
import { decodeFaro } from '../ingest/faro.ts';
import type { FaroDecodeResult } from '../ingest/faro.ts';
import type { SpanDecodeResult } from '../ingest/otlp-traces.ts';
import { HeimdallError } from '../model/index.ts';
import type { LogRecord, SpanRecord } from '../model/index.ts';
import { sendHttpFailure, sendText } from './ingest-answers.ts';
import { runIngest } from './ingest-pipeline.ts';
import type { GatewayDeps, SignalIngest } from './ingest-pipeline.ts';
import { headerValue, ingestCallOf, registerIngestRoutes } from './ingest-scope.ts';
import { groupRejections } from './rejection-report.ts';
import { textFailure } from './text-ingest.ts';
import { TokenBucket } from './token-bucket.ts';

/** The request headers a Faro page may send: Alloy's list, and the `idempotency-key` the SDK's fetch transport adds. */
const ALLOWED_HEADERS = 'content-type, traceparent, x-api-key, x-faro-session-id, x-scope-orgid, idempotency-key';

/** Where the Faro receiver writes: the logs and traces pipelines of the gateway (local engines or forwarders). */
export interface FaroTargets {
  readonly logs: SignalIngest<LogRecord>;
  readonly traces: SignalIngest<SpanRecord>;
}

/**
 * Registers Alloy's Faro receiver, `POST /collect` (and its CORS preflight), on each of `servers`: the payload's
 * logs, exceptions, measurements and events are written as log lines (see `decodeFaro`) through the logs
 * pipeline and its browser spans through the traces pipeline, so tenancy, limits, forwarding and discard
 * accounting are the other write paths'. Answers 202 `ok` as Alloy does; 401 without the configured
 * `x-api-key`; 413 over `max_allowed_payload_size`; 429 with `Retry-After` over the rate limit (one bucket of
 * payloads per second across senders, as Alloy's); 400 for a body that is not a Faro payload, or naming the
 * refused items (the rest written).
 */
export async function registerFaroReceiver(deps: GatewayDeps, servers: readonly FastifyInstance[], targets: FaroTargets, config: FaroConfig): Promise<void> {
  const received = new Counter({
    name: 'heimdall_faro_received_items_total',
    help: 'Faro items received (logs, exceptions, measurements, events, spans), by kind.',
    labelNames: ['kind'],
    registers: [deps.selfMetrics.registry],
  });
  const bucket = new TokenBucket(config.rate_limiting.burst_size, Date.now());
  const anyOrigin = config.cors_allowed_origins.includes('*');
  const allowed = new Set(config.cors_allowed_origins);

  const cors = (request: FastifyRequest, reply: FastifyReply): void => {
    const origin = headerValue(request, 'origin');
    if (origin === undefined || !(anyOrigin || allowed.has(origin))) return;
    reply.header('access-control-allow-origin', anyOrigin ? '*' : origin);
    if (!anyOrigin) reply.header('vary', 'Origin');
  };

  const preflight = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    cors(request, reply);
    reply.header('access-control-allow-methods', 'POST, OPTIONS');
    reply.header('access-control-allow-headers', ALLOWED_HEADERS);
    reply.header('access-control-max-age', '600');
    return reply.code(204).send();
  };

  const collect = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    cors(request, reply);
    try {
      if (config.api_key !== undefined && headerValue(request, 'x-api-key') !== config.api_key) {
        throw new HeimdallError('unauthenticated', 'api key not provided or incorrect: send the faro.api_key as x-api-key');
      }
      if (config.rate_limiting.enabled) {
        const waitMs = bucket.take(1, config.rate_limiting.rate, config.rate_limiting.burst_size, Date.now());
        if (waitMs > 0) {
          throw new HeimdallError('rate_limited', `Faro rate limit (${config.rate_limiting.rate}/s, burst ${config.rate_limiting.burst_size}) exceeded; set faro.rate_limiting to raise it`, {
            code: 'rate_limited',
            retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
          });
        }
      }
      const call = ingestCallOf(request);
      if (call.body.length > config.max_allowed_payload_size) {
        throw new HeimdallError('too_large', `Faro payload of ${call.body.length} bytes is over faro.max_allowed_payload_size (${config.max_allowed_payload_size} bytes)`, { code: 'body_too_large' });
      }
      let decoded: FaroDecodeResult | undefined;
      const decode = (body: Buffer): FaroDecodeResult => (decoded ??= decodeFaro(body, BigInt(Date.now()) * 1_000_000n));
      const logs = await runIngest(deps, targets.logs, call, () => ({ decode }));
      const rejections = [...logs.result.rejections];
      const counts = decoded!.counts;
      received.inc({ kind: 'log' }, counts.logs);
      received.inc({ kind: 'exception' }, counts.exceptions);
      received.inc({ kind: 'measurement' }, counts.measurements);
      received.inc({ kind: 'event' }, counts.events);
      const spans = decoded!.traces;
      if (spans !== undefined) {
        const traces = await runIngest(deps, targets.traces, call, () => ({ decode: (): SpanDecodeResult => spans }));
        received.inc({ kind: 'span' }, spans.spans);
        rejections.push(...traces.result.rejections);
      }
      if (rejections.length > 0) return sendText(reply, 400, groupRejections(rejections));
      return reply.code(202).type('text/plain').send('ok');
    } catch (err) {
      return sendHttpFailure(reply, err);
    }
  };

  for (const server of servers) {
    await registerIngestRoutes(server, deps.inflight, {
      failure: textFailure,
      register: (scope) => {
        scope.post('/collect', collect);
        scope.options('/collect', preflight);
      },
    });
  }
}
