import { quoteGo } from './go-string.ts';
import { goSprintf, printValue } from './go-format.ts';
import type { Arg, Node, Pipe } from './go-template-ast.ts';
import { BUILTINS } from './go-template-builtins.ts';
import { TemplateError, outputTooLong } from './go-template-error.ts';
import { goTypeName, truth } from './go-template-value.ts';
import type { GoValue, MethodLookup, TemplateFunc } from './go-template-value.ts';

class BreakSignal {}
class ContinueSignal {}

/** Bounds of one template execution. */
export interface TemplateLimits {
  /** Characters the output may reach; past it execution fails with a {@link TemplateError}. */
  readonly maxOutputBytes?: number;
  /** Called every 1024 steps; throws to stop the execution (a query's deadline). */
  readonly tick?: () => void;
}

/** Named templates and methods an execution can reach besides its own nodes. */
export interface TemplateScope {
  /** Templates `{{template "name"}}` runs: those the set's `define`s and `block`s named. */
  readonly defines?: ReadonlyMap<string, Node[]>;
  /** Named templates written in TypeScript (a caller's built-in defaults), used when no `define` has the name. */
  readonly natives?: Readonly<Record<string, (dot: GoValue) => string>>;
  readonly methods?: MethodLookup;
}

/** Go's bound on nested `{{template}}` calls. */
const MAX_TEMPLATE_DEPTH = 100;

/** One execution of a template: variables in scope, the step budget and the output budget. */
export class ExecState {
  private vars: { name: string; value: GoValue }[] = [];
  private depth = 0;
  private steps = 0;
  private outputLength = 0;
  private readonly maxOutput: number;
  private readonly tick: (() => void) | undefined;
  constructor(
    private readonly name: string,
    private readonly funcs: Readonly<Record<string, TemplateFunc>>,
    root: GoValue,
    limits: TemplateLimits = {},
    private readonly scope: TemplateScope = {},
  ) {
    this.vars.push({ name: '$', value: root });
    this.maxOutput = limits.maxOutputBytes ?? Infinity;
    this.tick = limits.tick;
  }

  /** Appends to the output, failing as soon as the output passes its budget. */
  private emit(out: string[], s: string): void {
    this.outputLength += s.length;
    if (this.outputLength > this.maxOutput) throw new TemplateError(`template: ${this.name}: ${outputTooLong(this.maxOutput)}`);
    out.push(s);
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
    if ((this.steps & 1023) === 0) this.tick?.();
    switch (n.t) {
      case 'text':
        this.emit(out, n.text);
        return;
      case 'action': {
        const v = this.evalPipe(n.pipe, dot, n.line);
        if (n.pipe.decl.length === 0) this.emit(out, printValue(v));
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
            const [keyVar, itemVar] = n.pipe.decl;
            if (itemVar === undefined) {
              if (keyVar !== undefined) this.vars.push({ name: keyVar, value: item });
            } else if (keyVar !== undefined && n.pipe.decl.length === 2) {
              this.vars.push({ name: keyVar, value: k });
              this.vars.push({ name: itemVar, value: item });
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
      case 'template': {
        const body = this.scope.defines?.get(n.name);
        const native = body ? undefined : this.scope.natives?.[n.name];
        if (!body && !native) throw this.err(n.line, `executing ${quoteGo(this.name)} at <{{template ${quoteGo(n.name)}}}>: template ${quoteGo(n.name)} not defined`);
        const newDot = n.pipe ? this.evalPipe(n.pipe, dot, n.line) : undefined;
        if (native) {
          this.emit(out, native(newDot));
          return;
        }
        if (this.depth >= MAX_TEMPLATE_DEPTH) throw this.err(n.line, `exceeded maximum template depth (${MAX_TEMPLATE_DEPTH})`);
        // A called template sees only its dot: `$` is the dot it was given, no variable of the caller.
        const saved = this.vars;
        this.vars = [{ name: '$', value: newDot }];
        this.depth++;
        try {
          this.walkList(body!, newDot, out);
        } finally {
          this.vars = saved;
          this.depth--;
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
    const [name] = p.decl;
    const last = p.decl.at(-1);
    if (name !== undefined && last !== undefined) {
      if (p.isAssign) {
        const slot = [...this.vars].reverse().find((x) => x.name === name);
        if (!slot) throw this.err(line, `undefined variable: ${name}`);
        slot.value = v;
      } else if (bindDecl) {
        this.vars.push({ name: last, value: v });
      }
    }
    return v;
  }

  private evalCommand(cmd: Arg[], dot: GoValue, line: number, piped?: { value: GoValue }): GoValue {
    const head = cmd[0];
    if (head === undefined) throw this.err(line, 'missing command');
    if (head.t === 'ident') {
      const args = cmd.slice(1);
      return this.callFunc(head.name, args, dot, line, piped);
    }
    if (cmd.length > 1 || piped) {
      const method = this.methodCall(head, dot, line);
      if (method) {
        const args = cmd.slice(1).map((a) => this.evalArg(a, dot, line));
        if (piped) args.push(piped.value);
        return this.invoke(method.name, method.fn, args, line);
      }
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

  /** The method a field or variable chain ends in (`.Labels.Remove`), when the caller's data has one there. */
  private methodCall(head: Arg, dot: GoValue, line: number): { name: string; fn: TemplateFunc } | undefined {
    if (!this.scope.methods || (head.t !== 'field' && head.t !== 'var') || head.names.length === 0) return undefined;
    const name = head.names.at(-1)!;
    const base = head.t === 'field' ? dot : this.evalArg({ t: 'var', name: head.name, names: [] }, dot, line);
    const receiver = this.fieldChain(base, head.names.slice(0, -1), line);
    const fn = this.scope.methods(receiver, name);
    return fn ? { name, fn } : undefined;
  }

  private invoke(name: string, fn: TemplateFunc, args: GoValue[], line: number): GoValue {
    try {
      return fn(...args);
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      throw this.err(line, `executing ${quoteGo(this.name)} at <${name}>: error calling ${name}: ${(e as Error).message}`);
    }
  }

  private fieldChain(v: GoValue, names: string[], line: number): GoValue {
    let cur = v;
    for (const name of names) {
      if (cur === null || cur === undefined) return undefined;
      const method = this.scope.methods?.(cur, name);
      if (method) {
        cur = this.invoke(name, method, [], line);
        continue;
      }
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
      if (name === 'printf') return goSprintf(String(args[0] ?? ''), args.slice(1), this.maxOutput);
      const builtin = BUILTINS[name];
      const f = builtin ?? this.funcs[name];
      if (!f) throw new Error(`function ${quoteGo(name)} not defined`);
      const v = f(...args);
      // Whatever a function built, a result longer than the whole output may be is refused here.
      if (typeof v === 'string' && v.length > this.maxOutput) throw new Error(outputTooLong(this.maxOutput));
      return v;
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      throw this.err(line, `executing ${quoteGo(this.name)} at <${name}>: error calling ${name}: ${(e as Error).message}`);
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

