// The profile benchmark's corpus: real pprof fixtures (referenced in place, never copied) rewritten per profile
// with varied sample values, a subset of samples and the profile's own time, reproducibly from a seed.
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { SHARED_FIXTURES_DIR as FIXTURES } from '../../test/conformance/shared-fixtures.ts';
import { mulberry32 } from '../shared/prng.ts';

/** The fixtures a series' profiles are made from: a Go CPU profile and a Node.js heap profile. */
export const KINDS = [
  { name: 'process_cpu', file: 'pprof/go-cpu-labels.pb.gz', cpuType: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds' },
  { name: 'memory', file: 'agpl-3.0-only/pyroscope-pprof/nodejs-heap.pb.gz', cpuType: undefined },
] as const;

/** pprof `Profile` field numbers (google/pprof profile.proto). */
const SAMPLE = 2;
const TIME_NANOS = 9;
const DURATION_NANOS = 10;

interface Fixture {
  /** Every field of the profile except samples, time and duration, as raw wire bytes. */
  readonly rest: Uint8Array;
  /** Each sample as `[location ids, values, raw label fields]`. */
  readonly samples: { locations: number[]; values: number[]; labels: Uint8Array[] }[];
}

/** A protobufjs 64-bit value (a number, or a Long when the `long` package is present) as a number. */
function toNumber(v: number | { low: number; high: number }): number {
  return typeof v === 'number' ? v : v.high * 2 ** 32 + (v.low >>> 0);
}

function parseFixture(file: string): Fixture {
  const raw = gunzipSync(fs.readFileSync(path.join(FIXTURES, file)));
  const r = protobuf.Reader.create(raw);
  const samples: Fixture['samples'] = [];
  // Every field but samples, time and duration is kept as it is on the wire.
  const kept: Uint8Array[] = [];
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === SAMPLE) {
      const bytes = r.bytes();
      const s = protobuf.Reader.create(bytes);
      const sample = { locations: [] as number[], values: [] as number[], labels: [] as Uint8Array[] };
      while (s.pos < s.len) {
        const t = s.uint32();
        const f = t >>> 3;
        const packed = (t & 7) === 2;
        const read = (into: number[]): void => {
          if (packed) {
            const end = s.uint32() + s.pos;
            while (s.pos < end) into.push(toNumber(s.int64()));
          } else into.push(toNumber(s.int64()));
        };
        if (f === 1) read(sample.locations);
        else if (f === 2) read(sample.values);
        else if (f === 3) sample.labels.push(s.bytes());
        else s.skipType(t & 7);
      }
      samples.push(sample);
      continue;
    }
    r.skipType(tag & 7);
    if (field !== TIME_NANOS && field !== DURATION_NANOS) kept.push(raw.subarray(start, r.pos));
  }
  return { rest: Buffer.concat(kept), samples };
}

/** Makes the gzipped pprof of one profile: fixture `kind` for series `series` at `timeMs`. */
export class ProfileFactory {
  private readonly fixtures = KINDS.map((k) => parseFixture(k.file));

  constructor(private readonly seed: number) {}

  make(kind: number, series: number, timeMs: number, durationMs: number): Buffer {
    const f = this.fixtures[kind]!;
    const rand = mulberry32(this.seed ^ (series * 7919) ^ Math.floor(timeMs / 1000));
    // Each series has its own hot paths (a fixed scale per sample), and each profile varies around them.
    const seriesRand = mulberry32(this.seed ^ (series * 104_729) ^ kind);
    const w = protobuf.Writer.create();
    for (const s of f.samples) {
      const seriesScale = 0.25 + 1.5 * seriesRand();
      if (rand() < 0.2) continue;
      const scale = seriesScale * (0.5 + rand());
      w.uint32((SAMPLE << 3) | 2).fork();
      w.uint32((1 << 3) | 2).fork();
      for (const l of s.locations) w.uint64(l);
      w.ldelim();
      w.uint32((2 << 3) | 2).fork();
      for (const v of s.values) w.int64(Math.max(1, Math.round(v * scale)));
      w.ldelim();
      for (const l of s.labels) w.uint32((3 << 3) | 2).bytes(l);
      w.ldelim();
    }
    w.uint32((TIME_NANOS << 3) | 0).int64(timeMs * 1_000_000);
    w.uint32((DURATION_NANOS << 3) | 0).int64(durationMs * 1_000_000);
    return gzipSync(Buffer.concat([f.rest, w.finish()]), { level: 1 });
  }
}
