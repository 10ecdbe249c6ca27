import type { Labels } from '../model/index.ts';
import { parseGoFloat } from '../model/index.ts';
import { jsonText } from '../storage/index.ts';
import type { EncodedQueryResult } from '../storage/index.ts';

/** One sample of an instant vector, as a rule sees it. */
export interface VectorSample {
  readonly labels: Labels;
  readonly value: number;
}

/** One series of a range-vector answer with its samples (milliseconds, values). */
export interface MatrixSeries {
  readonly labels: Labels;
  readonly points: readonly (readonly [number, number])[];
}

type WireSample = [number, string];
interface WireData {
  resultType: string;
  result: unknown;
}

/**
 * Reads an instant query's answer (the seam's wire JSON, Prometheus' and Loki's shared `{resultType,result}`)
 * as a vector: a scalar becomes one sample without labels, as Prometheus' rules treat it. Native-histogram
 * samples are not supported by the ruler and are refused with an error naming them.
 */
export function decodeVector(result: EncodedQueryResult): VectorSample[] {
  const data = JSON.parse(jsonText(result.dataJson)) as WireData;
  if (data.resultType === 'scalar') return [{ labels: {}, value: parseGoFloat((data.result as WireSample)[1]) }];
  if (data.resultType !== 'vector') throw new Error(`rule result is not a vector or scalar: ${data.resultType}`);
  return (data.result as { metric: Labels; value?: WireSample; histogram?: unknown }[]).map((s) => {
    if (s.value === undefined) throw new Error('native histogram results are not supported by the ruler');
    return { labels: s.metric, value: parseGoFloat(s.value[1]) };
  });
}

/** Reads a range-vector instant query's answer (`x[1h]`): each series with its samples. */
export function decodeMatrix(result: EncodedQueryResult): MatrixSeries[] {
  const data = JSON.parse(jsonText(result.dataJson)) as WireData;
  if (data.resultType !== 'matrix') throw new Error(`expected a matrix, got ${data.resultType}`);
  return (data.result as { metric: Labels; values?: WireSample[] }[]).map((s) => ({
    labels: s.metric,
    points: (s.values ?? []).map(([t, v]) => [Math.round(t * 1000), parseGoFloat(v)] as const),
  }));
}
