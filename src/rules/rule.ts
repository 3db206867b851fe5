/**
 * A compiled topic-rule statement: FROM matcher, SET assignments, WHERE and SELECT as closures
 * (sql/compile.ts), and the evaluation of one message against them in AWS's order
 * SET → WHERE → SELECT (spec/iot-sql.md section 1).
 *
 * Cost model: a rule without external functions evaluates synchronously; the payload is parsed
 * only if the statement reads it, and once per message however many rules read it (Message);
 * the output is serialized only when payload() is called; a no-match allocates nothing. Explain
 * mode swaps in a traced copy of the WHERE closures, compiled on first use, so it costs nothing
 * until asked for.
 */
import type { Statement } from './sql/ast.js';
import { Compiler, statementReadsPayload, type AsyncFn, type Compiled, type Projection, type SyncFn } from './sql/compile.js';
import { explainWhere, type WhereExplanation } from './sql/explain.js';
import { parseStatement } from './sql/parser.js';
import { Message, Run, Scope, scopeOf, type EvaluationContext } from './sql/runtime.js';
import { compileTopicFilter, type TopicMatcher } from './sql/topic-filter.js';
import {
  Bytes,
  isModern,
  isObject,
  needsExternalization,
  toExternal,
  toJsonText,
  type SqlObject,
  type SqlValue,
  type SqlVersion,
} from './sql/values.js';

export interface EvaluateOptions {
  /** Say why a message did not match (dry run). Slower; never needed on the live path. */
  readonly explain?: boolean;
}

export type NoMatchReason =
  | { readonly clause: 'FROM'; readonly message: string }
  | ({ readonly clause: 'WHERE' } & WhereExplanation);

export interface RuleNoMatch {
  readonly matched: false;
  /** Which clause rejected the message. */
  readonly clause: 'FROM' | 'WHERE';
  /** Only in explain mode. */
  readonly reason?: NoMatchReason;
}

const NO_MATCH_FROM: RuleNoMatch = Object.freeze({ matched: false, clause: 'FROM' });
const NO_MATCH_WHERE: RuleNoMatch = Object.freeze({ matched: false, clause: 'WHERE' });

const UNSET: unique symbol = Symbol('unset');
/** What an idle reusable Run points at, so it holds no payload. */
const NO_MESSAGE = new Message('', Buffer.alloc(0), { timestamp: 0 });

/** A message that matched: the SELECT output, and what substitution templates need. */
export class RuleMatch {
  readonly matched = true as const;
  private bytes: Buffer | undefined;
  private external: unknown = UNSET;

  constructor(
    private readonly value: SqlValue,
    /** The message this output came from. */
    readonly message: Message,
    /** 2015-10-08: whole-number Decimals stay Decimal when serialized. */
    readonly keepWhole: boolean,
    /** @internal the SET variables, for substitution templates. */
    readonly vars: Record<string, SqlValue> | undefined,
    private readonly serializer?: (o: SqlObject) => string,
  ) {}

  /** The same message and variables with another output (the errorAction's document). */
  withValue(value: SqlValue): RuleMatch {
    return new RuleMatch(value, this.message, this.keepWhole, this.vars);
  }

  /**
   * The SELECT output as plain data: objects, arrays, strings, numbers (bigint for integers beyond
   * 2^53), booleans, null; a Buffer when the output is raw bytes (SELECT * of a non-JSON
   * payload); undefined for SELECT VALUE of Undefined. Shared with the message: read-only.
   */
  get output(): unknown {
    if (this.external === UNSET) this.external = needsExternalization(this.value) ? toExternal(this.value) : this.value;
    return this.external;
  }

  /**
   * The bytes actions send: JSON text, the raw bytes, or empty for Undefined (section 3: "an
   * empty string when serialized by itself"). Computed once.
   */
  payload(): Buffer {
    if (this.bytes === undefined) {
      const v = this.value;
      if (v === undefined) this.bytes = Buffer.alloc(0);
      else if (v instanceof Bytes) this.bytes = v.buf;
      else if (this.serializer !== undefined && isObject(v)) this.bytes = Buffer.from(this.serializer(v), 'utf8');
      else this.bytes = Buffer.from(toJsonText(v, this.keepWhole), 'utf8');
    }
    return this.bytes;
  }

