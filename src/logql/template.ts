/**
 * A compact interpreter for Go's text/template, the language of LogQL's `line_format` and `label_format`.
 *
 * Supported: text and actions with `{{-`/`-}}` trimming and comments; pipelines with `|`; fields (`.a.b`),
 * `.`, `$`, variables (`$x := ...`, `$x = ...`); string (interpreted and raw), char, number, bool and nil
 * constants; parenthesized pipelines; `if`/`else if`/`else`, `range` (over lists, maps, integers) with
 * `else`, `break`/`continue`, `with`/`else`; the Go builtins (and, or, not, len, index, slice, print,
 * printf, println, eq, ne, lt, le, gt, ge, html, js, urlquery, call is not) plus the functions the caller
 * passes. Missing map keys render as "" (Loki uses `missingkey=zero`).
 *
 * Values: Go ints are bigint, float64 are number, strings, booleans, null (nil), arrays, plain objects.
 */

export type GoValue = string | number | bigint | boolean | null | undefined | GoValue[] | { [k: string]: GoValue } | Date;

/** A template function. Throwing an Error aborts execution with that message. */
export type TemplateFunc = (...args: GoValue[]) => GoValue;

/** A template failed to parse or execute; `message` follows Go's `template: NAME:LINE: ...` form. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

// ------------------------------------------------------------------------------------------------ AST

type Node =
  | { t: 'text'; text: string }
  | { t: 'action'; pipe: Pipe; line: number }
  | { t: 'if' | 'with'; pipe: Pipe; list: Node[]; elseList?: Node[]; line: number }
  | { t: 'range'; pipe: Pipe; list: Node[]; elseList?: Node[]; line: number }
  | { t: 'break' | 'continue'; line: number };

interface Pipe {
  decl: string[];
  isAssign: boolean;
  cmds: Arg[][];
}

type Arg =
  | { t: 'field'; names: string[] } // .a.b
  | { t: 'dot' }
  | { t: 'var'; name: string; names: string[] } // $x.a
  | { t: 'ident'; name: string }
  | { t: 'const'; value: GoValue }
  | { t: 'pipe'; pipe: Pipe; names: string[] };

// ------------------------------------------------------------------------------------------------ lexer

interface Tok {
  k: 'field' | 'var' | 'ident' | 'string' | 'char' | 'number' | 'lparen' | 'rparen' | 'pipe' | 'decl' | 'assign' | 'comma' | 'dot';
  v: string;
}

const BUILTIN_NAMES = new Set([
  'and', 'or', 'not', 'len', 'index', 'slice', 'print', 'printf', 'println', 'eq', 'ne', 'lt', 'le', 'gt', 'ge',
  'html', 'js', 'urlquery',
]);

/** A parsed template, ready to execute many times. Immutable; safe to share. */
export class GoTemplate {
  private readonly root: Node[];
  constructor(
    readonly name: string,
    source: string,
    private readonly funcs: Readonly<Record<string, TemplateFunc>>,
  ) {
    this.root = new TemplateParser(name, source, funcs).parse();
  }

  /** Runs the template with `data` as dot. Throws {@link TemplateError}. */
  execute(data: GoValue): string {
    const st = new ExecState(this.name, this.funcs, data);
    const out: string[] = [];
    st.walkList(this.root, data, out);
    return out.join('');
  }
}

class TemplateParser {
  private pos = 0;
  private line = 1;
  constructor(
    private readonly name: string,
    private readonly src: string,
    private readonly funcs: Readonly<Record<string, TemplateFunc>>,
  ) {}

  private err(msg: string, line = this.line): TemplateError {
    return new TemplateError(`template: ${this.name}:${line}: ${msg}`);
  }

  parse(): Node[] {
    const { list, end } = this.parseList();
    if (end) throw this.err(`unexpected {{${end}}}`);
    return list;
  }

