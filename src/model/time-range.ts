/** An inclusive time range in Unix milliseconds. */
export interface TimeRange {
  readonly startMs: number;
  readonly endMs: number;
}
