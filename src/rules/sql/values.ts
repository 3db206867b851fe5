/**
 * The IoT SQL value model (spec/iot-sql.md section 3) on plain JavaScript values, chosen so that a
 * JSON.parse'd payload is already a valid SQL value and the hot path never wraps anything:
 *
 *   SQL type    JavaScript
 *   Undefined   undefined
 *   Null        null
 *   Boolean     boolean
 *   Int         number with an integer value (safe range), or bigint beyond 2^53 (exact, up to 34 digits)
 *   Decimal     number with a fractional part; under 2015-10-08 a whole-number Decimal is a WholeDecimal
 *               so that it prints as `5.0` (section 2). Under 2016-03-23 whole Decimals *are* Ints.
 *   String      string
 *   Array       SqlValue[]
 *   Object      plain object (own enumerable keys only; never looked up through the prototype)
 *   raw bytes   Bytes (a non-JSON payload seen through `*`, or undecodable data)
 *
 * Conversions follow the implicit-conversion table of section 3; operators and functions call
 * them when an argument has the wrong type, and a failed conversion is Undefined.
 */

/** Base of the two boxed value kinds, so that "is this a plain object" is one instanceof test. */
export abstract class Boxed {
  abstract toJSON(): unknown;
}

/** A whole-number Decimal under SQL 2015-10-08 (prints as `5.0`); never created under 2016-03-23. */
export class WholeDecimal extends Boxed {
  constructor(readonly n: number) {
    super();
  }
  toJSON(): number {
    return this.n;
  }
}

/** Raw bytes: a non-JSON payload through `*`, or bytes that are not text. */
export class Bytes extends Boxed {
  constructor(readonly buf: Buffer) {
    super();
  }
  /** Inside JSON output raw bytes travel as Base64 text. */
  toJSON(): string {
    return this.buf.toString('base64');
  }
}

export type SqlValue = undefined | null | boolean | number | bigint | string | Boxed | SqlValue[] | SqlObject;
export interface SqlObject {
  [key: string]: SqlValue;
}

export type SqlVersion = '2015-10-08' | '2016-03-23' | 'beta';
export const SQL_VERSIONS: readonly SqlVersion[] = ['2015-10-08', '2016-03-23', 'beta'];
/** The version AWS uses when a rule omits awsIotSqlVersion (spec section 2). */
export const DEFAULT_SQL_VERSION: SqlVersion = '2015-10-08';

export function isSqlVersion(v: unknown): v is SqlVersion {
  return v === '2015-10-08' || v === '2016-03-23' || v === 'beta';
}

/** 2016-03-23 and beta ([DECISION] beta = 2016-03-23) have the newer features. */
export function isModern(version: SqlVersion): boolean {
  return version !== '2015-10-08';
}

export function isObject(v: SqlValue): v is SqlObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Boxed);
}

/** Own-property read that never sees Object.prototype (`constructor`, `__proto__`, ...). */
export function getOwn(o: SqlObject, key: string): SqlValue {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** Keys that plain `o[key]` would resolve through the prototype; such keys take getOwn. */
export function isPrototypeKey(key: string): boolean {
  return key in Object.prototype;
}

/** Write a key on an output object; `__proto__` must be defined, not assigned. */
export function setOwn(o: SqlObject, key: string, v: SqlValue): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
  else o[key] = v;
}

// ---------------------------------------------------------------------------------------------
// Numbers

const SAFE = Number.MAX_SAFE_INTEGER;
const BIG_LIMIT = 10n ** 34n; // AWS Ints hold up to 34 digits (section 3)

/** bigint results back to the smallest faithful representation. */
export function normalizeBigInt(r: bigint): number | bigint {
  if (r >= -BigInt(SAFE) && r <= BigInt(SAFE)) return Number(r);
  if (r >= BIG_LIMIT || r <= -BIG_LIMIT) return Number(r); // beyond AWS's Int: a (double) Decimal
  return r;
}

/** A Decimal result: NaN/Infinity are Undefined; -0 is 0; whole values boxed under 2015-10-08. */
export function decimal(x: number, keepWhole: boolean): SqlValue {
  if (!Number.isFinite(x)) return undefined;
  if (x === 0) return keepWhole ? new WholeDecimal(0) : 0;
  if (keepWhole && Number.isInteger(x)) return new WholeDecimal(x);
  return x;
}

/** An exact Int (safe integer number or bigint), else undefined. Strings are not Ints here. */
export function intOf(v: SqlValue): number | bigint | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v === 'bigint') return v;
  return undefined;
}

