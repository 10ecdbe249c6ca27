// Decode throughput of the remote_write decoders (no I/O, no snappy): `node --import tsx
// src/ingest/remote-write-decode.bench.ts`. Prints samples per CPU-second (and per wall second) for request
// shapes Prometheus sends, next to protobufjs' reflection decoder on the same bytes. Bounded: a fixed number
// of iterations per case.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { decodeRemoteWrite } from './remote-write.ts';

const protoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto/prometheus');
const WriteRequest = protobuf.loadSync(path.join(protoDir, 'remote.proto')).lookupType('prometheus.WriteRequest');
const V2Request = protobuf.loadSync(path.join(protoDir, 'io/prometheus/write/v2/types.proto')).lookupType('io.prometheus.write.v2.Request');

interface Shape {
  name: string;
  series: number;
  samplesPerSeries: number;
  /** Every request brings new series (a cardinality burst): each body is decoded once. */
  fresh: boolean;
}

function labelsFor(i: number, salt: string): [string, string][] {
  return [
    ['__name__', `node_cpu_seconds_total`],
    ['cluster', 'prod-eu-1'],
    ['cpu', String(i % 64)],
    ['env', 'production'],
    ['instance', `10.0.${(i >> 8) & 255}.${i & 255}:9100${salt}`],
    ['job', 'node-exporter'],
    ['mode', ['idle', 'user', 'system', 'iowait'][i % 4]!],
    ['namespace', 'monitoring'],
    ['pod', `node-exporter-${(i * 7919) % 100000}`],
    ['region', 'eu-west-1'],
  ];
}

function buildV1(shape: Shape, salt: string): Uint8Array {
  const timeseries = [];
  for (let i = 0; i < shape.series; i++) {
    const samples = [];
    for (let j = 0; j < shape.samplesPerSeries; j++) samples.push({ value: Math.random() * 1000, timestamp: 1_700_000_000_000 + j * 15_000 });
    timeseries.push({ labels: labelsFor(i, salt).map(([name, value]) => ({ name, value })), samples });
  }
  return WriteRequest.encode(WriteRequest.fromObject({ timeseries })).finish();
}

function buildV2(shape: Shape, salt: string): Uint8Array {
  const symbols = [''];
  const index = new Map<string, number>([['', 0]]);
  const ref = (s: string) => {
    let i = index.get(s);
    if (i === undefined) index.set(s, (i = symbols.push(s) - 1));
    return i;
  };
  const timeseries = [];
  for (let i = 0; i < shape.series; i++) {
    const labelsRefs = labelsFor(i, salt).flatMap(([n, v]) => [ref(n), ref(v)]);
    const samples = [];
    for (let j = 0; j < shape.samplesPerSeries; j++) samples.push({ value: Math.random() * 1000, timestamp: 1_700_000_000_000 + j * 15_000 });
    timeseries.push({ labelsRefs, samples });
  }
  return V2Request.encode(V2Request.fromObject({ symbols, timeseries })).finish();
}

function measure(label: string, bodies: Uint8Array[], samplesPerBody: number, decode: (b: Uint8Array) => unknown, once = false): number {
  if (!once) for (let i = 0; i < 3; i++) decode(bodies[i % bodies.length]!); // warm up the JIT
  const iterations = once ? bodies.length : Math.max(5, Math.ceil(2_000_000 / samplesPerBody));
  // CPU time of this thread's process, not wall time: the rate stays meaningful on a busy machine.
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) decode(bodies[i % bodies.length]!);
  const cpu = process.cpuUsage(cpu0);
  const wallSeconds = Number(process.hrtime.bigint() - wall0) / 1e9;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const rate = (iterations * samplesPerBody) / cpuSeconds;
  const wallRate = (iterations * samplesPerBody) / wallSeconds;
  console.log(`${label.padEnd(62)} ${(rate / 1e6).toFixed(2).padStart(6)} M samples/CPU-s  (${(wallRate / 1e6).toFixed(2)} M/s wall)`);
  return rate;
}

const shapes: Shape[] = [
  { name: '2000 series x 1 sample, 10 labels, repeated series', series: 2000, samplesPerSeries: 1, fresh: false },
  { name: '2000 series x 1 sample, 10 labels, new series in every request', series: 2000, samplesPerSeries: 1, fresh: true },
  { name: '200 series x 100 samples, 10 labels', series: 200, samplesPerSeries: 100, fresh: false },
];

for (const shape of shapes) {
  const count = shape.fresh ? 40 : 1;
  const v1Bodies = Array.from({ length: count }, (_, k) => buildV1(shape, shape.fresh ? `-${k}` : ''));
  const v2Bodies = Array.from({ length: count }, (_, k) => buildV2(shape, shape.fresh ? `-${k}` : ''));
  const perBody = shape.series * shape.samplesPerSeries;
  console.log(`\n${shape.name} (v1 body ${v1Bodies[0]!.length} bytes, v2 body ${v2Bodies[0]!.length} bytes)`);
  if (shape.fresh) {
    // Warm the JIT on other series so the measured bodies are all new to the caches.
    for (let i = 0; i < 3; i++) decodeRemoteWrite(buildV1(shape, `-warm${i}`), 1);
    for (let i = 0; i < 3; i++) decodeRemoteWrite(buildV2(shape, `-warm${i}`), 2);
  }
  measure('  remote_write 1.0, hand-rolled decoder', v1Bodies, perBody, (b) => decodeRemoteWrite(b, 1), shape.fresh);
  measure('  remote_write 2.0, hand-rolled decoder', v2Bodies, perBody, (b) => decodeRemoteWrite(b, 2), shape.fresh);
  measure('  remote_write 1.0, protobufjs reflection decode (reference)', v1Bodies, perBody, (b) => WriteRequest.decode(b), shape.fresh);
}
