import { METRIC_NAME_LABEL, formatPromDuration, quoteGo } from '../model/index.ts';
import type { AtModifier, DurationExpr, Expr, VectorSelector } from './ast.ts';

const IDENT = /^[A-Za-z_:][A-Za-z0-9_:]*$/;
const LABEL = /^[A-Za-z_][A-Za-z0-9_]*$/;

function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e21)) {
    const m = /^(-?[\d.]+)e([+-])(\d+)$/.exec(v.toExponential());
    if (m) return `${m[1]}e${m[2]}${m[3]!.padStart(2, '0')}`;
  }
  return String(v);
}

function labelName(n: string): string {
  return LABEL.test(n) ? n : quoteGo(n);
}

function duration(d: DurationExpr): string {
  switch (d.kind) {
    case 'lit':
      return formatPromDuration(d.ms);
    case 'neg':
      return `-${duration(d.expr)}`;
    case 'step':
      return 'step()';
    case 'range':
      return 'range()';
    case 'min':
    case 'max':
      return `${d.kind}_of(${duration(d.lhs)}, ${duration(d.rhs)})`;
    case 'bin':
      return `(${duration(d.lhs)} ${d.op} ${duration(d.rhs)})`;
  }
}

function at(a: AtModifier | undefined): string {
  if (!a) return '';
  if (a.kind === 'start') return ' @ start()';
  if (a.kind === 'end') return ' @ end()';
  return ` @ ${(a.ms / 1000).toFixed(3)}`;
}

function modifiers(offset: DurationExpr | undefined, a: AtModifier | undefined): string {
  let s = '';
  if (offset) {
    const neg = offset.kind === 'neg' || (offset.kind === 'lit' && offset.ms < 0);
    s += neg && offset.kind === 'lit' ? ` offset -${formatPromDuration(-offset.ms)}` : ` offset ${duration(offset)}`;
  }
  return s + at(a);
}

function selector(vs: VectorSelector): string {
  const matchers = vs.matchers.filter((m) => !(vs.name !== undefined && m.name === METRIC_NAME_LABEL && m.op === '='));
  let name = '';
  const parts: string[] = [];
  if (vs.name !== undefined) {
    if (IDENT.test(vs.name)) name = vs.name;
    else parts.push(quoteGo(vs.name));
  }
  for (const m of matchers) parts.push(`${labelName(m.name)}${m.op}${quoteGo(m.value)}`);
  const braces = parts.length > 0 || name === '' ? `{${parts.join(', ')}}` : '';
  return `${name}${braces}`;
}

/** Prints an expression the way Prometheus' `String()` does (canonical spacing, durations, quoting). */
export function formatExpr(e: Expr): string {
  switch (e.type) {
    case 'NumberLiteral':
      return goFloat(e.val);
    case 'StringLiteral':
      return quoteGo(e.val, e.invalidUtf8);
    case 'VectorSelector':
      return `${selector(e)}${modifiers(e.offset, e.at)}${e.smoothed ? ' smoothed' : ''}`;
    case 'MatrixSelector':
      return `${selector(e.vs)}[${duration(e.range)}]${modifiers(e.vs.offset, e.vs.at)}${e.vs.anchored ? ' anchored' : ''}${e.vs.smoothed ? ' smoothed' : ''}`;
    case 'SubqueryExpr':
      return `${formatExpr(e.expr)}[${duration(e.range)}:${e.step ? duration(e.step) : ''}]${modifiers(e.offset, e.at)}`;
    case 'ParenExpr':
      return `(${formatExpr(e.expr)})`;
    case 'UnaryExpr':
      return `${e.op}${formatExpr(e.expr)}`;
    case 'Call':
      return `${e.func.name}(${e.args.map(formatExpr).join(', ')})`;
    case 'AggregateExpr': {
      let grouping = '';
      if (e.without) grouping = ` without (${e.grouping.map(labelName).join(', ')}) `;
      else if (e.grouping.length > 0) grouping = ` by (${e.grouping.map(labelName).join(', ')}) `;
      const args = e.param ? `${formatExpr(e.param)}, ${formatExpr(e.expr)}` : formatExpr(e.expr);
      return `${e.op}${grouping}(${args})`;
    }
    case 'BinaryExpr': {
      let mod = e.returnBool ? ' bool' : '';
      const m = e.matching;
      if (m && (m.on || m.labels.length > 0)) {
        mod += ` ${m.on ? 'on' : 'ignoring'} (${m.labels.map(labelName).join(', ')})`;
        if (m.card === 'many-to-one' || m.card === 'one-to-many') {
          mod += ` ${m.card === 'many-to-one' ? 'group_left' : 'group_right'} (${m.include.map(labelName).join(', ')})`;
        }
      } else if (m && (m.card === 'many-to-one' || m.card === 'one-to-many')) {
        mod += ` ${m.card === 'many-to-one' ? 'group_left' : 'group_right'} (${m.include.map(labelName).join(', ')})`;
      }
      if (m?.fillLhs !== undefined && m.fillLhs === m.fillRhs) mod += ` fill (${goFloat(m.fillLhs)})`;
      else {
        if (m?.fillLhs !== undefined) mod += ` fill_left (${goFloat(m.fillLhs)})`;
        if (m?.fillRhs !== undefined) mod += ` fill_right (${goFloat(m.fillRhs)})`;
      }
      return `${formatExpr(e.lhs)} ${e.op}${mod} ${formatExpr(e.rhs)}`;
    }
  }
}
