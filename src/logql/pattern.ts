/**
 * Loki's pattern language (`| pattern "<a> - <_> [<ts>]"` and the `|>` line filter): literals and
 * captures `<name>` (`<_>` captures nothing). Matching scans left to right: each capture runs up to the
 * next literal. Semantics follow Loki's `pattern` package.
 */
type Node = { lit: string } | { capture: string };

export class LogPattern {
  private readonly nodes: Node[];
  /** Capture names in order (named captures only). */
  readonly names: readonly string[];

  private constructor(nodes: Node[]) {
    this.nodes = nodes;
    this.names = nodes.flatMap((n) => ('capture' in n && n.capture !== '_' ? [n.capture] : []));
  }

  /**
   * Parses a pattern. `forFilter` (the `|>` filter) forbids named captures. Throws Loki's messages:
   * "at least one capture is required", "consecutive capture", "duplicate capture", "named captures are
   * not allowed".
   */
  static parse(pattern: string, forFilter: boolean): LogPattern {
    const nodes: Node[] = [];
    const re = /<([A-Za-z_][A-Za-z0-9_]*)>/g;
    let last = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(pattern)) !== null) {
      if (m.index > last) nodes.push({ lit: pattern.slice(last, m.index) });
      nodes.push({ capture: m[1]! }); // group 1 is not optional
      last = re.lastIndex;
    }
    if (last < pattern.length) nodes.push({ lit: pattern.slice(last) });
    const caps = nodes.filter((n) => 'capture' in n);
    // A line filter pattern without captures matches the whole line literally.
    if (caps.length === 0 && !forFilter) throw new Error('at least one capture is required');
    let prev: Node | undefined;
    for (const n of nodes) {
      if (prev && 'capture' in prev && 'capture' in n) throw new Error('found consecutive capture: invalid expression');
      prev = n;
    }
    const seen = new Set<string>();
    for (const c of caps) {
      const name = (c).capture;
      if (name === '_') continue;
      if (forFilter) throw new Error('named captures are not allowed in a pattern line filter');
      if (seen.has(name)) throw new Error(`duplicate capture name (${name}): invalid expression`);
      seen.add(name);
    }
    return new LogPattern(nodes);
  }

  /** Returns the values of the named captures that matched (a prefix of `names` when the line is short). */
  matches(input: string): string[] {
    const out: string[] = [];
    const first = this.nodes[0];
    if (input.length === 0 || first === undefined) return out;
    let rest = input;
    let i = 0;
    if ('lit' in first) {
      if (!rest.startsWith(first.lit)) return out;
      rest = rest.slice(first.lit.length);
      i = 1;
    }
    while (i < this.nodes.length) {
      const cap = this.nodes[i] as { capture: string };
      if (i === this.nodes.length - 1) {
        if (cap.capture !== '_') out.push(rest);
        return out;
      }
      const lit = (this.nodes[i + 1] as { lit: string }).lit;
      i += 2;
      const j = rest.indexOf(lit);
      if (j < 0) {
        if (cap.capture !== '_') out.push(rest);
        return out;
      }
      if (cap.capture !== '_') out.push(rest.slice(0, j));
      rest = rest.slice(j + lit.length);
    }
    return out;
  }

  /** Whether the whole line matches (the `|>` filter). */
  test(input: string): boolean {
    const first = this.nodes[0];
    if (input.length === 0 || first === undefined) return false;
    let rest = input;
    let i = 0;
    if ('lit' in first) {
      if (!rest.startsWith(first.lit)) return false;
      rest = rest.slice(first.lit.length);
      i = 1;
    }
    while (i < this.nodes.length) {
      if (i === this.nodes.length - 1) return true;
      const lit = (this.nodes[i + 1] as { lit: string }).lit;
      i += 2;
      const j = rest.indexOf(lit);
      if (j < 0) return false;
      rest = rest.slice(j + lit.length);
    }
    return rest.length === 0;
  }
}
