import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import zlib from 'node:zlib';
import { makeSpan, record, traceIdOf } from '../../test/support/trace-spans.ts';
import { traceStoreConfigOptions } from '../app/engine-options.ts';
import { configSchema } from '../config/index.ts';
import type { InstrumentationScope, Span, SpanRecord, TenantId } from '../model/index.ts';
import { Wal } from '../objstore/index.ts';
import { TraceRecordsIndex, mergeTraceRecords, readTraceRecords, writeTraceRecords } from './trace-records.ts';
import { TraceStore } from './trace-store.ts';
import { decodeWalBatch, encodeSpanRecordsJson, encodeWalBatch, encodeWalBatchJson } from './wal-codec.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'heimdall-spancodec-'));
  dirs.push(d);
  return d;
}

const T = 'tenant-a' as TenantId;
const NOW_NS = BigInt(Date.now()) * 1_000_000n;

/** Spans using every field and value kind the model has, sharing one scope object as decoders make them. */
function awkwardRecords(): SpanRecord[] {
  const scope: InstrumentationScope = { name: 'lib', version: '1.2', attributes: [{ key: 'scope.k', value: 'v' }] };
  const base = makeSpan({ trace: 7, index: 0, startNs: NOW_NS, name: 'root' });
  const full: Span = {
    ...base,
    spanId: 'aaaaaaaaaaaaaaaa',
    parentSpanId: base.spanId,
    traceState: 'k=v',
    name: 'ünïcødé 🚀 "quoted"',
    kind: 3,
    statusCode: 2,
    statusMessage: 'boom',
    attributes: [
      { key: 'nan', value: Number.NaN },
      { key: 'inf', value: Number.NEGATIVE_INFINITY },
      { key: 'negzero', value: -0 },
      { key: 'big', value: 2 ** 60 },
      { key: 'frac', value: 0.1 },
      { key: 'yes', value: true },
      { key: 'no', value: false },
      { key: 'arr', value: ['a', 1, false, Number.NaN] },
      { key: 'empty', value: [] },
      { key: 'dup', value: 'x' },
      { key: 'dup', value: 'x' },
      { key: '', value: '' },
      { key: 'long', value: 'L'.repeat(1000) },
    ],
    events: [
      { timeUnixNs: NOW_NS + 5n, name: 'exception', attributes: [{ key: 'exception.message', value: 'boom' }] },
      { timeUnixNs: 0n, name: 'bare' },
    ],
    links: [{ traceId: traceIdOf(8), spanId: 'bbbbbbbbbbbbbbbb', traceState: 't=1', attributes: [{ key: 'l', value: 1 }] }, { traceId: traceIdOf(9), spanId: 'cccccccccccccccc' }],
    scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 3,
    droppedLinksCount: 4,
  };
  // Times outside [0, 2^64) (OTLP/JSON lets a negative or huge number through) take the decimal form.
  const wide: Span = { ...base, spanId: 'dddddddddddddddd', startTimeUnixNs: -5n, endTimeUnixNs: 1n << 70n, scope };
  return [
    { resource: [{ key: 'service.name', value: 'api' }], spans: [{ ...base, scope }, full] },
    { resource: [], spans: [wide] },
  ];
}

test('WAL frames round-trip every span field exactly; format-3 JSON frames still decode', () => {
  const records = awkwardRecords();
  const decoded = decodeWalBatch(encodeWalBatch({ tenant: T, records }));
  assert.deepEqual(decoded, { tenant: T, records });
  assert.ok(Object.is(decoded.records[0]!.spans[1]!.attributes[2]!.value, -0));
  // Spans of one scope still share one object.
  assert.equal(decoded.records[0]!.spans[0]!.scope, decoded.records[0]!.spans[1]!.scope);
  const json = decodeWalBatch(encodeWalBatchJson({ tenant: T, records: records.slice(0, 1) }));
  assert.deepEqual(json.records[0]!.spans[0], records[0]!.spans[0]);
  assert.throws(() => decodeWalBatch(Buffer.from([0x07, 0x00])));
  const frame = encodeWalBatch({ tenant: T, records });
  assert.throws(() => decodeWalBatch(frame.subarray(0, frame.length - 3)));
});

