/**
 * A whole-request failure with its HTTP status and a stable snake_case code. The message names the limit
 * and the setting that controls it where one applies. Thrown by ingest helpers, mapped by the server.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryAfterSeconds?: number;
  constructor(status: number, code: string, message: string, options?: ErrorOptions & { retryAfterSeconds?: number }) {
    super(message, options);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
