import protobuf from 'protobufjs';
import { formatSeries, sortedLabelNames } from '../model/index.ts';
import type { LogRecord } from '../model/index.ts';

const NS_PER_SECOND = 1_000_000_000n;

/**
 * Encodes `records` as a Loki `logproto.PushRequest` (uncompressed; senders snappy-compress it): one stream per
 * record with its labels in Loki's text form (`{a="x", b="y"}`, Go-quoted), each entry's timestamp as seconds and
 * nanoseconds and its structured metadata as name/value pairs, which Loki 3, Heimdall and VictoriaLogs read.
 */
export function encodeLokiPush(records: readonly LogRecord[]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const r of records) {
    if (r.entries.length === 0) continue;
    w.uint32(10).fork();
    w.uint32(10).string(formatSeries(r.labels));
    for (const e of r.entries) {
      w.uint32(18).fork();
      const seconds = e.timestampNs / NS_PER_SECOND;
      let nanos = e.timestampNs % NS_PER_SECOND;
      let secs = seconds;
      if (nanos < 0n) {
        nanos += NS_PER_SECOND;
        secs -= 1n;
      }
      w.uint32(10).fork().uint32(8).int64(secs.toString()).uint32(16).int32(Number(nanos)).ldelim();
      w.uint32(18).string(e.line);
      const md = e.structuredMetadata;
      if (md !== undefined) {
        for (const name of sortedLabelNames(md)) {
          w.uint32(26).fork().uint32(10).string(name).uint32(18).string(md[name]!).ldelim();
        }
      }
      w.ldelim();
    }
    w.ldelim();
  }
  return w.finish();
}
