import type { RE2JS } from 're2js';
import { GoTemplate, TemplateError, compareStrings, compileMatcher, compileRe2, outputTooLong, parseGoFloat } from '../model/index.ts';
import type { GoValue, Labels, LabelMatcher } from '../model/index.ts';
import type { LabelFilterExpr, LineFilterStage, Stage } from './ast.ts';
import { LogqlError } from './errors.ts';
import { compileIpMatcher } from './ip.ts';
import {
  JsonLineFlattener,
  jsonAtPath,
  jsonNodeText,
  JsonSyntaxError,
  parseJsonNode,
  LogfmtScanner,
  sanitizeLabelKey,
} from './line-parsers.ts';
import { parseJsonPath } from './parser.ts';
import { LogPattern } from './pattern.ts';
import { lokiTemplateFunctions } from './template-functions.ts';
import { parseGoDuration, parseHumanBytes } from './units.ts';

/** The label a failing pipeline stage sets, and its human-readable companion. */
export const ERROR_LABEL = '__error__';
const ERROR_DETAILS_LABEL = '__error_details__';

const EXTRACTED_SUFFIX = '_extracted';

/**
 * The labels of one log entry as it moves through a pipeline: the stream's labels, then structured metadata
 * and parsed fields. A name taken by a higher-precedence source (stream > metadata > parsed) lands under
 * `<name>_extracted`, as in Loki. Errors live in the map as `__error__`/`__error_details__`.
 */
export class LabelsBuilder {
  readonly current = new Map<string, string>();
  private stream: Labels = {};
  private metadataNames: Set<string> | undefined;
  /** Keys (after `_extracted` renaming) currently holding structured metadata. */
  private metadataKeys: Set<string> | undefined;
  /** True once anything differs from the stream labels (lets callers reuse the stream's key). */
  changed = false;

  reset(stream: Labels, metadata: Labels | undefined): void {
    this.current.clear();
    this.stream = stream;
    for (const [k, v] of Object.entries(stream)) this.current.set(k, v);
    this.changed = false;
    this.metadataNames = undefined;
    this.metadataKeys = undefined;
    if (metadata) {
      for (const [k, v] of Object.entries(metadata)) {
        const key = Object.hasOwn(stream, k) ? k + EXTRACTED_SUFFIX : k;
        (this.metadataNames ??= new Set()).add(k);
        (this.metadataKeys ??= new Set()).add(key);
        this.current.set(key, v);
        this.changed = true;
      }
    }
  }

  get(name: string): string | undefined {
    return this.current.get(name);
  }

  /** Sets a parsed field, renaming it to `<name>_extracted` when the stream or metadata hold the name. */
  setParsed(name: string, value: string): void {
    const key = Object.hasOwn(this.stream, name) || this.metadataNames?.has(name) ? name + EXTRACTED_SUFFIX : name;
    this.current.set(key, value);
    this.metadataKeys?.delete(key);
    this.changed = true;
  }

  set(name: string, value: string): void {
    this.current.set(name, value);
    this.changed = true;
  }

  delete(name: string): void {
    if (this.current.delete(name)) this.changed = true;
  }

  hasErr(): boolean {
    return this.current.has(ERROR_LABEL);
  }

  /** Records a stage failure; the first error and its details win (Loki sets some errors without details). */
  setErr(type: string, details?: string): void {
    if (!this.current.has(ERROR_LABEL)) this.current.set(ERROR_LABEL, type);
    if (details !== undefined && !this.current.has(ERROR_DETAILS_LABEL)) this.current.set(ERROR_DETAILS_LABEL, details);
    this.changed = true;
  }

  /** The label set, sorted by name. */
  labels(): Labels {
    // Built with fromEntries (own properties), so `__proto__` and `constructor` are ordinary names.
    return Object.fromEntries([...this.current.entries()].sort(([a], [b]) => compareStrings(a, b)));
  }

  /** A canonical key of the current labels (equal for equal sets). */
  key(): string {
    const keys = [...this.current.keys()].sort(compareStrings);
    let s = '';
    for (const k of keys) s += `${k}\u0000${this.current.get(k)}\u0001`;
    return s;
  }

  /**
   * The labels split as Loki's categorize-labels encoding does: stream labels (the stream's own names),
   * structured metadata, and everything stages added (parsed fields, label_format, errors).
   */
  categorized(): { stream: Labels; metadata: Labels; parsed: Labels } {
    const stream: [string, string][] = [];
    const metadata: [string, string][] = [];
    const parsed: [string, string][] = [];
    for (const k of [...this.current.keys()].sort(compareStrings)) {
      const v = this.current.get(k)!;
      if (Object.hasOwn(this.stream, k)) stream.push([k, v]);
      else if (this.metadataKeys?.has(k)) metadata.push([k, v]);
      else parsed.push([k, v]);
    }
    return { stream: Object.fromEntries(stream), metadata: Object.fromEntries(metadata), parsed: Object.fromEntries(parsed) };
  }

