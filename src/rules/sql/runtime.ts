/**
 * What a compiled expression sees while it runs: the message (topic, payload, who sent it), the
 * per-evaluation state of one rule (SET variables, the explain trace) and the current scope
 * (`*` and the document bare names resolve against: the payload, or a nested query's item).
 *
 * A Message parses its payload at most once per JSON flavour, so several rules evaluated against
 * the same message share one JSON.parse (see prepareMessage in ../index.ts).
 */
import type { Expr } from './ast.js';
import { Bytes, isObject, parseJsonText, type SqlObject, type SqlValue, type SqlVersion } from './values.js';

/** The outside world as the rule engine sees it, per message. */
export interface EvaluationContext {
  /** Rules-engine time of this message, ms since the epoch: timestamp(). One value per message. */
  readonly timestamp: number;
  /** MQTT client id of the publisher: clientid() ("n/a" when absent, as AWS for non-MQTT). */
  readonly clientId?: string | undefined;
  /** Certificate id (64 hex) or SigV4 identity of the publisher: principal(). */
  readonly principal?: string | undefined;
  /** traceid(): MQTT message trace id. */
  readonly traceId?: string | undefined;
  /** accountid(). */
  readonly accountId?: string | undefined;
  /** sourceip(): the publisher's address. */
  readonly sourceIp?: string | undefined;
  /** get_mqtt_property(name): MQTT 5 properties by AWS's names (format_indicator, content_type, response_topic, correlation_data). */
  readonly mqttProperties?: Readonly<Record<string, string>>;
  /** get_user_properties(key): MQTT 5 user properties in order. */
  readonly userProperties?: readonly (readonly [string, string])[] | undefined;
  /**
   * The message came through Basic Ingest ($aws/rules/<rule>/...): FROM is not consulted and the
   * topic passed to evaluate() is the one without the `$aws/rules/<rule>/` prefix (section 11).
   */
  readonly basicIngest?: boolean;
  /** get_thing_shadow(thing[, shadowName], roleArn): the shadow document, or undefined if none. */
  getThingShadow?(thingName: string, shadowName: string | undefined, roleArn: string): Promise<unknown>;
  /** aws_lambda(functionArn, payload): the function's JSON answer. */
  invokeLambda?(functionArn: string, payload: unknown): Promise<unknown>;
}

/** One incoming message, prepared once and evaluated by any number of rules. */
export class Message {
  private modernRoot: SqlValue | typeof UNPARSED = UNPARSED;
  private legacyRoot: SqlValue | typeof UNPARSED = UNPARSED;

  constructor(
    /** The topic topic() sees (without the Basic Ingest prefix). */
    readonly topic: string,
    readonly payload: Buffer,
    readonly ctx: EvaluationContext,
  ) {}

  /**
   * `*` at the top of a statement: the payload as a JSON object, or its raw bytes when it is not
   * a JSON object (section 5: top-level arrays and scalars count as non-JSON for field access).
   * keepWhole: parse the 2015-10-08 way (whole-number decimals stay Decimal).
   */
  root(keepWhole: boolean): SqlValue {
    if (keepWhole) {
      if (this.legacyRoot === UNPARSED) this.legacyRoot = parsePayload(this.payload, true);
      return this.legacyRoot;
    }
    if (this.modernRoot === UNPARSED) this.modernRoot = parsePayload(this.payload, false);
    return this.modernRoot;
  }


  /**
   * topic(n): level n (1-based) of the topic, or undefined past the last level. Found by scanning
   * rather than split('/'), which allocates every level to return one (a third of a rule's cost).
   */
  level(n: number): string | undefined {
    if (n < 1) return undefined;
    const topic = this.topic;
    let start = 0;
    for (let i = 1; i < n; i++) {
      const slash = topic.indexOf('/', start);
      if (slash === -1) return undefined;
      start = slash + 1;
    }
    const end = topic.indexOf('/', start);
    return end === -1 ? topic.slice(start) : topic.slice(start, end);
  }
}

const UNPARSED: unique symbol = Symbol('unparsed');

function parsePayload(payload: Buffer, keepWhole: boolean): SqlValue {
  let i = 0;
  while (i < payload.length) {
    const b = payload[i];
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) i++;
    else break;
  }
  if (payload[i] !== 0x7b) return new Bytes(payload); // not '{': not a JSON object
  try {
    const v = parseJsonText(payload.toString(), keepWhole); // no-argument toString is Node's fastest UTF-8 path
    return isObject(v) ? v : new Bytes(payload);
  } catch {
    return new Bytes(payload); // invalid JSON, or nested deeper than MAX_JSON_DEPTH
  }
}

/** The state of one rule evaluating one message. */
export class Run {
  /** SET variables by name (undefined when the statement has none). */
  vars: Record<string, SqlValue> | undefined = undefined;

  constructor(
    /** Reassigned only on a statement's reusable Run (see CompiledRule.run). */
    public msg: Message,
    readonly version: SqlVersion,
    /** 2015-10-08: whole-number Decimals stay Decimal (`5.0`). */
    readonly keepWhole: boolean,
    /** Explain mode only: the value each traced WHERE node produced. */
    readonly trace: Map<Expr, SqlValue> | undefined,
  ) {}
}

/** Where bare names and `*` resolve. */
export class Scope {
  constructor(
    /** `*`. */
    public root: SqlValue,
    /** The object bare names are members of (undefined when `*` is not an object). */
    public doc: SqlObject | undefined,
    public run: Run,
  ) {}

  /**
   * Points a statement's reusable top-level scope at one evaluation (see CompiledRule.run): nothing
   * keeps a scope past a synchronous evaluation, so one per statement serves them all.
   */
  enter(root: SqlValue, run: Run): this {
    this.root = root;
    this.doc = isObject(root) ? root : undefined;
    this.run = run;
    return this;
  }
}

export function scopeOf(root: SqlValue, run: Run): Scope {
  return new Scope(root, isObject(root) ? root : undefined, run);
}
