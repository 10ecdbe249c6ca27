import { quoteGo } from './go-string.ts';

/**
 * A label set: name → value. Metric names travel as the `__name__` label, as in Prometheus.
 * Values are plain objects so they serialise to the wire envelopes unchanged; treat them as immutable.
 */
export type Labels = Readonly<Record<string, string>>;

/** The label that carries a metric's name. */
export const METRIC_NAME_LABEL = '__name__';

/** The label a federated (`a|b`) read adds to every series, stream, span or profile. */
export const TENANT_ID_LABEL = '__tenant_id__';

/** Returns the label names sorted in byte order, the order every canonical form uses. */
export function sortedLabelNames(labels: Labels): string[] {
  const names = Object.keys(labels);
  // Label sets are usually built in order already: checking is cheaper than sorting.
  for (let i = 1; i < names.length; i++) if (names[i - 1]! > names[i]!) return names.sort(compareStrings);
  return names;
}

/** Byte-order string comparison (not locale-aware), as Prometheus and Loki sort. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Prometheus' labels.Compare, the order of series in every result: label by label in byte order of names,
 * then of values; a set that is a prefix of the other sorts first.
 */
export function compareLabels(a: Labels, b: Labels): number {
  return compareLabelsWithNames(a, sortedLabelNames(a), b, sortedLabelNames(b));
}

/**
 * {@link compareLabels} for label sets whose names the caller has already sorted ({@link sortedLabelNames}),
 * for sorts that compare each set many times.
 */
export function compareLabelsWithNames(a: Labels, an: readonly string[], b: Labels, bn: readonly string[]): number {
  const n = an.length < bn.length ? an.length : bn.length;
  for (let i = 0; i < n; i++) {
    const x = an[i]!;
    const y = bn[i]!;
    if (x !== y) return x < y ? -1 : 1;
    const vx = a[x]!;
    const vy = b[y]!;
    if (vx !== vy) return vx < vy ? -1 : 1;
  }
  return an.length - bn.length;
}

/**
 * Returns a canonical string for a label set, equal for equal sets whatever the key order.
 * It is the Prometheus text form `{a="1", b="2"}` (with `__name__` kept as a label), so it doubles as a
 * readable series identifier in error messages.
 */
export function labelsKey(labels: Labels): string {
  const parts: string[] = [];
  for (const name of sortedLabelNames(labels)) {
    parts.push(`${name}=${JSON.stringify(labels[name])}`);
  }
  return `{${parts.join(', ')}}`;
}

/** Formats a label set the way Prometheus prints a series: `metric{a="1"}`. */
export function formatSeries(labels: Labels): string {
  const name = labels[METRIC_NAME_LABEL];
  const rest: string[] = [];
  for (const key of sortedLabelNames(labels)) {
    if (key === METRIC_NAME_LABEL) continue;
    rest.push(`${key}=${quoteGo(labels[key]!)}`);
  }
  if (name === undefined) return `{${rest.join(', ')}}`;
  return rest.length === 0 ? name : `${name}{${rest.join(', ')}}`;
}

/**
 * The value of label `name`, or undefined. Own properties only: `constructor`, `toString` and `__proto__`
 * are ordinary label names, never the object's prototype members.
 */
export function labelValue(labels: Labels, name: string): string | undefined {
  return Object.hasOwn(labels, name) ? labels[name] : undefined;
}

/**
 * Sets `name` to `value` as an own, enumerable property, whatever the name: a plain assignment of
 * `__proto__` would change the object's prototype instead (dropping the label), so every decoder that builds
 * label or structured-metadata objects by assignment goes through this.
 */
export function setOwnLabel<T>(labels: Record<string, T>, name: string, value: T): void {
  if (name === '__proto__') Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
  else labels[name] = value;
}