  /** Parses nodes until EOF or an `{{end}}`/`{{else ...}}`, returning the terminator keyword. */
  private parseList(): { list: Node[]; end?: string; elseAction?: string } {
    const list: Node[] = [];
    for (;;) {
      const open = this.src.indexOf('{{', this.pos);
      if (open < 0) {
        if (this.pos < this.src.length) list.push({ t: 'text', text: this.src.slice(this.pos) });
        this.pos = this.src.length;
        return { list };
      }
      let text = this.src.slice(this.pos, open);
      let inner = open + 2;
      const trimLeft = this.src.startsWith('- ', inner) || this.src.startsWith('-\t', inner) || this.src.startsWith('-\n', inner);
      if (trimLeft) {
        text = text.replace(/[ \t\r\n]+$/, '');
        inner += 1;
      }
      if (text) list.push({ t: 'text', text });
      this.line += countNewlines(this.src.slice(this.pos, open));
      // Comments.
      const afterWs = this.src.slice(inner).replace(/^[ \t\r\n]*/, '');
      const closeIdx = this.findClose(inner);
      if (closeIdx === -1) throw this.err('unclosed action');
      let body = this.src.slice(inner, closeIdx.start);
      const trimRight = closeIdx.trim;
      this.pos = closeIdx.end;
      const actionLine = this.line;
      this.line += countNewlines(body);
      if (trimRight) {
        const m = /^[ \t\r\n]*/.exec(this.src.slice(this.pos))!;
        this.line += countNewlines(m[0]);
        this.pos += m[0].length;
      }
      if (afterWs.startsWith('/*')) {
        if (!body.trim().endsWith('*/')) throw this.err('unclosed comment', actionLine);
        continue;
      }
      body = body.trim();
      const toks = this.lex(body, actionLine);
      if (toks.length === 0) throw this.err('missing value for command', actionLine);
      const first = toks[0];
      if (first.k === 'ident') {
        switch (first.v) {
          case 'end':
            if (toks.length > 1) throw this.err(`unexpected ${toks[1].v} in end`, actionLine);
            return { list, end: 'end' };
          case 'else':
            return { list, end: 'else', elseAction: toks.length > 1 ? body.slice(4).trim() : undefined };
          case 'if':
          case 'with':
          case 'range':
            list.push(this.parseControl(first.v, toks.slice(1), actionLine));
            continue;
          case 'break':
          case 'continue':
            list.push({ t: first.v, line: actionLine });
            continue;
          case 'define':
          case 'template':
          case 'block':
            throw this.err(`${first.v} is not supported`, actionLine);
        }
      }
      list.push({ t: 'action', pipe: this.parsePipe(toks, actionLine), line: actionLine });
    }
  }

  private parseControl(kind: 'if' | 'with' | 'range', toks: Tok[], line: number): Node {
    const pipe = this.parsePipe(toks, line);
    const body = this.parseList();
    if (!body.end) throw this.err(`unexpected EOF`, line);
    let elseList: Node[] | undefined;
    if (body.end === 'else') {
      if (body.elseAction && (kind === 'if' || kind === 'with')) {
        // `{{else if ...}}` / `{{else with ...}}` nests a control that shares our {{end}}.
        const elseToks = this.lex(body.elseAction, line);
        const kw = elseToks[0];
        if (kw?.k !== 'ident' || (kw.v !== 'if' && kw.v !== 'with')) throw this.err('expected if or with after else', line);
        elseList = [this.parseControl(kw.v, elseToks.slice(1), line)];
      } else {
        const rest = this.parseList();
        if (rest.end !== 'end') throw this.err(`expected end; found ${rest.end ?? 'EOF'}`, line);
        elseList = rest.list;
      }
    }
    return { t: kind, pipe, list: body.list, elseList, line };
  }

  private findClose(from: number): { start: number; end: number; trim: boolean } | -1 {
    let i = from;
    let inStr: string | undefined;
    while (i < this.src.length) {
      const c = this.src[i];
      if (inStr) {
        if (c === '\\' && inStr !== '`') i++;
        else if (c === inStr) inStr = undefined;
        else if (c === '\n' && inStr !== '`') return -1;
        i++;
        continue;
      }
      if (c === '"' || c === '`' || c === "'") {
        inStr = c;
        i++;
        continue;
      }
      if (c === ' ' && this.src.startsWith(' -}}', i)) return { start: i, end: i + 4, trim: true };
      if (c === '}' && this.src[i + 1] === '}') return { start: i, end: i + 2, trim: false };
      i++;
    }
    return -1;
  }

