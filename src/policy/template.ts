/**
 * Strings with policy variables (spec/policy.md sections 4 and 5): `${name}` is a variable,
 * `${*}`/`${?}`/`${$}` and `$(*)`/`$(?)`/`$($)` are a literal `*`, `?`, `$` ([DECISION] both
 * spellings). Everything else is text whose `*`/`?` are wildcards where the value is a glob.
 *
 * Binding substitutes a connection's values. A substituted value is always literal: a client id
 * `*` does not become a wildcard ([DECISION], the safe reading). A variable that cannot be resolved
 * (unknown name, absent value, a set where one value is needed, a per-request key) makes the
 * binding fail with the names it missed, and the caller ignores the whole statement (spec section 5
 * [DECISION]: never match the literal `${...}` text).
 */
import { contextKey, type ContextKey, type PolicyContext } from './context.js';
import { ONE, STAR, tokenizePattern, type GlobToken } from './glob.js';

export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'variable'; readonly name: string; readonly key: ContextKey | undefined };

export interface Template {
  /** As written in the policy. */
  readonly source: string;
  readonly parts: readonly TemplatePart[];
  readonly hasVariables: boolean;
}

export type TemplateParse = { readonly ok: true; readonly template: Template } | { readonly ok: false; readonly message: string };

const literalEscapes = new Map([
  ['${*}', '*'],
  ['${?}', '?'],
  ['${$}', '$'],
  ['$(*)', '*'],
  ['$(?)', '?'],
  ['$($)', '$'],
]);

/** Parses `source`; with `variables` false (Version 2008-10-17) everything is text. */
export function parseTemplate(source: string, variables: boolean): TemplateParse {
  if (!variables) return { ok: true, template: { source, parts: source === '' ? [] : [{ kind: 'text', text: source }], hasVariables: false } };
  const parts: TemplatePart[] = [];
  let text = '';
  let hasVariables = false;
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === '$' && (source[i + 1] === '{' || source[i + 1] === '(')) {
      const escape = literalEscapes.get(source.slice(i, i + 4));
      if (escape !== undefined) {
        if (text !== '') parts.push({ kind: 'text', text });
        text = '';
        parts.push({ kind: 'literal', text: escape });
        i += 4;
        continue;
      }
      if (source[i + 1] === '{') {
        const end = source.indexOf('}', i + 2);
        if (end < 0) return { ok: false, message: `unterminated policy variable "${source.slice(i)}" (missing "}")` };
        const name = source.slice(i + 2, end);
        if (name.trim() === '') return { ok: false, message: 'empty policy variable "${}"' };
        if (name.includes('${')) return { ok: false, message: `nested "\${" in policy variable "\${${name}}"` };
        if (text !== '') parts.push({ kind: 'text', text });
        text = '';
        parts.push({ kind: 'variable', name, key: contextKey(name) });
        hasVariables = true;
        i = end + 1;
        continue;
      }
    }
    text += ch;
    i++;
  }
  if (text !== '') parts.push({ kind: 'text', text });
  return { ok: true, template: { source, parts, hasVariables } };
}

/** The variables of a template that Thingcore does not know (they never resolve). */
export function unknownVariables(t: Template): string[] {
  const out: string[] = [];
  for (const p of t.parts) if (p.kind === 'variable' && p.key === undefined) out.push(p.name);
  return out;
}

/**
 * `source` with variables and escapes replaced by one placeholder character each, for checking the
 * shape of an ARN without being misled by the colons in `${iot:ClientId}`.
 */
export function maskTemplate(t: Template, variable = 'V', literal = 'L'): string {
  let s = '';
  for (const p of t.parts) s += p.kind === 'text' ? p.text : p.kind === 'literal' ? literal : variable;
  return s;
}

export type Binding = { readonly ok: true; readonly tokens: GlobToken[] } | { readonly ok: false; readonly missing: string[] };

/** Substitutes connection values; text keeps its wildcards when `glob`, else everything is literal. */
export function bindTemplate(t: Template, ctx: PolicyContext, glob: boolean): Binding {
  const tokens: GlobToken[] = [];
  let missing: string[] | undefined;
  for (const p of t.parts) {
    switch (p.kind) {
      case 'text':
        if (glob) tokens.push(...tokenizePattern(p.text));
        else tokens.push(p.text);
        break;
      case 'literal':
        tokens.push(p.text);
        break;
      case 'variable': {
        const value = p.key !== undefined && p.key.scope === 'connection' ? p.key.readConnection(ctx) : undefined;
        if (typeof value === 'string') tokens.push(value);
        else (missing ??= []).push(p.key?.name ?? p.name);
        break;
      }
    }
  }
  return missing === undefined ? { ok: true, tokens } : { ok: false, missing };
}

/** Tokens as one plain string (wildcards written back as `*`/`?`). */
export function tokensToString(tokens: readonly GlobToken[]): string {
  let s = '';
  for (const t of tokens) s += t === STAR ? '*' : t === ONE ? '?' : t;
  return s;
}
