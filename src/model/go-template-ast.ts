import type { GoValue } from './go-template-value.ts';

/** The parsed form of a template: node lists, pipelines and their operands. */
export type Node =
  | { t: 'text'; text: string }
  | { t: 'action'; pipe: Pipe; line: number }
  | { t: 'if' | 'with'; pipe: Pipe; list: Node[]; elseList?: Node[]; line: number }
  | { t: 'range'; pipe: Pipe; list: Node[]; elseList?: Node[]; line: number }
  | { t: 'break' | 'continue'; line: number }
  /** `{{template "name" pipeline}}` (and the call half of `{{block}}`): runs a named template with the pipeline as dot. */
  | { t: 'template'; name: string; pipe?: Pipe; line: number };

export interface Pipe {
  decl: string[];
  isAssign: boolean;
  cmds: Arg[][];
}

export type Arg =
  | { t: 'field'; names: string[] } // .a.b
  | { t: 'dot' }
  | { t: 'var'; name: string; names: string[] } // $x.a
  | { t: 'ident'; name: string }
  | { t: 'const'; value: GoValue }
  | { t: 'pipe'; pipe: Pipe; names: string[] };
