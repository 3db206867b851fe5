/**
 * Regular-expression functions (spec/iot-sql.md section 7). AWS runs Java regular expressions;
 * JavaScript's syntax agrees on everything rules commonly use. Two Java habits are translated:
 * leading inline flags such as `(?i)` become JavaScript flags, and replacement strings use Java's
 * rules (`$1`, `${name}`, backslash escapes a character). A pattern JavaScript cannot compile
 * (possessive quantifiers ...) or a bad replacement gives Undefined, never an error.
 *
 * Patterns are compiled once and cached (a rule's pattern is almost always a constant).
 */
import { toStr, type SqlValue } from '../sql/values.js';
import { def, type FunctionDef } from './function.js';

const CACHE_LIMIT = 512;
const cache = new Map<string, RegExp | null>();

/** A Java pattern as a JavaScript RegExp (global when `global`), or null when it does not compile. */
export function javaRegExp(pattern: string, global: boolean): RegExp | null {
  const key = (global ? 'g:' : 's:') + pattern;
  const hit = cache.get(key);
  if (hit !== undefined) {
    if (hit !== null) hit.lastIndex = 0;
    return hit;
  }
  let source = pattern;
  let flags = global ? 'g' : '';
  const inline = /^\(\?([imsx]+)\)/.exec(source);
  if (inline !== null) {
    const f = inline[1] ?? '';
    if (f.includes('x')) {
      remember(key, null);
      return null;
    }
    source = source.slice(inline[0].length);
    for (const c of f) if (!flags.includes(c)) flags += c;
  }
  let re: RegExp | null;
  try {
    re = new RegExp(source, flags);
  } catch {
    re = null;
  }
  remember(key, re);
  return re;
}

function remember(key: string, re: RegExp | null): void {
  if (cache.size >= CACHE_LIMIT) {
    const first = cache.keys().next();
    if (first.done !== true) cache.delete(first.value);
  }
  cache.set(key, re);
}

type ReplacementPart = string | number | { readonly name: string };

/** Java's Matcher.replaceAll replacement syntax, or null when it is invalid for `groups` groups. */
function parseReplacement(repl: string, groups: number, names: ReadonlySet<string>): ReplacementPart[] | null {
  const parts: ReplacementPart[] = [];
  let text = '';
  for (let i = 0; i < repl.length; i++) {
    const c = repl[i] ?? '';
    if (c === '\\') {
      i++;
      if (i >= repl.length) return null;
      text += repl[i] ?? '';
    } else if (c === '$') {
      i++;
      if (repl[i] === '{') {
        const close = repl.indexOf('}', i);
        if (close === -1) return null;
        const name = repl.slice(i + 1, close);
        if (!names.has(name)) return null;
        if (text !== '') parts.push(text);
        text = '';
        parts.push({ name });
        i = close;
        continue;
      }
      const d = repl.charCodeAt(i);
      if (!(d >= 0x30 && d <= 0x39)) return null;
      let n = d - 0x30;
      if (n > groups) return null;
      // Java takes further digits while the number stays a valid group
      while (i + 1 < repl.length) {
        const e = repl.charCodeAt(i + 1);
        if (!(e >= 0x30 && e <= 0x39)) break;
        const m = n * 10 + (e - 0x30);
        if (m > groups) break;
        n = m;
        i++;
      }
      if (text !== '') parts.push(text);
      text = '';
      parts.push(n);
    } else {
      text += c;
    }
  }
  if (text !== '') parts.push(text);
  return parts;
}

function groupInfo(re: RegExp): { count: number; names: Set<string> } {
  const probe = new RegExp(`${re.source}|`, re.flags.replace('g', '')).exec('');
  const names = new Set(Object.keys(probe?.groups ?? {}));
  return { count: probe === null ? 0 : probe.length - 1, names };
}

function regexpReplace(s: string, pattern: string, repl: string): SqlValue {
  const re = javaRegExp(pattern, true);
  if (re === null) return undefined;
  const { count, names } = groupInfo(re);
  const parts = parseReplacement(repl, count, names);
  if (parts === null) return undefined;
  return s.replace(re, (...m: unknown[]) => {
    let out = '';
    const last = m[m.length - 1];
    const named = typeof last === 'object' && last !== null ? (last as Record<string, string | undefined>) : {};
    for (const p of parts) {
      if (typeof p === 'string') out += p;
      else if (typeof p === 'number') out += String(m[p] ?? '');
      else out += named[p.name] ?? '';
    }
    return out;
  });
}

export const REGEXP_FUNCTIONS: readonly FunctionDef[] = [
  def('regexp_matches(string, pattern)', 2, 2, (args) => {
    const s = toStr(args[0]);
    const p = toStr(args[1]);
    if (s === undefined || p === undefined) return undefined;
    const re = javaRegExp(p, false);
    return re === null ? undefined : re.test(s);
  }),
  def('regexp_replace(string, pattern, replacement)', 3, 3, (args) => {
    const s = toStr(args[0]);
    const p = toStr(args[1]);
    const r = toStr(args[2]);
    return s === undefined || p === undefined || r === undefined ? undefined : regexpReplace(s, p, r);
  }),
  def('regexp_substr(string, pattern)', 2, 2, (args) => {
    const s = toStr(args[0]);
    const p = toStr(args[1]);
    if (s === undefined || p === undefined) return undefined;
    const re = javaRegExp(p, false);
    if (re === null) return undefined;
    const m = re.exec(s);
    return m === null ? undefined : m[0]; // [DECISION] no match → Undefined (Oracle's REGEXP_SUBSTR gives NULL)
  }),
];
