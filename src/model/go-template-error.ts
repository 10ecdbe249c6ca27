/** A template failed to parse or execute; `message` follows Go's `template: NAME:LINE: ...` form. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** The message of a template output, or a function result, over the line budget. */
export function outputTooLong(maxBytes: number): string {
  return `line too long: the output would exceed the maximum line size of ${maxBytes} bytes (logs.limits.max_line_size)`;
}
