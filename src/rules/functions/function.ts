/**
 * The shape of an IoT SQL function (spec/iot-sql.md section 7). Arity and minimum SQL version are
 * checked when a rule compiles (unknown function or wrong arity → SqlParseException); a wrong
 * argument *type* is never an error, it gives Undefined (or what AWS documents instead).
 */
import type { Run } from '../sql/runtime.js';
import type { SqlValue, SqlVersion } from '../sql/values.js';

export type FunctionImpl = (args: readonly SqlValue[], run: Run) => SqlValue;
export type AsyncFunctionImpl = (args: readonly SqlValue[], run: Run) => Promise<SqlValue>;

export interface FunctionDef {
  /** Lower-case name. */
  readonly name: string;
  /** How the call is written, for arity messages: 'substring(string, start[, end])'. */
  readonly usage: string;
  readonly minArgs: number;
  readonly maxArgs: number;
  /** Earliest SQL version that has the function. */
  readonly since: SqlVersion;
  /** Same arguments, same result, no context: evaluated once at compile time when all arguments are constants. */
  readonly pure: boolean;
  /** Synchronous implementation (for external functions: what to return when no hook is wired). */
  readonly impl: FunctionImpl;
  /** Calls the outside world (Lambda, shadows ...): makes the rule asynchronous; not allowed in error actions. */
  readonly external?: AsyncFunctionImpl;
  /** Calls the outside world even without an async hook (get_dynamodb ...): not allowed in error actions. */
  readonly billed?: boolean;
  /** When not every count between minArgs and maxArgs is valid (get_dynamodb: 4 or 6). */
  readonly arities?: readonly number[];
}

export function def(
  usage: string,
  minArgs: number,
  maxArgs: number,
  impl: FunctionImpl,
  options: { since?: SqlVersion; pure?: boolean; external?: AsyncFunctionImpl; billed?: boolean; arities?: readonly number[] } = {},
): FunctionDef {
  const name = usage.slice(0, usage.indexOf('(')).toLowerCase();
  const d: {
    -readonly [K in keyof FunctionDef]: FunctionDef[K];
  } = { name, usage, minArgs, maxArgs, impl, since: options.since ?? '2015-10-08', pure: options.pure ?? true };
  if (options.external !== undefined) d.external = options.external;
  if (options.billed === true || options.external !== undefined) d.billed = true;
  if (options.arities !== undefined) d.arities = options.arities;
  return d;
}

export const V2016: SqlVersion = '2016-03-23';
