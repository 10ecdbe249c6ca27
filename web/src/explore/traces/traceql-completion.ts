import type { Completion, CompletionContext, CompletionResult, CompletionSource } from '@codemirror/autocomplete';

/** Where completions come from: Tempo's tag APIs, cached per editor (tag names by scope, values per tag). */
export interface TagSource {
  tagNames(): Promise<Record<string, string[]>>;
  tagValues(tag: string): Promise<{ type: string; value: string }[]>;
}

/** The scopes a TraceQL attribute can be written with (`span.http.route`, `resource.service.name`, `.x`). */
export const TRACEQL_SCOPES = ['span', 'resource', 'event', 'link', 'instrumentation'] as const;

/** Intrinsics the language defines with the values they take, offered even before the API answers. */
const ENUM_VALUES: Record<string, readonly string[]> = {
  status: ['error', 'ok', 'unset'],
  'span:status': ['error', 'ok', 'unset'],
  kind: ['server', 'client', 'producer', 'consumer', 'internal', 'unspecified'],
  'span:kind': ['server', 'client', 'producer', 'consumer', 'internal', 'unspecified'],
};

const OPERATOR_BEFORE_VALUE = /([A-Za-z_.:][\w.:\-/]*)\s*(=|!=|=~|!~|>=|<=|>|<)\s*("(?:[^"\\]|\\.)*)?$/;
const FIELD_PREFIX = /(?:^|[{(&|,!\s])([A-Za-z_.:][\w.:\-/]*)?$/;

/**
 * Completes TraceQL inside a spanset filter: after `{`, `&&` or `||` the scopes, intrinsics and known attributes
 * (`resource.service.name`); after an operator the attribute's values (quoted for strings, as the API types them).
 * Anything else (pipelines, aggregates) is left to the user.
 */
export function traceqlCompletion(source: TagSource): CompletionSource {
  return async (ctx: CompletionContext): Promise<CompletionResult | null> => {
    const line = ctx.state.doc.lineAt(ctx.pos);
    const before = line.text.slice(0, ctx.pos - line.from);
    const open = before.lastIndexOf('{');
    if (open < 0 || before.lastIndexOf('}') > open) return null;

    const value = OPERATOR_BEFORE_VALUE.exec(before);
    if (value) {
      const tag = value[1]!;
      const typed = value[3] ?? '';
      const from = ctx.pos - typed.length;
      const fixed = ENUM_VALUES[tag];
      const options: Completion[] = fixed
        ? fixed.map((v) => ({ label: v, type: 'enum' }))
        : (await source.tagValues(tag).catch(() => [])).map((v) => ({
            label: v.type === 'string' ? JSON.stringify(v.value) : v.value,
            type: v.type === 'string' ? 'text' : 'constant',
          }));
      return { from, options, validFor: /^"?[^"]*"?$/ };
    }

    const field = FIELD_PREFIX.exec(before);
    if (!field) return null;
    const typed = field[1] ?? '';
    if (typed === '' && !ctx.explicit && !/[{&|(]\s*$/.test(before)) return null;
    const names: Record<string, string[]> = await source.tagNames().catch(() => ({}));
    const options: Completion[] = [];
    for (const scope of TRACEQL_SCOPES) options.push({ label: `${scope}.`, type: 'keyword', boost: 2 });
    for (const intrinsic of names.intrinsic ?? ['duration', 'name', 'status', 'kind']) options.push({ label: intrinsic, type: 'property', boost: 1 });
    for (const [scope, tags] of Object.entries(names)) {
      if (scope === 'intrinsic') continue;
      for (const t of tags) options.push({ label: `${scope}.${t}`, type: 'variable' });
    }
    return { from: ctx.pos - typed.length, options, validFor: /^[\w.:\-/]*$/ };
  };
}
