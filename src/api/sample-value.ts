/**
 * A sample value as Prometheus and Loki print it in JSON: Go's `strconv.FormatFloat(v, 'f', -1, 64)`
 * (shortest digits, never an exponent), with `NaN`, `+Inf`, `-Inf`.
 */
export function formatSampleValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  if (!s.includes('e')) return s;
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, intDigit, frac = '', expText] = m;
  const exp = Number(expText);
  const digits = intDigit + frac;
  if (exp >= 0) {
    const pointAt = 1 + exp;
    return sign + (digits.length <= pointAt ? digits + '0'.repeat(pointAt - digits.length) : `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`);
  }
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}
