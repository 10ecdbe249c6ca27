import { labelsKey } from '../model/index.ts';
import type { Labels } from '../model/index.ts';
import { LogqlError } from './errors.ts';
import { ERROR_LABEL } from './pipeline.ts';

export function seriesLimitError(max: number): LogqlError {
  return new LogqlError(
    'bad_data',
    `maximum number of series (${max}) reached for a single query; consider reducing query cardinality by adding more specific stream selectors, reducing the time range, or aggregating results with a vector aggregation`,
  );
}

/** The pipeline error Loki reports when a sample in an evaluated window carries `__error__`. */
export function pipelineError(labels: Labels): LogqlError {
  const type = labels[ERROR_LABEL];
  return new LogqlError(
    'bad_data',
    `pipeline error: '${type}' for series: '${labelsKey(labels)}'.\n` +
      `Use a label filter to intentionally skip this error. (e.g | __error__!="${type}").\n` +
      `To skip all potential errors you can match empty errors.(e.g __error__="")\n` +
      `The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__="" )\n`,
  );
}

