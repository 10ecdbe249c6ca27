import { HeimdallError, SERVICE_NAME_LABEL, profileTypeLabels } from '../model/index.ts';
import type { Profile, ProfileType } from '../model/index.ts';
import { addPprof } from './pyroscope-push.ts';
import type { ProfileDecodeLimits, ProfileDecodeResult } from './pyroscope-push.ts';

/** The query parameters of Pyroscope's legacy `POST /ingest`. */
export interface LegacyIngestParams {
  /** `app.cpu{env=prod,region=eu}`. */
  readonly name: string | undefined;
  readonly from: string | undefined;
  readonly until: string | undefined;
  readonly format: string | undefined;
  readonly sampleRate: string | undefined;
  readonly spyName: string | undefined;
  readonly units: string | undefined;
  readonly aggregationType: string | undefined;
}

/** The app-name suffixes the SDKs append per profile type, and what a collapsed-stack body of each means. */
const LEGACY_TYPES: Readonly<Record<string, { type: ProfileType; scaleByRate?: boolean }>> = {
  cpu: { type: t('process_cpu', 'cpu', 'nanoseconds', 'cpu', 'nanoseconds'), scaleByRate: true },
  itimer: { type: t('process_cpu', 'cpu', 'nanoseconds', 'cpu', 'nanoseconds'), scaleByRate: true },
  wall: { type: t('wall', 'wall', 'nanoseconds', 'wall', 'nanoseconds'), scaleByRate: true },
  alloc_objects: { type: t('memory', 'alloc_objects', 'count', 'space', 'bytes') },
  alloc_space: { type: t('memory', 'alloc_space', 'bytes', 'space', 'bytes') },
  inuse_objects: { type: t('memory', 'inuse_objects', 'count', 'space', 'bytes') },
  inuse_space: { type: t('memory', 'inuse_space', 'bytes', 'space', 'bytes') },
  goroutines: { type: t('goroutines', 'goroutine', 'count', 'goroutine', 'count') },
  mutex_count: { type: t('mutex', 'contentions', 'count', 'contentions', 'count') },
  mutex_duration: { type: t('mutex', 'delay', 'nanoseconds', 'contentions', 'count') },
  block_count: { type: t('block', 'contentions', 'count', 'contentions', 'count') },
  block_duration: { type: t('block', 'delay', 'nanoseconds', 'contentions', 'count') },
  exceptions: { type: t('exceptions', 'exceptions', 'count', '', '') },
};

function t(name: string, sampleType: string, sampleUnit: string, periodType: string, periodUnit: string): ProfileType {
  return { name, sampleType, sampleUnit, periodType, periodUnit };
}

/** A parsed `name` parameter: the service, the profile-type suffix (when known) and the labels in braces. */
export interface LegacyName {
  readonly service: string;
  readonly suffix: string | undefined;
  readonly labels: Record<string, string>;
}