/** True for Int and Decimal values (no strings). */
export function isNumber(v: SqlValue): v is number | bigint | WholeDecimal {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof WholeDecimal;
}

const NUMERIC_STRING = /^-?\d+(\.\d+)?([eE]-?\d+)?$/;

/** Parse a numeric string per section 3 (`^-?\d+(\.\d+)?((?i)E-?\d+)?$`), else undefined. */
export function parseNumericString(s: string): number | bigint | undefined {
  if (!NUMERIC_STRING.test(s)) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n)) return undefined;
  if (!Number.isSafeInteger(n) && /^-?\d+$/.test(s)) return normalizeBigInt(BigInt(s));
  return n;
}

/** Std conversion to Decimal (Int and Decimal unchanged, numeric strings parsed); Null/other → undefined. */
export function toDecimal(v: SqlValue): number | bigint | undefined {
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (typeof v === 'string') return parseNumericString(v);
  if (v instanceof WholeDecimal) return v.n;
  return undefined;
}

/** A numeric value as a double (for maths functions); undefined when not convertible. */
export function toDouble(v: SqlValue): number | undefined {
  if (typeof v === 'number') return v;
  const d = toDecimal(v);
  return d === undefined ? undefined : Number(d);
}

/** Half away from zero, as AWS's round() examples (round(-1.5) = -2). */
export function roundHalfAway(x: number): number {
  const r = Math.sign(x) * Math.round(Math.abs(x));
  return r === 0 ? 0 : r;
}

/**
 * Std conversion to Int (section 3): Decimal rounded to nearest, numeric string parsed as Decimal
 * then truncated, anything else undefined.
 */
export function toInt(v: SqlValue): number | bigint | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : roundHalfAway(v);
  if (typeof v === 'bigint') return v;
  if (v instanceof WholeDecimal) return v.n;
  if (typeof v === 'string') {
    const d = parseNumericString(v);
    if (d === undefined) return undefined;
    return typeof d === 'bigint' ? d : truncZero(d);
  }
  return undefined;
}

/** An Int argument as a JS number (functions that index or count), decimals truncated. */
export function toIndex(v: SqlValue): number | undefined {
  const d = toDecimal(v);
  if (d === undefined) return undefined;
  return typeof d === 'bigint' ? Number(d) : truncZero(d);
}

export function truncZero(x: number): number {
  const r = Math.trunc(x);
  return r === 0 ? 0 : r;
}

export function toBool(v: SqlValue): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    if (v.length === 4 && v.toLowerCase() === 'true') return true;
    if (v.length === 5 && v.toLowerCase() === 'false') return false;
  }
  return undefined;
}

/** Text of a number as AWS prints it (shortest round trip; 2015 whole Decimals get `.0`). */
export function numberText(v: number | bigint | WholeDecimal): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return v === 0 ? '0' : String(v);
  const s = v.n === 0 ? '0' : String(v.n);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** Std conversion to String (section 3). Null and Undefined have no String form. */
export function toStr(v: SqlValue): string | undefined {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' || typeof v === 'bigint' || v instanceof WholeDecimal) return numberText(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Bytes) return v.buf.toString('utf8');
  return serialize(v);
}

// ---------------------------------------------------------------------------------------------
// Equality (section 4: `=`): numbers by value (Int promoted), strings exactly, arrays item by item,
// objects key by key ignoring order; mismatched types are simply not equal.

