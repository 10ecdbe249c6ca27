import { useEffect, useState } from 'react';
import { EMPTY_SEARCH, traceqlFromFields } from './trace-search-query.ts';
import type { TraceSearchFields } from './trace-search-query.ts';

/**
 * The search for people who don't write TraceQL: service and span name (choices from the tag values API),
 * duration range, status and attributes; "Search" writes the TraceQL into the editor and runs it.
 */
export function TraceSearchForm(props: { loadValues: (tag: string) => Promise<string[]>; onSearch: (query: string) => void }): React.JSX.Element {
  const [fields, setFields] = useState<TraceSearchFields>(EMPTY_SEARCH);
  const [services, setServices] = useState<string[]>([]);
  const [names, setNames] = useState<string[]>([]);
  const [error, setError] = useState<string | undefined>();
  const { loadValues } = props;
  useEffect(() => {
    loadValues('resource.service.name').then(setServices, () => setServices([]));
    loadValues('name').then(setNames, () => setNames([]));
  }, [loadValues]);
  const set = (change: Partial<TraceSearchFields>): void => setFields({ ...fields, ...change });
  const submit = (e: React.FormEvent): void => {
    e.preventDefault();
    const built = traceqlFromFields(fields);
    if ('error' in built) setError(built.error);
    else {
      setError(undefined);
      props.onSearch(built.query);
    }
  };
  return (
    <form className="trace-search-form options-row" onSubmit={submit} data-testid="trace-search-form">
      <label className="inline">
        Service
        <select value={fields.service} onChange={(e) => set({ service: e.target.value })} aria-label="Service name">
          <option value="">any</option>
          {services.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <label className="inline">
        Span name
        <select value={fields.spanName} onChange={(e) => set({ spanName: e.target.value })} aria-label="Span name">
          <option value="">any</option>
          {names.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <label className="inline">
        Duration
        <input size={6} placeholder="min" value={fields.minDuration} onChange={(e) => set({ minDuration: e.target.value })} aria-label="Minimum duration" />
        –
        <input size={6} placeholder="max" value={fields.maxDuration} onChange={(e) => set({ maxDuration: e.target.value })} aria-label="Maximum duration" />
      </label>
      <label className="inline">
        Status
        <select value={fields.status} onChange={(e) => set({ status: e.target.value as TraceSearchFields['status'] })} aria-label="Status">
          <option value="">any</option>
          <option value="error">error</option>
          <option value="ok">ok</option>
          <option value="unset">unset</option>
        </select>
      </label>
      <label className="inline">
        Attributes
        <input size={22} placeholder="span.http.route=/pay" value={fields.attributes} onChange={(e) => set({ attributes: e.target.value })} aria-label="Attributes" />
      </label>
      <button type="submit" className="btn" data-testid="trace-search-submit">
        Search
      </button>
      {error && (
        <span className="error-text" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}
