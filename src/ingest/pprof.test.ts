import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SHARED_FIXTURES_DIR, missingFixturesReason } from '../../test/conformance/shared-fixtures.ts';
import { decodePprof } from './pprof.ts';
import { profilesFromPprof } from './pprof-profiles.ts';

const SHARED = SHARED_FIXTURES_DIR;
const skip = missingFixturesReason('pprof fixtures', path.join(SHARED, 'pprof'));
const NO_LIMITS = { maxStackDepth: 0, maxSamples: 0, maxSymbolLength: 0 };

/** Every fixture and the profile types Pyroscope's integration tests expect of it (fixtures/README.md). */
const CASES: [string, string[]][] = [
  ['pprof/go-cpu-small.pb.gz', ['process_cpu:samples:count:cpu:nanoseconds', 'process_cpu:cpu:nanoseconds:cpu:nanoseconds']],
  ['pprof/go-cpu-labels.pb.gz', ['process_cpu:samples:count:cpu:nanoseconds', 'process_cpu:cpu:nanoseconds:cpu:nanoseconds']],
  ['pprof/go-cpu-unsymbolized.pb.gz', ['process_cpu:samples:count:cpu:nanoseconds', 'process_cpu:cpu:nanoseconds:cpu:nanoseconds']],
  ['pprof/go-fgprof-wallclock.pb.gz', ['wall:samples:count:wallclock:nanoseconds', 'wall:time:nanoseconds:wallclock:nanoseconds']],
  [
    'pprof/go-heap-alloc-delta.pb.gz',
    ['memory:alloc_objects:count:space:bytes', 'memory:alloc_space:bytes:space:bytes', 'memory:inuse_objects:count:space:bytes', 'memory:inuse_space:bytes:space:bytes'],
  ],
  ['agpl-3.0-only/pyroscope-pprof/go-goroutine.pb.gz', ['goroutines:goroutine:count:goroutine:count']],
  ['agpl-3.0-only/pyroscope-pprof/go-mutex.pb.gz', ['mutex:contentions:count:contentions:count', 'mutex:delay:nanoseconds:contentions:count']],
  ['agpl-3.0-only/pyroscope-pprof/java-async-profiler-cpu.pb.gz', ['process_cpu:cpu:nanoseconds:cpu:nanoseconds']],
  ['agpl-3.0-only/pyroscope-pprof/python-pyspy-cpu.pb', ['process_cpu:samples:count::milliseconds']],
  ['agpl-3.0-only/pyroscope-pprof/nodejs-wall.pb.gz', ['wall:samples:count:wall:microseconds', 'wall:wall:microseconds:wall:microseconds']],
  ['agpl-3.0-only/pyroscope-pprof/nodejs-heap.pb.gz', ['memory:inuse_objects:count:inuse_space:bytes', 'memory:inuse_space:bytes:inuse_space:bytes']],
];

for (const [file, types] of CASES) {
  test(`${file} decodes into ${types.length} profile type(s) as Pyroscope names them`, { skip }, () => {
    const p = decodePprof(readFileSync(path.join(SHARED, file)), 16 << 20);
    assert.ok(typeof p !== 'string', String(p));
    const profiles = profilesFromPprof(p, { labels: { service_name: 'app' }, timeMs: 1, limits: NO_LIMITS });
    assert.deepEqual([...new Set(profiles.map((x) => x.labels.__profile_type__))].sort(), [...types].sort());
    for (const x of profiles) {
      assert.equal(x.labels.service_name, 'app');
      for (const s of x.samples) assert.ok(x.stacks[s.stack]!.every((f) => x.functions[f] !== undefined));
      const uniqueNames = new Set(x.functions.map((f) => `${f.name}\u0000${f.filename ?? ''}`));
      assert.equal(uniqueNames.size, x.functions.length, 'functions are deduplicated');
    }
  });
}

test('sample labels become series labels; the total of each group is kept', { skip }, () => {
  const p = decodePprof(readFileSync(path.join(SHARED, 'pprof/go-cpu-labels.pb.gz')), 16 << 20);
  assert.ok(typeof p !== 'string');
  const cpu = profilesFromPprof(p, { labels: { service_name: 'app' }, timeMs: 1, limits: NO_LIMITS }).filter((x) => x.labels.__type__ === 'cpu');
  assert.equal(cpu.length, 2);
  const expected = p.samples.reduce((a, s) => a + s.values[1]!, 0);
  const got = cpu.reduce((a, x) => a + x.samples.reduce((b, s) => b + s.value, 0), 0);
  assert.equal(got, expected);
  assert.ok(cpu.some((x) => x.labels.api !== undefined));
});

test('a string table entry that is not UTF-8 is refused, as Pyroscope does', { skip }, () => {
  const p = decodePprof(readFileSync(path.join(SHARED, 'agpl-3.0-only/pyroscope-pprof/invalid-utf8.pb.gz')), 16 << 20);
  assert.match(String(p), /not valid UTF-8/);
});

test('size, depth, sample and symbol limits', { skip }, () => {
  const bytes = readFileSync(path.join(SHARED, 'pprof/go-heap-alloc-delta.pb.gz'));
  assert.match(String(decodePprof(bytes, 1000)), /larger than 1000 bytes/);
  assert.match(String(decodePprof(Buffer.from([0x0a, 0xff, 0x01]), 1000)), /invalid pprof/);
  const p = decodePprof(bytes, 16 << 20);
  assert.ok(typeof p !== 'string');
  const [first] = profilesFromPprof(p, { labels: { service_name: 'a' }, timeMs: 1, limits: { maxStackDepth: 3, maxSamples: 10, maxSymbolLength: 5 } });
  assert.ok(first!.samples.length <= 10);
  for (const s of first!.stacks) assert.ok(s.length <= 3);
  for (const f of first!.functions) assert.ok(f.name.length <= 5);
});

test('span ids in pprof labels stay on the samples', () => {
  // A hand-made pprof: one sample type, two samples on one stack with span_id labels.
  const strings = ['', 'cpu', 'nanoseconds', 'main', 'span_id', '0123456789abcdef'];
  const w: number[] = [];
  const ld = (field: number, bytes: number[]): void => void w.push((field << 3) | 2, bytes.length, ...bytes);
  const v = (field: number, n: number): number[] => [field << 3, n];
  ld(1, [...v(1, 1), ...v(2, 2)]);
  ld(2, [...v(1, 1), ...v(2, 7), (3 << 3) | 2, 4, ...v(1, 4), ...v(2, 5)]);
  ld(2, [...v(1, 1), ...v(2, 5)]);
  ld(4, [...v(1, 1), (4 << 3) | 2, 2, ...v(1, 1)]);
  ld(5, [...v(1, 1), ...v(2, 3)]);
  for (const s of strings) ld(6, [...Buffer.from(s)]);
  const p = decodePprof(Uint8Array.from(w), 1 << 20);
  assert.ok(typeof p !== 'string', String(p));
  const [x] = profilesFromPprof(p, { labels: { service_name: 'a' }, timeMs: 5, limits: NO_LIMITS });
  assert.equal(x!.labels.__name__, 'process_cpu');
  assert.deepEqual(
    // Sample order carries no meaning: compared by value.
    x!.samples.map((s) => [s.value, s.spanId]).sort((a, b) => Number(b[0]) - Number(a[0])),
    [[7, '0123456789abcdef'], [5, undefined]],
  );
  assert.equal(x!.timeMs, 5);
});