export function deepEquals(a: SqlValue, b: SqlValue): boolean {
  if (a === b) return true;
  if (isNumber(a)) {
    if (!isNumber(b)) return false;
    const x = a instanceof WholeDecimal ? a.n : a;
    const y = b instanceof WholeDecimal ? b.n : b;
    // number == bigint compares mathematically
    return x == y;
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEquals(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Bytes) return b instanceof Bytes && a.buf.equals(b.buf);
  if (!isObject(a) || !isObject(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k) || !deepEquals(a[k], b[k])) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Serialization

/**
 * JSON text of a value with AWS's number forms. Undefined members are omitted, Undefined array
 * items become null (as JSON.stringify), raw bytes become Base64 text.
 */
export function serialize(v: SqlValue): string {
  const out: string[] = [];
  write(v, out);
  return out.join('');
}

function write(v: SqlValue, out: string[]): void {
  if (v === undefined || v === null) {
    out.push('null');
  } else if (typeof v === 'string') {
    out.push(JSON.stringify(v));
  } else if (typeof v === 'number' || typeof v === 'bigint' || v instanceof WholeDecimal) {
    out.push(typeof v === 'number' && !Number.isFinite(v) ? 'null' : numberText(v));
  } else if (typeof v === 'boolean') {
    out.push(v ? 'true' : 'false');
  } else if (v instanceof Bytes) {
    out.push(JSON.stringify(v.toJSON()));
  } else if (Array.isArray(v)) {
    out.push('[');
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.push(',');
      write(v[i], out);
    }
    out.push(']');
  } else if (v instanceof Boxed) {
    out.push('null');
  } else {
    out.push('{');
    let first = true;
    for (const k of Object.keys(v)) {
      const item = v[k];
      if (item === undefined) continue;
      if (!first) out.push(',');
      first = false;
      out.push(JSON.stringify(k), ':');
      write(item, out);
    }
    out.push('}');
  }
}

/**
 * JSON text for output. Under 2016-03-23 no WholeDecimal exists, so the native JSON.stringify is
 * exact except for bigint, which it refuses with a TypeError: then the careful writer takes over.
 */
export function toJsonText(v: SqlValue, keepWhole: boolean): string {
  if (!keepWhole) {
    try {
      return JSON.stringify(v) ?? '';
    } catch (err: unknown) {
      if (!(err instanceof TypeError)) throw err;
    }
  }
  return serialize(v);
}

/** JSON text of one value, with the common kinds inline (the serializer below calls it per key). */
function jsonOf(v: SqlValue, keepWhole: boolean): string {
  if (typeof v === 'number') return Number.isFinite(v) ? (v === 0 ? '0' : String(v)) : 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null) return 'null';
  if (typeof v === 'bigint') return v.toString();
  return toJsonText(v, keepWhole);
}

/**
 * A serializer for output objects whose keys are known when the rule compiles (SELECT a, b AS c):
 * the quoted keys are prepared once and the object is written key by key, which is about a third
 * faster than JSON.stringify on small objects. Keys absent from the object (Undefined) are skipped.
 */
export function objectSerializer(keys: readonly string[], keepWhole: boolean): (o: SqlObject) => string {
  const quoted = keys.map((k) => `${JSON.stringify(k)}:`);
  return (o) => {
    let s = '{';
    for (let i = 0; i < keys.length; i++) {
      const v = o[keys[i] as string];
      if (v === undefined) continue;
      s += (s.length === 1 ? '' : ',') + (quoted[i] as string) + jsonOf(v, keepWhole);
    }
    return `${s}}`;
  };
}

/** The value as plain JSON-compatible data for other rooms (WholeDecimal → number, Bytes → Buffer). */
export function toExternal(v: SqlValue): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof WholeDecimal) return v.n;
  if (v instanceof Bytes) return v.buf;
  if (Array.isArray(v)) return v.map(toExternal);
  if (v instanceof Boxed) return undefined;
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const item = v[k];
    if (item !== undefined) setOwnUnknown(o, k, toExternal(item));
  }
  return o;
}

function setOwnUnknown(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** True when a value tree holds a Boxed or bigint somewhere (so toExternal has work to do). */
export function needsExternalization(v: SqlValue, depth = 0): boolean {
  if (typeof v === 'bigint') return false;
  if (typeof v !== 'object' || v === null) return false;
  if (v instanceof Boxed) return true;
  if (depth > 2000) return true;
  if (Array.isArray(v)) {
    for (const item of v) if (needsExternalization(item, depth + 1)) return true;
    return false;
  }
  for (const k of Object.keys(v)) if (needsExternalization(v[k], depth + 1)) return true;
  return false;
}

/**
 * Import a value from outside (a Lambda's answer, a shadow document) as a SQL value: JSON data
 * passes, numbers that are not finite and anything that is not JSON data become Undefined.
 */
export function fromExternal(v: unknown, depth = 0): SqlValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'object' || v === undefined || depth > MAX_JSON_DEPTH) return undefined;
  if (Buffer.isBuffer(v)) return new Bytes(v);
  if (v instanceof Boxed) return v;
  if (Array.isArray(v)) return v.map((item: unknown) => fromExternal(item, depth + 1) ?? null);
  const o: SqlObject = {};
  for (const [k, item] of Object.entries(v)) {
    const sv = fromExternal(item, depth + 1);
    if (sv !== undefined) setOwn(o, k, sv);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Payload parsing

/**
 * Deepest JSON nesting accepted as JSON. [DECISION] AWS's parser (Jackson) stops at 1,000 levels;
 * a deeper document is treated as a non-JSON payload, which also keeps every recursive walk in
 * this room far from the stack limit.
 */
export const MAX_JSON_DEPTH = 1000;

/** Bracket depth of JSON text (strings skipped); only called for texts long enough to matter. */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return max;
}

