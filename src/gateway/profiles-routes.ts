import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ProfilesConfig, ProfilesLimits } from '../config/index.ts';
import { limitsForTenant } from '../config/index.ts';
import { decodeCollapsed, decodeLegacyPprof, parseLegacyName, parseMultipart } from '../ingest/pyroscope-legacy.ts';
import type { LegacyIngestParams } from '../ingest/pyroscope-legacy.ts';
import { decodePyroscopePush, unsupportedPushType } from '../ingest/pyroscope-push.ts';
import type { ProfileDecodeLimits, ProfileDecodeResult } from '../ingest/pyroscope-push.ts';
import { CONNECT_ERROR_FOR_KIND, HeimdallError, isRetryableKind } from '../model/index.ts';
import type { Profile, TenantId } from '../model/index.ts';
import type { Appendable } from '../storage/index.ts';
import { TENANT_HEADER } from '../tenant/index.ts';
import { sendHttpFailure, sendText } from './ingest-answers.ts';
import { runIngest } from './ingest-pipeline.ts';
import type { BodyFormat, GatewayDeps, SignalIngest } from './ingest-pipeline.ts';
import { headerValue, ingestCallOf, mediaTypeOf, registerIngestRoutes } from './ingest-scope.ts';
import type { FailureAnswer } from './ingest-scope.ts';
import { groupRejections } from './rejection-report.ts';
import { TokenBucket } from './token-bucket.ts';

/** The setting that caps decompressed profile ingest bodies (named in 413 answers). */
const PROFILES_BODY_LIMIT_SETTING = 'profiles.max_decompressed_bytes';

/** Pyroscope's push RPC path (Connect), answered at the root and under `/pyroscope`. */
const PUSH_PATH = '/push.v1.PusherService/Push';

function decodeLimits(l: ProfilesLimits): ProfileDecodeLimits {
  return {
    maxProfileBytes: l.max_profile_size_bytes,
    maxSamples: l.max_profile_stacktrace_samples,
    maxStackDepth: l.max_profile_stacktrace_depth,
    maxSymbolLength: l.max_profile_symbol_value_length,
  };
}

/**
 * The profiles signal as the ingest pipeline sees it: records are profiles, tenants from the header or the
 * `namespace` label, and Pyroscope's per-tenant ingestion rate (uncompressed pprof bytes) as a token bucket;
 * a request over it is refused whole with 429 and `Retry-After`.
 */
function profilesIngest(deps: GatewayDeps, appendable: Appendable<Profile>, config: ProfilesConfig, sizes: WeakMap<Profile, number>): SignalIngest<Profile> {
  const buckets = new Map<TenantId, TokenBucket>();
  return {
    signal: 'profiles',
    appendable,
    maxDecompressedBytes: config.max_decompressed_bytes,
    bodyLimitSetting: PROFILES_BODY_LIMIT_SETTING,
    namespaceOf: (p) => p.labels.namespace,
    itemsOf: () => 1,
    admit: (tenant, records) => {
      const limits = limitsForTenant(config, tenant);
      const rate = limits.ingestion_rate_limit_bytes;
      if (rate <= 0 || records.length === 0) return { records, rejections: [] };
      let bytes = 0;
      for (const r of records) bytes += sizes.get(r) ?? 0;
      const now = Date.now();
      let bucket = buckets.get(tenant);
      if (!bucket) buckets.set(tenant, (bucket = new TokenBucket(limits.ingestion_burst_size_bytes, now)));
      const waitMs = bucket.take(bytes, rate, limits.ingestion_burst_size_bytes, now);
      if (waitMs === 0) return { records, rejections: [] };
      deps.selfMetrics.discard('profiles', 'rate_limited', tenant, records.length);
      throw new HeimdallError(
        'rate_limited',
        `ingestion rate limit (${rate} bytes/s, burst ${limits.ingestion_burst_size_bytes}) exceeded for tenant ${tenant} while writing ${bytes} bytes of profiles; set profiles.limits.ingestion_rate_limit_bytes and ingestion_burst_size_bytes to raise it`,
        { code: 'rate_limited', retryAfterSeconds: Number.isFinite(waitMs) ? Math.max(1, Math.ceil(waitMs / 1000)) : 10 },
      );
    },
  };
}

/** Sends a Connect error: the kind's Connect code and status, `{code, message}` JSON, `Retry-After` when retryable. */
function sendConnectError(reply: FastifyReply, err: unknown): FastifyReply {
  if (!(err instanceof HeimdallError)) throw err;
  const mapped = CONNECT_ERROR_FOR_KIND[err.kind];
  if (isRetryableKind(err.kind)) reply.header('retry-after', String(err.retryAfterSeconds ?? 1));
  return reply.code(mapped.status).type('application/json').send(JSON.stringify({ code: mapped.code, message: err.message }));
}

const connectFailure: FailureAnswer = (_request, reply, err) => sendConnectError(reply, err);

function legacyParams(request: FastifyRequest): LegacyIngestParams {
  const q = request.query as Record<string, string | undefined>;
  return {
    name: q.name,
    from: q.from,
    until: q.until,
    format: q.format,
    sampleRate: q.sampleRate,
    spyName: q.spyName,
    units: q.units,
    aggregationType: q.aggregationType,
  };
}

