import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type protobuf from 'protobufjs';
import { CONNECT_ERROR_FOR_KIND, HeimdallError } from '../../model/index.ts';
import type { TenantId } from '../../model/index.ts';
import type { TenantResolver } from '../../tenant/index.ts';
import { toApiError } from '../errors.ts';
import { abortOnClientClose, readTenants } from '../request-context.ts';

/** What a Connect method handler gets: the request message as a plain object (int64 as numbers), and the call. */
export interface ConnectCall<Req> {
  readonly message: Req;
  readonly tenants: readonly TenantId[];
  readonly signal: AbortSignal;
  readonly json: boolean;
}

/** A method answer that is already-encoded protobuf bytes (SelectMergeProfile's pprof). */
export class RawProto {
  constructor(readonly bytes: Uint8Array) {}
}

/** One unary Connect method: its path, message types and handler. */
export interface ConnectMethod<Req = never> {
  readonly path: string;
  readonly request: protobuf.Type;
  /** The response type; undefined when the handler answers {@link RawProto} only. */
  readonly response: protobuf.Type | undefined;
  readonly handle: (call: ConnectCall<Req>) => Promise<object | RawProto>;
}

const PROTO_TYPES = new Set(['application/proto', 'application/x-protobuf', 'application/protobuf']);

/** Sends a Connect error (`{code, message}` JSON with the code's status); internal errors are logged, not shown. */
function sendConnectError(request: FastifyRequest, reply: FastifyReply, err: unknown, logger: Logger): FastifyReply {
  const mapped = toApiError(err, String(request.id));
  if (mapped.internal) logger.error({ err, requestId: request.id, url: request.url }, 'Pyroscope API internal error');
  const kind = err instanceof HeimdallError && !mapped.internal ? err.kind : 'internal';
  const connect = CONNECT_ERROR_FOR_KIND[kind];
  if (mapped.retryAfterSeconds !== undefined) reply.header('retry-after', String(mapped.retryAfterSeconds));
  return reply.code(connect.status).type('application/json').send(JSON.stringify({ code: connect.code, message: mapped.message }));
}

/**
 * Registers unary Connect methods (the protocol Grafana's Pyroscope data source and Pyroscope's clients
 * speak): `POST <path>` with an `application/proto` or `application/json` body answers in the same codec
 * (proto3 JSON: lowerCamelCase names, int64 as strings), errors as Connect's `{code, message}` JSON. Bodies
 * arrive raw (this scope parses nothing itself). Tenants come from `X-Scope-OrgID` (`a|b` reads both).
 */
export async function registerConnectMethods(
  app: FastifyInstance,
  tenants: TenantResolver,
  logger: Logger,
  methods: readonly ConnectMethod<never>[],
): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    for (const m of methods) {
      scope.post(m.path, async (request, reply) => {
        const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        const json = type === 'application/json';
        if (!json && !PROTO_TYPES.has(type)) {
          return reply.code(415).type('application/json').send(JSON.stringify({ code: 'unknown', message: `unsupported Content-Type "${type}": use application/proto or application/json` }));
        }
        const { signal, dispose } = abortOnClientClose(reply);
        try {
          const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
          let decoded: protobuf.Message;
          try {
            decoded = json ? m.request.fromObject(body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as object)) : m.request.decode(body);
          } catch (err) {
            throw new HeimdallError('bad_data', `invalid ${m.request.name} body: ${(err as Error).message}`);
          }
          const message = m.request.toObject(decoded, { longs: Number, enums: Number, defaults: true }) as never;
          const answer = await m.handle({ message, tenants: readTenants(tenants, request), signal, json });
          if (answer instanceof RawProto) {
            if (json) throw new HeimdallError('bad_data', `${m.path} answers a pprof profile: call it with application/proto`);
            return reply.code(200).type('application/proto').send(Buffer.from(answer.bytes));
          }
          const response = m.response!;
          const msg = response.fromObject(answer);
          if (json) return reply.code(200).type('application/json').send(JSON.stringify(response.toObject(msg, { longs: String, enums: String, json: true })));
          return reply.code(200).type('application/proto').send(Buffer.from(response.encode(msg).finish()));
        } catch (err) {
          return sendConnectError(request, reply, err, logger);
        } finally {
          dispose();
        }
      });
    }
  });
}
