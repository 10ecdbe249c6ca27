import { useState } from 'react';
import { QUICK_RANGES, describeRange, resolveRange } from './time-range.ts';
import type { RawTimeRange } from './time-range.ts';

/** `datetime-local` input value of epoch ms (local time, to the second). */
function toInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 19);
}

/**
 * The time range picker: quick relative ranges, or an absolute start and end. Calls `onChange` with the raw
 * range (relative ranges stay relative in the URL).
 */
export function TimeRangePicker(props: { value: RawTimeRange; onChange: (range: RawTimeRange) => void }): React.JSX.Element {
  const [open, setOpen] = useState(false);
  const now = Date.now();
  const resolved = resolveRange(props.value, now);
  const [fromText, setFromText] = useState('');
  const [toText, setToText] = useState('');
  const [error, setError] = useState<string | undefined>();

  const openPicker = (): void => {
    if (!('error' in resolved)) {
      setFromText(toInput(resolved.fromMs));
      setToText(toInput(resolved.toMs));
    }
    setError(undefined);
    setOpen(!open);
  };
  const applyAbsolute = (): void => {
    const fromMs = new Date(fromText).getTime();
    const toMs = new Date(toText).getTime();
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) return setError('enter both times');
    if (fromMs >= toMs) return setError('the start must be before the end');
    props.onChange({ from: String(fromMs), to: String(toMs) });
    setOpen(false);
  };

  return (
    <div className="time-picker">
      <button type="button" className="btn" data-testid="time-range-button" onClick={openPicker} title="Time range">
        {describeRange(props.value, now)}
      </button>
      {open && (
        <div className="time-picker-menu" role="dialog" aria-label="Time range">
          <div className="time-picker-absolute">
            <label>
              From <input type="datetime-local" step="1" value={fromText} onChange={(e) => setFromText(e.target.value)} aria-label="From" />
            </label>
            <label>
              To <input type="datetime-local" step="1" value={toText} onChange={(e) => setToText(e.target.value)} aria-label="To" />
            </label>
            {error && <div className="error-text">{error}</div>}
            <button type="button" className="btn primary" onClick={applyAbsolute}>
              Apply time range
            </button>
          </div>
          <ul className="time-picker-quick">
            {QUICK_RANGES.map((q) => (
              <li key={q.from}>
                <button
                  type="button"
                  className={q.from === props.value.from && props.value.to === 'now' ? 'link active' : 'link'}
                  onClick={() => {
                    props.onChange({ from: q.from, to: 'now' });
                    setOpen(false);
                  }}
                >
                  {q.label}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
