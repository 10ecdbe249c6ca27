import type { Completion, CompletionContext, CompletionResult, CompletionSource } from '@codemirror/autocomplete';

/** Where completions come from: the Loki label APIs of the pane's source, cached per editor. */
export interface LabelSource {
  labelNames(): Promise<string[]>;
  labelValues(name: string): Promise<string[]>;
}

/** What may follow a `|` in a log pipeline: parsers, formatters and the label filters' keywords. */
const PIPELINE_STAGES: readonly { label: string; detail: string }[] = [
  { label: 'json', detail: 'parser' },
  { label: 'logfmt', detail: 'parser' },
  { label: 'pattern', detail: 'parser' },
  { label: 'regexp', detail: 'parser' },
  { label: 'unpack', detail: 'parser' },
  { label: 'line_format', detail: 'formatter' },
  { label: 'label_format', detail: 'formatter' },
  { label: 'decolorize', detail: 'formatter' },
  { label: 'drop', detail: 'labels' },
  { label: 'keep', detail: 'labels' },
  { label: 'unwrap', detail: 'range aggregation value' },
];

const VALUE_AFTER_MATCHER = /([A-Za-z_][\w]*)\s*(=|!=|=~|!~)\s*("(?:[^"\\]|\\.)*)?$/;
const NAME_IN_SELECTOR = /(?:[{,]\s*)([A-Za-z_][\w]*)?$/;
const STAGE_AFTER_PIPE = /\|\s*([a-z_]*)$/;

/**
 * Completes LogQL: inside a stream selector `{…}` the label names, and after a matcher operator that label's
 * values (quoted); after a `|` the parsers and formatters. Label filters after a parser and metric functions
 * are left to the user.
 */
export function logqlCompletion(source: LabelSource): CompletionSource {
  return async (ctx: CompletionContext): Promise<CompletionResult | null> => {
    // The whole query up to the cursor: a selector or a pipeline may span lines.
    const before = ctx.state.doc.sliceString(0, ctx.pos);
    const open = before.lastIndexOf('{');
    const inSelector = open >= 0 && before.lastIndexOf('}') < open;
    if (inSelector) {
      const value = VALUE_AFTER_MATCHER.exec(before);
      if (value) {
        const typed = value[3] ?? '';
        const values = await source.labelValues(value[1]!).catch(() => []);
        return { from: ctx.pos - typed.length, options: values.map((v) => ({ label: JSON.stringify(v), type: 'text' })), validFor: /^"?[^"]*"?$/ };
      }
      const name = NAME_IN_SELECTOR.exec(before);
      if (!name) return null;
      const typed = name[1] ?? '';
      const names = await source.labelNames().catch(() => []);
      return { from: ctx.pos - typed.length, options: names.map((n): Completion => ({ label: n, type: 'property' })), validFor: /^\w*$/ };
    }
    const stage = STAGE_AFTER_PIPE.exec(before);
    if (!stage || (stage[1] === '' && !ctx.explicit && !/\|\s*$/.test(before))) return null;
    // `|=` and `|~` are line filters, not stages.
    if (/\|[=~]$/.test(before)) return null;
    const typed = stage[1] ?? '';
    return { from: ctx.pos - typed.length, options: PIPELINE_STAGES.map((s) => ({ label: s.label, detail: s.detail, type: 'keyword' })), validFor: /^[a-z_]*$/ };
  };
}

/** A {@link LabelSource} that asks once per name (the answers of one editor's life are cached). */
export function cachedLabelSource(names: () => Promise<string[]>, values: (name: string) => Promise<string[]>): LabelSource {
  let namesP: Promise<string[]> | undefined;
  const valuesP = new Map<string, Promise<string[]>>();
  return {
    labelNames: () => (namesP ??= names()),
    labelValues: (name) => {
      let p = valuesP.get(name);
      if (!p) valuesP.set(name, (p = values(name)));
      return p;
    },
  };
}