  /** True when the output is JSON (HTTP actions send application/json, else octet-stream). */
  get isJson(): boolean {
    return this.value !== undefined && !(this.value instanceof Bytes);
  }
}

export type RuleEvaluation = RuleNoMatch | RuleMatch;

export class CompiledRule {
  /** The FROM topic filter; undefined when the statement has none (Basic Ingest only). */
  readonly fromFilter: string | undefined;
  /** True when the statement calls an external function: evaluate() then returns a Promise. */
  readonly isAsync: boolean;
  /** Things that compile but probably do not do what was meant. */
  readonly warnings: readonly string[];

  private readonly matcher: TopicMatcher | undefined;
  private readonly keepWhole: boolean;
  private readonly readsPayload: boolean;
  private readonly set: readonly { readonly name: string; readonly c: Compiled }[];
  private readonly where: Compiled | undefined;
  private traced: Compiled | undefined;
  private readonly project: Projection;
  private readonly scalarValueOnly: boolean;
  /** The Run and top-level scope synchronous evaluations reuse (see run). */
  private reusableRun: Run | undefined;
  private scope: Scope | undefined;

  constructor(
    readonly sql: string,
    readonly version: SqlVersion,
    private readonly statement: Statement,
  ) {
    const compiler = this.compiler();
    this.fromFilter = statement.from?.filter;
    this.matcher = this.fromFilter === undefined ? undefined : compileTopicFilter(this.fromFilter);
    this.keepWhole = !isModern(version);
    this.readsPayload = statementReadsPayload(statement);
    this.set = compiler.assignments(statement.set);
    this.where = statement.where === undefined ? undefined : compiler.expr(statement.where, false, false);
    this.project = compiler.projection(statement.select, false, 0);
    this.isAsync = this.set.some((a) => a.c.async) || this.where?.async === true || this.project.async;
    // 2015-10-08 outputs a single scalar with SELECT VALUE, not an array (section 2) [DECISION: an array gives Undefined]
    this.scalarValueOnly = statement.select.value && !isModern(version);
    this.warnings = compiler.warnings;
  }

  private compiler(): Compiler {
    return new Compiler({
      version: this.version,
      source: this.sql,
      variables: new Set(this.statement.set.map((a) => a.name)),
      allowExternal: true,
    });
  }

  /** Does a message on this topic reach the rule through the broker (not Basic Ingest)? */
  matchesTopic(topic: string): boolean {
    return this.matcher !== undefined && this.matcher(topic);
  }

  /**
   * Evaluate one message. `topic` is the topic topic() sees; with ctx.basicIngest the FROM clause
   * is not consulted. Returns a Promise only when isAsync.
   */
  evaluate(topic: string, payload: Buffer, ctx: EvaluationContext, options?: EvaluateOptions): RuleEvaluation | Promise<RuleEvaluation> {
    const explain = options?.explain === true;
    if (ctx.basicIngest !== true && !this.matchesTopic(topic)) return explain ? this.fromReason(topic) : NO_MATCH_FROM;
    return this.run(new Message(topic, payload, ctx), explain);
  }

  /** Evaluate a message prepared once for several rules (prepareMessage). */
  evaluateMessage(msg: Message, options?: EvaluateOptions): RuleEvaluation | Promise<RuleEvaluation> {
    const explain = options?.explain === true;
    if (msg.ctx.basicIngest !== true && !this.matchesTopic(msg.topic)) return explain ? this.fromReason(msg.topic) : NO_MATCH_FROM;
    return this.run(msg, explain);
  }

  /** The engine's path: its topic index (or Basic Ingest) has already applied FROM. */
  evaluateRouted(msg: Message): RuleEvaluation | Promise<RuleEvaluation> {
    return this.run(msg, false);
  }