  private lex(s: string, line: number): Tok[] {
    const toks: Tok[] = [];
    let i = 0;
    while (i < s.length) {
      const c = s[i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
        i++;
        continue;
      }
      if (c === '(') {
        toks.push({ k: 'lparen', v: c });
        i++;
      } else if (c === ')') {
        toks.push({ k: 'rparen', v: c });
        i++;
      } else if (c === '|') {
        toks.push({ k: 'pipe', v: c });
        i++;
      } else if (c === ',') {
        toks.push({ k: 'comma', v: c });
        i++;
      } else if (c === ':' && s[i + 1] === '=') {
        toks.push({ k: 'decl', v: ':=' });
        i += 2;
      } else if (c === '=') {
        toks.push({ k: 'assign', v: '=' });
        i++;
      } else if (c === '"') {
        let j = i + 1;
        while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
        if (j >= s.length) throw this.err('unterminated quoted string', line);
        toks.push({ k: 'string', v: s.slice(i, j + 1) });
        i = j + 1;
      } else if (c === '`') {
        const j = s.indexOf('`', i + 1);
        if (j < 0) throw this.err('unterminated raw quoted string', line);
        toks.push({ k: 'string', v: s.slice(i, j + 1) });
        i = j + 1;
      } else if (c === "'") {
        let j = i + 1;
        while (j < s.length && s[j] !== "'") j += s[j] === '\\' ? 2 : 1;
        toks.push({ k: 'char', v: s.slice(i, j + 1) });
        i = j + 1;
      } else if (c === '.' && !/[0-9]/.test(s[i + 1] ?? '')) {
        const m = /^(\.[A-Za-z_][A-Za-z0-9_]*)+/.exec(s.slice(i));
        if (m) {
          toks.push({ k: 'field', v: m[0] });
          i += m[0].length;
        } else {
          toks.push({ k: 'dot', v: '.' });
          i++;
        }
      } else if (c === '$') {
        const m = /^\$[A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(s.slice(i))!;
        toks.push({ k: 'var', v: m[0] });
        i += m[0].length;
      } else if (/[0-9+\-.]/.test(c)) {
        const m = /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/.exec(s.slice(i));
        if (!m || m[0] === '' || m[0] === '+' || m[0] === '-') throw this.err(`bad character ${JSON.stringify(c)}`, line);
        toks.push({ k: 'number', v: m[0] });
        i += m[0].length;
      } else if (/[A-Za-z_]/.test(c)) {
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i))!;
        toks.push({ k: 'ident', v: m[0] });
        i += m[0].length;
      } else {
        throw this.err(`bad character ${JSON.stringify(c)}`, line);
      }
    }
    return toks;
  }

  private parsePipe(toks: Tok[], line: number): Pipe {
    let i = 0;
    const decl: string[] = [];
    let isAssign = false;
    // `$x := pipeline`, `$x, $y := pipeline`, `$x = pipeline`.
    const declMatch = (): boolean => {
      let j = 0;
      const names: string[] = [];
      while (toks[j]?.k === 'var') {
        names.push(toks[j].v);
        j++;
        if (toks[j]?.k === 'comma') j++;
        else break;
      }
      if (names.length > 0 && (toks[j]?.k === 'decl' || toks[j]?.k === 'assign')) {
        decl.push(...names);
        isAssign = toks[j].k === 'assign';
        i = j + 1;
        return true;
      }
      return false;
    };
    declMatch();
    const cmds: Arg[][] = [];
    let cmd: Arg[] = [];
    while (i < toks.length) {
      const t = toks[i];
      if (t.k === 'pipe') {
        if (cmd.length === 0) throw this.err('missing command', line);
        cmds.push(cmd);
        cmd = [];
        i++;
        continue;
      }
      const [arg, next] = this.parseOperand(toks, i, line);
      cmd.push(arg);
      i = next;
    }
    if (cmd.length === 0) throw this.err('missing command', line);
    cmds.push(cmd);
    return { decl, isAssign, cmds };
  }

  private parseOperand(toks: Tok[], i: number, line: number): [Arg, number] {
    const t = toks[i];
    switch (t.k) {
      case 'field':
        return [{ t: 'field', names: t.v.split('.').slice(1) }, i + 1];
      case 'dot':
        return [{ t: 'dot' }, i + 1];
      case 'var': {
        const [name, ...names] = t.v.split('.');
        return [{ t: 'var', name, names }, i + 1];
      }
      case 'string':
        return [{ t: 'const', value: unquoteTemplateString(t.v, (m) => this.err(m, line)) }, i + 1];
      case 'char': {
        const s = unquoteTemplateString(`"${t.v.slice(1, -1).replace(/"/g, '\\"')}"`, (m) => this.err(m, line));
        return [{ t: 'const', value: BigInt(s.codePointAt(0) ?? 0) }, i + 1];
      }
      case 'number':
        return [{ t: 'const', value: parseTemplateNumber(t.v, (m) => this.err(m, line)) }, i + 1];
      case 'ident': {
        if (t.v === 'true' || t.v === 'false') return [{ t: 'const', value: t.v === 'true' }, i + 1];
        if (t.v === 'nil') return [{ t: 'const', value: null }, i + 1];
        if (!BUILTIN_NAMES.has(t.v) && !(t.v in this.funcs)) throw this.err(`function ${JSON.stringify(t.v)} not defined`, line);
        return [{ t: 'ident', name: t.v }, i + 1];
      }
      case 'lparen': {
        let depth = 1;
        let j = i + 1;
        while (j < toks.length && depth > 0) {
          if (toks[j].k === 'lparen') depth++;
          else if (toks[j].k === 'rparen') depth--;
          j++;
        }
        if (depth !== 0) throw this.err('unclosed left paren', line);
        const pipe = this.parsePipe(toks.slice(i + 1, j - 1), line);
        // A field chain may follow a parenthesized pipeline: (index . "a").b
        let names: string[] = [];
        if (toks[j]?.k === 'field') {
          names = toks[j].v.split('.').slice(1);
          j++;
        }
        return [{ t: 'pipe', pipe, names }, j];
      }
      default:
        throw this.err(`unexpected ${JSON.stringify(t.v)} in command`, line);
    }
  }
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 10) n++;
  return n;
}

