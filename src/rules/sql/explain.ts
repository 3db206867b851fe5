/**
 * The dry run's answer to "why did this message not trigger the rule": from the value every
 * WHERE node produced (recorded by the traced closures, see compile.ts), walk down from the root
 * to the terms responsible and render them with their operands:
 *
 *   WHERE temperature > 50 AND color <> 'red'   with {"color":"red","temperature":40}
 *   → WHERE is false: temperature > 50 is false (temperature = 40)
 *
 * AND that is false blames its first false side; AND that is Undefined blames every side that is
 * not true; OR blames every side; NOT blames its operand the other way round.
 */
import type { Expr } from './ast.js';
import { positionOf } from './errors.js';
import { Bytes, serialize, toBool, type SqlValue } from './values.js';

export interface ExplainedOperand {
  /** Source text of the operand. */
  readonly sql: string;
  /** Its value, rendered (see renderValue). */
  readonly value: string;
}

export interface ExplainedTerm {
  /** Source text of the term, e.g. "temperature > 50". */
  readonly sql: string;
  readonly line: number;
  readonly column: number;
  /** The term's value: "false", "Undefined", "Null", or JSON text. */
  readonly value: string;
  /** Values of the term's non-constant operands. */
  readonly operands: readonly ExplainedOperand[];
}

export interface WhereExplanation {
  readonly value: string;
  readonly terms: readonly ExplainedTerm[];
  readonly message: string;
}

const NOT_EVALUATED = 'not evaluated';

/** A value as the explanation shows it: Undefined, Null, JSON text (long values shortened). */
export function renderValue(v: SqlValue): string {
  if (v === undefined) return 'Undefined';
  if (v === null) return 'Null';
  if (v instanceof Bytes) return `<${v.buf.length} bytes>`;
  const s = serialize(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

export function explainWhere(where: Expr, source: string, trace: ReadonlyMap<Expr, SqlValue>): WhereExplanation {
  const value = trace.get(where);
  const terms: ExplainedTerm[] = [];
  const text = (e: Expr): string => source.slice(e.start, e.end);
  const valueText = (e: Expr): string => (e.kind === 'literal' ? renderValue(e.value) : trace.has(e) ? renderValue(trace.get(e)) : NOT_EVALUATED);

  const operandsOf = (e: Expr): Expr[] => {
    switch (e.kind) {
      case 'binary':
        return [e.left, e.right];
      case 'call':
        return [...e.args];
      case 'unary':
        return [e.operand];
      case 'cast':
        return [e.value];
      case 'index':
        return [e.object, e.index];
      case 'case':
        return [e.subject];
      default:
        return [];
    }
  };

  const leaf = (e: Expr): void => {
    const { line, column } = positionOf(source, e.start);
    const operands = operandsOf(e)
      .filter((o) => o.kind !== 'literal')
      .map((o) => ({ sql: text(o), value: valueText(o) }));
    terms.push({ sql: text(e), line, column, value: valueText(e), operands });
  };

  const blame = (e: Expr, want: boolean): void => {
    if (e.kind === 'unary' && e.op === 'NOT') {
      blame(e.operand, !want);
      return;
    }
    if (e.kind === 'binary' && (e.op === 'AND' || e.op === 'OR')) {
      const sides = [e.left, e.right].filter((side) => trace.has(side) || side.kind === 'literal');
      const got = (side: Expr): boolean | undefined => toBool(side.kind === 'literal' ? side.value : trace.get(side));
      // AND wanted true / OR wanted false: any failing side is enough
      if ((e.op === 'AND') === want) {
        const wrong = sides.filter((side) => got(side) !== want);
        const decisive = wrong.find((side) => got(side) === !want);
        for (const side of decisive !== undefined ? [decisive] : wrong) blame(side, want);
      } else {
        for (const side of sides) if (got(side) !== want) blame(side, want);
      }
      return;
    }
    leaf(e);
  };

  blame(where, true);
  const rendered = renderValue(value);
  const describe = (t: ExplainedTerm): string => {
    const ops = t.operands.filter((o) => o.sql !== t.sql).map((o) => `${o.sql} = ${o.value}`);
    return `${t.sql} is ${t.value}${ops.length > 0 ? ` (${ops.join(', ')})` : ''}`;
  };
  const head = typeof value === 'boolean' || value === undefined || value === null ? `WHERE is ${rendered}` : `WHERE is ${rendered}, not Boolean true`;
  const detail = terms.length === 1 && terms[0]?.sql === text(where) && terms[0].operands.length === 0 ? '' : `: ${terms.map(describe).join('; ')}`;
  return { value: rendered, terms, message: head + detail };
}
