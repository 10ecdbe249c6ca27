// What the time-series graph draws, apart from its component (so pure models in Node can name them).

/** One line of the graph: its legend name and a value (or null for a gap) per timestamp of the x axis. */
export interface GraphSeries {
  readonly name: string;
  readonly values: readonly (number | null)[];
  /** Overrides the palette colour (e.g. a log level's colour). */
  readonly color?: string;
}

/** A point drawn over the lines: an exemplar (its time, value, and what a hover names, e.g. its trace id). */
export interface GraphMarker {
  readonly timeS: number;
  readonly value: number;
  readonly title: string;
  /** The trace the exemplar names, if any: a click on the point opens it. */
  readonly traceId?: string;
}
