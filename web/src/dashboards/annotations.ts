import { lokiQueryRange } from '../datasource/loki.ts';
import { queryRange } from '../datasource/prometheus.ts';
import type { DatasourceRef } from '../shell/settings.ts';
import { autoStepS, parseDurationS } from '../time/time-range.ts';
import type { DatasourceRefJson } from './dashboard-model.ts';
import { legendName } from './panel-data.ts';
import { interpolate, resolveDatasource } from './variables.ts';
import type { VariableState } from './variables.ts';

/** One annotation query of a dashboard (`annotations.list[]`), as Grafana saves Prometheus and Loki ones. */
export interface AnnotationQuery {
  name?: string;
  enable?: boolean;
  hide?: boolean;
  builtIn?: number;
  iconColor?: string;
  datasource?: DatasourceRefJson | string | null;
  expr?: string;
  /** Prometheus: the step (e.g. `60s`); points closer than it merge into one event. */
  step?: string;
  titleFormat?: string;
  textFormat?: string;
  target?: { expr?: string; step?: string; [key: string]: unknown };
}

/** An event drawn on the time series panels: a vertical line at `timeMs`. */
export interface AnnotationEvent {
  readonly timeMs: number;
  readonly title: string;
  readonly color: string;
}

/**
 * Runs the dashboard's enabled annotation queries over the range: a Prometheus query gives an event where a
 * series turns non-zero (consecutive points within one step are one event, as Grafana merges them), titled by
 * `titleFormat` (`{{label}}`) or the series; a Loki query gives an event per line. Grafana's built-in
 * annotations (its own store) are not read: Heimdall has no annotation store. A failing query is skipped: the
 * panels still draw.
 */
export async function loadAnnotations(
  list: readonly AnnotationQuery[] | undefined,
  ctx: { org: string; datasources: readonly DatasourceRef[]; vars: ReadonlyMap<string, VariableState>; fromMs: number; toMs: number; signal: AbortSignal },
): Promise<AnnotationEvent[]> {
  const queries = (list ?? []).filter((a) => a.enable !== false && !a.builtIn && (a.expr ?? a.target?.expr ?? '').trim() !== '');
  const builtins = { fromMs: ctx.fromMs, toMs: ctx.toMs, intervalS: autoStepS(ctx.fromMs, ctx.toMs, 1000) };
  const results = await Promise.all(
    queries.map(async (a) => {
      const ds = resolveDatasource(a.datasource, ctx.datasources, ctx.vars);
      if (!ds) return [];
      const expr = interpolate(a.expr ?? a.target?.expr ?? '', ctx.vars, builtins);
      const color = a.iconColor ?? 'rgba(0, 211, 255, 1)';
      try {
        if (ds.type === 'loki') {
          const r = await lokiQueryRange(ds.uid, ctx.org, expr, { startMs: ctx.fromMs, endMs: ctx.toMs, limit: 100, direction: 'backward' }, ctx.signal);
          return r.kind === 'logs' ? r.lines.map((l) => ({ timeMs: Number(l.timestampNs.slice(0, -6)), title: l.line, color })) : [];
        }
        const stepS = parseDurationS(a.step ?? a.target?.step ?? '') ?? builtins.intervalS;
        const r = await queryRange(ds.uid, ctx.org, expr, Math.floor(ctx.fromMs / 1000), Math.ceil(ctx.toMs / 1000), stepS, ctx.signal);
        if (r.data.resultType !== 'matrix') return [];
        const events: AnnotationEvent[] = [];
        for (const s of r.data.result) {
          const title = a.titleFormat ? legendName(a.titleFormat, s.metric, expr) : (a.name ?? expr);
          let lastS = -Infinity;
          for (const [t, v] of s.values ?? []) {
            if (Number(v) !== 0 && t - lastS > stepS) events.push({ timeMs: t * 1000, title, color });
            if (Number(v) !== 0) lastS = t;
          }
        }
        return events;
      } catch (err) {
        if ((err as Error).name === 'AbortError') throw err;
        return [];
      }
    }),
  );
  return results.flat().sort((x, y) => x.timeMs - y.timeMs);
}