/** Parses `app.cpu{env=prod,region=eu}` (Pyroscope's segment key). Throws `bad_data` naming the problem. */
export function parseLegacyName(name: string | undefined): LegacyName {
  if (name === undefined || name.trim() === '') throw new HeimdallError('bad_data', 'the name parameter is required (e.g. name=my.app.cpu{env=prod})');
  const brace = name.indexOf('{');
  let app = (brace < 0 ? name : name.slice(0, brace)).trim();
  const labels: Record<string, string> = {};
  if (brace >= 0) {
    if (!name.endsWith('}')) throw new HeimdallError('bad_data', `invalid name "${name}": the labels must end with "}"`);
    for (const pair of name.slice(brace + 1, -1).split(',')) {
      if (pair.trim() === '') continue;
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new HeimdallError('bad_data', `invalid name "${name}": label "${pair}" is not key=value`);
      labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
  }
  let suffix: string | undefined;
  const dot = app.lastIndexOf('.');
  if (dot > 0 && LEGACY_TYPES[app.slice(dot + 1)] !== undefined) {
    suffix = app.slice(dot + 1);
    app = app.slice(0, dot);
  }
  if (app === '') throw new HeimdallError('bad_data', `invalid name "${name}": the application name is empty`);
  return { service: app, suffix, labels };
}

/** A Unix time in seconds, milliseconds, microseconds or nanoseconds (told apart by size) as ms; undefined when absent. */
export function legacyTimeMs(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new HeimdallError('bad_data', `invalid time "${text}": expected Unix seconds`);
  if (n > 1e17) return Math.floor(n / 1e6);
  if (n > 1e14) return Math.floor(n / 1e3);
  if (n > 1e11) return Math.floor(n);
  return Math.floor(n * 1000);
}

/** The series labels of a legacy ingest: the name's labels and `service_name`. */
function seriesLabels(name: LegacyName): Record<string, string> {
  return { ...name.labels, [SERVICE_NAME_LABEL]: name.service };
}

/**
 * Decodes collapsed stacks (`format=folded`, the default: `main;work;hot 42` per line; `format=lines`: one
 * stack per line, each worth 1) into one profile. The profile type comes from the name's suffix (`.cpu` is
 * `process_cpu:cpu:nanoseconds:cpu:nanoseconds`, its sample counts turned into nanoseconds by `sampleRate`);
 * an unknown suffix makes `<suffix>:<units or samples>:count::`.
 */
export function decodeCollapsed(body: Buffer, lines: boolean, params: LegacyIngestParams, nowMs: number): ProfileDecodeResult {
  const name = parseLegacyName(params.name);
  const known = name.suffix === undefined ? undefined : LEGACY_TYPES[name.suffix];
  const unitsType = params.units === 'objects' ? 'objects' : params.units === 'bytes' ? 'space' : 'samples';
  const type = known?.type ?? t(name.suffix ?? 'unknown', unitsType, unitsType === 'space' ? 'bytes' : 'count', '', '');
  const sampleRate = Number(params.sampleRate ?? '100');
  if (!Number.isFinite(sampleRate) || sampleRate <= 0) throw new HeimdallError('bad_data', `invalid sampleRate "${params.sampleRate}"`);
  const scale = known?.scaleByRate ? 1e9 / sampleRate : 1;
  const functions: { name: string }[] = [];
  const fnIndex = new Map<string, number>();
  const stacks: number[][] = [];
  const stackIndex = new Map<string, number>();
  const values = new Map<number, number>();
  let lineNo = 0;
  for (const raw of body.toString('utf8').split('\n')) {
    lineNo++;
    const line = raw.trimEnd();
    if (line === '') continue;
    let stackText = line;
    let value = 1;
    if (!lines) {
      const sp = line.lastIndexOf(' ');
      const v = sp < 0 ? NaN : Number(line.slice(sp + 1));
      if (!Number.isFinite(v)) {
        return { records: [], rejections: [], bytes: new Map(), malformed: `line ${lineNo}: expected "frame;frame;... <value>", got "${line.slice(0, 80)}"` };
      }
      stackText = line.slice(0, sp);
      value = v;
    }
    const frames = stackText.split(';').reverse().map((f) => {
      let i = fnIndex.get(f);
      if (i === undefined) {
        i = functions.length;
        functions.push({ name: f });
        fnIndex.set(f, i);
      }
      return i;
    });
    const key = frames.join(',');
    let s = stackIndex.get(key);
    if (s === undefined) {
      s = stacks.length;
      stacks.push(frames);
      stackIndex.set(key, s);
    }
    values.set(s, (values.get(s) ?? 0) + value * scale);
  }
  const from = legacyTimeMs(params.from) ?? nowMs;
  const until = legacyTimeMs(params.until) ?? from;
  const profile: Profile = {
    labels: { ...seriesLabels(name), ...profileTypeLabels(type) },
    timeMs: from,
    durationNs: Math.max(0, until - from) * 1e6,
    functions,
    stacks,
    samples: [...values.entries()].filter(([, v]) => v !== 0).map(([stack, value]) => ({ stack, value })),
  };
  return { records: profile.samples.length > 0 ? [profile] : [], rejections: [], bytes: new Map([[profile, body.length]]) };
}

/**
 * Decodes a legacy pprof ingest: the profile bytes (a raw body, or the multipart `profile` part) with the
 * name's labels; its time is `from` (the profile's own time is not used, as Pyroscope does for `/ingest`).
 */
export function decodeLegacyPprof(profile: Uint8Array, params: LegacyIngestParams, limits: ProfileDecodeLimits, nowMs: number): ProfileDecodeResult {
  const name = parseLegacyName(params.name);
  const out: ProfileDecodeResult = { records: [], rejections: [], bytes: new Map() };
  const from = legacyTimeMs(params.from);
  addPprof(
    out,
    profile,
    { labels: seriesLabels(name), timeMs: from ?? nowMs, overrideTime: from !== undefined, ...(name.suffix ? { legacySuffix: name.suffix } : {}) },
    limits,
  );
  return out;
}

/** One part of a `multipart/form-data` body. */
export interface FormPart {
  readonly name: string;
  readonly data: Buffer;
}

/**
 * Splits a `multipart/form-data` body (RFC 7578) into its parts by the boundary of the Content-Type. Returns
 * a message instead when the body is not well-formed.
 */
export function parseMultipart(body: Buffer, contentType: string): FormPart[] | string {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2]?.trim();
  if (!boundary) return 'multipart/form-data without a boundary';
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: FormPart[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) return 'multipart body without its boundary';
  for (let guard = 0; guard < 1000; guard++) {
    pos += delimiter.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return parts; // closing delimiter
    const headersEnd = body.indexOf('\r\n\r\n', pos);
    if (headersEnd < 0) return 'multipart part without a header block';
    const headers = body.subarray(pos, headersEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headersEnd + 4);
    if (next < 0) return 'multipart body ends inside a part';
    const nameMatch = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(headers);
    parts.push({ name: nameMatch?.[1] ?? '', data: body.subarray(headersEnd + 4, next) });
    pos = next + 2;
  }
  return 'too many multipart parts';
}