function parseTemplateNumber(v: string, err: (m: string) => TemplateError): GoValue {
  const clean = v.replace(/_/g, '');
  if (/^[+-]?(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|\d+)$/.test(clean)) {
    const neg = clean.startsWith('-');
    const body = clean.replace(/^[+-]/, '');
    let b: bigint;
    if (/^0[oO]/.test(body)) b = BigInt(`0o${body.slice(2)}`);
    else if (/^0\d+$/.test(body)) b = BigInt(`0o${body.slice(1)}`);
    else b = BigInt(body);
    return neg ? -b : b;
  }
  const f = Number(clean);
  if (Number.isNaN(f)) throw err(`illegal number syntax: ${JSON.stringify(v)}`);
  return f;
}

function unquoteTemplateString(raw: string, err: (m: string) => TemplateError): string {
  if (raw.startsWith('`')) return raw.slice(1, -1);
  try {
    return JSON.parse(
      raw
        // eslint-disable-next-line no-control-regex
        .replace(/[\u0000-\u001f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
        .replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1')
        .replace(/\\a/g, '\\u0007')
        .replace(/\\v/g, '\\u000b')
        .replace(/\\'/g, "'")
        .replace(/\\([0-7]{3})/g, (_m, o: string) => `\\u${parseInt(o, 8).toString(16).padStart(4, '0')}`)
        .replace(/\\U([0-9a-fA-F]{8})/g, (_m, h: string) => {
          const cp = parseInt(h, 16);
          return JSON.stringify(String.fromCodePoint(cp)).slice(1, -1);
        }),
    ) as string;
  } catch {
    throw err(`invalid syntax: ${raw}`);
  }
}

// ------------------------------------------------------------------------------------------------ execution

class BreakSignal {}
class ContinueSignal {}

class ExecState {
  private vars: { name: string; value: GoValue }[] = [];
  private steps = 0;
  constructor(
    private readonly name: string,
    private readonly funcs: Readonly<Record<string, TemplateFunc>>,
    root: GoValue,
  ) {
    this.vars.push({ name: '$', value: root });
  }

  private err(line: number, msg: string): TemplateError {
    return new TemplateError(`template: ${this.name}:${line}: ${msg}`);
  }

  walkList(list: Node[], dot: GoValue, out: string[]): void {
    for (const n of list) this.walk(n, dot, out);
  }

  private walk(n: Node, dot: GoValue, out: string[]): void {
    // A bound on work per execution: templates run per log line and must not loop unboundedly.
    if (++this.steps > 1_000_000) throw this.err(0, 'template execution exceeded its step budget');
    switch (n.t) {
      case 'text':
        out.push(n.text);
        return;
      case 'action': {
        const v = this.evalPipe(n.pipe, dot, n.line);
        if (n.pipe.decl.length === 0) out.push(printValue(v));
        return;
      }
      case 'if':
      case 'with': {
        const mark = this.vars.length;
        const v = this.evalPipe(n.pipe, dot, n.line);
        try {
          if (truth(v)) this.walkList(n.list, n.t === 'with' ? v : dot, out);
          else if (n.elseList) this.walkList(n.elseList, dot, out);
        } finally {
          this.vars.length = mark;
        }
        return;
      }
      case 'range': {
        const mark = this.vars.length;
        const v = this.evalPipe(n.pipe, dot, n.line, false);
        const items = rangeItems(v, (m) => this.err(n.line, m));
        try {
          if (items.length === 0) {
            if (n.elseList) this.walkList(n.elseList, dot, out);
            return;
          }
          for (const [k, item] of items) {
            const inner = this.vars.length;
            if (n.pipe.decl.length === 1) this.vars.push({ name: n.pipe.decl[0], value: item });
            else if (n.pipe.decl.length === 2) {
              this.vars.push({ name: n.pipe.decl[0], value: k });
              this.vars.push({ name: n.pipe.decl[1], value: item });
            }
            try {
              this.walkList(n.list, item, out);
            } catch (e) {
              if (e instanceof BreakSignal) break;
              if (!(e instanceof ContinueSignal)) throw e;
            } finally {
              this.vars.length = inner;
            }
          }
        } finally {
          this.vars.length = mark;
        }
        return;
      }
      case 'break':
        throw new BreakSignal();
      case 'continue':
        throw new ContinueSignal();
    }
  }

  private evalPipe(p: Pipe, dot: GoValue, line: number, bindDecl = true): GoValue {
    let v: GoValue = undefined;
    let first = true;
    for (const cmd of p.cmds) {
      v = this.evalCommand(cmd, dot, line, first ? undefined : { value: v });
      first = false;
    }
    if (p.decl.length > 0) {
      if (p.isAssign) {
        const name = p.decl[0];
        const slot = [...this.vars].reverse().find((x) => x.name === name);
        if (!slot) throw this.err(line, `undefined variable: ${name}`);
        slot.value = v;
      } else if (bindDecl) {
        this.vars.push({ name: p.decl[p.decl.length - 1], value: v });
      }
    }
    return v;
  }

  private evalCommand(cmd: Arg[], dot: GoValue, line: number, piped?: { value: GoValue }): GoValue {
    const head = cmd[0];
    if (head.t === 'ident') {
      const args = cmd.slice(1);
      return this.callFunc(head.name, args, dot, line, piped);
    }
    if (cmd.length > 1 || piped) {
      if (head.t === 'field' || head.t === 'var') {
        throw this.err(line, `can't give argument to non-function ${describeArg(head)}`);
      }
      throw this.err(line, `can't give argument to non-function`);
    }
    return this.evalArg(head, dot, line);
  }

  private evalArg(a: Arg, dot: GoValue, line: number): GoValue {
    switch (a.t) {
      case 'dot':
        return dot;
      case 'const':
        return a.value;
      case 'field':
        return this.fieldChain(dot, a.names, line);
      case 'var': {
        const slot = [...this.vars].reverse().find((x) => x.name === a.name);
        if (!slot) throw this.err(line, `undefined variable: ${a.name}`);
        return this.fieldChain(slot.value, a.names, line);
      }
      case 'pipe':
        return this.fieldChain(this.evalPipe(a.pipe, dot, line), a.names, line);
      case 'ident':
        return this.callFunc(a.name, [], dot, line);
    }
  }

  private fieldChain(v: GoValue, names: string[], line: number): GoValue {
    let cur = v;
    for (const name of names) {
      if (cur === null || cur === undefined) return undefined;
      if (typeof cur === 'object' && !Array.isArray(cur) && !(cur instanceof Date)) {
        const rec = cur as Record<string, GoValue>;
        cur = Object.prototype.hasOwnProperty.call(rec, name) ? rec[name] : '';
        continue;
      }
      throw this.err(line, `can't evaluate field ${name} in type ${goTypeName(cur)}`);
    }
    return cur;
  }

  private callFunc(name: string, argNodes: Arg[], dot: GoValue, line: number, piped?: { value: GoValue }): GoValue {
    // and/or short-circuit on unevaluated arguments, as in Go.
    if (name === 'and' || name === 'or') {
      const thunks = argNodes.map((a) => () => this.evalArg(a, dot, line));
      if (piped) thunks.push(() => piped.value);
      if (thunks.length === 0) throw this.err(line, `wrong number of args for ${name}: want at least 1 got 0`);
      let v: GoValue = undefined;
      for (const th of thunks) {
        v = th();
        if (name === 'and' ? !truth(v) : truth(v)) return v;
      }
      return v;
    }
    const args = argNodes.map((a) => this.evalArg(a, dot, line));
    if (piped) args.push(piped.value);
    try {
      const builtin = BUILTINS[name];
      if (builtin) return builtin(...args);
      const f = this.funcs[name];
      if (!f) throw new Error(`function ${JSON.stringify(name)} not defined`);
      return f(...args);
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      throw this.err(line, `executing ${JSON.stringify(this.name)} at <${name}>: error calling ${name}: ${(e as Error).message}`);
    }
  }
}

function describeArg(a: Arg): string {
  if (a.t === 'field') return `.${a.names.join('.')}`;
  if (a.t === 'var') return [a.name, ...a.names].join('.');
  return '';
}

function rangeItems(v: GoValue, err: (m: string) => TemplateError): [GoValue, GoValue][] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.map((x, i) => [BigInt(i), x]);
  if (typeof v === 'bigint') {
    const out: [GoValue, GoValue][] = [];
    for (let i = 0n; i < v && i < 100_000n; i++) out.push([i, i]);
    return out;
  }
  if (typeof v === 'object' && !(v instanceof Date)) {
    return Object.keys(v)
      .sort()
      .map((k) => [k, (v as Record<string, GoValue>)[k]]);
  }
  throw err(`range can't iterate over ${printValue(v)}`);
}

/** Go's truth: false, 0, nil, and empty strings/slices/maps are false. */
export function truth(v: GoValue): boolean {
  if (v === null || v === undefined || v === false) return false;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Date) return true;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function goTypeName(v: GoValue): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof Date) return 'time.Time';
  return 'map[string]interface {}';
}

