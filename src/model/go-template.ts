/**
 * A compact interpreter for Go's text/template: the language of LogQL's `line_format` and `label_format` and of
 * Prometheus' alerting-rule annotations and labels (each caller passes its own functions).
 *
 * Supported: text and actions with `{{-`/`-}}` trimming and comments; pipelines with `|`; fields (`.a.b`),
 * `.`, `$`, variables (`$x := ...`, `$x = ...`); string (interpreted and raw), char, number, bool and nil
 * constants; parenthesized pipelines; `if`/`else if`/`else`, `range` (over lists, maps, integers) with
 * `else`, `break`/`continue`, `with`/`else`; `define`, `template` and `block` (named templates, shared by a
 * {@link GoTemplateSet}); methods of the caller's data ({@link MethodLookup}); the Go builtins (and, or, not, len, index, slice, print,
 * printf, println, eq, ne, lt, le, gt, ge, html, js, urlquery, call is not) plus the functions the caller
 * passes. Missing map keys render as "" (Loki uses `missingkey=zero`).
 *
 * Values: Go ints are bigint, float64 are number, strings, booleans, null (nil), arrays, plain objects.
 */
import type { Node } from './go-template-ast.ts';
import { ExecState } from './go-template-exec.ts';
import type { TemplateLimits, TemplateScope } from './go-template-exec.ts';
import { TemplateParser } from './go-template-parser.ts';
import type { GoValue, MethodLookup, TemplateFunc } from './go-template-value.ts';

/** A parsed template, ready to execute many times. Immutable; safe to share. */
export class GoTemplate {
  private readonly root: Node[];
  private readonly scope: TemplateScope;
  /**
   * @param set the template set it belongs to: named templates `{{template}}` can call (its own `define`s are
   *   added to a copy) and the methods of the data.
   */
  constructor(
    readonly name: string,
    source: string,
    private readonly funcs: Readonly<Record<string, TemplateFunc>>,
    set?: GoTemplateSet,
  ) {
    const defines = new Map(set?.defines);
    this.root = new TemplateParser(name, source, funcs, defines).parse();
    this.scope = { defines, ...(set?.natives ? { natives: set.natives } : {}), ...(set?.methods ? { methods: set.methods } : {}) };
  }

  /**
   * Runs the template with `data` as dot. Throws {@link TemplateError}, or whatever `limits.tick` throws.
   * The output never grows past `limits.maxOutputBytes` characters while it is produced.
   */
  execute(data: GoValue, limits?: TemplateLimits): string {
    const st = new ExecState(this.name, this.funcs, data, limits, this.scope);
    const out: string[] = [];
    st.walkList(this.root, data, out);
    return out.join('');
  }
}

/**
 * Named templates shared by several templates (Go's template set, e.g. Alertmanager's `templates:` files):
 * files add `define`s (a later one replaces an earlier one of the same name), `natives` are named templates
 * written in TypeScript that a `define` may override, `methods` the methods of the data.
 */
export class GoTemplateSet {
  readonly defines = new Map<string, Node[]>();
  constructor(
    private readonly funcs: Readonly<Record<string, TemplateFunc>>,
    readonly natives?: Readonly<Record<string, (dot: GoValue) => string>>,
    readonly methods?: MethodLookup,
  ) {}

  /** Parses a file of the set; only its `define`s and `block`s matter (its top-level text is ignored, as the callers of Go's ParseGlob do). */
  addFile(name: string, source: string): void {
    new TemplateParser(name, source, this.funcs, this.defines).parse();
  }
}
