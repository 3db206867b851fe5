/**
 * Maths functions (spec/iot-sql.md section 7, "Math"). Numeric strings are converted; Boolean,
 * Array, Object, Null, Undefined and non-numeric strings give Undefined. Functions AWS documents
 * as returning doubles (power, sqrt, exp, ln, log, trig) return Decimals, so under 2015-10-08
 * `power(2, 5)` prints `32.0` and under 2016-03-23 `32`. Imaginary or infinite results
 * (`sqrt(-1)`, `ln(0)`) are Undefined.
 */
import { arithmetic } from '../sql/operators.js';
import {
  decimal,
  normalizeBigInt,
  roundHalfAway,
  toDecimal,
  toDouble,
  toIndex,
  WholeDecimal,
  type SqlValue,
} from '../sql/values.js';
import { def, type FunctionDef } from './function.js';

function intResult(x: number): SqlValue {
  if (!Number.isFinite(x)) return undefined;
  return x === 0 ? 0 : x;
}

/** A one-argument function of a double returning a Decimal. */
function real(usage: string, f: (x: number) => number): FunctionDef {
  return def(usage, 1, 1, (args, run) => {
    const x = toDouble(args[0]);
    return x === undefined ? undefined : decimal(f(x), run.keepWhole);
  });
}

function abs(v: SqlValue, keepWhole: boolean): SqlValue {
  if (typeof v === 'number') return v === 0 ? 0 : Math.abs(v);
  if (typeof v === 'bigint') return normalizeBigInt(v < 0n ? -v : v);
  if (v instanceof WholeDecimal) return new WholeDecimal(Math.abs(v.n));
  if (typeof v === 'string') {
    const d = toDecimal(v); // a numeric string gives a Decimal
    if (d === undefined) return undefined;
    return typeof d === 'bigint' ? normalizeBigInt(d < 0n ? -d : d) : decimal(Math.abs(d), keepWhole);
  }
  return undefined;
}

/** trunc(2.888, 2) = 2.88 on the decimal digits as written, not on binary fractions. */
function truncDigits(x: number, digits: number): number {
  if (Number.isInteger(x)) return x;
  const s = String(x);
  let r: number;
  if (s.includes('e')) {
    const f = 10 ** digits;
    r = Math.trunc(x * f) / f;
  } else {
    const dot = s.indexOf('.');
    r = Number(s.slice(0, dot + 1 + digits));
  }
  return r === 0 ? 0 : r;
}

/** Two's-complement 64-bit view of an Int argument; non-Ints rounded down (section 7). */
function bits(v: SqlValue): bigint | undefined {
  const d = toDecimal(v);
  if (d === undefined) return undefined;
  if (typeof d === 'bigint') return BigInt.asIntN(64, d);
  return BigInt.asIntN(64, BigInt(Math.floor(d)));
}

function bitwise(usage: string, f: (a: bigint, b: bigint) => bigint): FunctionDef {
  return def(usage, 2, 2, (args) => {
    const a = bits(args[0]);
    const b = bits(args[1]);
    return a === undefined || b === undefined ? undefined : normalizeBigInt(BigInt.asIntN(64, f(a, b)));
  });
}

function remainder(usage: string): FunctionDef {
  return def(usage, 2, 2, (args, run) => {
    const a = args[0];
    const b = args[1];
    if (typeof a === 'boolean' || typeof b === 'boolean') return undefined;
    return arithmetic('%', a, b, run.keepWhole);
  });
}

export const MATH_FUNCTIONS: readonly FunctionDef[] = [
  def('abs(number)', 1, 1, (args, run) => abs(args[0], run.keepWhole)),
  def('ceil(number)', 1, 1, (args) => {
    const v = args[0];
    if (typeof v === 'bigint') return v;
    const x = toDouble(v);
    return x === undefined ? undefined : intResult(Math.ceil(x));
  }),
  def('floor(number)', 1, 1, (args) => {
    const v = args[0];
    if (typeof v === 'bigint') return v;
    const x = toDouble(v);
    return x === undefined ? undefined : intResult(Math.floor(x));
  }),
  def('round(number)', 1, 1, (args) => {
    const v = args[0];
    if (typeof v === 'bigint') return v;
    const x = toDouble(v);
    return x === undefined ? undefined : intResult(roundHalfAway(x));
  }),
  def('trunc(number, digits)', 2, 2, (args) => {
    const d = toDecimal(args[0]);
    const digits = toIndex(args[1]);
    if (d === undefined || digits === undefined) return undefined;
    if (typeof d === 'bigint') return d;
    return truncDigits(d, Math.min(34, Math.max(0, digits)));
  }),
  def('sign(number)', 1, 1, (args) => {
    const d = toDecimal(args[0]);
    if (d === undefined) return undefined;
    if (typeof d === 'bigint') return d > 0n ? 1 : d < 0n ? -1 : 0;
    return d > 0 ? 1 : d < 0 ? -1 : 0;
  }),
  remainder('mod(dividend, divisor)'),
  remainder('remainder(dividend, divisor)'),
  def('power(base, exponent)', 2, 2, (args, run) => {
    const a = toDouble(args[0]);
    const b = toDouble(args[1]);
    return a === undefined || b === undefined ? undefined : decimal(a ** b, run.keepWhole);
  }),
  real('sqrt(number)', Math.sqrt),
  real('exp(number)', Math.exp),
  real('ln(number)', Math.log),
  real('log(number)', Math.log10),
  real('sin(radians)', Math.sin),
  real('cos(radians)', Math.cos),
  real('tan(radians)', Math.tan),
  real('asin(number)', Math.asin),
  real('acos(number)', Math.acos),
  real('atan(number)', Math.atan),
  real('sinh(number)', Math.sinh),
  real('cosh(number)', Math.cosh),
  real('tanh(number)', Math.tanh),
  def('atan2(y, x)', 2, 2, (args, run) => {
    const y = toDouble(args[0]);
    const x = toDouble(args[1]);
    return y === undefined || x === undefined ? undefined : decimal(Math.atan2(y, x), run.keepWhole);
  }),
  bitwise('bitand(a, b)', (a, b) => a & b),
  bitwise('bitor(a, b)', (a, b) => a | b),
  bitwise('bitxor(a, b)', (a, b) => a ^ b),
  def('bitnot(a)', 1, 1, (args) => {
    const a = bits(args[0]);
    return a === undefined ? undefined : normalizeBigInt(BigInt.asIntN(64, ~a));
  }),
  def('rand()', 0, 0, () => Math.random(), { pure: false }),
  def('nanvl(value, replacement)', 2, 2, (args) => {
    const v = args[0];
    return v === undefined || v === null || (typeof v === 'number' && Number.isNaN(v)) ? args[1] : v;
  }),
];