  asTemplateData(): Record<string, GoValue> {
    return Object.fromEntries(this.current);
  }
}

/** Canonical key of a plain label set, compatible with {@link LabelsBuilder.key}. */
export function labelsSetKey(labels: Labels): string {
  let s = '';
  for (const k of Object.keys(labels).sort(compareStrings)) s += `${k}\u0000${labels[k]}\u0001`;
  return s;
}

/** One entry flowing through a pipeline. `line` may be rewritten by stages. */
export interface EntryState {
  line: string;
  timestampNs: bigint;
  readonly lb: LabelsBuilder;
}

type StageFn = (st: EntryState) => boolean;

/** A compiled pipeline: runs every stage in order; false means the entry was filtered out. */
export interface Pipeline {
  readonly stages: readonly StageFn[];
  /** True when no stage changes labels (so the stream's labels are the result). */
  readonly keepsLabels: boolean;
  process(st: EntryState): boolean;
}

/** Budgets a pipeline enforces on every entry. */
export interface PipelineBudget {
  /**
   * The largest line a `line_format`, or label value a `label_format`, may produce (Loki's `max_line_size`):
   * a larger output is a `TemplateFormatErr` for that entry, and is never built in full.
   */
  readonly maxLineBytes: number;
  /** Called while templates run (every 1024 steps); throws to stop the query (its deadline). */
  readonly tick?: () => void;
}

/** Loki's default `max_line_size` (256 KiB). */
export const DEFAULT_PIPELINE_BUDGET: PipelineBudget = { maxLineBytes: 256 * 1024 };

/**
 * Compiles pipeline stages; invalid regexps, patterns, templates and ip() patterns throw `bad_data`.
 * `neededLabels` (parser hints, as Loki's) names the only labels anything downstream reads: parsers then
 * skip other keys. Leave it undefined when the full label set matters (series identity, templates).
 */
export function compilePipeline(stages: readonly Stage[], neededLabels?: ReadonlySet<string>, budget: PipelineBudget = DEFAULT_PIPELINE_BUDGET): Pipeline {
  const wants = neededLabels ? (k: string): boolean => neededLabels.has(k) || neededLabels.has(`${k}_extracted`) : undefined;
  const fns = stages.map((s) => compileStage(s, wants, budget));
  const keepsLabels = stages.every((s) => s.kind === 'lineFilter' || s.kind === 'lineFormat' || s.kind === 'decolorize' || s.kind === 'labelFilter');
  return {
    stages: fns,
    keepsLabels,
    process(st: EntryState): boolean {
      for (const fn of fns) if (!fn(st)) return false;
      return true;
    },
  };
}

function bad(message: string, cause?: unknown): LogqlError {
  return new LogqlError('bad_data', `parse error : ${message}`, cause === undefined ? undefined : { cause });
}

function compileStage(s: Stage, wants: ((key: string) => boolean) | undefined, budget: PipelineBudget): StageFn {
  switch (s.kind) {
    case 'lineFilter': {
      const f = compileLineFilter(s);
      return (st) => f(st.line);
    }
    case 'json':
      return s.params.length > 0 ? jsonExpressionStage(s.params) : jsonStage(wants);
    case 'logfmt':
      return logfmtStage(s.strict, s.keepEmpty, s.params, wants);
    case 'regexp':
      return regexpStage(s.pattern);
    case 'pattern':
      return patternStage(s.pattern);
    case 'unpack':
      return unpackStage();
    case 'labelFilter': {
      const f = compileLabelFilter(s.filter);
      return (st) => f(st.lb);
    }
    case 'lineFormat':
      return lineFormatStage(s.template, budget);
    case 'labelFormat':
      return labelFormatStage(s.ops, budget);
    case 'drop':
      return dropKeepStage(s.items, false);
    case 'keep':
      return dropKeepStage(s.items, true);
    case 'decolorize':
      return (st) => {
        st.line = decolorize(st.line);
        return true;
      };
  }
}

// ------------------------------------------------------------------------------------------------ line filters