/** `fmt.Sprint` of one value: ints plainly, floats with %v (shortest 'g'), nil as `<nil>`. */
export function printValue(v: GoValue): string {
  if (v === undefined) return '';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return formatFloatG(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map(printValue).join(' ')}]`;
  if (v instanceof Date) return formatGoTime(v);
  return `map[${Object.keys(v)
    .sort()
    .map((k) => `${k}:${printValue((v as Record<string, GoValue>)[k])}`)
    .join(' ')}]`;
}

/** Go's `strconv.FormatFloat(f, 'g', -1, 64)`, as %v prints float64 (exponent when < 1e-4 or >= 1e6... in
  * shortest form Go decides with precision 6, hence `1e+06`). */
export function formatFloatG(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(f)));
  if (exp < -4 || exp >= 6) {
    const s = f.toExponential();
    return s.replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return String(f);
}

function formatGoTime(d: Date): string {
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${iso.slice(19, 23) === '.000' ? '' : iso.slice(19, 23)} +0000 UTC`;
}

// ------------------------------------------------------------------------------------------------ builtins

function basicKind(v: GoValue): 'int' | 'float' | 'string' | 'bool' | 'nil' | 'other' {
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v === null || v === undefined) return 'nil';
  return 'other';
}

function compareValues(a: GoValue, b: GoValue, op: string): number {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka !== kb) {
    if ((ka === 'int' || ka === 'float') && (kb === 'int' || kb === 'float')) {
      throw new Error('incompatible types for comparison');
    }
    if (op === 'eq') return 1;
    throw new Error('incompatible types for comparison');
  }
  if (ka === 'other' || ka === 'nil') {
    if (op === 'eq') return a === b ? 0 : 1;
    throw new Error('invalid type for comparison');
  }
  if (ka === 'bool' && op !== 'eq') throw new Error('invalid type for comparison');
  const x = a as string | number | bigint | boolean;
  const y = b as string | number | bigint | boolean;
  return x < y ? -1 : x > y ? 1 : 0;
}

