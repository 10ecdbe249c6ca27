import type { PosRange } from './ast.ts';
import { lineCol } from './errors.ts';

/** One warning or info annotation about a sub-expression, as Prometheus reports them. */
export interface Annotation {
  readonly kind: 'warning' | 'info';
  /** The text after `PromQL warning: ` / `PromQL info: `. */
  readonly text: string;
  readonly pos: PosRange;
}

/**
 * The annotations collected while evaluating one query. Like Prometheus, they are deduplicated by their
 * text (without position); a later one with the same text replaces the earlier.
 */
export class Annotations {
  private readonly byText = new Map<string, Annotation>();

  warn(text: string, pos: PosRange): void {
    this.byText.set(`w${text}`, { kind: 'warning', text, pos });
  }

  info(text: string, pos: PosRange): void {
    this.byText.set(`i${text}`, { kind: 'info', text, pos });
  }

  get size(): number {
    return this.byText.size;
  }

  /** Formats them as Prometheus' API does: `PromQL warning: <text> (<line>:<col>)`. */
  format(query: string): { warnings: string[]; infos: string[] } {
    const warnings: string[] = [];
    const infos: string[] = [];
    for (const a of this.byText.values()) {
      const { line, col } = lineCol(query, a.pos.start);
      const s = `PromQL ${a.kind}: ${a.text} (${line}:${col})`;
      if (a.kind === 'warning') warnings.push(s);
      else infos.push(s);
    }
    return { warnings, infos };
  }
}
