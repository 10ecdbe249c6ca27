import type { Labels } from './labels.ts';

/**
 * The series labels Pyroscope puts on every profile, besides the user's. `__name__` is the profile name
 * (`process_cpu`, `memory`, ...); the other `__*` labels spell out the profile type, so a profile type is
 * selected with a plain matcher (`__profile_type__="process_cpu:cpu:nanoseconds:cpu:nanoseconds"`).
 */
export const PROFILE_TYPE_LABEL = '__profile_type__';
export const PROFILE_SAMPLE_TYPE_LABEL = '__type__';
export const PROFILE_SAMPLE_UNIT_LABEL = '__unit__';
export const PROFILE_PERIOD_TYPE_LABEL = '__period_type__';
export const PROFILE_PERIOD_UNIT_LABEL = '__period_unit__';
/** The service a profile belongs to (Pyroscope's app name). */
export const SERVICE_NAME_LABEL = 'service_name';

/** A profile type as Pyroscope names it: `<name>:<sampleType>:<sampleUnit>:<periodType>:<periodUnit>`. */
export interface ProfileType {
  readonly name: string;
  readonly sampleType: string;
  readonly sampleUnit: string;
  readonly periodType: string;
  readonly periodUnit: string;
}

/** The id of a profile type (`process_cpu:cpu:nanoseconds:cpu:nanoseconds`). */
export function profileTypeId(t: ProfileType): string {
  return `${t.name}:${t.sampleType}:${t.sampleUnit}:${t.periodType}:${t.periodUnit}`;
}

/** Parses a profile type id; undefined unless it has exactly five `:`-separated parts with a name and a sample type. */
export function parseProfileTypeId(id: string): ProfileType | undefined {
  const parts = id.split(':');
  if (parts.length !== 5 || parts[0] === '' || parts[1] === '') return undefined;
  const [name, sampleType, sampleUnit, periodType, periodUnit] = parts as [string, string, string, string, string];
  return { name, sampleType, sampleUnit, periodType, periodUnit };
}

/** The profile-type labels of a series (see {@link PROFILE_TYPE_LABEL}), `__name__` included. */
export function profileTypeLabels(t: ProfileType): Record<string, string> {
  return {
    __name__: t.name,
    [PROFILE_TYPE_LABEL]: profileTypeId(t),
    [PROFILE_SAMPLE_TYPE_LABEL]: t.sampleType,
    [PROFILE_SAMPLE_UNIT_LABEL]: t.sampleUnit,
    [PROFILE_PERIOD_TYPE_LABEL]: t.periodType,
    [PROFILE_PERIOD_UNIT_LABEL]: t.periodUnit,
  };
}

/** The profile type a series' labels spell out, or undefined when they do not. */
export function profileTypeOf(labels: Labels): ProfileType | undefined {
  const id = labels[PROFILE_TYPE_LABEL];
  return id === undefined ? undefined : parseProfileTypeId(id);
}

/** One function of a profile's symbol table (pprof's Function, without the line numbers). */
export interface ProfileFunction {
  readonly name: string;
  /** The source file, when the profile has one. */
  readonly filename?: string;
}

/**
 * One sample: a stack (an index into the profile's `stacks`) and its value. Samples of one stack and span
 * are merged into one at decoding, so a (stack, spanId) pair occurs at most once per profile.
 */
export interface ProfileSample {
  readonly stack: number;
  readonly value: number;
  /** The span the sample was taken in (pprof label `span_id`), 16 lowercase hex digits; trace → profile. */
  readonly spanId?: string;
}

/**
 * One profile of one series and one profile type, the profiles write record (a pprof with four sample types
 * makes four records that share their symbol arrays). Symbols are deduplicated within the record: a stack is
 * a list of indexes into `functions`, leaf first (pprof's order), and a sample names its stack by index.
 */
export interface Profile {
  /** Series labels: the user's, `service_name`, and the profile-type labels of {@link profileTypeLabels}. */
  readonly labels: Labels;
  /** When the profile was taken, Unix milliseconds. */
  readonly timeMs: number;
  /** How long the profile covers, nanoseconds (0 when the sender did not say). */
  readonly durationNs: number;
  readonly functions: readonly ProfileFunction[];
  /** Each stack's functions, leaf first. */
  readonly stacks: readonly (readonly number[])[];
  /** Samples with a non-zero value. */
  readonly samples: readonly ProfileSample[];
  /** The sender's profile id (Pyroscope push `ID`, pprof label `pyroscope.profile.id`), when given. */
  readonly profileId?: string;
}

/** The sum of a profile's sample values. */
export function profileTotal(p: Profile): number {
  let total = 0;
  for (const s of p.samples) total += s.value;
  return total;
}
