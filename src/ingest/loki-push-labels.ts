import type { Labels } from '../model/index.ts';
import { readGoString, setOwnLabel } from '../model/index.ts';

/** A parsed Loki stream label string, or why it was refused (Loki's reasons). */
export type ParsedLabels =
  | { readonly labels: Labels }
  | { readonly reason: 'invalid_labels' | 'duplicate_label_names'; readonly message: string };

const NAME_START = /[a-zA-Z_]/;
const NAME_CHAR = /[a-zA-Z0-9_]/;

/**
 * Parses a stream's label text as Loki does for push requests (Prometheus' metric syntax without a name):
 * `{app="api", env="prod"}`, values as Go strings in double quotes, single quotes or backquotes. Labels with
 * an empty value are dropped, as Loki drops them. A syntax error yields Loki's `invalid_labels` message
 * (`Error parsing labels '<text>' with error: 1:<col>: parse error: ...`); a repeated name yields
 * `duplicate_label_names`.
 */
export function parseLokiLabels(text: string): ParsedLabels {
  let pos = 0;
  const fail = (msg: string): ParsedLabels => ({
    reason: 'invalid_labels',
    message: `Error parsing labels '${text}' with error: 1:${pos + 1}: parse error: ${msg}`,
  });
  const skip = (): void => {
    while (pos < text.length && (text[pos] === ' ' || text[pos] === '\t' || text[pos] === '\n' || text[pos] === '\r')) pos++;
  };
  skip();
  if (text[pos] !== '{') return fail(pos >= text.length ? 'unexpected end of input, expected "{"' : `unexpected character "${text[pos]}", expected "{"`);
  pos++;
  const out: Record<string, string> = {};
  const names = new Set<string>();
  skip();
  while (text[pos] !== '}') {
    if (pos >= text.length) return fail('unexpected end of input inside braces');
    if (!NAME_START.test(text[pos]!)) return fail(`unexpected character "${text[pos]}", expected a label name`);
    const start = pos;
    while (pos < text.length && NAME_CHAR.test(text[pos]!)) pos++;
    const name = text.slice(start, pos);
    skip();
    if (text[pos] !== '=' || text[pos + 1] === '~') {
      return fail(`unexpected ${pos >= text.length ? 'end of input' : `"${text.slice(pos, pos + 2)}"`} in label matching, expected "="`);
    }
    pos++;
    skip();
    const value = readGoString(text, pos, `"'`);
    if ('error' in value) return fail(`${value.error} in label matching`);
    pos = value.end;
    if (names.has(name)) {
      return { reason: 'duplicate_label_names', message: `stream '${text}' has duplicate label name: '${name}'` };
    }
    names.add(name);
    if (value.value !== '') setOwnLabel(out, name, value.value);
    skip();
    if (text[pos] === ',') {
      pos++;
      skip();
      continue;
    }
    if (text[pos] !== '}') return fail(pos >= text.length ? 'unexpected end of input, expected "," or "}"' : `unexpected character "${text[pos]}", expected "," or "}"`);
  }
  pos++;
  skip();
  if (pos !== text.length) return fail(`unexpected "${text.slice(pos, pos + 10)}" after the closing brace`);
  return { labels: out };
}
