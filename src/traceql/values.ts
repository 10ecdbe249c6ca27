import { compileAnchoredRegex } from '../model/index.ts';
import type { FieldOp, ImpliedType, Static, StaticType } from './ast.ts';

/** TraceQL's values and the typing and arithmetic rules of Tempo's `Static` (enum_statics.go, ast_execute.go). */

export const NIL: Static = { type: 'nil' };
export const TRUE: Static = { type: 'bool', value: true };
export const FALSE: Static = { type: 'bool', value: false };

export function staticInt(value: number): Static {
  return { type: 'int', value };
}
export function staticFloat(value: number): Static {
  return { type: 'float', value };
}
export function staticBool(value: boolean): Static {
  return value ? TRUE : FALSE;
}
export function staticString(value: string): Static {
  return { type: 'string', value };
}
export function staticDuration(ns: number): Static {
  return { type: 'duration', value: ns };
}

/** Tempo's numbering of statuses (error 0, ok 1, unset 2), used where an int is compared with a status. */
const STATUS_CODE = { error: 0, ok: 1, unset: 2 } as const;

export function isNumericType(t: ImpliedType): boolean {
  return t === 'int' || t === 'float' || t === 'duration';
}

export function isArrayType(t: ImpliedType): boolean {
  return t === 'intArray' || t === 'floatArray' || t === 'stringArray' || t === 'boolArray';
}

const ELEMENT_TYPE: Partial<Record<ImpliedType, StaticType>> = {
  intArray: 'int',
  floatArray: 'float',
  stringArray: 'string',
  boolArray: 'bool',
};

/** Whether two types can meet in a binary operation (whatever the operator). */
export function isMatchingOperand(a: ImpliedType, b: ImpliedType): boolean {
  if (a === 'attribute' || b === 'attribute') return true;
  if (a === b) return true;
  if (isNumericType(a) && isNumericType(b)) return true;
  if (a === 'nil' || b === 'nil') return true;
  return isMatchingArrayElement(a, b);
}

export function isMatchingArrayElement(a: ImpliedType, b: ImpliedType): boolean {
  const ea = ELEMENT_TYPE[a];
  if (ea !== undefined) return isMatchingOperand(ea, b);
  const eb = ELEMENT_TYPE[b];
  if (eb !== undefined) return isMatchingOperand(eb, a);
  return false;
}

export function isBooleanOp(op: FieldOp): boolean {
  return op === '||' || op === '&&' || op === '=' || op === '!=' || op === '=~' || op === '!~' || op === '>' || op === '>=' || op === '<' || op === '<=';
}

/** Whether `op` may take an operand of type `t`. */
export function binaryTypeValid(op: FieldOp, t: ImpliedType): boolean {
  switch (t) {
    case 'attribute':
      return true;
    case 'bool':
    case 'boolArray':
      return op === '&&' || op === '||' || op === '=' || op === '!=';
    case 'float':
    case 'floatArray':
    case 'int':
    case 'intArray':
    case 'duration':
      return ['+', '-', '*', '/', '%', '^', '=', '!=', '>', '>=', '<', '<='].includes(op);
    case 'string':
    case 'stringArray':
      return ['=', '!=', '=~', '!~', '>', '>=', '<', '<='].includes(op);
    case 'nil':
    case 'status':
    case 'kind':
      return op === '=' || op === '!=';
    default:
      return false;
  }
}

export function binaryTypesValid(op: FieldOp, a: ImpliedType, b: ImpliedType): boolean {
  return binaryTypeValid(op, a) && binaryTypeValid(op, b);
}

/** A number's value as a float (ints, floats, durations in ns); NaN for the rest. */
export function toFloat(s: Static): number {
  return s.type === 'int' || s.type === 'float' || s.type === 'duration' ? s.value : NaN;
}

/** Tempo's `Static.Equals`: nil equals nothing; numbers compare across int/float/duration. */
export function staticEquals(a: Static, b: Static): boolean {
  if (a.type === 'nil' || b.type === 'nil') return false;
  switch (a.type) {
    case 'int':
    case 'duration':
      if (b.type === 'int' || b.type === 'duration' || b.type === 'float') return a.value === b.value;
      if (b.type === 'status') return a.type === 'int' && a.value === STATUS_CODE[b.value];
      return false;
    case 'status':
      if (b.type === 'status') return a.value === b.value;
      if (b.type === 'int') return STATUS_CODE[a.value] === b.value;
      return false;
    case 'float':
      return a.value === toFloat(b);
    case 'kind':
    case 'bool':
    case 'string':
      return a.type === b.type && a.value === b.value;
    case 'intArray':
    case 'floatArray':
    case 'stringArray':
    case 'boolArray':
      return a.type === b.type && a.value.length === b.value.length && a.value.every((v, i) => v === b.value[i]);
  }
}

/** Elements of an array static, or the static itself. */
export function* elements(s: Static): Generator<Static> {
  switch (s.type) {
    case 'intArray':
      for (const v of s.value) yield staticInt(v);
      return;
    case 'floatArray':
      for (const v of s.value) yield staticFloat(v);
      return;
    case 'stringArray':
      for (const v of s.value) yield staticString(v);
      return;
    case 'boolArray':
      for (const v of s.value) yield staticBool(v);
      return;
    default:
      yield s;
  }
}


/** Thrown for an operation Tempo refuses while executing (division by zero between ints). */
export class ExecutionError extends Error {}

