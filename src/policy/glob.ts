/**
 * IAM glob matching for resources and StringLike/ArnLike values (spec/policy.md section 4):
 * `*` is any run of characters (zero or more, `/` and `:` included), `?` exactly one character,
 * everything else literal and case-sensitive. MQTT `+` and `#` are ordinary characters here.
 *
 * A glob is built from tokens so that a `*` or `?` that came from a substituted variable value or
 * from the escapes `${*}`/`${?}` stays literal: only STAR and ONE tokens are wildcards.
 *
 * Matching is the hot path of every decision, so each glob is classified once:
 *   `*`                        any       → true
 *   `arn:…:client/dev1`        exact     → ===
 *   `arn:…:topic/dev1/*`       prefix    → startsWith
 *   `arn:…:topic/*` + `/state`  affix     → startsWith && endsWith
 *   anything else              general   → greedy match with one backtrack point (below)
 * The general matcher is the classic two-pointer wildcard algorithm: on a mismatch it returns to
 * the last `*` and lets it swallow one more character. Worst case O(n·m), never exponential (a
 * RegExp with several `.*` can backtrack far worse on hostile topics).
 * Example: `a*b?d` against `axxbcd`: `*` first takes "", `b` fails on `x`, backtrack: `*` takes
 * "x", fails, takes "xx", then `b` `?`=c `d` match.
 */

/** A wildcard token: STAR = `*`, ONE = `?`. Strings are literal text. */
export const STAR = -1;
export const ONE = -2;
export type GlobToken = string | typeof STAR | typeof ONE;

const enum GlobKind {
  Any,
  Exact,
  Prefix,
  Affix,
  General,
}

export interface Glob {
  readonly kind: GlobKind;
  /** Normalized tokens (adjacent text merged, `**` collapsed). */
  readonly tokens: readonly GlobToken[];
  /** Exact: the string; Prefix/Affix: the prefix. */
  readonly head: string;
  /** Affix: the suffix. */
  readonly tail: string;
  /** General: the pattern as code units, STAR/ONE for wildcards. */
  readonly units: Int32Array;
  /** The pattern for people: wildcards as `*`/`?`, literal `*`/`?`/`$` written as `${*}`/`${?}`/`${$}` where ambiguous. */
  readonly display: string;
}

/** Splits plain pattern text (as written in a policy, no variables) into tokens. */
export function tokenizePattern(text: string): GlobToken[] {
  const tokens: GlobToken[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 42 /* * */ && c !== 63 /* ? */) continue;
    if (i > start) tokens.push(text.slice(start, i));
    tokens.push(c === 42 ? STAR : ONE);
    start = i + 1;
  }
  if (start < text.length) tokens.push(start === 0 ? text : text.slice(start));
  return tokens;
}

function normalize(tokens: readonly GlobToken[]): GlobToken[] {
  const out: GlobToken[] = [];
  for (const t of tokens) {
    const last = out[out.length - 1];
    if (typeof t === 'string') {
      if (t === '') continue;
      if (typeof last === 'string') out[out.length - 1] = last + t;
      else out.push(t);
    } else if (t === STAR && last === STAR) {
      continue; // `**` is `*`
    } else out.push(t);
  }
  return out;
}

function displayOf(tokens: readonly GlobToken[]): string {
  let s = '';
  for (const t of tokens) {
    if (t === STAR) s += '*';
    else if (t === ONE) s += '?';
    else s += t.includes('*') || t.includes('?') ? t.replace(/[*?]/g, (c) => `\${${c}}`) : t;
  }
  return s;
}

export function compileGlob(input: readonly GlobToken[]): Glob {
  const tokens = normalize(input);
  return classify(tokens, displayOf(tokens));
}

function classify(tokens: readonly GlobToken[], display: string): Glob {
  const none = new Int32Array(0);
  const t0 = tokens[0];
  const t1 = tokens[1];
  const t2 = tokens[2];
  if (tokens.length === 1 && t0 === STAR) return { kind: GlobKind.Any, tokens, head: '', tail: '', units: none, display };
  if (tokens.length === 0) return { kind: GlobKind.Exact, tokens, head: '', tail: '', units: none, display };
  if (tokens.length === 1 && typeof t0 === 'string') return { kind: GlobKind.Exact, tokens, head: t0, tail: '', units: none, display };
  if (tokens.length === 2 && typeof t0 === 'string' && t1 === STAR) {
    return { kind: GlobKind.Prefix, tokens, head: t0, tail: '', units: none, display };
  }
  if (tokens.length === 3 && typeof t0 === 'string' && t1 === STAR && typeof t2 === 'string') {
    return { kind: GlobKind.Affix, tokens, head: t0, tail: t2, units: none, display };
  }
  return { kind: GlobKind.General, tokens, head: '', tail: '', units: Int32Array.from(toUnits(tokens)), display };
}

