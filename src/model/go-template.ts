/**
 * A compact interpreter for Go's text/template: the language of LogQL's `line_format` and `label_format` and of
 * Prometheus' alerting-rule annotations and labels (each caller passes its own functions).
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
import type { Node } from './go-template-ast.ts';
import { ExecState } from './go-template-exec.ts';
import type { TemplateLimits } from './go-template-exec.ts';
import { TemplateParser } from './go-template-parser.ts';
import type { GoValue, TemplateFunc } from './go-template-value.ts';

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

  /**
   * Runs the template with `data` as dot. Throws {@link TemplateError}, or whatever `limits.tick` throws.
   * The output never grows past `limits.maxOutputBytes` characters while it is produced.
   */
  execute(data: GoValue, limits?: TemplateLimits): string {
    const st = new ExecState(this.name, this.funcs, data, limits);
    const out: string[] = [];
    st.walkList(this.root, data, out);
    return out.join('');
  }
}
