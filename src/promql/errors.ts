import { HeimdallError, lineCol } from '../model/index.ts';

export { lineCol };

/** The error types of Prometheus' query API (`errorType`), the subset a PromQL evaluation can produce. */
export type PromqlErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal';

/**
 * A failed PromQL query. `type` is Prometheus' API error type: `bad_data` for parse and type errors (the
 * message then starts with `line:col: parse error: ...`), `execution` for evaluation errors (many-to-many
 * matching, too many samples), `timeout`, `canceled`, and `internal` for bugs and storage failures.
 * The message is Prometheus' own wording where the conformance suite checks it.
 */
export class PromqlError extends HeimdallError {
  constructor(type: PromqlErrorType, message: string, options?: ErrorOptions) {
    super(type, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PromqlError';
  }

  /** Prometheus' API error type: the same as {@link HeimdallError.kind}. */
  get type(): PromqlErrorType {
    return this.kind as PromqlErrorType;
  }
}

/** A parse or type-check error at a position of the query; formats like Prometheus' `ParseErr`. */
export function parseError(query: string, pos: number, message: string): PromqlError {
  const { line, col } = lineCol(query, pos);
  return new PromqlError('bad_data', `${line}:${col}: parse error: ${message}`);
}

/** Thrown inside evaluation for execution errors; the engine converts it to a PromqlError. */
export function execError(message: string): PromqlError {
  return new PromqlError('execution', message);
}
