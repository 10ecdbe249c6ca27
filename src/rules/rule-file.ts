import { LineCounter, isMap, isScalar, isSeq, parseDocument, stringify } from 'yaml';
import type { Node as YamlNode, YAMLMap } from 'yaml';
import { formatPromDuration, parsePromDuration } from '../model/index.ts';
import { checkTemplate } from './prom-template.ts';

/** The query language a rule's `expr` is written in: PromQL (Prometheus/Mimir rules) or metric LogQL (Loki rules). */
export type RuleLanguage = 'promql' | 'logql';

/** One rule of a group, as written in Prometheus' rule-file format. Durations are in milliseconds. */
export interface RuleSpec {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
  readonly forMs: number;
  readonly keepFiringForMs: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A rule group: rules evaluated in order every `intervalMs` (0 = the ruler's default interval). */
export interface RuleGroupSpec {
  readonly name: string;
  readonly intervalMs: number;
  /** Prometheus' `limit`: more series (recording) or alerts (alerting) than this fails the rule; 0 = none. */
  readonly limit: number;
  /** Prometheus' `query_offset`: the group evaluates this far in the past (for late-arriving data); 0 = none. */
  readonly queryOffsetMs: number;
  readonly rules: readonly RuleSpec[];
}

/** Checks a rule's expression: returns the parse error (with its `line:col`), or undefined when it is valid. */
export type ExpressionValidator = (language: RuleLanguage, expr: string) => string | undefined;

/** A rule file or group that cannot be used; the message names the place (`line:col`) and the problem. */
export class RuleFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleFileError';
  }
}

const GROUP_KEYS = new Set(['name', 'interval', 'limit', 'rules', 'query_offset', 'labels']);
const RULE_KEYS = new Set(['record', 'alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Parses a whole rule file (`groups: [...]`), as Prometheus' `rulefmt.Parse` does, checking every rule. */
export function parseRuleFile(text: string, language: RuleLanguage, validate: ExpressionValidator): RuleGroupSpec[] {
  const { root, pos } = parseYaml(text);
  if (root === null || root === undefined) return [];
  if (!isMap(root)) throw new RuleFileError(`${pos(root)}: a rule file is a map with a "groups" list`);
  for (const pair of root.items) {
    const key = scalarText(pair.key);
    if (key !== 'groups') throw new RuleFileError(`${pos(pair.key)}: field ${key} not found in type rulefmt.RuleGroups`);
  }
  const groups = root.get('groups', true) as YamlNode | undefined;
  if (groups === undefined || groups === null) return [];
  if (!isSeq(groups)) throw new RuleFileError(`${pos(groups)}: "groups" must be a list`);
  const seen = new Set<string>();
  return groups.items.map((g) => {
    const group = readGroup(g as YamlNode, language, validate, pos);
    if (seen.has(group.name)) throw new RuleFileError(`${pos(g)}: groupname: "${group.name}" is repeated in the same file`);
    seen.add(group.name);
    return group;
  });
}

/** Parses one rule group (the body of a ruler API `POST`), checking every rule. */
export function parseRuleGroup(text: string, language: RuleLanguage, validate: ExpressionValidator): RuleGroupSpec {
  const { root, pos } = parseYaml(text);
  if (root === null || root === undefined) throw new RuleFileError('the request body holds no rule group');
  return readGroup(root, language, validate, pos);
}

/** The group in Prometheus' rule-file YAML form (durations as Prometheus prints them). */
export function groupToYamlObject(group: RuleGroupSpec): Record<string, unknown> {
  const out: Record<string, unknown> = { name: group.name };
  if (group.intervalMs > 0) out.interval = formatPromDuration(group.intervalMs);
  if (group.limit > 0) out.limit = group.limit;
  if (group.queryOffsetMs > 0) out.query_offset = formatPromDuration(group.queryOffsetMs);
  out.rules = group.rules.map((r) => {
    const rule: Record<string, unknown> = r.record !== undefined ? { record: r.record } : { alert: r.alert };
    rule.expr = r.expr;
    if (r.forMs > 0) rule.for = formatPromDuration(r.forMs);
    if (r.keepFiringForMs > 0) rule.keep_firing_for = formatPromDuration(r.keepFiringForMs);
    if (Object.keys(r.labels).length > 0) rule.labels = { ...r.labels };
    if (Object.keys(r.annotations).length > 0) rule.annotations = { ...r.annotations };
    return rule;
  });
  return out;
}

/** YAML text of `value` (a rule file, a namespace map or a group), as the ruler APIs answer. */
export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}


type Pos = (node: YamlNode | unknown) => string;

function parseYaml(text: string): { root: YamlNode | null | undefined; pos: Pos } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const at = lines.linePos(first.pos[0]);
    throw new RuleFileError(`${at.line}:${at.col}: ${first.message.split('\n')[0]}`);
  }
  const pos: Pos = (node) => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (!range) return '1:1';
    const at = lines.linePos(range[0]);
    return `${at.line}:${at.col}`;
  };
  return { root: doc.contents, pos };
}

