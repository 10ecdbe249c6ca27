import type { Labels } from '../model/index.ts';
import type { PromValue } from './engine.ts';

/** JSON bytes of one float point (`[1700000000.123,"12345.678"],`), rounded up. */
const FLOAT_POINT_BYTES = 32;
/** JSON bytes of one native histogram point; a typical one with a dozen buckets. */
const HISTOGRAM_POINT_BYTES = 400;

function labelsBytes(labels: Labels): number {
  let n = 2;
  for (const k in labels) n += k.length + labels[k]!.length + 6;
  return n;
}

/**
 * An estimate of the bytes the API will write for a query result (Prometheus' JSON), to refuse a result that
 * would not fit a response before it is serialised. Counts characters, so it under-counts non-ASCII labels.
 */
export function estimateResultBytes(v: PromValue): number {
  switch (v.type) {
    case 'scalar':
    case 'string':
      return 64;
    case 'vector': {
      let n = 0;
      for (const s of v.samples) n += labelsBytes(s.labels) + (s.histogram ? HISTOGRAM_POINT_BYTES : FLOAT_POINT_BYTES) + 20;
      return n;
    }
    case 'matrix': {
      let n = 0;
      for (const s of v.series) {
        n += labelsBytes(s.labels) + 30 + s.timestampsMs.length * FLOAT_POINT_BYTES;
        n += (s.histogramTimestampsMs?.length ?? 0) * HISTOGRAM_POINT_BYTES;
      }
      return n;
    }
  }
}
