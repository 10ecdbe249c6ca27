import type { JsonText } from '../storage/index.ts';

/**
 * A value that is already JSON text (a query engine's answer, encoded where it was computed); the API
 * envelopes splice it in instead of encoding it a second time.
 */
export class EncodedJson {
  readonly json: JsonText;
  constructor(json: JsonText) {
    this.json = json;
  }

  /** The JSON as a reply body: the text, or a Buffer over the bytes (no copy). */
  body(): string | Buffer {
    const json = this.json;
    return typeof json === 'string' ? json : Buffer.from(json.buffer, json.byteOffset, json.byteLength);
  }
}