const BUILTINS: Record<string, TemplateFunc> = {
  not: (v) => !truth(v),
  len: (v) => {
    if (typeof v === 'string') return BigInt(Buffer.byteLength(v));
    if (Array.isArray(v)) return BigInt(v.length);
    if (v && typeof v === 'object' && !(v instanceof Date)) return BigInt(Object.keys(v).length);
    throw new Error(`len of type ${goTypeName(v)}`);
  },
  index: (v, ...keys) => {
    let cur = v;
    for (const k of keys) {
      if (Array.isArray(cur)) {
        const i = Number(k);
        if (i < 0 || i >= cur.length) throw new Error(`index out of range: ${i}`);
        cur = cur[i];
      } else if (typeof cur === 'string') {
        cur = BigInt(Buffer.from(cur)[Number(k)] ?? 0);
      } else if (cur && typeof cur === 'object' && !(cur instanceof Date)) {
        const rec = cur as Record<string, GoValue>;
        cur = Object.prototype.hasOwnProperty.call(rec, String(k)) ? rec[String(k)] : '';
      } else {
        throw new Error(`can't index item of type ${goTypeName(cur)}`);
      }
    }
    return cur;
  },
  slice: (v, ...idx) => {
    const n = idx.map(Number);
    if (typeof v === 'string') return v.slice(n[0] ?? 0, n[1]);
    if (Array.isArray(v)) return v.slice(n[0] ?? 0, n[1]);
    throw new Error(`can't slice item of type ${goTypeName(v)}`);
  },
  print: (...args) => goSprint(args),
  println: (...args) => `${args.map(printValue).join(' ')}\n`,
  printf: (format, ...args) => goSprintf(String(format ?? ''), args),
  eq: (a, ...bs) => {
    if (bs.length === 0) throw new Error('missing argument for comparison');
    return bs.some((b) => compareValues(a, b, 'eq') === 0);
  },
  ne: (a, b) => compareValues(a, b, 'eq') !== 0,
  lt: (a, b) => compareValues(a, b, 'lt') < 0,
  le: (a, b) => compareValues(a, b, 'le') <= 0,
  gt: (a, b) => compareValues(a, b, 'gt') > 0,
  ge: (a, b) => compareValues(a, b, 'ge') >= 0,
  html: (...args) =>
    goSprint(args)
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&#34;')
      .replace(/'/g, '&#39;'),
  js: (...args) => JSON.stringify(goSprint(args)).slice(1, -1).replace(/'/g, "\\'"),
  urlquery: (...args) => encodeURIComponent(goSprint(args)).replace(/%20/g, '+'),
};

/** `fmt.Sprint`: spaces between operands when neither is a string. */
export function goSprint(args: GoValue[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    if (i > 0 && typeof args[i] !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += printValue(args[i]);
  }
  return out;
}

/** `fmt.Sprintf` for the common verbs: %v %s %q %d %f %F %e %E %g %G %x %X %o %b %c %t %T %%, with flags. */
export function goSprintf(format: string, args: GoValue[]): string {
  let out = '';
  let argi = 0;
  const re = /%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d+)?)?([a-zA-Z%])/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(format)) !== null) {
    out += format.slice(last, m.index);
    last = re.lastIndex;
    const [, flags, widthS, precS, verb] = m;
    if (verb === '%') {
      out += '%';
      continue;
    }
    const width = widthS === '*' ? Number(args[argi++]) : widthS !== undefined ? Number(widthS) : undefined;
    const prec = precS === '*' ? Number(args[argi++]) : precS !== undefined ? Number(precS) : m[0].includes('.') ? 0 : undefined;
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argi++];
    out += pad(formatVerb(verb, arg, flags, prec), width, flags);
  }
  out += format.slice(last);
  if (argi < args.length) {
    out += `%!(EXTRA ${args
      .slice(argi)
      .map((a) => `${goTypeName(a)}=${printValue(a)}`)
      .join(', ')})`;
  }
  return out;
}

