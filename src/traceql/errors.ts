import { HeimdallError, lineCol } from '../model/index.ts';

/**
 * A TraceQL query Tempo would refuse: a parse error (`parse error at line L, col C: ...`, Tempo's wording) or a
 * failed semantic validation. Both are `bad_data` (HTTP 400). `unsupported` marks validation failures Tempo
 * reports as "... not yet supported" (features its grammar accepts but its engine does not run).
 */
export class TraceqlError extends HeimdallError {
  readonly unsupported: boolean;
  readonly phase: 'parse' | 'validate';
  constructor(phase: 'parse' | 'validate', message: string, unsupported = false) {
    super('bad_data', message, { code: phase === 'parse' ? 'traceql_parse_error' : 'traceql_invalid_query' });
    this.name = 'TraceqlError';
    this.phase = phase;
    this.unsupported = unsupported;
  }
}

/** A parse error at `offset` of `query`, with Tempo's 1-based line and column. */
export function parseError(query: string, offset: number, message: string): TraceqlError {
  const { line, col } = lineCol(query, offset);
  return new TraceqlError('parse', `parse error at line ${line}, col ${col}: ${message}`);
}

/** A validation error with Tempo's message. */
export function validationError(message: string): TraceqlError {
  return new TraceqlError('validate', message);
}

/** Tempo's "unsupported" validation error: `<feature> not yet supported`. */
export function unsupportedError(feature: string): TraceqlError {
  return new TraceqlError('validate', `${feature} not yet supported`, true);
}
