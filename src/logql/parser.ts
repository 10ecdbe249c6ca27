import { parser } from '@grafana/lezer-logql';
import type { SyntaxNode } from '@lezer/common';
import { checkMatcher, compileRe2, emptySelectorProblem, quoteGo, readGoFloat, unquoteGoString } from '../model/index.ts';
import type { LabelMatcher, MatchOp } from '../model/index.ts';
import type {
  BinaryOp,
  CompareOp,
  Expr,
  ExtractionParam,
  Grouping,
  LabelFilterExpr,
  LabelFormatOp,
  LabelNameItem,
  LineFilterOp,
  LineFilterStage,
  LineFilterValue,
  LogRange,
  LogSelectorExpr,
  RangeOp,
  SampleExpr,
  Stage,
  Unwrap,
  UnwrapConv,
  VectorMatching,
  VectorOp,
} from './ast.ts';
import { parseError } from './errors.ts';
import { maskQuery } from './query-mask.ts';
import type { MaskedQuery } from './query-mask.ts';
import type { LogqlError } from './errors.ts';
import { parseHumanBytes, parseQueryDuration } from './units.ts';

/**
 * Parses a LogQL query with the official grammar (`@grafana/lezer-logql`) into our AST, applying Loki's
 * validation rules (which range aggregations need or forbid `unwrap` and grouping, literal parsing, ...).
 * Throws {@link LogqlError} (`bad_data`) with Loki's wording.
 *
 * The grammar gives every binary operator the same precedence, so operator chains are flattened and
 * rebuilt with PromQL/LogQL precedence here. Valid LogQL the grammar does not cover is masked before
 * parsing and restored here (see `query-mask.ts`).
 */
export function parseLogql(query: string): Expr {
  const mask = maskQuery(query);
  const tree = parser.parse(mask.text);
  const p = new TreeReader(mask.text, mask);
  p.checkErrors(tree.topNode);
  const top = tree.topNode.getChild('Expr');
  if (!top) throw parseError('syntax error: unexpected $end');
  return p.expr(top);
}

/** Parses a bare stream selector (`{a="b"}`), as the `match[]`/`query` parameters of metadata endpoints take. */
export function parseSelector(query: string): LabelMatcher[] {
  const e = parseLogql(query);
  if (e.kind !== 'logSelector') throw parseError('only log selectors are accepted here');
  return [...e.matchers];
}

const KEYWORDS = new Set([
  'json', 'logfmt', 'unpack', 'pattern', 'regexp', 'unwrap', 'label_format', 'line_format', 'label_replace',
  'vector', 'offset', 'bool', 'on', 'ignoring', 'group_left', 'group_right', 'decolorize', 'drop', 'keep', 'by',
  'without', 'and', 'or', 'unless', 'sum', 'avg', 'count', 'max', 'min', 'stddev', 'stdvar', 'bottomk', 'topk',
  'sort', 'sort_desc', 'ip', 'count_over_time', 'rate', 'rate_counter', 'bytes_over_time', 'bytes_rate',
  'avg_over_time', 'sum_over_time', 'min_over_time', 'max_over_time', 'stddev_over_time', 'stdvar_over_time',
  'quantile_over_time', 'first_over_time', 'last_over_time', 'absent_over_time', 'bytes', 'duration',
  'duration_seconds',
]);

const UNWRAP_REQUIRED = new Set<RangeOp>([
  'avg_over_time', 'sum_over_time', 'min_over_time', 'max_over_time', 'stddev_over_time', 'stdvar_over_time',
  'quantile_over_time', 'first_over_time', 'last_over_time', 'rate_counter',
]);
const UNWRAP_FORBIDDEN = new Set<RangeOp>(['count_over_time', 'bytes_over_time', 'bytes_rate']);
const GROUPING_ALLOWED = new Set<RangeOp>([
  'avg_over_time', 'min_over_time', 'max_over_time', 'stddev_over_time', 'stdvar_over_time',
  'quantile_over_time', 'first_over_time', 'last_over_time',
]);

const PRECEDENCE: Record<BinaryOp, number> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '>': 3,
  '>=': 3,
  '<': 3,
  '<=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  '^': 6,
};

const BINOP_NODES: Record<string, BinaryOp> = {
  Add: '+', Sub: '-', Mul: '*', Div: '/', Mod: '%', Pow: '^', Eql: '==', Neq: '!=', Gtr: '>', Gte: '>=',
  Lss: '<', Lte: '<=', And: 'and', Or: 'or', Unless: 'unless',
};

interface BinOperator {
  op: BinaryOp;
  returnBool: boolean;
  matching?: VectorMatching;
}

