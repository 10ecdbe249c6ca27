import protobuf from 'protobufjs';
import type { Profile, ProfileType } from './profile.ts';

/** The pprof sample label that carries a sample's span (trace → profile), as Pyroscope's SDKs write it. */
const SPAN_ID_LABEL = 'span_id';

/**
 * A profile as a pprof `Profile` message (google/pprof profile.proto, uncompressed protobuf): one sample type
 * (`type`'s), its period type, one location per function (one line naming it), one sample per profile sample
 * with its stack leaf first and its span as the `span_id` label, and the profile's time and duration. This is
 * the one pprof writer: the query API answers merged profiles with it and the gateway forwards profiles with it,
 * so what Heimdall writes reads back into the same record (functions, file names, stacks, values, spans).
 */
export function profilePprof(p: Pick<Profile, 'timeMs' | 'durationNs' | 'functions' | 'stacks' | 'samples'>, type: ProfileType): Uint8Array {
  const strings = [''];
  const stringIndex = new Map<string, number>([['', 0]]);
  const str = (s: string): number => {
    let i = stringIndex.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      stringIndex.set(s, i);
    }
    return i;
  };
  const w = protobuf.Writer.create();
  const valueType = (field: number, t: string, u: string): void => {
    const tt = str(t);
    const uu = str(u);
    w.uint32((field << 3) | 2).fork().uint32(8).int64(tt).uint32(16).int64(uu).ldelim();
  };
  valueType(1, type.sampleType, type.sampleUnit);
  for (const s of p.samples) {
    w.uint32((2 << 3) | 2).fork();
    // Location id = function index + 1 (pprof ids are non-zero).
    w.uint32((1 << 3) | 2).fork();
    for (const f of p.stacks[s.stack] ?? []) w.uint64(f + 1);
    w.ldelim();
    w.uint32((2 << 3) | 2).fork().int64(s.value).ldelim();
    if (s.spanId !== undefined) w.uint32((3 << 3) | 2).fork().uint32(8).int64(str(SPAN_ID_LABEL)).uint32(16).int64(str(s.spanId)).ldelim();
    w.ldelim();
  }
  for (let i = 0; i < p.functions.length; i++) {
    const f = p.functions[i]!;
    const id = i + 1;
    w.uint32((4 << 3) | 2).fork().uint32(8).uint64(id).uint32((4 << 3) | 2).fork().uint32(8).uint64(id).ldelim().ldelim();
    w.uint32((5 << 3) | 2).fork().uint32(8).uint64(id).uint32(16).int64(str(f.name)).uint32(24).int64(str(f.name));
    if (f.filename !== undefined) w.uint32(32).int64(str(f.filename));
    w.ldelim();
  }
  // The string table is written last: every index above was assigned before it.
  for (const s of strings) w.uint32((6 << 3) | 2).string(s);
  w.uint32(9 << 3).int64(Math.round(p.timeMs * 1e6));
  w.uint32(10 << 3).int64(p.durationNs);
  valueType(11, type.periodType, type.periodUnit);
  return w.finish();
}