/**
 * Registers the profile write paths, all through the one ingest pipeline:
 * - Pyroscope's legacy `POST /ingest` (also `/pyroscope/ingest`): `name=app.cpu{k=v}`, `from`, `until`,
 *   `sampleRate`, `spyName`, `units`, `aggregationType`; `format=pprof` as a raw (gzip) body, as the Node SDK
 *   sends it, or a multipart form with `profile` (and `sample_type_config`, accepted, not applied), as the Go
 *   SDK sends it; `folded` (the default) and `lines` collapsed stacks. 200 when written; 422 with the reasons
 *   when a profile was refused (Pyroscope's answer); `jfr` and the other legacy formats 415.
 * - `POST /push.v1.PusherService/Push` (also under `/pyroscope`): Connect unary, protobuf or JSON (Alloy's
 *   `pyroscope.write`); 200 `{}` when written, a Connect `invalid_argument` naming the refused profiles.
 */
export async function registerProfilesIngest(deps: GatewayDeps, appendable: Appendable<Profile>, config: ProfilesConfig): Promise<void> {
  const sizes = new WeakMap<Profile, number>();
  const desc = profilesIngest(deps, appendable, config, sizes);
  const limitsOf = (request: FastifyRequest): ProfileDecodeLimits => {
    const tenancy = deps.tenants.forWrite(headerValue(request, TENANT_HEADER));
    return decodeLimits(tenancy.kind === 'fixed' ? limitsForTenant(config, tenancy.tenant) : config.limits);
  };
  const remember = (d: ProfileDecodeResult): ProfileDecodeResult => {
    for (const [p, n] of d.bytes) sizes.set(p, n);
    return d;
  };

  const ingest = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    try {
      const params = legacyParams(request);
      const type = mediaTypeOf(request);
      const multipart = type === 'multipart/form-data';
      const format = (params.format ?? (multipart ? 'pprof' : 'folded')).toLowerCase();
      const outcome = await runIngest(deps, desc, ingestCallOf(request), (): BodyFormat<ProfileDecodeResult> => {
        parseLegacyName(params.name);
        const limits = limitsOf(request);
        const now = Date.now();
        if (format === 'pprof') {
          return {
            decode: (body) => {
              if (!multipart) return remember(decodeLegacyPprof(body, params, limits, now));
              const parts = parseMultipart(body, headerValue(request, 'content-type') ?? '');
              if (typeof parts === 'string') return { records: [], rejections: [], bytes: new Map(), malformed: parts };
              if (parts.some((p) => p.name === 'prev_profile')) {
                return { records: [], rejections: [], bytes: new Map(), malformed: 'prev_profile (cumulative profiles turned into deltas by the server) is not supported; send delta profiles' };
              }
              const profile = parts.find((p) => p.name === 'profile');
              if (!profile) return { records: [], rejections: [], bytes: new Map(), malformed: 'the multipart form has no "profile" part' };
              const stc = parts.find((p) => p.name === 'sample_type_config');
              if (stc) {
                try {
                  JSON.parse(stc.data.toString('utf8'));
                } catch {
                  return { records: [], rejections: [], bytes: new Map(), malformed: 'sample_type_config is not valid JSON' };
                }
              }
              return remember(decodeLegacyPprof(profile.data, params, limits, now));
            },
          };
        }
        if (format === 'folded' || format === 'lines') return { decode: (body) => remember(decodeCollapsed(body, format === 'lines', params, now)) };
        throw new HeimdallError(
          'unsupported_media_type',
          `ingest format "${format}" is not supported: use pprof, folded or lines${format === 'jfr' ? ' (JFR from the Java agent is not built yet)' : ''}`,
          { code: 'unsupported_format' },
        );
      });
      if (outcome.result.rejections.length > 0) return sendText(reply, 422, groupRejections(outcome.result.rejections));
      return reply.code(200).send();
    } catch (err) {
      // Pyroscope answers an unprocessable profile with 422 on this path.
      if (err instanceof HeimdallError && err.code === 'malformed_body') return sendText(reply, 422, err.message);
      return sendHttpFailure(reply, err);
    }
  };

  const push = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const type = mediaTypeOf(request);
    const json = type === 'application/json';
    try {
      const outcome = await runIngest(deps, desc, ingestCallOf(request), (): BodyFormat<ProfileDecodeResult> => {
        if (!json && type !== 'application/proto' && type !== 'application/x-protobuf' && type !== 'application/protobuf') throw unsupportedPushType(type);
        const limits = limitsOf(request);
        return { decode: (body) => remember(decodePyroscopePush(body, json, limits, Date.now())) };
      });
      if (outcome.result.rejections.length > 0) {
        return sendConnectError(reply, new HeimdallError('bad_data', groupRejections(outcome.result.rejections)));
      }
      return json ? reply.code(200).type('application/json').send('{}') : reply.code(200).type('application/proto').send(Buffer.alloc(0));
    } catch (err) {
      return sendConnectError(reply, err);
    }
  };

  await registerIngestRoutes(deps.http, deps.inflight, {
    failure: (_request, reply, err) => sendHttpFailure(reply, err),
    register: (scope) => {
      scope.post('/ingest', ingest);
      scope.post('/pyroscope/ingest', ingest);
    },
  });
  await registerIngestRoutes(deps.http, deps.inflight, {
    failure: connectFailure,
    register: (scope) => {
      scope.post(PUSH_PATH, push);
      scope.post(`/pyroscope${PUSH_PATH}`, push);
    },
  });
}
