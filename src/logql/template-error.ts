/** A template failed to parse or execute; `message` follows Go's `template: NAME:LINE: ...` form. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}