/** Compiles one line filter (with its `or` operands) into a predicate over the line. */
function compileLineFilter(s: LineFilterStage): (line: string) => boolean {
  const negative = s.op === '!=' || s.op === '!~' || s.op === '!>';
  const preds = s.values.map((v): ((line: string) => boolean) => {
    if (v.kind === 'ip') {
      try {
        const m = compileIpMatcher(v.value);
        return (line) => m.contains(line);
      } catch (err) {
        throw bad((err as Error).message, err);
      }
    }
    switch (s.op) {
      case '|=':
      case '!=': {
        const needle = v.value;
        if (needle === '') return () => true;
        return (line) => line.includes(needle);
      }
      case '|~':
      case '!~': {
        let re: RE2JS;
        try {
          re = compileRe2(v.value);
        } catch (err) {
          throw bad((err as Error).message, err);
        }
        return (line) => re.test(line);
      }
      case '|>':
      case '!>': {
        let p: LogPattern;
        try {
          p = LogPattern.parse(v.value, true);
        } catch (err) {
          throw bad((err as Error).message, err);
        }
        return (line) => p.test(line);
      }
    }
  });
  const [p] = preds;
  if (p && preds.length === 1) {
    return negative ? (line) => !p(line) : p;
  }
  return negative ? (line) => !preds.some((p) => p(line)) : (line) => preds.some((p) => p(line));
}

// ------------------------------------------------------------------------------------------------ parsers

function jsonStage(wants: ((key: string) => boolean) | undefined): StageFn {
  let lb: LabelsBuilder;
  // One scanner and one emitter for every line (no closure per line); `lb` is the current entry's builder.
  const emit = (k: string, v: string): void => lb.setParsed(k, v);
  const scanner = new JsonLineFlattener();
  return (st) => {
    lb = st.lb;
    try {
      scanner.flatten(st.line, emit, wants);
    } catch (err) {
      if (err instanceof JsonSyntaxError) st.lb.setErr('JSONParserErr', err.message);
      else throw err;
    }
    return true;
  };
}

function jsonExpressionStage(params: readonly { name: string; path?: string }[]): StageFn {
  const paths = params.map((p) => {
    const steps = parseJsonPath(p.path ?? p.name);
    if (!steps) throw bad(`cannot parse expression [${p.path ?? p.name}]: syntax error`);
    return { name: p.name, steps };
  });
  return (st) => {
    // Loki's JSONExpressionParser looks at the first byte only: an empty line is left alone; a line that
    // cannot start JSON gets `JSONParserErr` without details; a line starting an array or a string (such
    // as `[webpack] ...`) is scanned for object keys, finds none, and is kept without an error.
    if (st.line.length === 0) return true;
    const first = st.line.charCodeAt(0);
    if (first !== 0x7b /* { */ && first !== 0x5b /* [ */ && first !== 0x22 /* " */) {
      st.lb.setErr('JSONParserErr');
      return true;
    }
    let root;
    try {
      root = parseJsonNode(st.line);
    } catch (err) {
      if (!(err instanceof JsonSyntaxError)) throw err;
      if (first === 0x7b) {
        st.lb.setErr('JSONParserErr', err.message);
        return true;
      }
      root = undefined;
    }
    for (const p of paths) st.lb.setParsed(p.name, jsonNodeText(root === undefined ? undefined : jsonAtPath(root, p.steps)));
    return true;
  };
}

function logfmtStage(strict: boolean, keepEmpty: boolean, params: readonly { name: string; path?: string }[], wants: ((key: string) => boolean) | undefined): StageFn {
  const wanted = params.length > 0 ? new Map(params.map((p) => [p.path ?? p.name, p.name])) : undefined;
  const scanner = new LogfmtScanner();
  const seen = new Set<string>();
  // Pairs are buffered so a strict-mode error can discard them; `lb` is the current entry's builder.
  const keys: string[] = [];
  const values: string[] = [];
  const emit = (rawKey: string, value: string): void => {
    let key: string;
    if (wanted) {
      const name = wanted.get(rawKey);
      if (name === undefined) return;
      key = name;
    } else {
      key = sanitizeLabelKey(rawKey, true);
      if (wants && !wants(key)) return;
    }
    if (key === '' || seen.has(key)) return;
    seen.add(key);
    if (value === '' && !keepEmpty) return;
    keys.push(key);
    values.push(value);
  };
  return (st) => {
    seen.clear();
    keys.length = 0;
    values.length = 0;
    const error = scanner.scan(st.line, strict, emit);
    if (error && strict) {
      st.lb.setErr('LogfmtParserErr', error);
      return true;
    }
    keys.forEach((key, k) => st.lb.setParsed(key, values[k]!)); // emit pushes to both
    return true;
  };
}

