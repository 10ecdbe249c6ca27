/** An inclusive time range in Unix milliseconds. */
export interface TimeRange {
  readonly startMs: number;
  readonly endMs: number;
}

/** Whether two inclusive ranges share at least one instant. */
export function overlaps(a: TimeRange, b: TimeRange): boolean {
  return a.startMs <= b.endMs && b.startMs <= a.endMs;
}
