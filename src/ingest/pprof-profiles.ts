import { METRIC_NAME_LABEL, profileTypeLabels, setOwnLabel } from '../model/index.ts';
import type { Profile, ProfileFunction, ProfileSample, ProfileType } from '../model/index.ts';
import type { Pprof, PprofSample } from './pprof.ts';

/** Pprof sample labels that carry the span a sample was taken in (trace → profile), not a series label. */
const SPAN_ID_LABELS = new Set(['span_id', 'pyroscope.profile.id', 'profile_id']);
const SPAN_ID = /^[0-9a-f]{16}$/;

/** The per-profile limits applied while converting (Pyroscope's names: `max_profile_stacktrace_*`). */
export interface ProfileShapeLimits {
  /** Frames kept per stack (root side); deeper stacks end in one `other` frame. 0 = no limit. */
  readonly maxStackDepth: number;
  /** Samples kept per profile (the largest); 0 = no limit. */
  readonly maxSamples: number;
  /** Function names and file names are cut to this many characters; 0 = no limit. */
  readonly maxSymbolLength: number;
}

/** How a decoded pprof becomes profile records. */
export interface PprofConversion {
  /** The series labels (the user's and `service_name`); a `__name__` here names the profile (push API). */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * The legacy app-name suffix (`cpu`, `alloc_space`, `mutex_count`, `block_duration`, ...) of `/ingest`'s
   * `name=app.<suffix>`, which tells block from mutex profiles (they share sample types).
   */
  readonly legacySuffix?: string;
  /** The profile's time in Unix ms when the profile does not say (time_nanos 0) or the sender overrides it. */
  readonly timeMs: number;
  /** Use `timeMs` even when the profile has a time (`/ingest`'s `from` is authoritative there). */
  readonly overrideTime?: boolean;
  /** The sender's profile id (Pyroscope push `ID`). */
  readonly profileId?: string;
  readonly limits: ProfileShapeLimits;
}

/**
 * The profile name Pyroscope gives a pprof that does not carry one, from its sample types: `wall` for wall
 * clock, `process_cpu` for CPU (and anything unknown), `memory` for allocations and in-use memory,
 * `goroutines`, `mutex` or `block` for contentions (by the legacy suffix), `exceptions`.
 */
export function profileNameOf(p: Pprof, legacySuffix?: string): string {
  const types = new Set(p.sampleTypes.map((t) => t.type));
  if (types.has('wall') || p.periodType?.type === 'wall' || p.periodType?.type === 'wallclock') return 'wall';
  if (types.has('cpu')) return 'process_cpu';
  for (const t of types) if (t.startsWith('alloc_') || t.startsWith('inuse_')) return 'memory';
  if (types.has('goroutine') || types.has('goroutines')) return 'goroutines';
  if (types.has('contentions') || types.has('delay')) return legacySuffix?.startsWith('block') ? 'block' : 'mutex';
  if (types.has('exception') || types.has('exceptions')) return 'exceptions';
  return 'process_cpu';
}

interface Group {
  readonly labels: Record<string, string>;
  readonly samples: PprofSample[];
}

/**
 * Converts a decoded pprof into one {@link Profile} per sample type and per distinct set of string sample
 * labels (Pyroscope makes each such label a series label), with symbols deduplicated: functions by name and
 * file, stacks by their function lists, samples by stack and span. Span ids (`span_id`,
 * `pyroscope.profile.id`) stay on the samples. Samples whose value is 0 for a type are left out of it.
 */
export function profilesFromPprof(p: Pprof, conv: PprofConversion): Profile[] {
  const name = conv.labels[METRIC_NAME_LABEL] ?? profileNameOf(p, conv.legacySuffix);
  const timeMs = conv.overrideTime || p.timeNanos <= 0 ? conv.timeMs : Math.floor(p.timeNanos / 1e6);
  const periodType = p.periodType ?? { type: '', unit: '' };
  const out: Profile[] = [];
  for (const group of groupBySampleLabels(p.samples, conv.labels)) {
    const symbols = new SymbolTable(p, conv.limits);
    const stackOf = group.samples.map((s) => symbols.stack(s.locationIds));
    const spanOf = group.samples.map(spanIdOf);
    for (let i = 0; i < p.sampleTypes.length; i++) {
      const st = p.sampleTypes[i]!;
      const type: ProfileType = { name, sampleType: st.type, sampleUnit: st.unit, periodType: periodType.type, periodUnit: periodType.unit };
      const samples = mergeSamples(group.samples, i, stackOf, spanOf, conv.limits.maxSamples);
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(group.labels)) setOwnLabel(labels, k, v);
      for (const [k, v] of Object.entries(profileTypeLabels(type))) setOwnLabel(labels, k, v);
      out.push({
        labels,
        timeMs,
        durationNs: p.durationNanos,
        functions: symbols.functions,
        stacks: symbols.stacks,
        samples,
        ...(conv.profileId ? { profileId: conv.profileId } : {}),
      });
    }
  }
  return out;
}

function spanIdOf(s: PprofSample): string | undefined {
  for (const l of s.labels) {
    if (l.str !== undefined && SPAN_ID_LABELS.has(l.key) && SPAN_ID.test(l.str)) return l.str;
  }
  return undefined;
}