function flipped(op: FieldOp): FieldOp {
  switch (op) {
    case '>':
      return '<';
    case '>=':
      return '<=';
    case '<':
      return '>';
    case '<=':
      return '>=';
    default:
      return op;
  }
}

/**
 * A binary operation on two values, as Tempo executes it: types that may not meet give false; strings compare
 * bytewise and match anchored regexes; int with int stays int (`/` truncates); bools combine; an array against a
 * scalar matches when any element does (`!=`/`!~`: when every element does); everything else is float arithmetic.
 */
export function executeBinary(op: FieldOp, lhs: Static, rhs: Static): Static {
  if (!isMatchingOperand(lhs.type, rhs.type) || !binaryTypesValid(op, lhs.type, rhs.type)) return FALSE;
  if (lhs.type === 'string' && rhs.type === 'string') {
    const l = lhs.value;
    const r = rhs.value;
    switch (op) {
      case '>':
        return staticBool(l > r);
      case '>=':
        return staticBool(l >= r);
      case '<':
        return staticBool(l < r);
      case '<=':
        return staticBool(l <= r);
      case '=~':
        return staticBool(compileAnchoredRegex(r)(l));
      case '!~':
        return staticBool(!compileAnchoredRegex(r)(l));
    }
  } else if (lhs.type === 'int' && rhs.type === 'int') {
    const l = lhs.value;
    const r = rhs.value;
    switch (op) {
      case '+':
        return staticInt(l + r);
      case '-':
        return staticInt(l - r);
      case '/':
        if (r === 0) throw new ExecutionError('division by zero');
        return staticInt(Math.trunc(l / r));
      case '%':
        if (r === 0) throw new ExecutionError('modulo by zero');
        return staticInt(l % r);
      case '*':
        return staticInt(l * r);
      case '>':
        return staticBool(l > r);
      case '>=':
        return staticBool(l >= r);
      case '<':
        return staticBool(l < r);
      case '<=':
        return staticBool(l <= r);
      case '^':
        return staticInt(Math.trunc(Math.pow(l, r)));
    }
  } else if (lhs.type === 'bool' && rhs.type === 'bool') {
    if (op === '&&') return staticBool(lhs.value && rhs.value);
    if (op === '||') return staticBool(lhs.value || rhs.value);
  } else if (isMatchingArrayElement(lhs.type, rhs.type)) {
    if (!isBooleanOp(op)) throw new ExecutionError('arithmetic on an array');
    if (isArrayType(lhs.type) && isArrayType(rhs.type)) throw new ExecutionError('array operators must consist of a scalar and an array operand');
    let elemOp = op;
    let array = rhs;
    let scalar = lhs;
    let flip = false;
    if (isArrayType(lhs.type)) {
      elemOp = flipped(op);
      array = lhs;
      scalar = rhs;
      flip = elemOp === '=~' || elemOp === '!~';
    }
    const matchAll = elemOp === '!=' || elemOp === '!~';
    let count = 0;
    let matched = 0;
    for (const el of elements(array)) {
      count++;
      const r = flip ? executeBinary(elemOp, el, scalar) : executeBinary(elemOp, scalar, el);
      if (r.type === 'bool' && r.value) {
        matched++;
        if (!matchAll) break;
      }
    }
    return staticBool(matchAll ? matched === count : matched > 0);
  }
  const l = toFloat(lhs);
  const r = toFloat(rhs);
  switch (op) {
    case '+':
      return staticFloat(l + r);
    case '-':
      return staticFloat(l - r);
    case '/':
      return staticFloat(l / r);
    case '%':
      return staticFloat(l % r);
    case '*':
      return staticFloat(l * r);
    case '>':
      return staticBool(l > r);
    case '>=':
      return staticBool(l >= r);
    case '<':
      return staticBool(l < r);
    case '<=':
      return staticBool(l <= r);
    case '^':
      return staticFloat(Math.pow(l, r));
    case '=':
      return staticBool(staticEquals(lhs, rhs));
    case '!=':
      return staticBool(lhs.type !== 'nil' && rhs.type !== 'nil' && !staticEquals(lhs, rhs));
    default:
      throw new ExecutionError(`unexpected operator ${op}`);
  }
}

/** A unary operation on a value (`-`, `!`, and the `!= nil` / `= nil` tests). */
export function executeUnary(op: '-' | '!' | 'exists' | 'notExists', v: Static): Static {
  switch (op) {
    case '!':
      if (v.type !== 'bool') throw new ExecutionError(`expected a boolean, but got ${v.type}`);
      return staticBool(!v.value);
    case '-':
      if (v.type !== 'int' && v.type !== 'float' && v.type !== 'duration') throw new ExecutionError(`expected a numeric, but got ${v.type}`);
      return { type: v.type, value: -v.value };
    case 'exists':
      return staticBool(v.type !== 'nil');
    case 'notExists':
      // Tempo's documented meaning: the attribute is absent (or null).
      return staticBool(v.type === 'nil');
  }
}

/** A value as a group key / label value text, and its identity for maps. */
export function staticKey(s: Static): string {
  switch (s.type) {
    case 'nil':
      return 'nil';
    case 'intArray':
    case 'floatArray':
    case 'stringArray':
    case 'boolArray':
      return `${s.type}:${JSON.stringify(s.value)}`;
    default:
      return `${s.type}:${String(s.value)}`;
  }
}
