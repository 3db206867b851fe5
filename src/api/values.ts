/**
 * Typed readers over the strings of a request (query parameters, headers). Every getter answers
 * `undefined` when the value is absent and throws InvalidRequestException (400) with an AWS-style
 * validation message when it is present but unusable, so handlers never parse strings themselves.
 */
import { AwsErrors } from '../shared/index.js';
import type { ServiceError } from '../shared/index.js';

export interface IntRange {
  readonly min?: number;
  readonly max?: number;
}

/** Read-only view of named string values (decoded query parameters or request headers). */
export interface ValueReader {
  /** Whether the name occurs at all (even with an empty value). */
  has(name: string): boolean;
  /** First value; undefined when absent. */
  string(name: string): string | undefined;
  /** First value; 400 InvalidRequestException when absent. */
  requiredString(name: string): string;
  /** Every value, in request order (repeated query keys). */
  all(name: string): readonly string[];
  /** Decimal integer; 400 when not an integer or outside the range. */
  int(name: string, range?: IntRange): number | undefined;
  /** `true` / `false` (any case); 400 otherwise. */
  bool(name: string): boolean | undefined;
  /** One of `allowed`; 400 otherwise. */
  enumValue<T extends string>(name: string, allowed: readonly T[]): T | undefined;
  /** Every (name, value) pair, in request order. */
  entries(): ReadonlyArray<readonly [string, string]>;
}

/** AWS's validation message shape ("1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: ..."). */
export function validationError(name: string, value: string | null, constraint: string): ServiceError {
  const shown = value === null ? 'null' : `'${value}'`;
  return AwsErrors.invalidRequest(`1 validation error detected: Value ${shown} at '${name}' failed to satisfy constraint: ${constraint}`);
}

export function parseIntValue(name: string, text: string, range: IntRange = {}): number {
  if (!/^[+-]?\d{1,16}$/.test(text)) throw validationError(name, text, 'Member must be a number');
  const value = Number(text);
  if (range.min !== undefined && value < range.min) {
    throw validationError(name, text, `Member must have value greater than or equal to ${range.min}`);
  }
  if (range.max !== undefined && value > range.max) {
    throw validationError(name, text, `Member must have value less than or equal to ${range.max}`);
  }
  return value;
}

export function parseBoolValue(name: string, text: string): boolean {
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw validationError(name, text, 'Member must be a boolean (true or false)');
}

/** A ValueReader over pairs. `caseInsensitive` lower-cases names on both sides (headers). */
export function createValueReader(pairs: ReadonlyArray<readonly [string, string]>, caseInsensitive = false): ValueReader {
  const norm = caseInsensitive ? (n: string) => n.toLowerCase() : (n: string) => n;
  const byName = new Map<string, string[]>();
  for (const [name, value] of pairs) {
    const key = norm(name);
    const list = byName.get(key);
    if (list === undefined) byName.set(key, [value]);
    else list.push(value);
  }
  const first = (name: string): string | undefined => byName.get(norm(name))?.[0];
  const reader: ValueReader = {
    has: (name) => byName.has(norm(name)),
    string: first,
    requiredString(name) {
      const value = first(name);
      if (value === undefined) throw validationError(name, null, 'Member must not be null');
      return value;
    },
    all: (name) => byName.get(norm(name)) ?? [],
    int(name, range) {
      const value = first(name);
      return value === undefined ? undefined : parseIntValue(name, value, range);
    },
    bool(name) {
      const value = first(name);
      return value === undefined ? undefined : parseBoolValue(name, value);
    },
    enumValue<T extends string>(name: string, allowed: readonly T[]): T | undefined {
      const value = first(name);
      if (value === undefined) return undefined;
      if (!(allowed as readonly string[]).includes(value)) {
        throw validationError(name, value, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
      }
      return value as T;
    },
    entries: () => pairs,
  };
  return reader;
}

/** Splits a raw query string (`a=1&b=x%2Fy`) into decoded pairs; undefined when a %-escape is malformed. */
export function decodeQuery(rawQuery: string): Array<[string, string]> | undefined {
  const pairs: Array<[string, string]> = [];
  for (const item of rawQuery.split('&')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const key = safeDecode(eq < 0 ? item : item.slice(0, eq));
    const value = safeDecode(eq < 0 ? '' : item.slice(eq + 1));
    if (key === undefined || value === undefined) return undefined;
    pairs.push([key, value]);
  }
  return pairs;
}

/** decodeURIComponent that answers undefined instead of throwing on a malformed escape. */
export function safeDecode(text: string): string | undefined {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** Header pairs from Node's `rawHeaders` (name, value, name, value, ...), names lower-cased. */
export function headerPairs(rawHeaders: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) pairs.push([rawHeaders[i]!.toLowerCase(), rawHeaders[i + 1]!]);
  return pairs;
}
