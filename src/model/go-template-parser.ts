import { tryParseGoFloat } from './go-float.ts';
import { quoteGo, unquoteGoString } from './go-string.ts';
import { TemplateError } from './go-template-error.ts';
import type { Arg, Node, Pipe } from './go-template-ast.ts';
import type { GoValue, TemplateFunc } from './go-template-value.ts';

interface Tok {
  k: 'field' | 'var' | 'ident' | 'string' | 'char' | 'number' | 'lparen' | 'rparen' | 'pipe' | 'decl' | 'assign' | 'comma' | 'dot';
  v: string;
}

const BUILTIN_NAMES = new Set([
  'and', 'or', 'not', 'len', 'index', 'slice', 'print', 'printf', 'println', 'eq', 'ne', 'lt', 'le', 'gt', 'ge',
  'html', 'js', 'urlquery',
]);


/** Parses a template source into its node list; errors follow Go's `template: NAME:LINE: ...` form. */
export class TemplateParser {
  private pos = 0;
  private line = 1;
  /**
   * @param defines where `{{define}}` and `{{block}}` put the templates they name (shared by the files of one
   *   template set, so a later file's `define` replaces an earlier one, as in Go).
   */
  constructor(
    private readonly name: string,
    private readonly src: string,
    private readonly funcs: Readonly<Record<string, TemplateFunc>>,
    private readonly defines: Map<string, Node[]> = new Map(),
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
      const first = toks[0];
      if (first === undefined) throw this.err('missing value for command', actionLine);
      if (first.k === 'ident') {
        switch (first.v) {
          case 'end':
            if (toks[1]) throw this.err(`unexpected ${toks[1].v} in end`, actionLine);
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
          case 'block': {
            const name = toks[1];
            if (name?.k !== 'string') throw this.err(`${first.v} clause: expected a template name string`, actionLine);
            const templateName = unquoteTemplateString(name.v, (m) => this.err(m, actionLine));
            if (first.v === 'define' && toks.length > 2) throw this.err('define clause: unexpected text after the name', actionLine);
            const pipe = first.v === 'block' ? this.parsePipe(toks.slice(2), actionLine) : undefined;
            const body = this.parseList();
            if (body.end !== 'end') throw this.err(`unexpected ${body.end ? `{{${body.end}}}` : 'EOF'} in ${first.v}`, actionLine);
            // A `block` is a default: a `define` of the same name (before or after it) wins, as Go's AddParseTree does for empty bodies.
            if (first.v === 'define' || !this.defines.has(templateName)) this.defines.set(templateName, body.list);
            if (pipe) list.push({ t: 'template', name: templateName, pipe, line: actionLine });
            continue;
          }
          case 'template': {
            const name = toks[1];
            if (name?.k !== 'string') throw this.err('template clause: expected a template name string', actionLine);
            const rest = toks.slice(2);
            list.push({ t: 'template', name: unquoteTemplateString(name.v, (m) => this.err(m, actionLine)), ...(rest.length > 0 ? { pipe: this.parsePipe(rest, actionLine) } : {}), line: actionLine });
            continue;
          }
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
      const c = s.charAt(i);
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
        if (!m || m[0] === '' || m[0] === '+' || m[0] === '-') throw this.err(`bad character ${quoteGo(c)}`, line);
        toks.push({ k: 'number', v: m[0] });
        i += m[0].length;
      } else if (/[A-Za-z_]/.test(c)) {
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i))!;
        toks.push({ k: 'ident', v: m[0] });
        i += m[0].length;
      } else {
        throw this.err(`bad character ${quoteGo(c)}`, line);
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
      for (let v = toks[j]; v?.k === 'var'; v = toks[j]) {
        names.push(v.v);
        j++;
        if (toks[j]?.k === 'comma') j++;
        else break;
      }
      const op = toks[j];
      if (names.length > 0 && (op?.k === 'decl' || op?.k === 'assign')) {
        decl.push(...names);
        isAssign = op.k === 'assign';
        i = j + 1;
        return true;
      }
      return false;
    };
    declMatch();
    const cmds: Arg[][] = [];
    let cmd: Arg[] = [];
    for (let t = toks[i]; t !== undefined; t = toks[i]) {
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
    if (t === undefined) throw this.err('missing value for command', line);
    switch (t.k) {
      case 'field':
        return [{ t: 'field', names: t.v.split('.').slice(1) }, i + 1];
      case 'dot':
        return [{ t: 'dot' }, i + 1];
      case 'var': {
        const [name = '', ...names] = t.v.split('.');
        return [{ t: 'var', name, names }, i + 1];
      }
      case 'string':
        return [{ t: 'const', value: unquoteTemplateString(t.v, (m) => this.err(m, line)) }, i + 1];
      case 'char': {
        const s = unquoteTemplateString(t.v, (m) => this.err(m, line));
        return [{ t: 'const', value: BigInt(s.codePointAt(0) ?? 0) }, i + 1];
      }
      case 'number':
        return [{ t: 'const', value: parseTemplateNumber(t.v, (m) => this.err(m, line)) }, i + 1];
      case 'ident': {
        if (t.v === 'true' || t.v === 'false') return [{ t: 'const', value: t.v === 'true' }, i + 1];
        if (t.v === 'nil') return [{ t: 'const', value: null }, i + 1];
        if (!BUILTIN_NAMES.has(t.v) && !(t.v in this.funcs)) throw this.err(`function ${quoteGo(t.v)} not defined`, line);
        return [{ t: 'ident', name: t.v }, i + 1];
      }
      case 'lparen': {
        let depth = 1;
        let j = i + 1;
        while (j < toks.length && depth > 0) {
          if (toks[j]?.k === 'lparen') depth++;
          else if (toks[j]?.k === 'rparen') depth--;
          j++;
        }
        if (depth !== 0) throw this.err('unclosed left paren', line);
        const pipe = this.parsePipe(toks.slice(i + 1, j - 1), line);
        // A field chain may follow a parenthesized pipeline: (index . "a").b
        let names: string[] = [];
        const field = toks[j];
        if (field?.k === 'field') {
          names = field.v.split('.').slice(1);
          j++;
        }
        return [{ t: 'pipe', pipe, names }, j];
      }
      default:
        throw this.err(`unexpected ${quoteGo(t.v)} in command`, line);
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
  const f = tryParseGoFloat(v);
  if (f === undefined) throw err(`illegal number syntax: ${quoteGo(v)}`);
  return f;
}

/** A template string or character constant, unquoted as Go's text/template does (`strconv.Unquote`). */
function unquoteTemplateString(raw: string, err: (m: string) => TemplateError): string {
  try {
    return unquoteGoString(raw);
  } catch {
    throw err(`invalid syntax: ${raw}`);
  }
}