class TreeReader {
  constructor(
    private readonly src: string,
    private readonly mask: MaskedQuery,
  ) {}

  text(n: SyntaxNode): string {
    return this.src.slice(n.from, n.to);
  }

  children(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
    return out;
  }

  fail(n: SyntaxNode | number, message: string): LogqlError {
    const pos = typeof n === 'number' ? n : n.from;
    const before = this.src.slice(0, pos);
    const line = before.split('\n').length;
    const col = pos - before.lastIndexOf('\n');
    return parseError(message, line, col);
  }

  /** Reports the first syntax error the grammar recovered from, in goyacc's "unexpected X" style. */
  checkErrors(top: SyntaxNode): void {
    const cursor = top.cursor();
    let err: SyntaxNode | undefined;
    do {
      if (cursor.type.isError) {
        const node = cursor.node;
        if (!this.isToleratedError(node)) {
          err = node;
          break;
        }
      }
    } while (cursor.next());
    if (!err) return;
    const tok = this.tokenAt(err.from);
    const unexpected = tok === '' ? '$end' : tok;
    let expecting = '';
    const parent = err.parent;
    const prev = err.prevSibling;
    if (parent && ['DropLabelsExpr', 'KeepLabelsExpr', 'DropLabels', 'KeepLabels', 'Grouping'].includes(parent.name)) {
      expecting = 'IDENTIFIER';
    } else if (
      (parent && (parent.name === 'VectorExpr' || parent.name === 'LiteralExpr')) ||
      (prev && prev.name === 'Sub') ||
      (parent && parent.name === 'Expr' && prev === null && this.src.slice(0, err.from).trimEnd().endsWith('-'))
    ) {
      expecting = 'NUMBER';
    } else if (this.isLiteralNumberContext(err)) {
      expecting = 'NUMBER';
    }
    throw this.fail(err.from, `syntax error: unexpected ${unexpected}${expecting ? `, expecting ${expecting}` : ''}`);
  }

