import type { RE2JS } from 're2js';
import { compareStrings, compileRe2, labelValue } from '../model/index.ts';
import { LogqlError } from './errors.ts';
import { labelsSetKey } from './pipeline.ts';
import type { StepSeries } from './step-series.ts';
import { expandReplacement } from '../model/index.ts';

/**
 * `label_replace`: Loki semantics (RE2 matched against the whole value, `.` not matching `\n` as Loki compiles
 * `^(?:re)$`; `$1`/`${name}` expansion; an empty result drops the label).
 */
export function labelReplace(input: StepSeries[], dst: string, replacement: string, src: string, regex: string): StepSeries[] {
  let re: RE2JS;
  try {
    re = compileRe2(regex);
  } catch (err) {
    throw new LogqlError('bad_data', `parse error : invalid regex in label_replace: ${(err as Error).message}`, { cause: err });
  }
  const names = re.namedGroups();
  const out = new Map<string, StepSeries>();
  for (const s of input) {
    const value = labelValue(s.labels, src) ?? '';
    const m = re.matcher(value);
    let labels = s.labels;
    if (m.matches()) {
      const groups: (string | null)[] = [];
      for (let g = 0; g <= m.groupCount(); g++) groups.push(m.group(g));
      const res = expandReplacement(replacement, groups, names);
      const next = new Map(Object.entries(s.labels));
      if (res === '') next.delete(dst);
      else next.set(dst, res);
      labels = Object.fromEntries([...next].sort(([a], [b]) => compareStrings(a, b)));
    }
    const key = labelsSetKey(labels);
    const existing = out.get(key);
    if (existing) {
      for (let i = 0; i < s.values.length; i++) {
        if (!s.present[i]) continue;
        if (existing.present[i]) throw new LogqlError('execution', 'vector cannot contain metrics with the same labelset');
        existing.values[i] = s.values[i]!; // i < s.values.length
        existing.present[i] = 1;
      }
    } else out.set(key, { labels, values: s.values, present: s.present });
  }
  return [...out.values()];
}