function groupBySampleLabels(samples: readonly PprofSample[], base: Readonly<Record<string, string>>): Group[] {
  const groups = new Map<string, Group>();
  for (const s of samples) {
    let key = '';
    let extra: [string, string][] | undefined;
    for (const l of s.labels) {
      if (l.str === undefined || l.key === '' || SPAN_ID_LABELS.has(l.key) || l.key.startsWith('__')) continue;
      (extra ??= []).push([l.key, l.str]);
    }
    if (extra) {
      extra.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      key = JSON.stringify(extra);
    }
    let g = groups.get(key);
    if (!g) {
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(base)) if (k !== METRIC_NAME_LABEL) setOwnLabel(labels, k, v);
      for (const [k, v] of extra ?? []) setOwnLabel(labels, k, v);
      g = { labels, samples: [] };
      groups.set(key, g);
    }
    g.samples.push(s);
  }
  return [...groups.values()];
}

function mergeSamples(
  samples: readonly PprofSample[],
  typeIndex: number,
  stackOf: readonly number[],
  spanOf: readonly (string | undefined)[],
  maxSamples: number,
): ProfileSample[] {
  // Samples without a span (nearly all) are keyed by the stack index alone; no key string is built for them.
  const byStack = new Map<number, { stack: number; value: number }>();
  const bySpan = new Map<string, { stack: number; value: number; spanId: string }>();
  for (let j = 0; j < samples.length; j++) {
    const value = samples[j]!.values[typeIndex]!;
    if (value === 0) continue;
    const stack = stackOf[j]!;
    const spanId = spanOf[j];
    if (spanId === undefined) {
      const have = byStack.get(stack);
      if (have) have.value += value;
      else byStack.set(stack, { stack, value });
    } else {
      const key = `${stack}/${spanId}`;
      const have = bySpan.get(key);
      if (have) have.value += value;
      else bySpan.set(key, { stack, value, spanId });
    }
  }
  let out: ProfileSample[] = [...byStack.values(), ...bySpan.values()];
  if (maxSamples > 0 && out.length > maxSamples) out = out.sort((a, b) => b.value - a.value).slice(0, maxSamples);
  return out;
}

/** Deduplicates one profile's functions and stacks while its samples are converted. */
class SymbolTable {
  readonly functions: ProfileFunction[] = [];
  readonly stacks: number[][] = [];
  /** Function name → file name → function index (two levels: no key string is built per lookup). */
  private readonly functionIndex = new Map<string, Map<string, number>>();
  /** Hash of a stack's function indexes → the stack indexes with that hash (compared element by element). */
  private readonly stackIndex = new Map<number, number[]>();
  /** Location id → the function indexes of its lines, innermost first. */
  private readonly locationFrames = new Map<number, number[]>();

  constructor(
    private readonly p: Pprof,
    private readonly limits: ProfileShapeLimits,
  ) {}

  /** The stack index of a sample's locations (leaf first). */
  stack(locationIds: readonly number[]): number {
    let frames: number[] = [];
    for (const id of locationIds) for (const f of this.frames(id)) frames.push(f);
    const max = this.limits.maxStackDepth;
    if (max > 0 && frames.length > max) frames = [this.fn('other', ''), ...frames.slice(frames.length - max + 1)];
    // FNV-1a over the indexes; equal hashes are told apart by comparing the stacks.
    let h = 0x811c9dc5;
    for (const f of frames) h = Math.imul(h ^ f, 0x01000193);
    const bucket = this.stackIndex.get(h);
    if (bucket) {
      for (const i of bucket) if (sameFrames(this.stacks[i]!, frames)) return i;
    }
    const i = this.stacks.length;
    this.stacks.push(frames);
    if (bucket) bucket.push(i);
    else this.stackIndex.set(h, [i]);
    return i;
  }

  private frames(locationId: number): number[] {
    let frames = this.locationFrames.get(locationId);
    if (frames) return frames;
    const loc = this.p.locations.get(locationId);
    frames = [];
    if (loc) {
      for (const fid of loc.functionIds) {
        const f = this.p.functions.get(fid);
        if (f && f.name !== '') frames.push(this.fn(f.name, f.filename));
      }
      // An unsymbolized location (no lines, as stripped binaries give) is named by its address.
      if (frames.length === 0) {
        const file = this.p.mappings.get(loc.mappingId) ?? '';
        frames.push(this.fn(`0x${loc.address.toString(16)}`, file));
      }
    } else {
      frames.push(this.fn(`unknown location ${locationId}`, ''));
    }
    this.locationFrames.set(locationId, frames);
    return frames;
  }

  private fn(name: string, filename: string): number {
    const max = this.limits.maxSymbolLength;
    if (max > 0) {
      if (name.length > max) name = name.slice(0, max);
      if (filename.length > max) filename = filename.slice(0, max);
    }
    let byFile = this.functionIndex.get(name);
    if (!byFile) this.functionIndex.set(name, (byFile = new Map()));
    let i = byFile.get(filename);
    if (i === undefined) {
      i = this.functions.length;
      this.functions.push(filename === '' ? { name } : { name, filename });
      byFile.set(filename, i);
    }
    return i;
  }
}

function sameFrames(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