  private isLiteralNumberContext(err: SyntaxNode): boolean {
    // `vector(count_over_time(...))`: the error sits right after `vector(`.
    const before = this.src.slice(0, err.from).trimEnd();
    return /\bvector\s*\($/.test(before) || /(^|[^\w)\]}])-\s*$/.test(before);
  }

  /** Loki accepts space-separated label filters (`a="1" b="2"`, meaning and); the grammar recovers there. */
  private isToleratedError(n: SyntaxNode): boolean {
    if (n.from !== n.to) return false;
    const parent = n.parent;
    if (!parent || parent.name !== 'LabelFilter') return false;
    return n.prevSibling?.name === 'LabelFilter' && n.nextSibling?.name === 'LabelFilter';
  }

  private tokenAt(pos: number): string {
    const rest = this.src.slice(pos).replace(/^\s+/, '');
    if (rest === '') return '';
    const m =
      /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest) ??
      /^"(?:[^"\\]|\\.)*"?/.exec(rest) ??
      /^`[^`]*`?/.exec(rest) ??
      /^[0-9][0-9A-Za-z.]*/.exec(rest) ??
      /^(?:\|=|\|~|\|>|!=|!~|!>|=~|==|>=|<=)/.exec(rest) ??
      /^./.exec(rest)!;
    const t = m[0];
    if (/^[A-Za-z_]/.test(t)) return KEYWORDS.has(t.toLowerCase()) ? t : 'IDENTIFIER';
    if (t.startsWith('"') || t.startsWith('`')) return 'STRING';
    if (/^[0-9]/.test(t)) return 'NUMBER';
    return t;
  }

  // ---------------------------------------------------------------- expressions

  expr(n: SyntaxNode): Expr {
    const inner = n.firstChild;
    if (!inner) throw this.fail(n, 'syntax error: unexpected $end');
    if (inner.name === 'LogExpr') return this.logExpr(inner);
    if (inner.name === 'MetricExpr') return this.metricExpr(inner);
    throw this.fail(inner, `syntax error: unexpected ${inner.name}`);
  }

  logExpr(n: SyntaxNode): LogSelectorExpr {
    const sel = n.getChild('Selector');
    if (!sel) {
      const inner = n.getChild('LogExpr');
      if (inner) return this.logExpr(inner);
      throw this.fail(n, 'syntax error: expecting selector');
    }
    const pipeline = n.getChild('PipelineExpr');
    return { kind: 'logSelector', matchers: this.selector(sel), stages: pipeline ? this.pipeline(pipeline) : [] };
  }

  selector(n: SyntaxNode): LabelMatcher[] {
    const out: LabelMatcher[] = [];
    const visit = (m: SyntaxNode): void => {
      for (const c of this.children(m)) {
        if (c.name === 'Matcher') out.push(this.matcher(c));
        else if (c.name === 'Matchers') visit(c);
      }
    };
    visit(n);
    if (out.length === 0) throw this.fail(n, 'syntax error: unexpected }, expecting IDENTIFIER');
    const problem = emptySelectorProblem(out, 'loki');
    if (problem !== undefined) throw parseError(problem);
    return out;
  }

  matcher(n: SyntaxNode): LabelMatcher {
    const id = n.getChild('Identifier');
    const str = n.getChild('String');
    if (!id || !str) throw this.fail(n, 'syntax error: invalid matcher');
    let op: MatchOp;
    if (n.getChild('Eq')) op = '=';
    else if (n.getChild('Neq')) op = '!=';
    else if (n.getChild('Re')) op = '=~';
    else if (n.getChild('Nre')) op = '!~';
    else throw this.fail(n, 'syntax error: invalid matcher operator');
    const matcher: LabelMatcher = { name: this.text(id), op, value: this.string(str) };
    try {
      checkMatcher(matcher);
    } catch (err) {
      throw this.fail(str, (err as Error).message);
    }
    return matcher;
  }

  checkRegex(n: SyntaxNode, re: string): void {
    try {
      compileRe2(re);
    } catch (err) {
      throw this.fail(n, (err as Error).message);
    }
  }

  string(n: SyntaxNode): string {
    const raw = this.text(n);
    try {
      return unquoteGoString(raw);
    } catch (err) {
      throw this.fail(n, (err as Error).message);
    }
  }

  pipeline(n: SyntaxNode): Stage[] {
    const stages: Stage[] = [];
    const visit = (p: SyntaxNode): void => {
      for (const c of this.children(p)) {
        if (c.name === 'PipelineExpr') visit(c);
        else if (c.name === 'PipelineStage') this.stage(c, stages);
      }
    };
    visit(n);
    return stages;
  }

  stage(n: SyntaxNode, out: Stage[]): void {
    for (const c of this.children(n)) {
      switch (c.name) {
        case 'Pipe':
          break;
        case 'LineFilters':
          this.lineFilters(c, out);
          break;
        case 'LabelParser':
          out.push(this.labelParser(c));
          break;
        case 'LogfmtParser':
        case 'LogfmtExpressionParser':
          out.push(this.logfmt(c));
          break;
        case 'JsonExpressionParser':
          out.push({ kind: 'json', params: this.extractionParams(c, true) });
          break;
        case 'LabelFilter':
          out.push({ kind: 'labelFilter', filter: this.labelFilter(c) });
          break;
        case 'LineFormatExpr': {
          const s = c.getChild('String');
          if (!s) throw this.fail(c, 'syntax error: unexpected $end, expecting STRING');
          out.push({ kind: 'lineFormat', template: this.string(s) });
          break;
        }
        case 'LabelFormatExpr':
          out.push({ kind: 'labelFormat', ops: this.labelFormat(c) });
          break;
        case 'DecolorizeExpr':
          out.push({ kind: 'decolorize' });
          break;
        case 'DropLabelsExpr':
          out.push({ kind: 'drop', items: this.nameItems(c) });
          break;
        case 'KeepLabelsExpr':
          out.push({ kind: 'keep', items: this.nameItems(c) });
          break;
        default:
          throw this.fail(c, `syntax error: unexpected ${this.text(c)}`);
      }
    }
  }

  lineFilters(n: SyntaxNode, out: Stage[]): void {
    for (const c of this.children(n)) {
      if (c.name === 'LineFilters') this.lineFilters(c, out);
      else if (c.name === 'LineFilter') out.push(this.lineFilter(c));
      else if (c.name === 'OrFilter') {
        // `|= ip("a") or ...`: the grammar hangs the or-operands next to the filter, not inside it.
        const prev = out[out.length - 1];
        if (!prev || prev.kind !== 'lineFilter') throw this.fail(c, 'syntax error: unexpected or');
        const values = [...prev.values];
        this.collectOr(c, prev.op, values);
        out[out.length - 1] = { ...prev, values };
      }
    }
  }

  private collectOr(p: SyntaxNode, op: LineFilterOp, values: LineFilterValue[]): void {
    let ip = false;
    for (const c of this.children(p)) {
      if (c.name === 'FilterOp') ip = true;
      else if (c.name === 'String') {
        values.push(this.lineFilterValue(c, op, ip));
        ip = false;
      } else if (c.name === 'OrFilter') this.collectOr(c, op, values);
    }
  }

  lineFilter(n: SyntaxNode): LineFilterStage {
    const filter = n.getChild('Filter');
    if (!filter) throw this.fail(n, 'syntax error: missing line filter operator');
    const opText = this.text(filter);
    const op = opText as LineFilterOp;
    const values: LineFilterValue[] = [];
    this.collectOr(n, op, values);
    if (values.length === 0) throw this.fail(n, 'syntax error: unexpected $end, expecting STRING');
    return { kind: 'lineFilter', op, values };
  }

  private lineFilterValue(n: SyntaxNode, op: LineFilterOp, ipKeyword: boolean): LineFilterValue {
    const maskedIp = this.mask.ips.get(n.from);
    const ip = ipKeyword || maskedIp !== undefined;
    let value: string;
    try {
      value = maskedIp !== undefined ? unquoteGoString(maskedIp) : this.string(n);
    } catch (err) {
      throw this.fail(n, (err as Error).message);
    }
    if (ip) {
      if (op !== '|=' && op !== '!=') throw this.fail(n, `ip: invalid operation, only |= and != are supported: ${op}`);
      return { kind: 'ip', value };
    }
    // Loki rejects a bad regexp at parse time, before any data is read.
    if (op === '|~' || op === '!~') this.checkRegex(n, value);
    return { kind: 'literal', value };
  }

  labelParser(n: SyntaxNode): Stage {
    const kw = n.firstChild;
    const s = n.getChild('String');
    switch (kw?.name) {
      case 'Json':
        return { kind: 'json', params: [] };
      case 'Logfmt':
        return { kind: 'logfmt', strict: false, keepEmpty: false, params: [] };
      case 'Unpack':
        return { kind: 'unpack' };
      case 'Regexp':
        if (!s) throw this.fail(n, 'syntax error: unexpected $end, expecting STRING');
        return { kind: 'regexp', pattern: this.string(s) };
      case 'Pattern':
        if (!s) throw this.fail(n, 'syntax error: unexpected $end, expecting STRING');
        return { kind: 'pattern', pattern: this.string(s) };
      default:
        throw this.fail(n, `syntax error: unexpected ${this.text(n)}`);
    }
  }

  logfmt(n: SyntaxNode): Stage {
    let strict = false;
    let keepEmpty = false;
    const flags = (p: SyntaxNode): void => {
      for (const c of this.children(p)) {
        if (c.name === 'LogfmtParserFlags') flags(c);
        else if (c.name === 'ParserFlag') {
          const f = this.text(c);
          if (f === '--strict') strict = true;
          else if (f === '--keep-empty') keepEmpty = true;
          else throw this.fail(c, `invalid logfmt parser flag ${f}`);
        }
      }
    };
    const f = n.getChild('LogfmtParserFlags');
    if (f) flags(f);
    return { kind: 'logfmt', strict, keepEmpty, params: this.extractionParams(n, false) };
  }

  extractionParams(n: SyntaxNode, json: boolean): ExtractionParam[] {
    const out: ExtractionParam[] = [];
    const visit = (p: SyntaxNode): void => {
      for (const c of this.children(p)) {
        if (c.name === 'LabelExtractionExpressionList') visit(c);
        else if (c.name === 'LabelExtractionExpression') {
          const id = c.getChild('Identifier');
          const s = c.getChild('String');
          if (!id) throw this.fail(c, 'syntax error: unexpected STRING, expecting IDENTIFIER');
          const name = this.text(id);
          const path = s ? this.string(s) : undefined;
          if (json) this.checkJsonPath(s ?? id, path ?? name);
          out.push(path === undefined ? { name } : { name, path });
        }
      }
    };
    visit(n);
    return out;
  }

  private checkJsonPath(n: SyntaxNode, path: string): void {
    if (parseJsonPath(path) === undefined) {
      throw this.fail(n, `cannot parse expression [${path}]: syntax error`);
    }
  }

  labelFormat(n: SyntaxNode): LabelFormatOp[] {
    const out: LabelFormatOp[] = [];
    const visit = (p: SyntaxNode): void => {
      for (const c of this.children(p)) {
        if (c.name === 'LabelsFormat') visit(c);
        else if (c.name === 'LabelFormatMatcher') {
          const [dstId, srcId] = c.getChildren('Identifier');
          const s = c.getChild('String');
          if (!dstId) throw this.fail(c, 'syntax error: unexpected $end');
          const dst = this.text(dstId);
          if (s) out.push({ dst, template: this.string(s) });
          else if (srcId) out.push({ dst, rename: this.text(srcId) });
          else throw this.fail(c, 'syntax error: unexpected $end');
        }
      }
    };
    visit(n);
    const seen = new Set<string>();
    for (const o of out) {
      if (seen.has(o.dst)) throw this.fail(n, `multiple label name '${o.dst}' not allowed in a single format operation`);
      seen.add(o.dst);
    }
    return out;
  }

  nameItems(n: SyntaxNode): LabelNameItem[] {
    const out: LabelNameItem[] = [];
    const visit = (p: SyntaxNode): void => {
      for (const c of this.children(p)) {
        if (c.name === 'DropLabels' || c.name === 'KeepLabels') visit(c);
        else if (c.name === 'DropLabel' || c.name === 'KeepLabel') {
          const m = c.getChild('Matcher');
          if (m) {
            const matcher = this.matcher(m);
            out.push({ name: matcher.name, matcher });
          } else {
            const id = c.getChild('Identifier');
            if (id) out.push({ name: this.text(id) });
          }
        }
      }
    };
    visit(n);
    if (out.length === 0) throw this.fail(n.to, 'syntax error: unexpected $end, expecting IDENTIFIER');
    return out;
  }

  labelFilter(n: SyntaxNode): LabelFilterExpr {
    const kids = this.children(n).filter((c) => !(c.type.isError && c.from === c.to));
    const [only] = kids;
    if (kids.length === 1 && only?.name === 'LabelFilter') return this.labelFilter(only);
    const filters = kids.filter((c) => c.name === 'LabelFilter');
    const [left, right] = filters;
    if (filters.length === 2 && left && right) {
      const isOr = kids.some((c) => c.name === 'Or');
      return { kind: isOr ? 'or' : 'and', left: this.labelFilter(left), right: this.labelFilter(right) };
    }
    const c = kids[0];
    switch (c?.name) {
      case 'Matcher':
        return { kind: 'string', matcher: this.matcher(c) };
      case 'IpLabelFilter': {
        const id = c.getChild('Identifier');
        const s = c.getChild('String');
        if (!id || !s) throw this.fail(c, 'syntax error: invalid ip filter');
        const pattern = this.string(s);
        return { kind: 'ip', name: this.text(id), negate: c.getChild('Neq') !== null, pattern };
      }
      case 'UnitFilter': {
        const f = c.firstChild!;
        const id = f.getChild('Identifier');
        if (!id) throw this.fail(f, 'syntax error: unexpected $end, expecting IDENTIFIER');
        const op = this.compareOp(f);
        if (f.name === 'DurationFilter') {
          const d = f.getChild('Duration')!;
          return { kind: 'duration', name: this.text(id), op, value: this.duration(d) };
        }
        const b = f.getChild('Bytes')!;
        let value: number;
        try {
          value = parseHumanBytes(this.text(b));
        } catch (err) {
          throw this.fail(b, (err as Error).message);
        }
        return { kind: 'bytes', name: this.text(id), op, value };
      }
      case 'NumberFilter': {
        const id = c.getChild('Identifier');
        const lit = c.getChild('LiteralExpr');
        if (!id || !lit) throw this.fail(c, 'syntax error: invalid number filter');
        return { kind: 'number', name: this.text(id), op: this.compareOp(c), value: this.literal(lit) };
      }
      default:
        throw this.fail(n, `syntax error: unexpected ${this.text(n)}`);
    }
  }

  compareOp(n: SyntaxNode): CompareOp {
    for (const c of this.children(n)) {
      switch (c.name) {
        case 'Gtr':
          return '>';
        case 'Gte':
          return '>=';
        case 'Lss':
          return '<';
        case 'Lte':
          return '<=';
        case 'Eql':
        case 'Eq':
          return '==';
        case 'Neq':
          return '!=';
      }
    }
    throw this.fail(n, 'syntax error: missing comparison operator');
  }

  duration(n: SyntaxNode): number {
    const t = this.text(n);
    try {
      return parseQueryDuration(t);
    } catch (err) {
      throw this.fail(n, `not a valid duration string: ${quoteGo(t)}: ${(err as Error).message}`);
    }
  }

  number(n: SyntaxNode, sign = 1): number {
    const t = this.mask.numbers.get(n.from) ?? this.text(n);
    const r = readGoFloat(t);
    if ('error' in r) throw this.fail(n, `unable to parse literal as a float: strconv.ParseFloat: parsing ${quoteGo(t)}: ${r.error}`);
    const v = r.value;
    return sign * v;
  }

  literal(n: SyntaxNode): number {
    const num = n.getChild('Number');
    if (!num) throw this.fail(n, 'syntax error: unexpected $end, expecting NUMBER');
    return this.number(num, n.getChild('Sub') ? -1 : 1);
  }

  // ---------------------------------------------------------------- metric expressions

  metricExpr(n: SyntaxNode): SampleExpr {
    const c = n.firstChild;
    if (!c) throw this.fail(n, 'syntax error: unexpected $end');
    switch (c.name) {
      case 'MetricExpr':
        return this.metricExpr(c);
      case 'RangeAggregationExpr':
        return this.rangeAgg(c);
      case 'VectorAggregationExpr':
        return this.vectorAgg(c);
      case 'BinOpExpr':
        return this.binOp(c);
      case 'LiteralExpr':
        return { kind: 'literal', value: this.literal(c) };
      case 'VectorExpr': {
        const num = c.getChild('Number');
        if (!num) throw this.fail(c, 'syntax error: unexpected $end, expecting NUMBER');
        return { kind: 'vector', value: this.number(num) };
      }
      case 'LabelReplaceExpr':
        return this.labelReplace(c);
      default:
        throw this.fail(c, `syntax error: unexpected ${this.text(c)}`);
    }
  }

  rangeAgg(n: SyntaxNode): SampleExpr {
    const opNode = n.getChild('RangeOp')!;
    const op = this.text(opNode).toLowerCase() as RangeOp;
    const num = n.getChild('Number');
    const lr = n.getChild('LogRangeExpr');
    if (!lr) throw this.fail(n, 'syntax error: unexpected $end');
    const range = this.logRange(lr);
    const groupingNode = n.getChild('Grouping');
    const grouping = groupingNode ? this.grouping(groupingNode) : undefined;
    let param: number | undefined;
    if (op === 'quantile_over_time') {
      if (!num) throw this.fail(n, 'syntax error: unexpected $end, expecting NUMBER');
      param = this.number(num);
    } else if (num) {
      throw this.fail(num, `invalid parameter for ${op}`);
    }
    if (range.unwrap && UNWRAP_FORBIDDEN.has(op)) throw this.fail(n, `invalid aggregation ${op} with unwrap`);
    if (!range.unwrap && UNWRAP_REQUIRED.has(op)) throw this.fail(n, `invalid aggregation ${op} without unwrap`);
    if (grouping && !GROUPING_ALLOWED.has(op)) throw this.fail(n, `grouping not allowed for ${op} aggregation`);
    return { kind: 'rangeAgg', op, param, range, grouping };
  }

  logRange(n: SyntaxNode): LogRange {
    const sel = n.getChild('Selector');
    if (!sel) throw this.fail(n, 'syntax error: expecting selector');
    const pipeline = n.getChild('PipelineExpr');
    const selector: LogSelectorExpr = {
      kind: 'logSelector',
      matchers: this.selector(sel),
      stages: pipeline ? this.pipeline(pipeline) : [],
    };
    const rangeNode = n.getChild('Range');
    if (!rangeNode) throw this.fail(n, 'syntax error: missing range');
    const rangeNs = this.duration(rangeNode.getChild('Duration')!);
    const off = n.getChild('OffsetExpr');
    let offsetNs = off ? this.duration(off.getChild('Duration')!) : 0;
    const masked = this.mask.offsets.get(rangeNode.to - 1);
    if (!off && masked) {
      try {
        offsetNs = parseQueryDuration(masked.text);
      } catch (err) {
        throw this.fail(masked.pos, `not a valid duration string: ${quoteGo(masked.text)}: ${(err as Error).message}`);
      }
    }
    const uw = n.getChild('UnwrapExpr');
    const unwrap = uw ? this.unwrap(uw) : undefined;
    return { selector, rangeNs, offsetNs, unwrap };
  }

  unwrap(n: SyntaxNode): Unwrap {
    const inner = n.getChild('UnwrapExpr');
    if (inner) {
      const base = this.unwrap(inner);
      const lf = n.getChild('LabelFilter');
      return { ...base, postFilters: lf ? [...base.postFilters, this.labelFilter(lf)] : base.postFilters };
    }
    const id = n.getChild('Identifier');
    if (!id) throw this.fail(n, 'syntax error: unexpected $end, expecting IDENTIFIER');
    const conv = n.getChild('ConvOp');
    const convName = conv ? (this.text(conv).toLowerCase() as UnwrapConv) : undefined;
    return { label: this.text(id), conv: convName, postFilters: [] };
  }

  grouping(n: SyntaxNode): Grouping {
    const without = n.getChild('Without') !== null;
    const labels: string[] = [];
    const visit = (p: SyntaxNode): void => {
      for (const c of this.children(p)) {
        if (c.name === 'Labels') visit(c);
        else if (c.name === 'Identifier') labels.push(this.text(c));
      }
    };
    visit(n);
    return { without, labels };
  }

  vectorAgg(n: SyntaxNode): SampleExpr {
    const opNode = n.getChild('VectorOp')!;
    let op = this.text(opNode).trim().toLowerCase() as VectorOp;
    if (this.mask.approxTopk.has(opNode.from)) op = 'approx_topk';
    const inner = n.getChild('MetricExpr');
    if (!inner) throw this.fail(n, 'syntax error: unexpected $end');
    const groupingNode = n.getChild('Grouping');
    const grouping = groupingNode ? this.grouping(groupingNode) : undefined;
    const num = n.getChild('Number');
    let param: number | undefined;
    const name = op;
    if (op === 'topk' || op === 'bottomk' || op === 'approx_topk') {
      if (!num) throw this.fail(n, `parameter required for operation ${name}`);
      param = this.number(num);
      if (!Number.isInteger(param) || param <= 0) {
        throw this.fail(num, `invalid parameter ${name}(${this.text(num)},`);
      }
      if (op === 'approx_topk' && grouping) throw this.fail(n, 'grouping not allowed for approx_topk aggregation');
    } else if (num) {
      throw this.fail(num, `unsupported parameter for operation ${name}(${this.text(num)},`);
    }
    return { kind: 'vectorAgg', op, param, inner: this.metricExpr(inner), grouping };
  }

  labelReplace(n: SyntaxNode): SampleExpr {
    const inner = n.getChild('MetricExpr');
    const strs = n.getChildren('String');
    const [dstNode, replacementNode, srcNode, regexNode] = strs;
    if (!inner || !dstNode || !replacementNode || !srcNode || !regexNode || strs.length !== 4) {
      throw this.fail(n, 'syntax error: label_replace takes 5 arguments');
    }
    const dst = this.string(dstNode);
    const replacement = this.string(replacementNode);
    const src = this.string(srcNode);
    const regex = this.string(regexNode);
    try {
      compileRe2(regex);
    } catch (err) {
      // Loki reports it without a position.
      throw parseError(`invalid regex in label_replace: ${(err as Error).message}`);
    }
    return { kind: 'labelReplace', inner: this.metricExpr(inner), dst, replacement, src, regex };
  }

  /** Flattens an operator chain the grammar built without precedence and rebuilds it with precedence. */
  binOp(n: SyntaxNode): SampleExpr {
    const operands: SampleExpr[] = [];
    const operators: BinOperator[] = [];
    const flatten = (b: SyntaxNode): void => {
      const [lhs, opNode, modNode, rhs] = this.binParts(b);
      this.operand(lhs, operands, operators, flatten);
      operators.push(this.binOperator(opNode, modNode));
      this.operand(rhs, operands, operators, flatten);
    };
    flatten(n);
    // Precedence climbing over the flat list; ^ is right-associative.
    let pos = 0;
    const parseLevel = (minPrec: number): SampleExpr => {
      let left = operands[pos];
      if (left === undefined) throw this.fail(n, 'syntax error: incomplete binary operation');
      for (let o = operators[pos]; o !== undefined; o = operators[pos]) {
        const prec = PRECEDENCE[o.op];
        if (prec < minPrec) break;
        pos++;
        const right = parseLevel(o.op === '^' ? prec : prec + 1);
        left = this.makeBinary(n, o, left, right);
      }
      return left;
    };
    const out = parseLevel(0);
    return out;
  }

  private binParts(b: SyntaxNode): [SyntaxNode, SyntaxNode, SyntaxNode | null, SyntaxNode] {
    const kids = this.children(b);
    const exprs = kids.filter((k) => k.name === 'Expr');
    const opNode = kids.find((k) => BINOP_NODES[k.name] !== undefined);
    const mod = kids.find((k) => k.name === 'BinOpModifier') ?? null;
    const [lhs, rhs] = exprs;
    if (exprs.length !== 2 || !opNode || !lhs || !rhs) throw this.fail(b, 'syntax error: incomplete binary operation');
    return [lhs, opNode, mod, rhs];
  }

  /** An operand: an unparenthesized binary expression is flattened into the chain; anything else is parsed. */
  private operand(
    e: SyntaxNode,
    operands: SampleExpr[],
    _operators: BinOperator[],
    flatten: (b: SyntaxNode) => void,
  ): void {
    const m = e.firstChild;
    if (m && m.name === 'MetricExpr') {
      const b = m.firstChild;
      if (b && b.name === 'BinOpExpr' && b.from === m.from && b.to === m.to) {
        flatten(b);
        return;
      }
      operands.push(this.metricExpr(m));
      return;
    }
    if (m && m.name === 'LogExpr') throw this.fail(m, 'syntax error: unexpected log selector in a binary operation');
    throw this.fail(e, 'syntax error: unexpected $end');
  }

  private binOperator(opNode: SyntaxNode, mod: SyntaxNode | null): BinOperator {
    const op = BINOP_NODES[opNode.name];
    if (op === undefined) throw this.fail(opNode, 'syntax error: unexpected operator');
    let returnBool = false;
    let matching: VectorMatching | undefined;
    if (mod) {
      returnBool = mod.getChild('Bool') !== null;
      const oi = mod.getChild('OnOrIgnoringModifier');
      const gl = mod.getChild('GroupLeft');
      const gr = mod.getChild('GroupRight');
      let include: string[] = [];
      const groupingLabels = mod.getChildren('GroupingLabels').at(-1);
      if ((gl || gr) && groupingLabels) include = this.groupingLabels(groupingLabels);
      if (oi) {
        const labelsNode = oi.getChild('GroupingLabels');
        matching = {
          on: oi.getChild('On') !== null,
          labels: labelsNode ? this.groupingLabels(labelsNode) : [],
          card: gl ? 'many-to-one' : gr ? 'one-to-many' : 'one-to-one',
          include,
        };
      } else if (gl || gr) {
        matching = { on: false, labels: [], card: gl ? 'many-to-one' : 'one-to-many', include };
      }
    }
    const isComparison = ['==', '!=', '>', '>=', '<', '<='].includes(op);
    if (returnBool && !isComparison) throw this.fail(opNode, 'bool modifier can only be used on comparison operators');
    return { op, returnBool, matching };
  }

  private groupingLabels(n: SyntaxNode): string[] {
    const out: string[] = [];
    const cursor = n.cursor();
    do {
      if (cursor.name === 'LabelName') out.push(this.src.slice(cursor.from, cursor.to));
    } while (cursor.next() && cursor.from < n.to);
    return out;
  }

  private makeBinary(n: SyntaxNode, o: BinOperator, left: SampleExpr, right: SampleExpr): SampleExpr {
    const setOp = o.op === 'and' || o.op === 'or' || o.op === 'unless';
    if (setOp) {
      if (left.kind === 'literal') throw this.fail(n, 'unexpected literal for left leg of logical/set binary operation (and)'.replace('(and)', `(${o.op})`));
      if (right.kind === 'literal') throw this.fail(n, `unexpected literal for right leg of logical/set binary operation (${o.op})`);
    }
    if (left.kind === 'literal' && right.kind === 'literal') {
      return { kind: 'literal', value: foldScalar(o.op, left.value, right.value) };
    }
    return { kind: 'binary', op: o.op, returnBool: o.returnBool, matching: o.matching, left, right };
  }
}

