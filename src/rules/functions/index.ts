/**
 * The IoT SQL function table (spec/iot-sql.md section 7), looked up case-insensitively by the
 * compiler. Inside the rules room only; other rooms see functions through SQL.
 */
import { CONTEXT_FUNCTIONS } from './context.js';
import { DATA_FUNCTIONS } from './data.js';
import { ENCODING_FUNCTIONS } from './encoding.js';
import { EXTERNAL_FUNCTIONS } from './external.js';
import type { FunctionDef } from './function.js';
import { MATH_FUNCTIONS } from './math.js';
import { REGEXP_FUNCTIONS } from './regexp.js';
import { STRING_FUNCTIONS } from './strings.js';
import { TIME_FUNCTIONS } from './time.js';

export type { FunctionDef, FunctionImpl, AsyncFunctionImpl } from './function.js';
export { castTo, castTypeOf, type CastType } from './cast.js';
export { getElement } from './data.js';

const ALL: readonly FunctionDef[] = [
  ...MATH_FUNCTIONS,
  ...STRING_FUNCTIONS,
  ...REGEXP_FUNCTIONS,
  ...ENCODING_FUNCTIONS,
  ...DATA_FUNCTIONS,
  ...CONTEXT_FUNCTIONS,
  ...TIME_FUNCTIONS,
  ...EXTERNAL_FUNCTIONS,
];

export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map(ALL.map((f) => [f.name, f]));

/** `cast` is syntax (cast(x AS T)) but is listed with the functions for name suggestions. */
export const FUNCTION_NAMES: readonly string[] = [...FUNCTIONS.keys(), 'cast'];
