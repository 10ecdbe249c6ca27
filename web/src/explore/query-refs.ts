import type { PaneParams } from './pane-kinds.ts';

/** Query ref ids in the order Grafana names them: A, B, … */
const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** The URL key of a query's expression: `expr` for A (so single-query links stay as they were), `expr.B`, … */
export function exprKey(refId: string): string {
  return refId === 'A' ? 'expr' : `expr.${refId}`;
}

/** The pane's queries (`queries=A,B`, A alone by default), each with its expression. */
export function readQueries(params: PaneParams): { refId: string; expr: string }[] {
  const ids = (params.get('queries') ?? 'A').split(',').filter((id) => id.length === 1 && REF_IDS.includes(id));
  return (ids.length > 0 ? ids : ['A']).map((refId) => ({ refId, expr: params.get(exprKey(refId)) ?? '' }));
}

/** The next free ref id after `used`, or undefined when all 26 are taken. */
export function nextRefId(used: readonly string[]): string | undefined {
  return [...REF_IDS].find((id) => !used.includes(id));
}

/** The URL changes that make `refIds` the pane's queries (A alone is the default and leaves no key). */
export function queriesParam(refIds: readonly string[]): string | undefined {
  return refIds.length === 1 && refIds[0] === 'A' ? undefined : refIds.join(',');
}
