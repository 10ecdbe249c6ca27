/**
 * A value that is already JSON text (a query engine's answer, encoded where it was computed); the API
 * envelopes splice it in instead of encoding it a second time.
 */
export class EncodedJson {
  readonly json: string;
  constructor(json: string) {
    this.json = json;
  }
}