/**
 * May the text hold an integer beyond 2^53, i.e. 16 or more digits in a row? Any such run covers
 * an index ≡ 15 (mod 16), so only every 16th character is looked at unless it is a digit.
 */
function hasLongDigitRun(t: string): boolean {
  for (let i = 15; i < t.length; i += 16) {
    const c = t.charCodeAt(i);
    if (c < 0x30 || c > 0x39) continue;
    let a = i;
    let b = i;
    while (a > 0 && isDigitCode(t.charCodeAt(a - 1))) a--;
    while (b + 1 < t.length && isDigitCode(t.charCodeAt(b + 1))) b++;
    if (b - a + 1 >= 16) return true;
  }
  return false;
}

function isDigitCode(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

const WHOLE_DECIMAL_HINT = /\d\.0+(?![0-9])|\d[eE]/;

/**
 * Parse JSON text into SQL values. Fast path: the native parser. The careful parser runs only when
 * the text may hold an integer beyond 2^53 (16+ digits in a row), or, under 2015-10-08, a
 * whole-number Decimal such as `5.0` or `1e3`. Throws SyntaxError for invalid JSON and RangeError
 * when nesting exceeds MAX_JSON_DEPTH.
 */
export function parseJsonText(text: string, keepWhole: boolean): SqlValue {
  if (text.length > 2 * MAX_JSON_DEPTH && jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new RangeError(`JSON nesting deeper than ${MAX_JSON_DEPTH} levels`);
  }
  const value = JSON.parse(text) as SqlValue;
  if (!hasLongDigitRun(text) && !(keepWhole && WHOLE_DECIMAL_HINT.test(text))) return value;
  return new CarefulJsonParser(text, keepWhole).parseDocument();
}

/** A JSON parser for text already validated by JSON.parse, keeping number kinds exact. */
class CarefulJsonParser {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly keepWhole: boolean,
  ) {}

  parseDocument(): SqlValue {
    const v = this.value();
    return v;
  }

  private ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else break;
    }
  }

  private value(): SqlValue {
    this.ws();
    const s = this.s;
    const c = s.charCodeAt(this.i);
    if (c === 0x7b) {
      this.i++;
      const o: SqlObject = {};
      this.ws();
      if (s.charCodeAt(this.i) === 0x7d) {
        this.i++;
        return o;
      }
      for (;;) {
        this.ws();
        const k = this.string();
        this.ws();
        this.i++; // ':'
        setOwn(o, k, this.value());
        this.ws();
        if (s.charCodeAt(this.i++) === 0x7d) return o; // '}' else ','
      }
    }
    if (c === 0x5b) {
      this.i++;
      const a: SqlValue[] = [];
      this.ws();
      if (s.charCodeAt(this.i) === 0x5d) {
        this.i++;
        return a;
      }
      for (;;) {
        a.push(this.value());
        this.ws();
        if (s.charCodeAt(this.i++) === 0x5d) return a;
      }
    }
    if (c === 0x22) return this.string();
    if (s.startsWith('true', this.i)) {
      this.i += 4;
      return true;
    }
    if (s.startsWith('false', this.i)) {
      this.i += 5;
      return false;
    }
    if (s.startsWith('null', this.i)) {
      this.i += 4;
      return null;
    }
    return this.number();
  }

  private string(): string {
    const s = this.s;
    const start = this.i;
    this.i++;
    while (this.i < s.length) {
      const d = s.charCodeAt(this.i);
      if (d === 0x5c) this.i += 2;
      else if (d === 0x22) break;
      else this.i++;
    }
    this.i++;
    return JSON.parse(s.slice(start, this.i)) as string;
  }

  private number(): SqlValue {
    const s = this.s;
    const start = this.i;
    let isDecimal = false;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b) this.i++;
      else if (c === 0x2e || c === 0x65 || c === 0x45) {
        isDecimal = true;
        this.i++;
      } else break;
    }
    const text = s.slice(start, this.i);
    if (!isDecimal) {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : normalizeBigInt(BigInt(text));
    }
    const n = Number(text);
    return this.keepWhole && Number.isInteger(n) ? new WholeDecimal(n) : n;
  }
}