function regexpStage(pattern: string): StageFn {
  const names: string[] = [];
  const nameRe = /\(\?P?<([^>]*)>/g;
  let m: RegExpExecArray | null;
  while ((m = nameRe.exec(pattern)) !== null) {
    const name = m[1]!; // group 1 is not optional
    if (names.includes(name)) throw bad(`duplicate extracted label name '${name}'`);
    names.push(name);
  }
  let re: RE2JS;
  try {
    re = compileRe2(pattern);
  } catch (err) {
    throw bad((err as Error).message, err);
  }
  const groups = re.namedGroups();
  const entries = Object.entries(groups);
  if (entries.length === 0) throw bad('at least one named capture must be supplied');
  for (const [name] of entries) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw bad(`invalid extracted label name '${name}'`);
  }
  return (st) => {
    const matcher = re.matcher(st.line);
    if (!matcher.find()) return true;
    for (const [name, idx] of entries) {
      const v = matcher.group(idx);
      if (v !== null) st.lb.setParsed(name, v);
    }
    return true;
  };
}

function patternStage(pattern: string): StageFn {
  let p: LogPattern;
  try {
    p = LogPattern.parse(pattern, false);
  } catch (err) {
    throw bad((err as Error).message, err);
  }
  const names = p.names;
  return (st) => {
    const vals = p.matches(st.line);
    for (const [i, v] of vals.entries()) {
      const name = names[i];
      if (name === undefined) break;
      st.lb.setParsed(name, v);
    }
    return true;
  };
}

function unpackStage(): StageFn {
  return (st) => {
    let root;
    try {
      root = parseJsonNode(st.line);
    } catch (err) {
      if (err instanceof JsonSyntaxError) {
        st.lb.setErr('JSONParserErr', err.message);
        return true;
      }
      throw err;
    }
    if (root.t !== 'object') {
      st.lb.setErr('JSONParserErr', "Value looks like object, but can't find closing '}' symbol");
      return true;
    }
    let entry: string | undefined;
    for (const [k, v] of root.entries) {
      if (v.t !== 'string') continue;
      if (k === '_entry') {
        entry = v.value;
        continue;
      }
      const key = sanitizeLabelKey(k, true);
      if (key !== '') st.lb.setParsed(key, v.value);
    }
    if (entry !== undefined) st.line = entry;
    return true;
  };
}

// ------------------------------------------------------------------------------------------------ label filters

/** Compiles a label filter expression into a predicate that may record errors on the builder. */
export function compileLabelFilter(f: LabelFilterExpr): (lb: LabelsBuilder) => boolean {
  switch (f.kind) {
    case 'and': {
      const l = compileLabelFilter(f.left);
      const r = compileLabelFilter(f.right);
      return (lb) => {
        const a = l(lb);
        const b = r(lb);
        return a && b;
      };
    }
    case 'or': {
      const l = compileLabelFilter(f.left);
      const r = compileLabelFilter(f.right);
      return (lb) => l(lb) || r(lb);
    }
    case 'string': {
      let pred: (v: string) => boolean;
      try {
        pred = compileMatcher(f.matcher);
      } catch (err) {
        throw bad((err as Error).message, err);
      }
      const name = f.matcher.name;
      return (lb) => pred(lb.get(name) ?? '');
    }
    case 'ip': {
      let m: ReturnType<typeof compileIpMatcher>;
      try {
        m = compileIpMatcher(f.pattern);
      } catch (err) {
        throw bad((err as Error).message, err);
      }
      const { name, negate } = f;
      return (lb) => {
        if (lb.hasErr()) return true;
        const v = lb.get(name);
        if (v === undefined) return false;
        return m.contains(v) !== negate;
      };
    }
    case 'number':
    case 'duration':
    case 'bytes': {
      const convert: (s: string) => number =
        f.kind === 'number' ? parseGoFloat : f.kind === 'duration' ? parseGoDuration : parseHumanBytes;
      const { name, op, value } = f;
      const cmp = compareFn(op);
      // Converting filters cannot read the error labels: Loki keeps errors outside the label set.
      if (name === ERROR_LABEL || name === ERROR_DETAILS_LABEL) return () => false;
      return (lb) => {
        const v = lb.get(name);
        if (v === undefined) return false;
        let x: number;
        try {
          x = convert(v);
        } catch (err) {
          // Keep the line so the error surfaces (or a later __error__ filter drops it); the first
          // failing filter's details win.
          lb.setErr('LabelFilterErr', (err as Error).message);
          return true;
        }
        return cmp(x, value);
      };
    }
  }
}