function toUnits(tokens: readonly GlobToken[]): number[] {
  const units: number[] = [];
  for (const t of tokens) {
    if (typeof t === 'string') for (let i = 0; i < t.length; i++) units.push(t.charCodeAt(i));
    else units.push(t);
  }
  return units;
}

function fromUnits(units: readonly number[]): GlobToken[] {
  const tokens: GlobToken[] = [];
  let text = '';
  for (const u of units) {
    if (u === STAR || u === ONE) {
      if (text !== '') tokens.push(text);
      text = '';
      tokens.push(u);
    } else text += String.fromCharCode(u);
  }
  if (text !== '') tokens.push(text);
  return tokens;
}

/**
 * What is left of `g` once the (wildcard-free, ASCII) `prefix` has been matched: the globs R such
 * that `g` matches `prefix + name` exactly when some R matches `name`. Empty when no string with
 * that prefix can match. Used to strip the server's `arn:aws:iot:<region>:<account>:<type>/`
 * from every resource pattern once, at compile time, so decisions compare names only.
 * Each residual keeps the display of the whole pattern (`display` is what traces print).
 * Example: `arn:aws:iot:*:*:client/dev1` after `arn:aws:iot:us-east-1:123:client/` leaves
 * `dev1`, `*:client/dev1` and `*:*:client/dev1` (the stars may also swallow the prefix's end).
 * Cost: O(|prefix| · |pattern|), once per pattern and resource type.
 */
export function residualGlobs(g: Glob, prefix: string): Glob[] {
  // Fast path, nearly every pattern: a literal head that already spells out (or contradicts) the prefix.
  const t0 = g.tokens[0];
  if (typeof t0 === 'string') {
    if (t0.startsWith(prefix)) {
      const rest = t0.length === prefix.length ? g.tokens.slice(1) : [t0.slice(prefix.length), ...g.tokens.slice(1)];
      return [classify(rest, g.display)];
    }
    if (!prefix.startsWith(t0)) return [];
  }
  const units = toUnits(g.tokens);
  const m = units.length;
  const close = (states: Set<number>): Set<number> => {
    for (const i of states) if (i < m && units[i] === STAR) states.add(i + 1); // Set iteration visits added items
    return states;
  };
  let states = close(new Set([0]));
  for (let k = 0; k < prefix.length && states.size > 0; k++) {
    const c = prefix.charCodeAt(k);
    const next = new Set<number>();
    for (const i of states) {
      if (i >= m) continue;
      const u = units[i]!;
      if (u === STAR) next.add(i);
      else if (u === ONE || u === c) next.add(i + 1);
    }
    states = close(next);
  }
  const starts = [...states].sort((a, b) => a - b);
  // A residual starting with `*` at i covers the one starting at i + 1.
  const kept = starts.filter((i) => !(i > 0 && units[i - 1] === STAR && states.has(i - 1)));
  if (kept.some((i) => i === m - 1 && units[i] === STAR)) return [classify([STAR], g.display)];
  return kept.map((i) => classify(fromUnits(units.slice(i)), g.display));
}

/** Length in code units of the character starting at i (2 for a surrogate pair). */
function charLength(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

function matchGeneral(p: Int32Array, s: string): boolean {
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  const n = s.length;
  const m = p.length;
  while (si < n) {
    if (pi < m) {
      const c = p[pi]!;
      if (c === STAR) {
        starP = pi++;
        starS = si;
        continue;
      }
      if (c === ONE) {
        si += charLength(s, si);
        pi++;
        continue;
      }
      if (c === s.charCodeAt(si)) {
        pi++;
        si++;
        continue;
      }
    }
    if (starP < 0) return false;
    pi = starP + 1;
    starS += charLength(s, starS);
    si = starS;
  }
  while (pi < m && p[pi] === STAR) pi++;
  return pi === m;
}

export function globMatches(g: Glob, s: string): boolean {
  switch (g.kind) {
    case GlobKind.Any:
      return true;
    case GlobKind.Exact:
      return s === g.head;
    case GlobKind.Prefix:
      return s.startsWith(g.head);
    case GlobKind.Affix:
      return s.length >= g.head.length + g.tail.length && s.startsWith(g.head) && s.endsWith(g.tail);
    case GlobKind.General:
      return matchGeneral(g.units, s);
  }
}

/** True when the glob has no wildcard (it matches exactly one string). */
export function isExactGlob(g: Glob): boolean {
  return g.kind === GlobKind.Exact;
}

/** A RegExp for a plain pattern (`*`, `?` wildcards, no variables); for parse-time checks only. */
export function globToRegExp(pattern: string): RegExp {
  let src = '';
  for (const ch of pattern) {
    if (ch === '*') src += '[\\s\\S]*';
    else if (ch === '?') src += '[\\s\\S]';
    else src += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${src}$`, 'u');
}
