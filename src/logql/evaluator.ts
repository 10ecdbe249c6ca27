import type { TenantId } from '../model/index.ts';
import type { LogQueryable } from '../storage/index.ts';
import type { SampleExpr } from './ast.ts';
import { binary } from './binary-operations.ts';
import { sumOfCountsPushdown } from './count-pushdown.ts';
import { labelReplace } from './label-replace.ts';
import type { LogqlBudget } from './query-budget.ts';
import { ADDITIVE, rangeAggregation } from './range-aggregation.ts';
import type { QueryStats } from './source.ts';
import { newStepSeries } from './step-series.ts';
import type { EvalValue, StepGrid, StepSeries } from './step-series.ts';
import { vectorAggregation } from './vector-aggregation.ts';

/** Limits a metric evaluation enforces. */
export interface EvalLimits {
  /** Series any intermediate result may hold (memory bound). */
  readonly maxSeries: number;
  /** Samples extracted from log lines per query (memory bound). */
  readonly maxSamples: number;
}

export interface EvalContext {
  readonly queryable: LogQueryable;
  readonly tenants: readonly TenantId[];
  readonly grid: StepGrid;
  readonly limits: EvalLimits;
  readonly stats: QueryStats;
  readonly signal?: AbortSignal;
  /** The query's running budgets: wall time checked per line, produced line and label bytes. */
  readonly budget: LogqlBudget;
}

/** Evaluates a metric expression over the grid. */
export async function evaluate(ctx: EvalContext, e: SampleExpr): Promise<EvalValue> {
  ctx.budget.check();
  switch (e.kind) {
    case 'literal':
      return { kind: 'scalar', value: e.value };
    case 'vector': {
      const s = newStepSeries({}, ctx.grid.count);
      s.values.fill(e.value);
      s.present.fill(1);
      return { kind: 'vector', series: [s] };
    }
    case 'rangeAgg':
      return { kind: 'vector', series: await rangeAggregation(ctx, e) };
    case 'vectorAgg': {
      if (e.op === 'sum') {
        const pushed = await sumOfCountsPushdown(ctx, e);
        if (pushed) return { kind: 'vector', series: pushed };
        const inner = e.inner;
        if (inner.kind === 'rangeAgg' && ADDITIVE.has(inner.op) && !inner.grouping) {
          // sum by (L) of an additive range aggregation equals the aggregation grouped by L at extraction:
          // it never materialises one series per distinct parsed label set.
          const grouped = await rangeAggregation(ctx, { ...inner, grouping: e.grouping ?? { without: false, labels: [] } });
          return { kind: 'vector', series: vectorAggregation('sum', undefined, e.grouping, grouped, ctx.grid.count) };
        }
      }
      const inner = await evaluate(ctx, e.inner);
      return { kind: 'vector', series: vectorAggregation(e.op, e.param, e.grouping, asVector(inner, ctx.grid), ctx.grid.count) };
    }
    case 'labelReplace': {
      const inner = await evaluate(ctx, e.inner);
      return { kind: 'vector', series: labelReplace(asVector(inner, ctx.grid), e.dst, e.replacement, e.src, e.regex) };
    }
    case 'binary': {
      const [l, r] = [await evaluate(ctx, e.left), await evaluate(ctx, e.right)];
      return binary(e.op, e.returnBool, e.matching, l, r, ctx.grid.count);
    }
  }
}

function asVector(v: EvalValue, grid: StepGrid): StepSeries[] {
  if (v.kind === 'vector') return v.series;
  const s = newStepSeries({}, grid.count);
  s.values.fill(v.value);
  s.present.fill(1);
  return [s];
}
