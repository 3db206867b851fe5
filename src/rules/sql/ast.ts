/**
 * The IoT SQL syntax tree (spec/iot-sql.md sections 1 and 4). Every node keeps the offsets of its
 * source text so that compile errors and the dry run's explanations can point at it.
 */
import type { SqlValue } from './values.js';

export interface Span {
  /** Offset of the first character in the statement (0-based, UTF-16 units). */
  readonly start: number;
  /** Offset just past the last character. */
  readonly end: number;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '=' | '<>' | '<' | '<=' | '>' | '>=' | 'IN' | 'AND' | 'OR';

export type Expr =
  | LiteralExpr
  | IdentExpr
  | StarExpr
  | VarExpr
  | MemberExpr
  | IndexExpr
  | CallExpr
  | CastExpr
  | UnaryExpr
  | BinaryExpr
  | CaseExpr
  | ObjectExpr
  | ArrayExpr
  | SubqueryExpr;

/** A constant: number (Int/Decimal, bigint beyond 2^53), string, boolean or null. */
export interface LiteralExpr extends Span {
  readonly kind: 'literal';
  readonly value: SqlValue;
}

/** A bare attribute name: a member of the current document (the payload, or a nested query's item). */
export interface IdentExpr extends Span {
  readonly kind: 'ident';
  readonly name: string;
}

/** `*`: the whole current document (the payload as JSON, or its raw bytes). */
export interface StarExpr extends Span {
  readonly kind: 'star';
}

/** `@name`: a SET variable. */
export interface VarExpr extends Span {
  readonly kind: 'var';
  readonly name: string;
}

/** `object.name`. */
export interface MemberExpr extends Span {
  readonly kind: 'member';
  readonly object: Expr;
  readonly name: string;
}

/** `object[index]` ([DECISION] extension equal to get(object, index)). */
export interface IndexExpr extends Span {
  readonly kind: 'index';
  readonly object: Expr;
  readonly index: Expr;
}

export interface CallExpr extends Span {
  readonly kind: 'call';
  /** Lower-case function name (function names are case-insensitive). */
  readonly name: string;
  /** The name as written, for messages. */
  readonly written: string;
  readonly args: readonly Expr[];
}

/** `cast(value AS Type)`; `type` lower-case. */
export interface CastExpr extends Span {
  readonly kind: 'cast';
  readonly value: Expr;
  readonly type: string;
}

export interface UnaryExpr extends Span {
  readonly kind: 'unary';
  readonly op: '-' | 'NOT';
  readonly operand: Expr;
}

export interface BinaryExpr extends Span {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
}

/** `CASE subject WHEN w THEN t ... [ELSE e] END`. */
export interface CaseExpr extends Span {
  readonly kind: 'case';
  readonly subject: Expr;
  readonly whens: readonly { readonly when: Expr; readonly then: Expr }[];
  readonly otherwise: Expr | undefined;
}

/** `{'key': expr, ...}` (2016-03-23). */
export interface ObjectExpr extends Span {
  readonly kind: 'object';
  readonly entries: readonly { readonly key: string; readonly value: Expr }[];
}

/** `[expr, ...]` (2016-03-23). */
export interface ArrayExpr extends Span {
  readonly kind: 'array';
  readonly items: readonly Expr[];
}

/** `(SELECT ... FROM expr [WHERE ...])`: a nested object query (2016-03-23). */
export interface SubqueryExpr extends Span {
  readonly kind: 'subquery';
  readonly query: Query<Expr>;
}

export type SelectItem =
  | (Span & { readonly kind: 'star' })
  | (Span & {
      readonly kind: 'expr';
      readonly expr: Expr;
      /** `AS a.b.c` as its segments; undefined without AS. */
      readonly alias: readonly string[] | undefined;
    });

export interface SelectClause extends Span {
  /** SELECT VALUE: the output is the bare value of the single item. */
  readonly value: boolean;
  readonly items: readonly SelectItem[];
}

export interface TopicFrom extends Span {
  /** The MQTT topic filter, without its quotes. */
  readonly filter: string;
}

export interface Assignment extends Span {
  readonly name: string;
  readonly value: Expr;
}

/** A SELECT statement; F is the FROM: a topic filter at the top, an expression in nested queries. */
export interface Query<F> {
  readonly select: SelectClause;
  readonly from: F | undefined;
  readonly where: Expr | undefined;
}

export interface Statement extends Query<TopicFrom> {
  readonly set: readonly Assignment[];
  /** The statement text the offsets refer to. */
  readonly sql: string;
}
