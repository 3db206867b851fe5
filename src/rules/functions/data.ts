/**
 * Type tests and collections (spec/iot-sql.md section 7): isNull, isUndefined, get_or_default,
 * get, transform.
 */
import { getOwn, isObject, toInt, type SqlObject, type SqlValue } from '../sql/values.js';
import { def, V2016, type FunctionDef } from './function.js';

/**
 * get(x, k): Array + index (std Int conversion, 0-based), String + index (that character),
 * Object + String key (no conversion); anything else, or out of range, Undefined.
 * [DECISION] get("abc", 1) = "b" (the documented "a" contradicts the 0-based rule).
 */
export function getElement(x: SqlValue, k: SqlValue): SqlValue {
  if (Array.isArray(x) || typeof x === 'string') {
    const i = toInt(k);
    if (i === undefined || typeof i === 'bigint' || i < 0 || i >= x.length) return undefined;
    return x[i];
  }
  if (isObject(x) && typeof k === 'string') return getOwn(x, k);
  return undefined;
}

/** transform("enrichArray", object, array): each object of the array with the object's keys merged in. */
function transform(mode: SqlValue, obj: SqlValue, arr: SqlValue): SqlValue {
  if (typeof mode !== 'string' || mode.toLowerCase() !== 'enricharray') return undefined;
  if (!isObject(obj) || !Array.isArray(arr)) return undefined;
  const out: SqlObject[] = [];
  for (const item of arr) {
    if (isObject(item)) out.push({ ...item, ...obj });
  }
  return out;
}

export const DATA_FUNCTIONS: readonly FunctionDef[] = [
  def('isNull(value)', 1, 1, (args) => args[0] === null),
  def('isUndefined(value)', 1, 1, (args) => args[0] === undefined, { since: V2016 }),
  def('get_or_default(value, default)', 2, 2, (args) => {
    const v = args[0];
    return v === undefined || v === null ? args[1] : v; // [DECISION] section 7
  }),
  def('get(collection, key)', 2, 2, (args) => getElement(args[0], args[1])),
  def('transform(mode, object, array)', 3, 3, (args) => transform(args[0], args[1], args[2]), { since: V2016 }),
];
