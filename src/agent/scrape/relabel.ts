import { createHash } from 'node:crypto';
import type { RelabelConfig } from '../../config/index.ts';
import { compileRe2, expandReplacement, regexReplaceAll } from '../../model/index.ts';

type RE2JS = ReturnType<typeof compileRe2>;

/** A relabel config with its regex compiled once (anchored at both ends, as Prometheus does). */
export interface CompiledRelabel {
  readonly config: RelabelConfig;
  readonly re: RE2JS;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Compiles `configs`; an invalid RE2 regex throws an error naming it. */
export function compileRelabels(configs: readonly RelabelConfig[]): CompiledRelabel[] {
  return configs.map((config) => ({ config, re: compileRe2(`^(?s:${config.regex})$`) }));
}

/**
 * Prometheus' relabeling (`model/relabel.Process`): applies each step in order to a copy of `labels`; undefined
 * means the set was dropped (`keep`, `drop`, `keepequal`, `dropequal`).
 */
export function relabel(labels: Readonly<Record<string, string>>, steps: readonly CompiledRelabel[]): Record<string, string> | undefined {
  const lb: Record<string, string> = { ...labels };
  for (const { config: c, re } of steps) {
    const val = c.source_labels.map((n) => lb[n] ?? '').join(c.separator);
    switch (c.action) {
      case 'drop':
        if (re.matches(val)) return undefined;
        break;
      case 'keep':
        if (!re.matches(val)) return undefined;
        break;
      case 'dropequal':
        if ((lb[c.target_label!] ?? '') === val) return undefined;
        break;
      case 'keepequal':
        if ((lb[c.target_label!] ?? '') !== val) return undefined;
        break;
      case 'replace': {
        const m = re.matcher(val);
        if (!m.matches()) break;
        const groups: (string | null)[] = [];
        for (let g = 0; g <= m.groupCount(); g++) groups.push(m.group(g));
        const names = re.namedGroups();
        const target = expandReplacement(c.target_label!, groups, names);
        if (!LABEL_NAME.test(target)) break;
        const res = expandReplacement(c.replacement, groups, names);
        if (res === '') delete lb[target];
        else lb[target] = res;
        break;
      }
      case 'lowercase':
        lb[c.target_label!] = val.toLowerCase();
        break;
      case 'uppercase':
        lb[c.target_label!] = val.toUpperCase();
        break;
      case 'hashmod': {
        // Go: binary.BigEndian.Uint64(md5(val)[8:]) % modulus.
        const sum = createHash('md5').update(val).digest();
        lb[c.target_label!] = String(sum.readBigUInt64BE(8) % BigInt(c.modulus!));
        break;
      }
      case 'labelmap':
        for (const [name, value] of Object.entries({ ...lb })) {
          if (re.matches(name)) lb[regexReplaceAll(re, name, c.replacement, false)] = value;
        }
        break;
      case 'labeldrop':
        for (const name of Object.keys(lb)) if (re.matches(name)) delete lb[name];
        break;
      case 'labelkeep':
        for (const name of Object.keys(lb)) if (!re.matches(name)) delete lb[name];
        break;
    }
  }
  return lb;
}
