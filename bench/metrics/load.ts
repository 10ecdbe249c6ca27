// The benchmark's write load: node_exporter-like series with exactly 10 labels, encoded as Prometheus
// remote_write 1.0 (protobufjs + snappy) ahead of time so the client costs little while servers are measured.
import protobuf from 'protobufjs';
import snappy from 'snappy';
import { mulberry32 } from '../shared/prng.ts';

const PROTO = `
syntax = "proto3";
package prometheus;
message WriteRequest { repeated TimeSeries timeseries = 1; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
`;
const root = protobuf.parse(PROTO).root;
const WriteRequest = root.lookupType('prometheus.WriteRequest');

export type Entropy = 'low' | 'high';

/** One series: its labels (10, `__name__` included) and how its value evolves. */
export interface BenchSeries {
  readonly labels: { name: string; value: string }[];
  readonly kind: 'counter' | 'gauge' | 'const';
  readonly seed: number;
}

const MODES = ['user', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'nice'];
const MOUNTS = ['/', '/var', '/var/log', '/home', '/boot'];
const LE = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'];
const FILLER: [string, string][] = [['os', 'linux'], ['arch', 'amd64'], ['kernel', '6.1.0-18-amd64'], ['rack', 'r1']];

/** The 100 series of one node_exporter-like target, each with exactly 10 labels. */
function targetSeries(instance: number): BenchSeries[] {
  const out: BenchSeries[] = [];
  const base: [string, string][] = [
    ['job', 'node'],
    ['instance', `host-${String(instance).padStart(6, '0')}:9100`],
    ['env', instance % 3 === 0 ? 'prod' : 'staging'],
    ['region', `region-${instance % 4}`],
    ['cluster', `cluster-${instance % 10}`],
  ];
  let seed = instance * 1000;
  const add = (name: string, kind: BenchSeries['kind'], extra: [string, string][]): void => {
    const pairs: [string, string][] = [['__name__', name], ...base, ...extra];
    for (const f of FILLER) if (pairs.length < 10) pairs.push(f);
    out.push({ labels: pairs.slice(0, 10).map(([n, v]) => ({ name: n, value: v })), kind, seed: seed++ });
  };
  for (let cpu = 0; cpu < 4; cpu++) for (const mode of MODES) add('node_cpu_seconds_total', 'counter', [['cpu', String(cpu)], ['mode', mode]]);
  for (let d = 0; d < 4; d++) {
    add('node_network_receive_bytes_total', 'counter', [['device', `eth${d}`]]);
    add('node_network_transmit_bytes_total', 'counter', [['device', `eth${d}`]]);
  }
  for (const m of MOUNTS) {
    add('node_filesystem_avail_bytes', 'gauge', [['mountpoint', m], ['fstype', m === '/boot' ? 'vfat' : 'ext4'], ['device', `sda${MOUNTS.indexOf(m)}`]]);
    add('node_filesystem_size_bytes', 'const', [['mountpoint', m], ['fstype', m === '/boot' ? 'vfat' : 'ext4'], ['device', `sda${MOUNTS.indexOf(m)}`]]);
  }
  for (const n of ['MemTotal', 'MemFree', 'MemAvailable', 'Buffers', 'Cached', 'SwapTotal', 'SwapFree', 'Active', 'Inactive', 'Dirty']) {
    add(`node_memory_${n}_bytes`, n.endsWith('Total') ? 'const' : 'gauge', []);
  }
  for (const handler of ['/api', '/metrics']) {
    for (const le of LE) add('http_request_duration_seconds_bucket', 'counter', [['handler', handler], ['le', le]]);
    add('http_request_duration_seconds_sum', 'counter', [['handler', handler]]);
    add('http_request_duration_seconds_count', 'counter', [['handler', handler]]);
  }
  for (const n of ['node_load1', 'node_load5', 'node_load15']) add(n, 'gauge', []);
  for (let d = 0; d < 3; d++) {
    add('node_disk_read_bytes_total', 'counter', [['device', `sd${'abc'[d]}`]]);
    add('node_disk_written_bytes_total', 'counter', [['device', `sd${'abc'[d]}`]]);
  }
  add('node_context_switches_total', 'counter', []);
  add('node_intr_total', 'counter', []);
  add('node_boot_time_seconds', 'const', []);
  add('node_time_seconds', 'counter', []);
  add('up', 'const', []);
  if (out.length !== 100) throw new Error(`expected 100 series per target, got ${out.length}`);
  return out;
}

/** Series of `targets` targets starting at target number `first`. */
export function makeSeries(first: number, targets: number): BenchSeries[] {
  const out: BenchSeries[] = [];
  for (let i = first; i < first + targets; i++) out.push(...targetSeries(i));
  return out;
}


/**
 * The value of series `s` at step `step`. Low entropy: counters grow by small integers, gauges move among a
 * few values, constants stay put (what node_exporter mostly looks like). High entropy: random doubles.
 */
export function valueAt(s: BenchSeries, step: number, entropy: Entropy): number {
  const r = mulberry32(s.seed * 7919 + step);
  if (entropy === 'high') return r() * 1e6;
  switch (s.kind) {
    case 'const':
      return (s.seed % 97) * 1_048_576;
    case 'gauge':
      return 1_000_000 + (Math.floor(r() * 4) + (s.seed % 5)) * 4096;
    case 'counter':
      // Monotonic, small integer increments per step, different per series.
      return (s.seed % 1000) * 100 + step * (s.seed % 10) + Math.floor(step / 3);
  }
}

/** Snappy-compressed request bodies with the shard (series slice) each belongs to. */
export interface EncodedLoad {
  readonly bodies: Buffer[];
  /** `shards[i]` is the series slice of `bodies[i]`: a sender owns whole slices, so each series stays in order. */
  readonly shards: number[];
}

/**
 * Encodes remote_write 1.0 requests: for each step, the series in slices of `perRequest`, one sample each
 * (the shape Prometheus' queue manager sends: a series always goes through the same shard, in order).
 */
export function encodeRequests(
  series: readonly BenchSeries[],
  steps: number,
  firstTimestampMs: number,
  stepMs: number,
  entropy: Entropy,
  perRequest: number,
): EncodedLoad {
  const bodies: Buffer[] = [];
  const shards: number[] = [];
  for (let step = 0; step < steps; step++) {
    const timestamp = firstTimestampMs + step * stepMs;
    for (let off = 0; off < series.length; off += perRequest) {
      const timeseries = [];
      for (let i = off; i < Math.min(series.length, off + perRequest); i++) {
        const s = series[i]!;
        timeseries.push({ labels: s.labels, samples: [{ value: valueAt(s, step, entropy), timestamp }] });
      }
      const raw = WriteRequest.encode(WriteRequest.fromObject({ timeseries })).finish();
      bodies.push(snappy.compressSync(Buffer.from(raw)));
      shards.push(off / perRequest);
    }
  }
  return { bodies, shards };
}
