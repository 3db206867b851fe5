/**
 * IoT SQL tokens (spec/iot-sql.md section 1): words (keywords are case-insensitive and decided by
 * the parser, so `value`, `end` or `timestamp` stay usable as names where a name is expected),
 * numbers, strings in single or double quotes, `@variables` and operators. Comments and the
 * operators AWS does not have (`!=`, `||`, `==`, ...) are refused here with a hint.
 *
 * String escapes are not documented by AWS ([UNCLEAR] section 13.5). [DECISION] a doubled quote
 * stands for the quote (SQL style), and a backslash escapes a quote, a backslash, n, t, r, b, f,
 * `/` or uXXXX (JSON style); any other backslash is kept as written, so regular expressions such
 * as '\d+' work unchanged.
 *
 * The lexer works on demand from any offset, which lets substitution templates lex the
 * expression inside `${...}` and stop at its closing brace.
 */
import { describeText, sqlError } from './errors.js';

export type TokenKind = 'word' | 'number' | 'string' | 'var' | 'op' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** word: as written; number: its text; string: the decoded contents; var: name without '@'; op: the operator. */
  readonly text: string;
  /** word: upper-cased (for keyword tests); other kinds: same as text. */
  readonly upper: string;
  readonly start: number;
  readonly end: number;
}

const OPERATORS_2 = new Set(['<>', '<=', '>=']);
const OPERATORS_1 = new Set(['(', ')', '[', ']', '{', '}', ',', '.', ':', '*', '+', '-', '/', '%', '=', '<', '>', ';']);

const NOT_IOT_SQL: Readonly<Record<string, string>> = {
  '!=': "'!=' is not an IoT SQL operator; use '<>'",
  '==': "'==' is not an IoT SQL operator; use '='",
  '||': "'||' is not an IoT SQL operator; use '+' or concat() to join strings, OR for logic",
  '&&': "'&&' is not an IoT SQL operator; use AND",
  '--': '', // handled as two minus signs (a - -b)
};

function isWordStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}
function isWordPart(c: number): boolean {
  return isWordStart(c) || isDigit(c);
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export class Lexer {
  private pos: number;

  constructor(
    readonly src: string,
    start = 0,
    /** Names the text in error messages when it is not the rule statement (e.g. a template). */
    readonly label?: string,
  ) {
    this.pos = start;
  }

  fail(offset: number, why: string): never {
    throw sqlError(this.src, offset, why, this.label);
  }

  next(): Token {
    const src = this.src;
    let i = this.pos;
    while (i < src.length && /\s/.test(src[i] ?? '')) i++;
    if (i >= src.length) {
      this.pos = i;
      return { kind: 'eof', text: '', upper: '', start: i, end: i };
    }
    const c = src.charCodeAt(i);
    const start = i;
    if (isWordStart(c)) {
      i++;
      while (i < src.length && isWordPart(src.charCodeAt(i))) i++;
      this.pos = i;
      const text = src.slice(start, i);
      return { kind: 'word', text, upper: text.toUpperCase(), start, end: i };
    }
    if (isDigit(c)) return this.number(start);
    if (c === 0x27 || c === 0x22) return this.string(start, c);
    if (c === 0x40) {
      i++;
      while (i < src.length && isWordPart(src.charCodeAt(i))) i++;
      if (i === start + 1) this.fail(start, "'@' must be followed by a variable name, as in @temperature");
      this.pos = i;
      const name = src.slice(start + 1, i);
      return { kind: 'var', text: name, upper: name, start, end: i };
    }
    const two = src.slice(i, i + 2);
    if (two === '--' && (i + 2 >= src.length || /\s/.test(src[i + 2] ?? ''))) this.fail(start, 'comments are not supported in IoT SQL');
    const hint = NOT_IOT_SQL[two];
    if (hint !== undefined && hint !== '') this.fail(start, hint);
    if (OPERATORS_2.has(two)) {
      this.pos = i + 2;
      return { kind: 'op', text: two, upper: two, start, end: i + 2 };
    }
    const one = src[i] ?? '';
    if (OPERATORS_1.has(one)) {
      if (one === '/' && src[i + 1] === '*') this.fail(start, 'comments are not supported in IoT SQL');
      this.pos = i + 1;
      return { kind: 'op', text: one, upper: one, start, end: i + 1 };
    }
    if (one === '!') this.fail(start, "'!' is not an IoT SQL operator; use NOT, and '<>' for not-equal");
    if (one === '`') this.fail(start, 'backquoted names are not supported; use get(*, "name") for unusual attribute names');
    if (one === '$') this.fail(start, "unexpected '$': substitution templates ${...} belong in action parameters, not in the SQL statement");
    return this.fail(start, `unexpected character ${describeText(one)}`);
  }

  private number(start: number): Token {
    const src = this.src;
    let i = start;
    while (i < src.length && isDigit(src.charCodeAt(i))) i++;
    if (src[i] === '.' && isDigit(src.charCodeAt(i + 1))) {
      i++;
      while (i < src.length && isDigit(src.charCodeAt(i))) i++;
    }
    if (src[i] === 'e' || src[i] === 'E') {
      let j = i + 1;
      if (src[j] === '-' || src[j] === '+') j++;
      if (isDigit(src.charCodeAt(j))) {
        i = j;
        while (i < src.length && isDigit(src.charCodeAt(i))) i++;
      }
    }
    if (i < src.length && isWordStart(src.charCodeAt(i))) {
      let j = i;
      while (j < src.length && isWordPart(src.charCodeAt(j))) j++;
      this.fail(start, `invalid number ${describeText(src.slice(start, j))}; attribute names cannot start with a digit (use get(*, "name"))`);
    }
    this.pos = i;
    const text = src.slice(start, i);
    return { kind: 'number', text, upper: text, start, end: i };
  }

  private string(start: number, quote: number): Token {
    const src = this.src;
    let out = '';
    let i = start + 1;
    let chunk = i;
    for (;;) {
      if (i >= src.length) this.fail(start, `the string starting here is never closed (missing ${String.fromCharCode(quote)})`);
      const c = src.charCodeAt(i);
      if (c === quote) {
        if (src.charCodeAt(i + 1) === quote) {
          out += src.slice(chunk, i + 1);
          i += 2;
          chunk = i;
          continue;
        }
        out += src.slice(chunk, i);
        i++;
        break;
      }
      if (c === 0x5c) {
        const e = src[i + 1];
        let rep: string | undefined;
        let len = 2;
        switch (e) {
          case "'":
          case '"':
          case '\\':
          case '/':
            rep = e;
            break;
          case 'n':
            rep = '\n';
            break;
          case 't':
            rep = '\t';
            break;
          case 'r':
            rep = '\r';
            break;
          case 'b':
            rep = '\b';
            break;
          case 'f':
            rep = '\f';
            break;
          case 'u': {
            const hex = src.slice(i + 2, i + 6);
            if (/^[0-9a-fA-F]{4}$/.test(hex)) {
              rep = String.fromCharCode(parseInt(hex, 16));
              len = 6;
            }
            break;
          }
          default:
            break;
        }
        if (rep !== undefined) {
          out += src.slice(chunk, i) + rep;
          i += len;
          chunk = i;
          continue;
        }
      }
      i++;
    }
    this.pos = i;
    return { kind: 'string', text: out, upper: out, start, end: i };
  }
}

/** How a token is named in "expected X but found Y" messages. */
export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'the end of the statement';
    case 'string':
      return `the string ${describeText(t.text)}`;
    case 'number':
      return `the number ${t.text}`;
    case 'var':
      return `the variable @${t.text}`;
    default:
      return describeText(t.text);
  }
}
