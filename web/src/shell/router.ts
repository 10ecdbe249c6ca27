import { useSyncExternalStore } from 'react';

/**
 * The UI's whole routing: the browser location is the state (so every view is a link), changed with
 * `navigate` (pushState) and read with `useLocation`. Back/forward re-render through `popstate`.
 */
const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

function snapshot(): string {
  return window.location.pathname + window.location.search;
}

/** Changes the location; `replace` keeps the history entry (e.g. while typing). */
export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  if (opts.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  for (const l of listeners) l();
}

/** The current path and query parameters; re-renders on every change. */
export function useLocation(): { path: string; params: URLSearchParams } {
  const loc = useSyncExternalStore(subscribe, snapshot);
  const i = loc.indexOf('?');
  return { path: i < 0 ? loc : loc.slice(0, i), params: new URLSearchParams(i < 0 ? '' : loc.slice(i + 1)) };
}

/** Sets (or with undefined removes) query parameters of the current location. */
export function updateParams(changes: Record<string, string | undefined>, opts: { replace?: boolean } = {}): void {
  const params = new URLSearchParams(window.location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === '') params.delete(k);
    else params.set(k, v);
  }
  const q = params.toString();
  navigate(window.location.pathname + (q ? `?${q}` : ''), opts);
}