/** A records file as format 3 wrote it: one JSON chunk per trace (sorted by id). */
function writeFormat3Records(file: string, traces: { traceId: string; records: SpanRecord[] }[]): void {
  const parts: Buffer[] = [Buffer.from('HTR1', 'latin1')];
  let size = 4;
  const index: Buffer[] = [];
  for (const t of traces) {
    const chunk = zlib.deflateRawSync(encodeSpanRecordsJson(t.records));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(chunk.length);
    const e = Buffer.alloc(28);
    e.write(t.traceId, 0, 16, 'hex');
    e.writeBigUInt64LE(BigInt(size), 16);
    e.writeUInt32LE(4 + chunk.length, 24);
    index.push(e);
    parts.push(len, chunk);
    size += 4 + chunk.length;
  }
  const footer = Buffer.alloc(16);
  footer.writeBigUInt64LE(BigInt(size), 0);
  footer.writeUInt32LE(traces.length, 8);
  footer.write('HTR1', 12, 'latin1');
  writeFileSync(file, Buffer.concat([...parts, ...index, footer]));
}

test('trace records: binary chunks read back exactly, and a merge with a format-3 (JSON) file reads both forms', async () => {
  const dir = tmpDir();
  const records = awkwardRecords();
  const id = traceIdOf(7);
  const spans = records.flatMap((r) => r.spans.map((span) => ({ span, resource: r.resource })));
  const v4 = path.join(dir, 'v4.records');
  await writeTraceRecords(v4, [{ traceId: id, spans }]);
  const v4Index = await TraceRecordsIndex.read(v4);
  assert.deepEqual(await readTraceRecords(v4, v4Index.find(id)!), spans);

  const old = makeSpan({ trace: 7, index: 5, startNs: NOW_NS, name: 'from format 3' });
  const v3 = path.join(dir, 'v3.records');
  writeFormat3Records(v3, [{ traceId: id, records: [{ resource: [{ key: 'service.name', value: 'old' }], spans: [old] }] }]);
  const merged = path.join(dir, 'merged.records');
  await mergeTraceRecords(merged, [
    { path: v3, index: await TraceRecordsIndex.read(v3) },
    { path: v4, index: v4Index },
  ]);
  const got = await readTraceRecords(merged, (await TraceRecordsIndex.read(merged)).find(id)!);
  assert.deepEqual(
    got.map((s) => s.span.spanId),
    [old.spanId, ...spans.map((s) => s.span.spanId)],
  );
  assert.deepEqual(got[0], { span: old, resource: [{ key: 'service.name', value: 'old' }] });
});

test('a WAL holding format-3 (JSON) frames replays into the head and is cut into blocks', async () => {
  const dir = tmpDir();
  const options = { dir, ...traceStoreConfigOptions(configSchema.parse({ traces: {} }).traces), threads: 1, memoryLimitBytes: 256 * 1024 ** 2, background: false };
  let store = await TraceStore.open(options);
  const a = store.appender(T);
  a.append(record('api', [makeSpan({ trace: 1, index: 0, startNs: NOW_NS, name: 'binary frame' })]));
  await a.commit();
  await store.close();
  // What a format-3 build left in the WAL after the frame above.
  const wal = await Wal.open(path.join(dir, 'wal'), undefined, 'traces');
  await wal.replay(0, () => undefined);
  const oldSpans = [makeSpan({ trace: 1, index: 1, parent: 0, startNs: NOW_NS + 1n, name: 'json frame' }), makeSpan({ trace: 2, index: 0, startNs: NOW_NS, name: 'json frame' })];
  await wal.append(encodeWalBatchJson({ tenant: T, records: [record('api', oldSpans)] }), () => undefined);
  await wal.close();
  store = await TraceStore.open(options);
  try {
    const names = async (): Promise<string[][]> => {
      const q = await store.querier([T]);
      const out = [];
      for (const n of [1, 2]) out.push((await q.traceById(traceIdOf(n)))?.spans.map((s) => s.span.name) ?? []);
      await q.close();
      return out;
    };
    const expected = [['binary frame', 'json frame'], ['json frame']];
    assert.deepEqual(await names(), expected);
    await store.flush();
    assert.equal(store.headBytes, 0);
    assert.deepEqual(await names(), expected);
  } finally {
    await store.close();
  }
});
