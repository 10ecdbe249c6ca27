import type { FunctionDef, ValueType } from './ast.ts';

const V: ValueType = 'vector';
const M: ValueType = 'matrix';
const S: ValueType = 'scalar';
const STR: ValueType = 'string';

function def(name: string, argTypes: ValueType[], returnType: ValueType, variadic = 0, experimental = false): FunctionDef {
  return { name, argTypes, returnType, variadic, experimental };
}

/** Every PromQL function with its signature, as Prometheus' parser declares them. */
export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map(
  [
    def('abs', [V], V),
    def('absent', [V], V),
    def('absent_over_time', [M], V),
    def('acos', [V], V),
    def('acosh', [V], V),
    def('asin', [V], V),
    def('asinh', [V], V),
    def('atan', [V], V),
    def('atanh', [V], V),
    def('avg_over_time', [M], V),
    def('ceil', [V], V),
    def('changes', [M], V),
    def('clamp', [V, S, S], V),
    def('clamp_max', [V, S], V),
    def('clamp_min', [V, S], V),
    def('cos', [V], V),
    def('cosh', [V], V),
    def('count_over_time', [M], V),
    def('days_in_month', [V], V, 1),
    def('day_of_month', [V], V, 1),
    def('day_of_week', [V], V, 1),
    def('day_of_year', [V], V, 1),
    def('deg', [V], V),
    def('delta', [M], V),
    def('deriv', [M], V),
    def('double_exponential_smoothing', [M, S, S], V, 0, true),
    def('end', [], S, 0, true),
    def('exp', [V], V),
    def('first_over_time', [M], V, 0, true),
    def('floor', [V], V),
    def('histogram_avg', [V], V),
    def('histogram_count', [V], V),
    def('histogram_fraction', [S, S, V], V),
    def('histogram_quantile', [S, V], V),
    def('histogram_quantiles', [V, STR, S, S], V, 9, true),
    def('histogram_stddev', [V], V),
    def('histogram_stdvar', [V], V),
    def('histogram_sum', [V], V),
    def('hour', [V], V, 1),
    def('idelta', [M], V),
    def('increase', [M], V),
    def('info', [V, V], V, 1, true),
    def('irate', [M], V),
    def('label_join', [V, STR, STR, STR], V, -1),
    def('label_replace', [V, STR, STR, STR, STR], V),
    def('last_over_time', [M], V),
    def('ln', [V], V),
    def('log10', [V], V),
    def('log2', [V], V),
    def('mad_over_time', [M], V, 0, true),
    def('max_over_time', [M], V),
    def('min_over_time', [M], V),
    def('minute', [V], V, 1),
    def('month', [V], V, 1),
    def('max_of', [S, S], S, 0, true),
    def('min_of', [S, S], S, 0, true),
    def('pi', [], S),
    def('predict_linear', [M, S], V),
    def('present_over_time', [M], V),
    def('quantile_over_time', [S, M], V),
    def('rad', [V], V),
    def('range', [], S, 0, true),
    def('rate', [M], V),
    def('resets', [M], V),
    def('round', [V, S], V, 1),
    def('scalar', [V], S),
    def('sgn', [V], V),
    def('sin', [V], V),
    def('sinh', [V], V),
    def('sort', [V], V),
    def('sort_by_label', [V, STR], V, -1, true),
    def('sort_by_label_desc', [V, STR], V, -1, true),
    def('sort_desc', [V], V),
    def('sqrt', [V], V),
    def('start', [], S, 0, true),
    def('start_timestamp', [V], V, 0, true),
    def('stddev_over_time', [M], V),
    def('stdvar_over_time', [M], V),
    def('step', [], S, 0, true),
    def('sum_over_time', [M], V),
    def('tan', [V], V),
    def('tanh', [V], V),
    def('time', [], S),
    def('timestamp', [V], V),
    def('ts_of_first_over_time', [M], V, 0, true),
    def('ts_of_last_over_time', [M], V, 0, true),
    def('ts_of_max_over_time', [M], V, 0, true),
    def('ts_of_min_over_time', [M], V, 0, true),
    def('vector', [S], V),
    def('year', [V], V, 1),
  ].map((d) => [d.name, d]),
);

/**
 * Functions whose result can change with the evaluation time even when their arguments do not (or that
 * return sample timestamps): the `@` modifier cannot make them step-invariant.
 */
export const AT_MODIFIER_UNSAFE_FUNCTIONS: ReadonlySet<string> = new Set([
  'days_in_month',
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'hour',
  'minute',
  'month',
  'year',
  'predict_linear',
  'time',
  'timestamp',
]);

/** Functions accepting an `anchored` range selector. */
export const ANCHORED_SAFE_FUNCTIONS: ReadonlySet<string> = new Set(['resets', 'changes', 'rate', 'increase', 'delta']);
/** Functions accepting a `smoothed` range selector. */
export const SMOOTHED_SAFE_FUNCTIONS: ReadonlySet<string> = new Set(['rate', 'increase', 'delta']);