function scalarText(node: unknown): string {
  return isScalar(node) ? String(node.value) : String(node);
}

function readGroup(node: YamlNode, language: RuleLanguage, validate: ExpressionValidator, pos: Pos): RuleGroupSpec {
  if (!isMap(node)) throw new RuleFileError(`${pos(node)}: a rule group is a map with "name" and "rules"`);
  checkKeys(node, GROUP_KEYS, 'rulefmt.RuleGroup', pos);
  const name = optionalString(node, 'name', pos) ?? '';
  if (name.trim() === '') throw new RuleFileError(`${pos(node)}: Groupname must not be empty`);
  const intervalMs = optionalDuration(node, 'interval', pos) ?? 0;
  const queryOffsetMs = optionalDuration(node, 'query_offset', pos) ?? 0;
  const limitNode = node.get('limit', true) as YamlNode | undefined;
  let limit = 0;
  if (limitNode !== undefined) {
    const v = isScalar(limitNode) ? limitNode.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new RuleFileError(`${pos(limitNode)}: group "${name}": limit must be a non-negative integer`);
    limit = v;
  }
  const rulesNode = node.get('rules', true) as YamlNode | undefined;
  const rules: RuleSpec[] = [];
  if (rulesNode !== undefined && rulesNode !== null) {
    if (!isSeq(rulesNode)) throw new RuleFileError(`${pos(rulesNode)}: group "${name}": "rules" must be a list`);
    rulesNode.items.forEach((r, i) => rules.push(readRule(r as YamlNode, name, i + 1, language, validate, pos)));
  }
  return { name, intervalMs, limit, queryOffsetMs, rules };
}