/** Applies a binary operator to two scalars (comparisons give 0/1, with or without `bool`, as Loki does). */
export function foldScalar(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return b === 0 ? NaN : a / b;
    case '%':
      return b === 0 ? NaN : goMod(a, b);
    case '^':
      return Math.pow(a, b);
    case '==':
      return a === b ? 1 : 0;
    case '!=':
      return a !== b ? 1 : 0;
    case '>':
      return a > b ? 1 : 0;
    case '>=':
      return a >= b ? 1 : 0;
    case '<':
      return a < b ? 1 : 0;
    case '<=':
      return a <= b ? 1 : 0;
    default:
      return NaN;
  }
}

/** Go's math.Mod: the result has the sign of the dividend (JavaScript's % agrees). */
export function goMod(a: number, b: number): number {
  return a % b;
}

/** One step of a JSON path: an object key or an array index. */
export type JsonPathStep = string | number;

/**
 * Parses a `json` stage path expression: `a.b`, `a[0]`, `["a.b"]`, `a["b"][1]`. Returns undefined when the
 * syntax is invalid (Loki then fails with "cannot parse expression").
 */
export function parseJsonPath(path: string): JsonPathStep[] | undefined {
  const out: JsonPathStep[] = [];
  let i = 0;
  const ident = /^[A-Za-z0-9_\-$@:/ ]+/;
  if (path === '') return undefined;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      if (i === 0) return undefined;
      i++;
      const m = ident.exec(path.slice(i));
      if (!m) return undefined;
      out.push(m[0]);
      i += m[0].length;
    } else if (c === '[') {
      const rest = path.slice(i);
      const idx = /^\[(\d+)\]/.exec(rest);
      const key = /^\[\s*"((?:[^"\\]|\\.)*)"\s*\]/.exec(rest) ?? /^\[\s*'((?:[^'\\]|\\.)*)'\s*\]/.exec(rest);
      if (idx) {
        out.push(Number(idx[1]));
        i += idx[0].length;
      } else if (key) {
        out.push(key[1]!.replace(/\\(.)/g, '$1')); // group 1 is not optional
        i += key[0].length;
      } else return undefined;
    } else if (i === 0) {
      const m = ident.exec(path);
      if (!m) return undefined;
      out.push(m[0]);
      i += m[0].length;
    } else return undefined;
  }
  return out;
}


