import { pino } from 'pino';
import type { Logger } from 'pino';

/** Creates the process logger: structured JSON on stdout, one object per line. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'heimdall' }, timestamp: pino.stdTimeFunctions.isoTime });
}
