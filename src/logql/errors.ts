import { HeimdallError } from '../model/index.ts';

/**
 * Why a LogQL query failed. The Loki API maps each to a status: `bad_data` (parse and validation errors,
 * pipeline errors that surface in a metric result) → 400, `execution` → 422, `timeout` → 504 (Loki's status), `canceled` → 499,
 * `internal` → 500.
 */
export type LogqlErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal';

/** An error a LogQL query reports to its caller, with Loki's wording in `message`. */
export class LogqlError extends HeimdallError {
  constructor(type: LogqlErrorType, message: string, options?: ErrorOptions) {
    super(type, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LogqlError';
  }

  /** Prometheus' API error type: the same as {@link HeimdallError.kind}. */
  get type(): LogqlErrorType {
    return this.kind as LogqlErrorType;
  }
}

/** A syntax or validation error found while parsing, with Loki's "parse error at line L, col C: ..." form. */
export function parseError(message: string, line = 0, col = 0): LogqlError {
  if (line === 0 && col === 0) return new LogqlError('bad_data', `parse error : ${message}`);
  return new LogqlError('bad_data', `parse error at line ${line}, col ${col}: ${message}`);
}