function compareFn(op: string): (a: number, b: number) => boolean {
  switch (op) {
    case '==':
      return (a, b) => a === b;
    case '!=':
      return (a, b) => a !== b;
    case '>':
      return (a, b) => a > b;
    case '>=':
      return (a, b) => a >= b;
    case '<':
      return (a, b) => a < b;
    default:
      return (a, b) => a <= b;
  }
}

// ------------------------------------------------------------------------------------------------ formatters

function compileTemplate(name: string, source: string, budget: PipelineBudget): { tmpl: GoTemplate; entry: { line: string; timestampNs: bigint } } {
  const entry = { line: '', timestampNs: 0n };
  try {
    return { tmpl: new GoTemplate(name, source, lokiTemplateFunctions(entry, budget.maxLineBytes)), entry };
  } catch (err) {
    if (err instanceof TemplateError) throw bad(err.message, err);
    throw err;
  }
}

/**
 * Runs a formatter's template within the line budget: characters are bounded while the output is
 * produced, bytes (UTF-8) once it is done.
 */
function executeBounded(tmpl: GoTemplate, data: Record<string, GoValue>, budget: PipelineBudget): string {
  const out = tmpl.execute(data, { maxOutputBytes: budget.maxLineBytes, tick: budget.tick });
  if (out.length * 3 > budget.maxLineBytes && Buffer.byteLength(out) > budget.maxLineBytes) {
    throw new TemplateError(`template: ${tmpl.name}: ${outputTooLong(budget.maxLineBytes)}`);
  }
  return out;
}

function lineFormatStage(source: string, budget: PipelineBudget): StageFn {
  const { tmpl, entry } = compileTemplate('line', source, budget);
  return (st) => {
    entry.line = st.line;
    entry.timestampNs = st.timestampNs;
    try {
      st.line = executeBounded(tmpl, st.lb.asTemplateData(), budget);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      st.lb.setErr('TemplateFormatErr', err.message);
    }
    return true;
  };
}

function labelFormatStage(ops: readonly { dst: string; rename?: string; template?: string }[], budget: PipelineBudget): StageFn {
  const compiled = ops.map((o) => ({
    dst: o.dst,
    rename: o.rename,
    t: o.template !== undefined ? compileTemplate('label', o.template, budget) : undefined,
  }));
  return (st) => {
    const data = compiled.some((c) => c.t) ? st.lb.asTemplateData() : undefined;
    for (const c of compiled) {
      if (c.rename !== undefined) {
        const v = st.lb.get(c.rename);
        if (v === undefined) continue;
        st.lb.delete(c.rename);
        st.lb.set(c.dst, v);
        continue;
      }
      const t = c.t!;
      t.entry.line = st.line;
      t.entry.timestampNs = st.timestampNs;
      try {
        st.lb.set(c.dst, executeBounded(t.tmpl, data!, budget));
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        st.lb.setErr('TemplateFormatErr', err.message);
      }
    }
    return true;
  };
}

function dropKeepStage(items: readonly { name: string; matcher?: LabelMatcher }[], keep: boolean): StageFn {
  const compiled = items.map((i) => {
    try {
      return { name: i.name, pred: i.matcher ? compileMatcher(i.matcher) : undefined };
    } catch (err) {
      throw bad((err as Error).message, err);
    }
  });
  if (!keep) {
    return (st) => {
      for (const c of compiled) {
        const v = st.lb.get(c.name);
        if (v === undefined) continue;
        if (!c.pred || c.pred(v)) st.lb.delete(c.name);
      }
      return true;
    };
  }
  return (st) => {
    for (const name of [...st.lb.current.keys()]) {
      if (name === ERROR_LABEL || name === ERROR_DETAILS_LABEL) continue;
      const v = st.lb.current.get(name)!;
      const kept = compiled.some((c) => c.name === name && (!c.pred || c.pred(v)));
      if (!kept) st.lb.delete(name);
    }
    return true;
  };
}

// eslint-disable-next-line no-control-regex
const ANSI = /[\u001B\u009B][[\]()#;?]*(?:(?:(?:[a-zA-Z\d]*(?:;[a-zA-Z\d]*)*)?\u0007)|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PRZcf-ntqry=><~]))/g;

/** Removes ANSI escape sequences (colours, cursor movement) from a line. */
function decolorize(line: string): string {
  return line.includes('\u001b') || line.includes('\u009b') ? line.replace(ANSI, '') : line;
}

/** Loki's UTF-8 byte length of a line (what bytes_over_time sums). */
export function lineBytes(line: string): number {
  return Buffer.byteLength(line, 'utf8');
}
