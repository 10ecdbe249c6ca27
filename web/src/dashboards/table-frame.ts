import type { Panel } from './dashboard-model.ts';
import type { Series } from './panel-data.ts';
import { reduce } from './panel-data.ts';

/** A table: named columns and rows of cells (numbers or text). */
export interface TableFrame {
  readonly columns: string[];
  readonly rows: (string | number | null)[][];
}

const NUMERIC = (c: string): boolean => c === 'Value' || c.startsWith('Value #') || c === 'Time';

/**
 * The table of a panel's series after its transformations, as Grafana's table panel shows Prometheus answers:
 * a row per series (its labels as columns, `labelsToFields`, and its last value), or per query when merged.
 * Supported: `reduce` (a row per series with a column per calculation), `merge` (rows of several queries with
 * the same labels joined, a `Value #refId` column per query), `organize` (exclude, rename, order),
 * `labelsToFields` (already the layout), `filterFieldsByName`. Others are listed in `unsupported`.
 */
export function tableOf(panel: Panel, series: readonly Series[]): TableFrame & { unsupported: string[] } {
  const unsupported: string[] = [];
  const transforms = (panel.transformations ?? []).filter((t) => !t.disabled);
  const reduceT = transforms.find((t) => t.id === 'reduce');
  const merge = transforms.some((t) => t.id === 'merge' || t.id === 'seriesToColumns' || t.id === 'joinByField');
  let frame: TableFrame;
  if (reduceT) {
    const calcs = (reduceT.options?.reducers as string[] | undefined) ?? ['lastNotNull'];
    frame = { columns: ['Field', ...calcs.map(calcTitle)], rows: series.map((s) => [s.name, ...calcs.map((c) => reduce(s.values, c))]) };
  } else {
    const labelNames = [...new Set(series.flatMap((s) => Object.keys(s.labels)))].sort((a, b) => (a === '__name__' ? -1 : b === '__name__' ? 1 : a.localeCompare(b)));
    const refIds = [...new Set(series.map((s) => s.refId))];
    const valueCol = (refId: string): string => (refIds.length > 1 || merge ? `Value #${refId}` : 'Value');
    const rows = new Map<string, (string | number | null)[]>();
    const columns = ['Time', ...labelNames, ...refIds.map(valueCol)];
    for (const s of series) {
      const key = merge ? JSON.stringify(labelNames.map((n) => s.labels[n] ?? '')) : `${s.refId}\u0000${JSON.stringify(s.labels)}`;
      let row = rows.get(key);
      if (!row) {
        row = [s.timesS[s.timesS.length - 1] !== undefined ? s.timesS[s.timesS.length - 1]! * 1000 : null, ...labelNames.map((n) => s.labels[n] ?? ''), ...refIds.map(() => null)];
        rows.set(key, row);
      }
      row[1 + labelNames.length + refIds.indexOf(s.refId)] = reduce(s.values, 'lastNotNull');
    }
    frame = { columns, rows: [...rows.values()] };
  }
  for (const t of transforms) {
    if (t.id === 'organize') frame = organize(frame, t.options ?? {});
    else if (t.id === 'filterFieldsByName') {
      const names = ((t.options?.include as { names?: string[] } | undefined)?.names ?? frame.columns);
      frame = pick(frame, frame.columns.filter((c) => names.includes(c)));
    } else if (!['reduce', 'merge', 'seriesToColumns', 'joinByField', 'labelsToFields'].includes(t.id)) unsupported.push(t.id);
  }
  return { ...frame, unsupported };
}

function calcTitle(c: string): string {
  return ({ lastNotNull: 'Last *', last: 'Last', mean: 'Mean', max: 'Max', min: 'Min', sum: 'Total', count: 'Count', first: 'First', firstNotNull: 'First *' } as Record<string, string>)[c] ?? c;
}

function pick(frame: TableFrame, columns: string[]): TableFrame {
  const idx = columns.map((c) => frame.columns.indexOf(c));
  return { columns, rows: frame.rows.map((r) => idx.map((i) => r[i] ?? null)) };
}

/** Grafana's `organize` transformation: `excludeByName`, `indexByName`, `renameByName`. */
function organize(frame: TableFrame, o: Record<string, unknown>): TableFrame {
  const exclude = (o.excludeByName ?? {}) as Record<string, boolean>;
  const index = (o.indexByName ?? {}) as Record<string, number>;
  const rename = (o.renameByName ?? {}) as Record<string, string>;
  const kept = frame.columns.filter((c) => !exclude[c]);
  kept.sort((a, b) => (index[a] ?? 1000 + frame.columns.indexOf(a)) - (index[b] ?? 1000 + frame.columns.indexOf(b)));
  const picked = pick(frame, kept);
  return { columns: picked.columns.map((c) => rename[c] || c), rows: picked.rows };
}

export { NUMERIC as isNumericColumn };
