import { HeimdallError } from '../model/index.ts';
import type { Profile, Rejection } from '../model/index.ts';
import { decodePprof } from './pprof.ts';
import { profilesFromPprof } from './pprof-profiles.ts';
import type { ProfileShapeLimits } from './pprof-profiles.ts';
import { PushRequest } from './pyroscope-proto.ts';


/** The limits a profile decoder applies (per tenant: the gateway passes the request tenant's). */
export interface ProfileDecodeLimits extends ProfileShapeLimits {
  /** Largest uncompressed pprof; 0 = no limit. */
  readonly maxProfileBytes: number;
}

/** What a profile decoder returns (the ingest pipeline's DecodedBatch shape). */
export interface ProfileDecodeResult {
  readonly records: Profile[];
  readonly rejections: Rejection[];
  readonly malformed?: string;
  /** Uncompressed pprof bytes behind each record (a pprof's bytes spread over its records), for the rate limit. */
  readonly bytes: Map<Profile, number>;
}

interface RawPush {
  series?: { labels?: { name?: string; value?: string }[]; samples?: { rawProfile?: Uint8Array | string; ID?: string }[] }[];
}

/**
 * Decodes a Pyroscope `PushRequest` (Connect; `application/proto` or `application/json` with base64
 * `rawProfile`s, as Alloy's `pyroscope.write` and the SDKs send): each series' labels (`__name__` names the
 * profile, `service_name` the service) on every profile of its samples. A sample whose pprof does not decode
 * or is over the size limit is a rejection; the others are kept. Pure.
 */
export function decodePyroscopePush(body: Buffer, json: boolean, limits: ProfileDecodeLimits, nowMs: number): ProfileDecodeResult {
  let raw: RawPush;
  try {
    raw = json
      ? (PushRequest.toObject(PushRequest.fromObject(JSON.parse(body.toString('utf8')) as object)))
      : (PushRequest.toObject(PushRequest.decode(body)));
  } catch (err) {
    return { records: [], rejections: [], bytes: new Map(), malformed: `invalid PushRequest body: ${(err as Error).message}` };
  }
  const out: ProfileDecodeResult = { records: [], rejections: [], bytes: new Map() };
  for (const series of raw.series ?? []) {
    const labels: Record<string, string> = {};
    for (const l of series.labels ?? []) if (l.name) labels[l.name] = l.value ?? '';
    for (const sample of series.samples ?? []) {
      const bytes = sample.rawProfile instanceof Uint8Array ? sample.rawProfile : Uint8Array.from((sample.rawProfile ?? []) as unknown as number[]);
      addPprof(out, bytes, { labels, timeMs: nowMs, ...(sample.ID ? { profileId: sample.ID } : {}) }, limits);
    }
  }
  return out;
}

/** Decodes one pprof into `out`'s records, or one rejection naming what is wrong with it. */
export function addPprof(
  out: ProfileDecodeResult,
  bytes: Uint8Array,
  conv: { labels: Readonly<Record<string, string>>; timeMs: number; overrideTime?: boolean; profileId?: string; legacySuffix?: string },
  limits: ProfileDecodeLimits,
): void {
  const subject = conv.labels.service_name ?? '';
  const decoded = decodePprof(bytes, limits.maxProfileBytes > 0 ? limits.maxProfileBytes : 1 << 30);
  if (typeof decoded === 'string') {
    const tooLarge = decoded.includes('larger than');
    out.rejections.push({
      signal: 'profiles',
      reason: tooLarge ? 'profile_too_large' : 'invalid_record',
      message: tooLarge ? `${decoded} (profiles.limits.max_profile_size_bytes)` : decoded,
      subject,
      count: 1,
    });
    return;
  }
  const profiles = profilesFromPprof(decoded, { ...conv, limits });
  const size = bytes.length / Math.max(1, profiles.length);
  for (const p of profiles) {
    out.records.push(p);
    out.bytes.set(p, size);
  }
}

/** Throws the 415 for a push body that is neither protobuf nor JSON. */
export function unsupportedPushType(type: string): HeimdallError {
  return new HeimdallError(
    'unsupported_media_type',
    `unsupported Content-Type "${type}": Pyroscope push takes application/proto (or application/x-protobuf) and application/json`,
  );
}
