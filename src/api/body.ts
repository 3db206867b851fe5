/**
 * Typed member getters over a JSON request body (`unknown` from the wire, parsed here at the edge).
 * Absent or `null` members read as undefined; a member of the wrong type gives 400
 * InvalidRequestException naming the member by its path (`attributePayload.attributes`).
 */
import { AwsErrors } from '../shared/index.js';
import type { IntRange } from './values.js';
import { validationError } from './values.js';

export interface JsonBodyReader {
  /** The object itself (shallow, read-only). */
  readonly value: Readonly<Record<string, unknown>>;
  has(name: string): boolean;
  string(name: string): string | undefined;
  requiredString(name: string): string;
  /** A JSON number that is an integer (in range). */
  int(name: string, range?: IntRange): number | undefined;
  number(name: string): number | undefined;
  bool(name: string): boolean | undefined;
  /** A nested object, as a reader. */
  object(name: string): JsonBodyReader | undefined;
  /** An object whose values are all strings (e.g. attributes). */
  stringMap(name: string): Record<string, string> | undefined;
  stringArray(name: string): string[] | undefined;
  array(name: string): readonly unknown[] | undefined;
  /** The raw member, unchecked. */
  unknown(name: string): unknown;
}

/**
 * A reader over the request's parsed JSON body. An absent body reads as `{}` (clients send no body
 * when no member is set); a body that is not a JSON object gives 400.
 */
export function jsonBody(req: { readonly body: unknown }): JsonBodyReader {
  if (req.body === undefined || req.body === null) return objectReader({}, '');
  if (!isPlainObject(req.body)) throw AwsErrors.invalidRequest('The request body must be a JSON object');
  return objectReader(req.body, '');
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectReader(obj: Readonly<Record<string, unknown>>, prefix: string): JsonBodyReader {
  const path = (name: string): string => (prefix === '' ? name : `${prefix}.${name}`);
  const get = (name: string): unknown => (Object.hasOwn(obj, name) ? obj[name] : undefined);
  const present = (name: string): unknown => {
    const value = get(name);
    return value === null ? undefined : value;
  };
  const wrongType = (name: string, expected: string): Error =>
    AwsErrors.invalidRequest(`Invalid value for '${path(name)}': expected ${expected}`);
  const reader: JsonBodyReader = {
    value: obj,
    has: (name) => present(name) !== undefined,
    string(name) {
      const value = present(name);
      if (value === undefined) return undefined;
      if (typeof value !== 'string') throw wrongType(name, 'a string');
      return value;
    },
    requiredString(name) {
      const value = reader.string(name);
      if (value === undefined) throw validationError(path(name), null, 'Member must not be null');
      return value;
    },
    int(name, range = {}) {
      const value = present(name);
      if (value === undefined) return undefined;
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw wrongType(name, 'an integer');
      if (range.min !== undefined && value < range.min) {
        throw validationError(path(name), String(value), `Member must have value greater than or equal to ${range.min}`);
      }
      if (range.max !== undefined && value > range.max) {
        throw validationError(path(name), String(value), `Member must have value less than or equal to ${range.max}`);
      }
      return value;
    },
    number(name) {
      const value = present(name);
      if (value === undefined) return undefined;
      if (typeof value !== 'number' || !Number.isFinite(value)) throw wrongType(name, 'a number');
      return value;
    },
    bool(name) {
      const value = present(name);
      if (value === undefined) return undefined;
      if (typeof value !== 'boolean') throw wrongType(name, 'a boolean');
      return value;
    },
    object(name) {
      const value = present(name);
      if (value === undefined) return undefined;
      if (!isPlainObject(value)) throw wrongType(name, 'an object');
      return objectReader(value, path(name));
    },
    stringMap(name) {
      const value = present(name);
      if (value === undefined) return undefined;
      if (!isPlainObject(value)) throw wrongType(name, 'an object of strings');
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw AwsErrors.invalidRequest(`Invalid value for '${path(name)}.${k}': expected a string`);
        // defineProperty, not assignment: '__proto__' is a legal key (an attribute name) and
        // assignment would set the prototype instead of a member.
        Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      return out;
    },
    stringArray(name) {
      const value = present(name);
      if (value === undefined) return undefined;
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw wrongType(name, 'a list of strings');
      return [...(value as string[])];
    },
    array(name) {
      const value = present(name);
      if (value === undefined) return undefined;
      if (!Array.isArray(value)) throw wrongType(name, 'a list');
      return value as readonly unknown[];
    },
    unknown: get,
  };
  return reader;
}