  /** SET → WHERE → SELECT on a message that passed FROM. */
  private run(msg: Message, explain: boolean): RuleEvaluation | Promise<RuleEvaluation> {
    const root = this.readsPayload ? msg.root(this.keepWhole) : undefined;
    if (this.isAsync || explain) {
      const fresh = new Run(msg, this.version, this.keepWhole, explain ? new Map() : undefined);
      return this.isAsync ? this.evaluateAsync(scopeOf(root, fresh), explain) : this.runSync(scopeOf(root, fresh), fresh, explain);
    }
    // Synchronous: nothing keeps the Run or the scope past the evaluation (a match keeps the
    // message and the SET variables), so the statement's one pair serves every message and is
    // pointed at nothing again afterwards, holding no payload.
    const run = (this.reusableRun ??= new Run(NO_MESSAGE, this.version, this.keepWhole, undefined));
    run.msg = msg;
    run.vars = undefined;
    const scope = (this.scope ??= new Scope(undefined, undefined, run)).enter(root, run);
    try {
      return this.runSync(scope, run, false);
    } finally {
      run.msg = NO_MESSAGE;
      run.vars = undefined;
      scope.enter(undefined, run);
    }
  }

  private runSync(scope: Scope, run: Run, explain: boolean): RuleEvaluation {
    if (this.set.length > 0) {
      const vars: Record<string, SqlValue> = Object.create(null) as Record<string, SqlValue>;
      run.vars = vars;
      for (const a of this.set) vars[a.name] = (a.c.fn as SyncFn)(scope);
    }
    const where = explain ? this.tracedWhere() : this.where;
    if (where !== undefined && (where.fn as SyncFn)(scope) !== true) return explain ? this.whereReason(run) : NO_MATCH_WHERE;
    return new RuleMatch(this.finish((this.project.fn as SyncFn)(scope)), run.msg, this.keepWhole, run.vars, this.project.serializer);
  }

  private async evaluateAsync(scope: Scope, explain: boolean): Promise<RuleEvaluation> {
    const run = scope.run;
    if (this.set.length > 0) {
      const vars: Record<string, SqlValue> = Object.create(null) as Record<string, SqlValue>;
      run.vars = vars;
      for (const a of this.set) vars[a.name] = await (a.c.fn as AsyncFn)(scope);
    }
    const where = explain ? this.tracedWhere() : this.where;
    if (where !== undefined && (await where.fn(scope)) !== true) return explain ? this.whereReason(run) : NO_MATCH_WHERE;
    return new RuleMatch(this.finish(await this.project.fn(scope)), run.msg, this.keepWhole, run.vars, this.project.serializer);
  }

  private finish(v: SqlValue): SqlValue {
    return this.scalarValueOnly && Array.isArray(v) ? undefined : v;
  }

  private tracedWhere(): Compiled | undefined {
    const where = this.statement.where;
    if (where === undefined) return undefined;
    if (this.traced === undefined) this.traced = this.compiler().expr(where, false, true);
    return this.traced;
  }

  private fromReason(topic: string): RuleNoMatch {
    const message =
      this.fromFilter === undefined
        ? 'the statement has no FROM clause, so the rule runs only through Basic Ingest ($aws/rules/<ruleName>/...)'
        : `the topic '${topic}' does not match the FROM topic filter '${this.fromFilter}'`;
    return { matched: false, clause: 'FROM', reason: { clause: 'FROM', message } };
  }

  private whereReason(run: Run): RuleNoMatch {
    const where = this.statement.where;
    if (where === undefined || run.trace === undefined) return NO_MATCH_WHERE;
    return { matched: false, clause: 'WHERE', reason: { clause: 'WHERE', ...explainWhere(where, this.sql, run.trace) } };
  }
}

export function compileStatement(sql: string, version: SqlVersion): CompiledRule {
  return new CompiledRule(sql, version, parseStatement(sql, version));
}
