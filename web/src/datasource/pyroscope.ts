import { proxyPostJson, proxyPostProto } from './proxy-fetch.ts';
import type { RequestRecord } from './proxy-fetch.ts';

const QUERIER = 'querier.v1.QuerierService';

/** A profile type as Pyroscope lists it; `ID` is `<name>:<sample type>:<sample unit>:<period type>:<period unit>`. */
export interface ProfileType {
  readonly ID: string;
  readonly name: string;
  readonly sampleType: string;
  readonly sampleUnit: string;
}

/**
 * Pyroscope's flame graph: `names` and per level the nodes as flat tuples (4 per node; 7 in a diff). Connect's
 * JSON codec leaves out empty and zero fields, so every field may be absent.
 */
export interface FlamebearerData {
  readonly names?: string[];
  readonly levels?: { values?: (string | number)[] }[];
  readonly total?: string | number;
  readonly maxSelf?: string | number;
  /** Diff only: the totals of the two sides. */
  readonly leftTicks?: string | number;
  readonly rightTicks?: string | number;
}

interface Range {
  readonly startMs: number;
  readonly endMs: number;
}

export async function profileTypes(uid: string, org: string, range: Range, signal?: AbortSignal): Promise<ProfileType[]> {
  const { body } = await proxyPostJson<{ profileTypes?: ProfileType[] }>(uid, org, `${QUERIER}/ProfileTypes`, { start: range.startMs, end: range.endMs }, signal);
  return body.profileTypes ?? [];
}

export async function profileLabelValues(uid: string, org: string, name: string, matchers: string[], range: Range, signal?: AbortSignal): Promise<string[]> {
  const { body } = await proxyPostJson<{ names?: string[] }>(uid, org, `${QUERIER}/LabelValues`, { name, matchers, start: range.startMs, end: range.endMs }, signal);
  return body.names ?? [];
}

/** One series of `SelectSeries`: its labels and points (`timestamp` in ms). */
export interface ProfileSeries {
  readonly labels?: { name: string; value: string }[];
  readonly points?: { value?: number; timestamp: string | number }[];
}

export async function selectSeries(uid: string, org: string, profileTypeID: string, labelSelector: string, range: Range, stepS: number, groupBy: string[], signal?: AbortSignal): Promise<{ series: ProfileSeries[]; record: RequestRecord }> {
  const { body, record } = await proxyPostJson<{ series?: ProfileSeries[] }>(
    uid,
    org,
    `${QUERIER}/SelectSeries`,
    { profileTypeID, labelSelector, start: range.startMs, end: range.endMs, step: stepS, groupBy },
    signal,
  );
  return { series: body.series ?? [], record };
}

/** The merged flame graph of a selection; with `spanIds` only the samples of those spans (SelectMergeSpanProfile). */
export async function selectFlameGraph(
  uid: string,
  org: string,
  req: { profileTypeID: string; labelSelector: string; spanIds?: string[]; maxNodes: number } & Range,
  signal?: AbortSignal,
): Promise<{ flamegraph: FlamebearerData | undefined; record: RequestRecord }> {
  const base = { profileTypeID: req.profileTypeID, labelSelector: req.labelSelector, start: req.startMs, end: req.endMs, maxNodes: req.maxNodes };
  const { body, record } = req.spanIds
    ? await proxyPostJson<{ flamegraph?: FlamebearerData }>(uid, org, `${QUERIER}/SelectMergeSpanProfile`, { ...base, spanSelector: req.spanIds }, signal)
    : await proxyPostJson<{ flamegraph?: FlamebearerData }>(uid, org, `${QUERIER}/SelectMergeStacktraces`, base, signal);
  return { flamegraph: body.flamegraph, record };
}

/** The diff of two selections (`left` the baseline, `right` the comparison): 7-tuple levels. */
export async function diffFlameGraph(
  uid: string,
  org: string,
  left: { profileTypeID: string; labelSelector: string } & Range,
  right: { profileTypeID: string; labelSelector: string } & Range,
  maxNodes: number,
  signal?: AbortSignal,
): Promise<{ flamegraph: FlamebearerData | undefined; record: RequestRecord }> {
  const side = (s: typeof left): Record<string, unknown> => ({ profileTypeID: s.profileTypeID, labelSelector: s.labelSelector, start: s.startMs, end: s.endMs, maxNodes });
  const { body, record } = await proxyPostJson<{ flamegraph?: FlamebearerData }>(uid, org, `${QUERIER}/Diff`, { left: side(left), right: side(right) }, signal);
  return { flamegraph: body.flamegraph, record };
}

/** A protobuf varint of a non-negative integer up to 2^53 (int64 fields of a request). */
function varint(n: number, out: number[]): void {
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** `querier.v1.SelectMergeProfileRequest` in protobuf: the method answers pprof only in the binary codec. */
export function encodeMergeProfileRequest(profileTypeID: string, labelSelector: string, range: Range): Uint8Array<ArrayBuffer> {
  const out: number[] = [];
  const text = (field: number, s: string): void => {
    const bytes = new TextEncoder().encode(s);
    out.push((field << 3) | 2);
    varint(bytes.length, out);
    out.push(...bytes);
  };
  text(1, profileTypeID);
  text(2, labelSelector);
  out.push((3 << 3) | 0);
  varint(range.startMs, out);
  out.push((4 << 3) | 0);
  varint(range.endMs, out);
  return new Uint8Array(out);
}

/** The merged profile of a selection as a gzipped pprof (`go tool pprof` reads it), Pyroscope's export. */
export async function exportPprof(uid: string, org: string, profileTypeID: string, labelSelector: string, range: Range, signal?: AbortSignal): Promise<Blob> {
  const pprof = await proxyPostProto(uid, org, `${QUERIER}/SelectMergeProfile`, encodeMergeProfileRequest(profileTypeID, labelSelector, range), signal);
  const gzipped = new Blob([pprof]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Response(gzipped).blob();
}
