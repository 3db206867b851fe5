/**
 * IoT SQL operators on SQL values (spec/iot-sql.md section 4). Each starts with the common case
 * (two JS numbers) and falls back to the conversion rules:
 *
 *   AND OR NOT        Boolean, or the strings "true"/"false" (any case); else Undefined.
 *                     [DECISION] three-valued: true OR x = true, false AND x = false.
 *   < <= > >=         both sides converted to Decimal (numeric strings too); else Undefined.
 *                     Strings are never compared as text.
 *   = <>              by type, no conversion; mismatched types are unequal; Undefined → Undefined.
 *   +                 a String on either side concatenates; Int+Int → Int; with a Decimal → Decimal.
 *   - * / %           Int∘Int → Int; Decimal or numeric string involved → Decimal; else Undefined.
 *                     Int / Int truncates toward zero ([DECISION] the operator table); x / 0 and
 *                     x % 0 are Undefined ([DECISION], undocumented).
 *   IN                x IN array: true when an element equals x (as `=`); not an array → Undefined.
 *
 * Ints stay exact beyond 2^53 as bigint, up to AWS's 34 digits.
 */
import {
  decimal,
  deepEquals,
  intOf,
  normalizeBigInt,
  toBool,
  toDecimal,
  toStr,
  WholeDecimal,
  type SqlValue,
} from './values.js';

export type ArithOp = '+' | '-' | '*' | '/' | '%';

export function and(a: SqlValue, b: SqlValue): boolean | undefined {
  const x = toBool(a);
  if (x === false) return false;
  const y = toBool(b);
  if (y === false) return false;
  return x === true && y === true ? true : undefined;
}

export function or(a: SqlValue, b: SqlValue): boolean | undefined {
  const x = toBool(a);
  if (x === true) return true;
  const y = toBool(b);
  if (y === true) return true;
  return x === false && y === false ? false : undefined;
}

export function not(a: SqlValue): boolean | undefined {
  const x = toBool(a);
  return x === undefined ? undefined : !x;
}

export function eq(a: SqlValue, b: SqlValue): boolean | undefined {
  if (a === undefined || b === undefined) return undefined;
  return a === b || deepEquals(a, b);
}

export function ne(a: SqlValue, b: SqlValue): boolean | undefined {
  if (a === undefined || b === undefined) return undefined;
  return a !== b && !deepEquals(a, b);
}

export function isIn(a: SqlValue, b: SqlValue): boolean | undefined {
  if (a === undefined || !Array.isArray(b)) return undefined;
  for (const item of b) if (deepEquals(a, item)) return true;
  return false;
}

/** Numeric view for ordering comparisons: Decimal conversion of both sides. */
function ordered(v: SqlValue): number | bigint | undefined {
  return typeof v === 'number' ? v : toDecimal(v);
}

export function lt(a: SqlValue, b: SqlValue): boolean | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a < b;
  const x = ordered(a);
  const y = ordered(b);
  return x === undefined || y === undefined ? undefined : x < y;
}

export function le(a: SqlValue, b: SqlValue): boolean | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a <= b;
  const x = ordered(a);
  const y = ordered(b);
  return x === undefined || y === undefined ? undefined : x <= y;
}

export function gt(a: SqlValue, b: SqlValue): boolean | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a > b;
  const x = ordered(a);
  const y = ordered(b);
  return x === undefined || y === undefined ? undefined : x > y;
}

export function ge(a: SqlValue, b: SqlValue): boolean | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a >= b;
  const x = ordered(a);
  const y = ordered(b);
  return x === undefined || y === undefined ? undefined : x >= y;
}

export function add(a: SqlValue, b: SqlValue, keepWhole: boolean): SqlValue {
  if (typeof a === 'number' && typeof b === 'number' && Number.isSafeInteger(a) && Number.isSafeInteger(b)) {
    const r = a + b;
    if (Number.isSafeInteger(r)) return r;
  }
  if (typeof a === 'string' || typeof b === 'string') {
    const x = toStr(a);
    const y = toStr(b);
    return x === undefined || y === undefined ? undefined : x + y;
  }
  return arithmetic('+', a, b, keepWhole);
}

/** The numeric operators; `+` arrives here only when neither side is a String. */
export function arithmetic(op: ArithOp, a: SqlValue, b: SqlValue, keepWhole: boolean): SqlValue {
  const ia = intOf(a);
  const ib = intOf(b);
  if (ia !== undefined && ib !== undefined) {
    if (op === '/' && !INT_DIVISION_TRUNCATES) return ib === 0 || ib === 0n ? undefined : decimal(Number(ia) / Number(ib), keepWhole);
    return intArithmetic(op, ia, ib);
  }
  const x = decimalOperand(a);
  const y = decimalOperand(b);
  if (x === undefined || y === undefined) return undefined;
  switch (op) {
    case '+':
      return decimal(x + y, keepWhole);
    case '-':
      return decimal(x - y, keepWhole);
    case '*':
      return decimal(x * y, keepWhole);
    case '/':
      return y === 0 ? undefined : decimal(x / y, keepWhole);
    case '%':
      return y === 0 ? undefined : decimal(x % y, keepWhole);
  }
}

function decimalOperand(v: SqlValue): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof WholeDecimal) return v.n;
  if (typeof v === 'string') {
    const d = toDecimal(v);
    return d === undefined ? undefined : Number(d);
  }
  return undefined;
}

const INT32 = 0x7fffffff;

/**
 * THE switch for Int / Int (spec section 4, open question 13.1): the operator table says the
 * quotient is an Int (truncated toward zero); the SET-clause page computes (75 - 32) * 5 / 9 as
 * 23.89. True follows the table ([DECISION]); false makes every Int / Int a Decimal division.
 */
export const INT_DIVISION_TRUNCATES = true;

export function intArithmetic(op: ArithOp, a: number | bigint, b: number | bigint): SqlValue {
  if (typeof a === 'number' && typeof b === 'number') {
    let r: number;
    switch (op) {
      case '+':
        r = a + b;
        break;
      case '-':
        r = a - b;
        break;
      case '*':
        r = a * b;
        break;
      case '/':
        if (b === 0) return undefined;
        if (Math.abs(a) > INT32 || Math.abs(b) > INT32) return bigArithmetic(op, BigInt(a), BigInt(b));
        r = Math.trunc(a / b);
        break;
      case '%':
        if (b === 0) return undefined;
        r = a % b;
        break;
    }
    if (Number.isSafeInteger(r)) return r === 0 ? 0 : r;
  }
  return bigArithmetic(op, BigInt(a), BigInt(b));
}

function bigArithmetic(op: ArithOp, a: bigint, b: bigint): SqlValue {
  switch (op) {
    case '+':
      return normalizeBigInt(a + b);
    case '-':
      return normalizeBigInt(a - b);
    case '*':
      return normalizeBigInt(a * b);
    case '/':
      return b === 0n ? undefined : normalizeBigInt(a / b);
    case '%':
      return b === 0n ? undefined : normalizeBigInt(a % b);
  }
}

/** Unary minus: numbers negated keeping their kind, numeric strings become Decimal, else Undefined. */
export function negate(v: SqlValue, keepWhole: boolean): SqlValue {
  if (typeof v === 'number') return v === 0 ? 0 : -v;
  if (typeof v === 'bigint') return normalizeBigInt(-v);
  if (v instanceof WholeDecimal) return new WholeDecimal(v.n === 0 ? 0 : -v.n);
  if (typeof v === 'string') {
    const d = toDecimal(v);
    return d === undefined ? undefined : decimal(-Number(d), keepWhole);
  }
  return undefined;
}
