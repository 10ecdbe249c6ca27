import type {
  AttributeRef,
  FieldExpr,
  MetricsExpr,
  MetricsFirstStage,
  Pipeline,
  PipelineElement,
  ScalarExpr,
  SecondStage,
  Static,
} from './ast.ts';

/** Text of a TraceQL syntax node, in the spirit of Tempo's `String()` (used in error messages and labels). */
export function format(node: FieldExpr | PipelineElement | ScalarExpr | MetricsExpr | SecondStage | MetricsFirstStage): string {
  switch (node.kind) {
    case 'static':
      return formatStatic(node.value);
    case 'attribute':
      return formatAttribute(node);
    case 'unary':
      if (node.op === 'exists') return `${format(node.expr)} != nil`;
      if (node.op === 'notExists') return `${format(node.expr)} = nil`;
      return `${node.op}${format(node.expr)}`;
    case 'binary':
      return `(${format(node.lhs)} ${node.op} ${format(node.rhs)})`;
    case 'filter':
      return `{ ${format(node.expr)} }`;
    case 'spansetOp':
      return `(${format(node.lhs)}) ${node.op} (${format(node.rhs)})`;
    case 'pipeline':
      return formatPipeline(node);
    case 'aggregate':
      return `${node.op}(${node.expr === undefined ? '' : format(node.expr)})`;
    case 'scalarOp':
    case 'scalarFilter':
      return `${format(node.lhs)} ${node.op} ${format(node.rhs)}`;
    case 'groupBy':
      return `by(${format(node.expr)})`;
    case 'coalesce':
      return 'coalesce()';
    case 'select':
      return `select(${node.attrs.map(formatAttribute).join(', ')})`;
    case 'metricsAggregate': {
      const args = [node.attr === undefined ? '' : formatAttribute(node.attr), ...(node.quantiles ?? []).map(String)].filter((s) => s !== '');
      const by = node.by.length > 0 ? ` by(${node.by.map(formatAttribute).join(',')})` : '';
      return `${node.fn}(${args.join(',')})${by}`;
    }
    case 'compare':
      return `compare(${format(node.filter)},${node.topN},${node.startNs},${node.endNs})`;
    case 'topk':
    case 'bottomk':
      return ` | ${node.kind}(${node.limit})`;
    case 'metricsPipeline':
      return `${formatPipeline(node.pipeline)} | ${format(node.first)}${node.stages.map(format).join('')}`;
    case 'metricsMath':
      return `(${format(node.lhs)}) ${node.op} (${format(node.rhs)})${node.stages.map(format).join('')}`;
    case 'metricsFilter':
      return ` ${node.op} ${node.value}`;
    case 'metricsScalarOp':
      return node.scalarOnLeft ? ` (${node.value} ${node.op})` : ` ${node.op} ${node.value}`;
  }
}

function formatPipeline(p: Pipeline): string {
  return p.elements.map((e) => format(e)).join(' | ');
}

/** Tempo's names of intrinsics where they differ from the scoped syntax (its `Intrinsic.String()`). */
const TEMPO_INTRINSIC_NAME: Partial<Record<string, string>> = {
  'span:duration': 'duration',
  'span:name': 'name',
  'span:status': 'status',
  'span:statusMessage': 'statusMessage',
  'span:kind': 'kind',
  'trace:rootService': 'rootServiceName',
  'trace:rootName': 'rootName',
  'trace:duration': 'traceDuration',
};

/** An intrinsic's name as Tempo prints it in series labels and span attributes (`name`, `status`, `span:childCount`). */
export function tempoIntrinsicName(i: string): string {
  return TEMPO_INTRINSIC_NAME[i] ?? i;
}

/** An attribute as Tempo names a series label for it (`resource.service.name`, `.foo`, `name`). */
export function attributeLabel(a: AttributeRef): string {
  if (a.intrinsic !== undefined) return tempoIntrinsicName(a.intrinsic);
  return `${a.parent ? 'parent.' : ''}${a.scope === 'none' ? '' : a.scope}.${a.name}`;
}

export function formatAttribute(a: AttributeRef): string {
  if (a.intrinsic !== undefined) return a.intrinsic;
  const name = /^[^\s{}()=~!<>&|^,"]+$/.test(a.name) ? a.name : `"${a.name.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  const scope = a.scope === 'none' ? '' : `${a.scope}`;
  return `${a.parent ? 'parent.' : ''}${scope}.${name}`;
}

export function formatStatic(s: Static): string {
  switch (s.type) {
    case 'nil':
      return 'nil';
    case 'string':
      return JSON.stringify(s.value);
    case 'duration':
      return formatDurationNs(s.value);
    case 'intArray':
    case 'floatArray':
    case 'boolArray':
      return `[${s.value.join(', ')}]`;
    case 'stringArray':
      return `[${s.value.map((v) => JSON.stringify(v)).join(', ')}]`;
    default:
      return String(s.value);
  }
}

/** Go's `time.Duration.String()` for nanoseconds (`1.5s`, `2m0s`, `100ms`). */
export function formatDurationNs(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let v = Math.abs(ns);
  let out: string;
  if (v < 1e3) out = `${v}ns`;
  else if (v < 1e6) out = `${trimFloat(v / 1e3)}µs`;
  else if (v < 1e9) out = `${trimFloat(v / 1e6)}ms`;
  else {
    const h = Math.floor(v / 3600e9);
    v -= h * 3600e9;
    const m = Math.floor(v / 60e9);
    v -= m * 60e9;
    const s = `${trimFloat(v / 1e9)}s`;
    out = h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
  }
  return neg ? `-${out}` : out;
}

function trimFloat(v: number): string {
  return String(Number(v.toFixed(9)));
}