function readRule(node: YamlNode, group: string, index: number, language: RuleLanguage, validate: ExpressionValidator, pos: Pos): RuleSpec {
  const fail = (at: unknown, ruleName: string, message: string): never => {
    throw new RuleFileError(`${pos(at)}: group "${group}", rule ${index}, "${ruleName}": ${message}`);
  };
  if (!isMap(node)) return fail(node, '', 'a rule is a map with "record" or "alert" and "expr"');
  const record = optionalString(node, 'record', pos);
  const alert = optionalString(node, 'alert', pos);
  const ruleName = record ?? alert ?? '';
  for (const pair of node.items) {
    const key = scalarText(pair.key);
    if (!RULE_KEYS.has(key)) fail(pair.key, ruleName, `field ${key} not found in type rulefmt.RuleNode`);
  }
  if ((record === undefined) === (alert === undefined)) fail(node, ruleName, "one of 'record' or 'alert' must be set");
  if (record !== undefined && !METRIC_NAME.test(record)) fail(node.get('record', true), ruleName, `invalid recording rule name: ${record}`);
  if (alert !== undefined && alert.trim() === '') fail(node.get('alert', true), ruleName, 'alert name must not be empty');
  const exprNode = node.get('expr', true) as YamlNode | undefined;
  const expr = optionalString(node, 'expr', pos);
  if (expr === undefined || expr.trim() === '') return fail(exprNode ?? node, ruleName, "field 'expr' must be set in rule");
  const problem = validate(language, expr);
  if (problem !== undefined) fail(exprNode, ruleName, `could not parse expression: ${problem}`);
  const forMs = optionalDuration(node, 'for', pos) ?? 0;
  const keepFiringForMs = optionalDuration(node, 'keep_firing_for', pos) ?? 0;
  const labels = stringMap(node, 'labels', pos);
  const annotations = stringMap(node, 'annotations', pos);
  if (record !== undefined) {
    if (node.has('for')) fail(node.get('for', true), ruleName, "invalid field 'for' in recording rule");
    if (node.has('keep_firing_for')) fail(node.get('keep_firing_for', true), ruleName, "invalid field 'keep_firing_for' in recording rule");
    if (node.has('annotations')) fail(node.get('annotations', true), ruleName, "invalid field 'annotations' in recording rule");
  }
  for (const name of Object.keys(labels)) {
    if (!LABEL_NAME.test(name)) fail(node.get('labels', true), ruleName, `invalid label name: ${name}`);
  }
  for (const name of Object.keys(annotations)) {
    if (!LABEL_NAME.test(name)) fail(node.get('annotations', true), ruleName, `invalid annotation name: ${name}`);
  }
  if (alert !== undefined) {
    for (const [kind, map] of [['label', labels], ['annotation', annotations]] as const) {
      for (const [name, text] of Object.entries(map)) {
        const err = checkTemplate(`__${kind}_${name}`, text);
        if (err !== undefined) fail(node.get(`${kind}s`, true), ruleName, `msg=${JSON.stringify(err)}`);
      }
    }
  }
  return {
    ...(record !== undefined ? { record } : { alert: alert! }),
    expr,
    forMs,
    keepFiringForMs,
    labels,
    annotations,
  };
}

function checkKeys(node: YAMLMap, allowed: ReadonlySet<string>, type: string, pos: Pos): void {
  for (const pair of node.items) {
    const key = scalarText(pair.key);
    if (!allowed.has(key)) throw new RuleFileError(`${pos(pair.key)}: field ${key} not found in type ${type}`);
  }
}

function optionalString(node: YAMLMap, key: string, pos: Pos): string | undefined {
  const v = node.get(key, true) as YamlNode | undefined;
  if (v === undefined || v === null) return undefined;
  if (!isScalar(v) || (typeof v.value !== 'string' && typeof v.value !== 'number' && typeof v.value !== 'boolean')) {
    throw new RuleFileError(`${pos(v)}: field ${key} must be a string`);
  }
  return String(v.value);
}

function optionalDuration(node: YAMLMap, key: string, pos: Pos): number | undefined {
  const text = optionalString(node, key, pos);
  if (text === undefined) return undefined;
  const ns = parsePromDuration(text);
  if (ns === undefined) throw new RuleFileError(`${pos(node.get(key, true))}: not a valid duration string: ${JSON.stringify(text)}`);
  return ns / 1e6;
}

function stringMap(node: YAMLMap, key: string, pos: Pos): Record<string, string> {
  const v = node.get(key, true) as YamlNode | undefined;
  if (v === undefined || v === null) return {};
  if (!isMap(v)) throw new RuleFileError(`${pos(v)}: field ${key} must be a map of strings`);
  const out: Record<string, string> = {};
  for (const pair of v.items) {
    const value = pair.value;
    if (value !== null && !isScalar(value)) throw new RuleFileError(`${pos(value)}: ${key}.${scalarText(pair.key)} must be a string`);
    out[scalarText(pair.key)] = value === null || value.value === null ? '' : String(value.value);
  }
  return out;
}
