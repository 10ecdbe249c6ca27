/** The search form's fields; each filled one becomes a condition of the TraceQL spanset filter. */
export interface TraceSearchFields {
  readonly service: string;
  readonly spanName: string;
  readonly minDuration: string;
  readonly maxDuration: string;
  readonly status: '' | 'error' | 'ok' | 'unset';
  /** Extra `key=value` conditions (span or resource attributes, written with their scope or `.` for either). */
  readonly attributes: string;
}

/** The form as it opens: nothing filled, `{}`. */
export const EMPTY_SEARCH: TraceSearchFields = { service: '', spanName: '', minDuration: '', maxDuration: '', status: '', attributes: '' };
const DURATION = /^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)$/;

/** The TraceQL the form stands for (`{}` when nothing is filled); invalid durations are reported, not sent. */
export function traceqlFromFields(f: TraceSearchFields): { query: string } | { error: string } {
  const conds: string[] = [];
  if (f.service) conds.push(`resource.service.name = ${JSON.stringify(f.service)}`);
  if (f.spanName) conds.push(`name = ${JSON.stringify(f.spanName)}`);
  for (const [text, op, label] of [
    [f.minDuration.trim(), '>=', 'minimum'],
    [f.maxDuration.trim(), '<=', 'maximum'],
  ] as const) {
    if (!text) continue;
    if (!DURATION.test(text)) return { error: `the ${label} duration "${text}" is not a duration like 100ms, 1.5s or 2m` };
    conds.push(`duration ${op} ${text}`);
  }
  if (f.status) conds.push(`status = ${f.status}`);
  for (const pair of f.attributes.split(/\s+/).filter(Boolean)) {
    const m = /^([A-Za-z_.][\w.:\-/]*)=(.*)$/.exec(pair);
    if (!m) return { error: `"${pair}" is not key=value` };
    const key = m[1]!.includes('.') ? m[1]! : `.${m[1]!}`;
    const v = m[2]!;
    conds.push(`${key} = ${/^-?\d+(\.\d+)?$|^(true|false)$/.test(v) ? v : JSON.stringify(v.replace(/^"|"$/g, ''))}`);
  }
  return { query: conds.length === 0 ? '{}' : `{ ${conds.join(' && ')} }` };
}
