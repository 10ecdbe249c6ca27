import { useEffect, useState } from 'react';

/** The label matchers the browser built: each label with the values picked (one or more). */
export type Selection = Readonly<Record<string, readonly string[]>>;

/** Escapes a value for a double-quoted PromQL/LogQL string; values of a regex alternation are regex-escaped too. */
function quote(v: string): string {
  return JSON.stringify(v);
}

function escapeRegex(v: string): string {
  return v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The stream selector of `selection`: `{a="x", b=~"y|z"}`; with `metricName` (PromQL) a single picked
 * `__name__` is written in front, `up{job="x"}`, as one writes it by hand.
 */
export function formatSelector(selection: Selection, metricName: boolean): string {
  const parts: string[] = [];
  let name = '';
  for (const [label, values] of Object.entries(selection)) {
    if (values.length === 0) continue;
    if (metricName && label === '__name__' && values.length === 1) {
      name = values[0]!;
      continue;
    }
    parts.push(values.length === 1 ? `${label}=${quote(values[0]!)}` : `${label}=~${quote(values.map(escapeRegex).join('|'))}`);
  }
  return parts.length === 0 && name ? name : `${name}{${parts.join(', ')}}`;
}

/**
 * The label browser (Loki) and metric browser (Prometheus): the label names of the source, a click lists a
 * label's values, picked values build a selector shown live, and "Use query" hands it to the editor.
 */
export function LabelBrowser(props: {
  /** Label names with no argument, a label's values with one. */
  fetchLabels: (name?: string) => Promise<string[]>;
  metricName: boolean;
  onUse: (selector: string) => void;
}): React.JSX.Element {
  const [labels, setLabels] = useState<string[] | undefined>();
  const [open, setOpen] = useState<string | undefined>(props.metricName ? '__name__' : undefined);
  const [values, setValues] = useState<Record<string, string[]>>({});
  const [selection, setSelection] = useState<Record<string, string[]>>({});
  const [filter, setFilter] = useState('');
  const [error, setError] = useState('');
  const { fetchLabels } = props;

  useEffect(() => {
    fetchLabels().then((l) => setLabels(l.filter((n) => n !== '__name__')), (e: unknown) => setError((e as Error).message));
  }, [fetchLabels]);
  useEffect(() => {
    if (open === undefined || values[open]) return;
    fetchLabels(open).then((v) => setValues((old) => ({ ...old, [open]: v })), (e: unknown) => setError((e as Error).message));
  }, [open, values, fetchLabels]);

  const toggle = (label: string, value: string): void => {
    const cur = selection[label] ?? [];
    setSelection({ ...selection, [label]: cur.includes(value) ? cur.filter((v) => v !== value) : [...cur, value] });
  };
  const selector = formatSelector(selection, props.metricName);
  const shown = (open ? (values[open] ?? []) : []).filter((v) => v.toLowerCase().includes(filter.toLowerCase())).slice(0, 500);
  return (
    <div className="label-browser" data-testid="label-browser">
      {error && <div className="error-box">{error}</div>}
      <div className="label-names">
        {props.metricName && (
          <button type="button" className={open === '__name__' ? 'chip active' : 'chip'} onClick={() => setOpen('__name__')} data-testid="browser-label">
            metric
          </button>
        )}
        {(labels ?? []).map((l) => (
          <button key={l} type="button" className={open === l ? 'chip active' : 'chip'} onClick={() => setOpen(l)} data-testid="browser-label">
            {l}
            {(selection[l]?.length ?? 0) > 0 ? ` (${selection[l]!.length})` : ''}
          </button>
        ))}
      </div>
      {open !== undefined && (
        <div className="label-values">
          <input type="search" placeholder={`Filter values of ${open === '__name__' ? 'metric' : open}`} value={filter} onChange={(e) => setFilter(e.target.value)} aria-label="Filter values" />
          <div className="chips">
            {shown.map((v) => (
              <button key={v} type="button" className={selection[open]?.includes(v) ? 'chip active' : 'chip'} onClick={() => toggle(open, v)} data-testid="browser-value">
                {v}
              </button>
            ))}
          </div>
        </div>
      )}
      <div className="browser-result">
        <code data-testid="browser-selector">{selector}</code>
        <button type="button" className="btn primary" disabled={selector === '{}'} onClick={() => props.onUse(selector)} data-testid="browser-use">
          Use query
        </button>
      </div>
    </div>
  );
}
