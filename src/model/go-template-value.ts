/**
 * Values a Go text/template works on, as LogQL templates see them: Go ints are bigint, float64 are number,
 * strings, booleans, null (nil), arrays, plain objects and times.
 */
export type GoValue = string | number | bigint | boolean | null | undefined | GoValue[] | { [k: string]: GoValue } | Date;

/** A template function. Throwing an Error aborts execution with that message. */
export type TemplateFunc = (...args: GoValue[]) => GoValue;

/**
 * The methods of the caller's data types, as Go templates call them (`.Alerts.Firing`, `.Labels.SortedPairs`,
 * `.CommonLabels.Remove .GroupLabels.Names`): the method `name` of `receiver`, or undefined when it has none.
 * A method wins over a map key of the same name, as in Go.
 */
export type MethodLookup = (receiver: GoValue, name: string) => TemplateFunc | undefined;

/** Go's truth: false, 0, nil, and empty strings/slices/maps are false. */
export function truth(v: GoValue): boolean {
  if (v === null || v === undefined || v === false) return false;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Date) return true;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** The name Go's `%T` prints for a value (`string`, `float64`, `int`, `map[string]interface {}`, ...). */
export function goTypeName(v: GoValue): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof Date) return 'time.Time';
  return 'map[string]interface {}';
}

