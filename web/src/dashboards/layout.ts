import type { Panel } from './dashboard-model.ts';
import { repeatValues, scopedValue } from './variables.ts';
import type { VariableState } from './variables.ts';

/** A panel placed on the page: grid units (24 columns, 30 px rows plus 8 px gaps) and its repeat scope. */
export interface Placed {
  readonly key: string;
  readonly panel: Panel;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly scoped: ReadonlyMap<string, string>;
  /** The row panel's id for a row header. */
  readonly rowId?: number;
  readonly collapsed?: boolean;
}

function repeatPanel(p: Panel, vars: ReadonlyMap<string, VariableState>, scope: ReadonlyMap<string, string>, relY: number): Placed[] {
  const v = p.repeat ? vars.get(p.repeat) : undefined;
  const base = { x: p.gridPos.x, y: relY, w: p.gridPos.w, h: p.gridPos.h };
  if (!v) return [{ key: `${p.id}`, panel: p, ...base, scoped: scope }];
  const values = repeatValues(v);
  if (values.length === 0) return [{ key: `${p.id}`, panel: p, ...base, scoped: scope }];
  return values.map((value, i) => {
    const scoped = new Map(scope).set(v.model.name, scopedValue(v, value));
    if (p.repeatDirection === 'v') return { key: `${p.id}-${value}`, panel: p, ...base, y: relY + i * p.gridPos.h, scoped };
    const perRow = Math.max(1, Math.min(p.maxPerRow ?? 4, values.length));
    const w = Math.max(1, Math.floor(24 / perRow));
    return { key: `${p.id}-${value}`, panel: p, x: (i % perRow) * w, y: relY + Math.floor(i / perRow) * p.gridPos.h, w, h: p.gridPos.h, scoped };
  });
}

/**
 * Lays out a dashboard: panels in sections started by row panels; a collapsed row hides its panels and the rows
 * below move up; repeated panels and rows are expanded for their variable's values. `collapsed` holds the
 * row ids the user folded (initially the model's `collapsed` rows).
 */
export function layoutDashboard(panels: readonly Panel[], vars: ReadonlyMap<string, VariableState>, collapsed: ReadonlySet<number>): Placed[] {
  const sorted = [...panels].sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
  const sections: { row?: Panel; panels: Panel[] }[] = [{ panels: [] }];
  for (const p of sorted) {
    if (p.type === 'row') sections.push({ row: p, panels: [...(p.panels ?? [])] });
    else sections[sections.length - 1]!.panels.push(p);
  }
  const out: Placed[] = [];
  let y = 0;
  for (const s of sections) {
    const rowVar = s.row?.repeat ? vars.get(s.row.repeat) : undefined;
    const scopes: ReadonlyMap<string, string>[] = rowVar ? repeatValues(rowVar).map((v) => new Map([[rowVar.model.name, scopedValue(rowVar, v)]])) : [new Map()];
    if (scopes.length === 0) scopes.push(new Map());
    scopes.forEach((scope, si) => {
      if (s.row) {
        const folded = collapsed.has(s.row.id ?? -1);
        out.push({ key: `row-${s.row.id}-${si}`, panel: s.row, x: 0, y, w: 24, h: 1, scoped: scope, rowId: s.row.id ?? -1, collapsed: folded });
        y += 1;
        if (folded) return;
      } else if (s.panels.length === 0) return;
      const minY = Math.min(...s.panels.map((p) => p.gridPos.y));
      let bottom = y;
      for (const p of s.panels) {
        for (const placed of repeatPanel(p, vars, scope, y + (p.gridPos.y - minY))) {
          out.push({ ...placed, key: `${placed.key}-${si}` });
          bottom = Math.max(bottom, placed.y + placed.h);
        }
      }
      y = bottom;
    });
  }
  return out;
}
