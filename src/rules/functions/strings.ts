/**
 * String functions (spec/iot-sql.md section 7, "String"). Arguments that are not strings go
 * through the standard String conversion (`length(false)` = 5, `substring(123, 2)` = "3",
 * `lower(["HELLO"])` = '["hello"]'); Null and Undefined have no String form, so they give
 * Undefined. Lengths and indexes count UTF-16 units, as Java's String does.
 */
import {
  toIndex,
  toInt,
  toStr,
  type SqlValue,
} from '../sql/values.js';
import { def, V2016, type FunctionDef } from './function.js';

/** Java's String.trim: everything up to U+0020 is trimmed. */
function trimStart(s: string): string {
  let i = 0;
  while (i < s.length && s.charCodeAt(i) <= 0x20) i++;
  return s.slice(i);
}
function trimEnd(s: string): string {
  let i = s.length;
  while (i > 0 && s.charCodeAt(i - 1) <= 0x20) i--;
  return s.slice(0, i);
}

function stringFn(usage: string, f: (s: string) => SqlValue, since?: typeof V2016): FunctionDef {
  return def(
    usage,
    1,
    1,
    (args) => {
      const s = toStr(args[0]);
      return s === undefined ? undefined : f(s);
    },
    since === undefined ? {} : { since },
  );
}

function twoStrings(usage: string, f: (a: string, b: string) => SqlValue, since?: typeof V2016): FunctionDef {
  return def(
    usage,
    2,
    2,
    (args) => {
      const a = toStr(args[0]);
      const b = toStr(args[1]);
      return a === undefined || b === undefined ? undefined : f(a, b);
    },
    since === undefined ? {} : { since },
  );
}

/** lpad/rpad: n spaces, n clamped to 0..1000 (section 7). */
function pad(usage: string, left: boolean): FunctionDef {
  return def(usage, 2, 2, (args) => {
    const s = toStr(args[0]);
    const n = toIndex(args[1]);
    if (s === undefined || n === undefined) return undefined;
    const spaces = ' '.repeat(Math.min(1000, Math.max(0, n)));
    return left ? spaces + s : s + spaces;
  });
}

function concat(args: readonly SqlValue[]): SqlValue {
  if (args.length === 0) return undefined;
  if (args.length === 1) return args[0];
  if (args.some((a) => Array.isArray(a))) {
    const out: SqlValue[] = [];
    for (const a of args) {
      if (a === undefined) return undefined;
      if (Array.isArray(a)) out.push(...a);
      else out.push(a);
    }
    return out;
  }
  let s = '';
  for (const a of args) {
    const part = toStr(a);
    if (part === undefined) return undefined; // [DECISION] Null/Undefined argument → Undefined
    s += part;
  }
  return s;
}

export const STRING_FUNCTIONS: readonly FunctionDef[] = [
  def('concat(value, ...)', 0, Infinity, (args) => concat(args)),
  stringFn('length(string)', (s) => s.length, V2016),
  stringFn('numbytes(string)', (s) => Buffer.byteLength(s, 'utf8'), V2016),
  stringFn('lower(string)', (s) => s.toLowerCase()),
  stringFn('upper(string)', (s) => s.toUpperCase()),
  def('substring(string, start[, end])', 2, 3, (args) => {
    const s = toStr(args[0]);
    const start = toIndex(args[1]);
    const end = args.length > 2 ? toIndex(args[2]) : s?.length;
    if (s === undefined || start === undefined || end === undefined) return undefined;
    const from = Math.min(s.length, Math.max(0, start));
    const to = Math.min(s.length, Math.max(0, end));
    return from >= to ? '' : s.slice(from, to);
  }),
  twoStrings('indexof(string, substring)', (s, sub) => s.indexOf(sub), V2016),
  twoStrings('startswith(string, prefix)', (s, p) => s.startsWith(p)),
  twoStrings('endswith(string, suffix)', (s, p) => s.endsWith(p)),
  def('replace(string, search, replacement)', 3, 3, (args) => {
    const s = toStr(args[0]);
    const from = toStr(args[1]);
    const to = toStr(args[2]);
    if (s === undefined || from === undefined || to === undefined) return undefined;
    return s.replaceAll(from, () => to);
  }),
  stringFn('trim(string)', (s) => trimEnd(trimStart(s))),
  stringFn('ltrim(string)', trimStart),
  stringFn('rtrim(string)', trimEnd),
  pad('lpad(string, count)', true),
  pad('rpad(string, count)', false),
  def('chr(code)', 1, 1, (args) => {
    const n = toInt(args[0]);
    if (n === undefined || typeof n === 'bigint' || n < 0 || n > 0x10ffff) return undefined;
    return String.fromCodePoint(n);
  }),
];
