import { lazy } from 'react';
import type { ComponentType, LazyExoticComponent } from 'react';
import type { DatasourceRef } from '../shell/settings.ts';
import type { RawTimeRange } from '../time/time-range.ts';

/**
 * A pane's own URL parameters: the pane reads and writes its query state through this, and the page decides
 * where they live (the left pane's keys are bare, `expr`; the right pane's carry a prefix, `r.expr`), so every
 * pane of a split view is in the link.
 */
export interface PaneParams {
  get(key: string): string | null;
  /** Sets (or with undefined or '' removes) keys of this pane. */
  update(changes: Record<string, string | undefined>): void;
}

/** What the page hands every pane, whatever its data source type. */
export interface PaneProps {
  readonly datasource: DatasourceRef;
  /** Every data source of the org: the targets of links from this pane to the other signals. */
  readonly datasources: readonly DatasourceRef[];
  readonly org: string;
  readonly range: RawTimeRange;
  readonly params: PaneParams;
  /** Grows when the user asks to run the queries again (the toolbar's ↻). */
  readonly runCount: number;
  /** A drag across a graph: the page sets the (shared) time range. */
  onZoom(range: RawTimeRange): void;
}

/**
 * The Explore pane for each data source type: a pane is a data source type plus the query state it keeps in
 * its {@link PaneParams}. A new signal (traces, profiles) adds its pane here; each loads when first shown.
 */
export const PANE_KINDS: Readonly<Record<string, LazyExoticComponent<ComponentType<PaneProps>>>> = {
  prometheus: lazy(() => import('./metrics-pane.tsx')),
  loki: lazy(() => import('./logs-pane.tsx')),
  tempo: lazy(() => import('./signal-pane.tsx')),
  pyroscope: lazy(() => import('./signal-pane.tsx')),
};

/** The parameters of the pane whose keys start with `prefix`, over the page's URL parameters. */
export function paneParams(params: URLSearchParams, prefix: string, update: (changes: Record<string, string | undefined>) => void): PaneParams {
  return {
    get: (key) => params.get(prefix + key),
    update: (changes) => update(Object.fromEntries(Object.entries(changes).map(([k, v]) => [prefix + k, v]))),
  };
}