function pad(s: string, width: number | undefined, flags: string): string {
  if (width === undefined || s.length >= width) return s;
  if (flags.includes('-')) return s + ' '.repeat(width - s.length);
  if (flags.includes('0') && /^[+-]?[0-9.]/.test(s)) {
    const sign = /^[+-]/.test(s) ? s[0] : '';
    const body = sign ? s.slice(1) : s;
    return sign + '0'.repeat(width - s.length) + body;
  }
  return ' '.repeat(width - s.length) + s;
}

function formatVerb(verb: string, arg: GoValue, flags: string, prec: number | undefined): string {
  const plus = flags.includes('+');
  const space = flags.includes(' ');
  const sign = (n: number | bigint, s: string): string => (n >= 0 && plus ? `+${s}` : n >= 0 && space ? ` ${s}` : s);
  switch (verb) {
    case 'v':
      if (typeof arg === 'number' && prec !== undefined) return formatVerb('g', arg, flags, prec);
      return printValue(arg);
    case 's':
      return prec !== undefined ? printValue(arg).slice(0, prec) : printValue(arg);
    case 'q':
      if (typeof arg === 'bigint') return `'${String.fromCodePoint(Number(arg))}'`;
      return JSON.stringify(printValue(arg));
    case 't':
      return typeof arg === 'boolean' ? String(arg) : `%!t(${goTypeName(arg)}=${printValue(arg)})`;
    case 'T':
      return goTypeName(arg);
    case 'd':
      if (typeof arg === 'bigint') return sign(arg, arg.toString());
      if (typeof arg === 'number' && Number.isInteger(arg)) return `%!d(float64=${printValue(arg)})`;
      return `%!d(${goTypeName(arg)}=${printValue(arg)})`;
    case 'c':
      return typeof arg === 'bigint' ? String.fromCodePoint(Number(arg)) : `%!c(${goTypeName(arg)}=${printValue(arg)})`;
    case 'x':
    case 'X': {
      let s: string;
      if (typeof arg === 'bigint') s = (arg < 0n ? '-' : '') + (arg < 0n ? -arg : arg).toString(16);
      else if (typeof arg === 'string') s = Buffer.from(arg).toString('hex');
      else if (typeof arg === 'number') s = arg.toString(16);
      else return `%!${verb}(${goTypeName(arg)}=${printValue(arg)})`;
      if (flags.includes('#')) s = `0x${s}`;
      return verb === 'X' ? s.toUpperCase() : s;
    }
    case 'o':
      return typeof arg === 'bigint' ? arg.toString(8) : `%!o(${goTypeName(arg)}=${printValue(arg)})`;
    case 'b':
      return typeof arg === 'bigint' ? arg.toString(2) : `%!b(${goTypeName(arg)}=${printValue(arg)})`;
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G': {
      const n = typeof arg === 'number' ? arg : typeof arg === 'bigint' ? undefined : undefined;
      if (n === undefined) return `%!${verb}(${goTypeName(arg)}=${printValue(arg)})`;
      if (!Number.isFinite(n)) return sign(n, Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf');
      let s: string;
      if (verb === 'f' || verb === 'F') s = n.toFixed(prec ?? 6);
      else if (verb === 'e' || verb === 'E') {
        s = n.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
        if (verb === 'E') s = s.toUpperCase();
      } else {
        s = prec === undefined ? formatFloatG(n) : Number(n.toPrecision(prec || 1)).toString();
        if (verb === 'G') s = s.toUpperCase();
      }
      return sign(n, s);
    }
    default:
      return `%!${verb}(${goTypeName(arg)}=${printValue(arg)})`;
  }
}
