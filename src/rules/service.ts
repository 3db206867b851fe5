/**
 * The rule service: AWS IoT's topic-rule operations (spec/http-api.md 3.6, spec/iot-sql.md section 9)
 * over the store's RuleStore, kept live in the RuleEngine, plus the dry run and the metrics.
 *
 * Every write validates the whole rule before anything is stored: the name (1–128 of
 * `[a-zA-Z0-9_]`), the payload's members, the SQL (compiled: SqlParseException with line and
 * column) and every action and the errorAction (built by their factories, which check their
 * parameters and compile their templates: InvalidRequestException naming the field; an action type
 * no factory serves is refused naming the supported types). Then, in one queue per rule name, the
 * store is written and the engine updated, and only then does the call return: once
 * CreateTopicRule / ReplaceTopicRule / EnableTopicRule / DisableTopicRule / DeleteTopicRule has
 * answered, the next message is evaluated by the new rule set.
 *
 * At start every stored rule is built and handed to the engine; a rule that no longer builds (an
 * action type this build lacks) is logged, stays stored, and can be replaced or deleted.
 *
 * Decisions where AWS is silent or unconfirmed:
 *  - a missing rule on Get/Replace/Delete/Enable/Disable is ResourceNotFoundException (404), as
 *    spec/http-api.md 3.6 recommends;
 *  - ReplaceTopicRule keeps createdAt and the tags; its payload's ruleDisabled (default false)
 *    applies; the rule's metrics start again;
 *  - the `x-amz-tagging` tags are checked before anything is stored, and stored in the tag store
 *    (tagging/) once the rule is; the store deletes them with the rule;
 *  - ListTopicRules is in name order; default page size 50; `topic` filters on the exact FROM filter;
 *  - the stored document keeps `actions` and `errorAction` exactly as given, and
 *    `awsIotSqlVersion` (2015-10-08 when omitted, as AWS's API).
 */
import { isUtf8 } from 'node:buffer';
import { AwsErrors, decodePageToken, encodePageToken, iotArn, KeyedQueue } from '../shared/index.js';
import type { AccountScope } from '../shared/index.js';
import { isStoreError } from '../store/index.js';
import type { RuleRecord, RuleStore, TagStore } from '../store/index.js';
import { parseTaggingHeader, putCreationTags } from '../tagging/index.js';
import { compileRule, parseBasicIngestTopic, parseSqlVersion } from './index.js';
import type { NoMatchReason } from './rule.js';
import type { ActionDependencies, ActionFactory, RuleAction } from './actions/action.js';
import type { ActionCreateOptions } from './actions/index.js';
import type { ActiveRule, RuleEngine } from './engine.js';
import type { EngineMetricsSnapshot, MetricsLogger, RuleMetricsSnapshot } from './metrics.js';
import { DEFAULT_SQL_VERSION } from './sql/values.js';

/** The rule document as stored and as GetTopicRule shows it (less name, dates and ruleDisabled). */
export interface TopicRuleDocument {
  readonly sql: string;
  readonly description?: string;
  readonly actions: readonly unknown[];
  readonly errorAction?: unknown;
  readonly awsIotSqlVersion: string;
}

export interface TopicRule extends TopicRuleDocument {
  readonly ruleName: string;
  readonly createdAt: Date;
  readonly ruleDisabled: boolean;
}

export interface GetTopicRuleOutput {
  readonly ruleArn: string;
  readonly rule: TopicRule;
}

export interface TopicRuleListItem {
  readonly ruleArn: string;
  readonly ruleName: string;
  /** The FROM filter; absent for a rule without FROM (Basic Ingest only). */
  readonly topicPattern?: string;
  readonly createdAt: Date;
  readonly ruleDisabled: boolean;
}

export interface ListTopicRulesInput {
  readonly topic?: string;
  readonly maxResults?: number;
  readonly nextToken?: string;
  readonly ruleDisabled?: boolean;
}

export interface ListTopicRulesOutput {
  readonly rules: TopicRuleListItem[];
  readonly nextToken?: string;
}

export interface CreateTopicRuleInput {
  readonly ruleName: string;
  /** The request body as parsed JSON (the TopicRulePayload itself, not wrapped). */
  readonly topicRulePayload: unknown;
  /** The `x-amz-tagging` header: `k1=v1&k2=v2`, URL-encoded. */
  readonly tags?: string;
}

export interface ReplaceTopicRuleInput {
  readonly ruleName: string;
  readonly topicRulePayload: unknown;
}

/** The dry run (Thingcore extension; `POST /test-topic-rule`, `thingcore rule test`). */
export interface TestTopicRuleInput {
  /** The statement to try; or `ruleName` to try a stored rule's. */
  readonly sql?: string;
  readonly ruleName?: string;
  /** Default: the stored rule's, else 2015-10-08. */
  readonly awsIotSqlVersion?: string;
  /** The topic the message is published on (`$aws/rules/<rule>/…` tries Basic Ingest). */
  readonly topic: string;
  readonly payload: Buffer;
  readonly clientId?: string;
}

export type TestTopicRuleOutput =
  | {
      readonly matched: true;
      /** The SELECT output: JSON, or for a non-JSON output its text (base64 when not UTF-8, see outputEncoding). */
      readonly output: unknown;
      readonly outputEncoding?: 'base64';
      readonly warnings?: readonly string[];
    }
  | {
      readonly matched: false;
      readonly reason: NoMatchReason | { readonly clause: 'FROM' | 'WHERE'; readonly message: string };
      readonly warnings?: readonly string[];
    };

export interface RuleService {
  /** Loads and activates every stored rule (once, before messages flow). */
  start(): Promise<void>;
  createTopicRule(input: CreateTopicRuleInput): Promise<void>;
  getTopicRule(ruleName: string): Promise<GetTopicRuleOutput>;
  listTopicRules(input?: ListTopicRulesInput): Promise<ListTopicRulesOutput>;
  replaceTopicRule(input: ReplaceTopicRuleInput): Promise<void>;
  deleteTopicRule(ruleName: string): Promise<void>;
  enableTopicRule(ruleName: string): Promise<void>;
  disableTopicRule(ruleName: string): Promise<void>;
  /** The rule's counters; ResourceNotFoundException when there is no such rule. */
  getTopicRuleMetrics(ruleName: string): Promise<RuleMetricsSnapshot>;
  engineMetrics(): EngineMetricsSnapshot;
  testTopicRule(input: TestTopicRuleInput): Promise<TestTopicRuleOutput>;
  /** The action types this server runs. */
  readonly supportedActionTypes: readonly string[];
}

export interface RuleServiceOptions {
  /** The opened Store (its `rules` part, and `tags` for CreateTopicRule's tags). */
  readonly store: { readonly rules: RuleStore; readonly tags: TagStore };
  readonly scope: AccountScope;
  readonly engine: RuleEngine;
  readonly factories: readonly ActionFactory[];
  readonly actionDeps: ActionDependencies;
  readonly logger: MetricsLogger;
  readonly clock?: () => number;
}

const RULE_NAME = /^[a-zA-Z0-9_]+$/u;
const MAX_ACTIONS = 10;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 10_000;

export function createRuleService(options: RuleServiceOptions): RuleService {
  return new RuleServiceImpl(options);
}

/** A stored rule made runnable; not yet handed to the engine. */
interface Built {
  readonly active: ActiveRule;
  close(): Promise<void>;
}

class RuleServiceImpl implements RuleService {
  readonly #o: RuleServiceOptions;
  readonly #store: RuleStore;
  readonly #clock: () => number;
  readonly #factories: ReadonlyMap<string, ActionFactory>;
  readonly #queue = new KeyedQueue();
  readonly supportedActionTypes: readonly string[];

  constructor(options: RuleServiceOptions) {
    this.#o = options;
    this.#store = options.store.rules;
    this.#clock = options.clock ?? Date.now;
    this.#factories = new Map(options.factories.map((f) => [f.type, f]));
    this.supportedActionTypes = options.factories.map((f) => f.type);
  }

  async start(): Promise<void> {
    let after: string | undefined;
    let loaded = 0;
    for (;;) {
      const page = await this.#store.listRules({ limit: 500, ...(after === undefined ? {} : { afterRuleName: after }) });
      for (const record of page) {
        try {
          const built = this.#build(record.ruleName, parseDocument(record), record.ruleDisabled);
          this.#o.engine.put(built.active);
          loaded++;
        } catch (err: unknown) {
          this.#o.logger.error({ ruleName: record.ruleName, err: err instanceof Error ? err.message : String(err) }, 'a stored topic rule cannot be activated; it stays stored (replace or delete it)');
        }
      }
      if (page.length < 500) break;
      after = page[page.length - 1]!.ruleName;
    }
    this.#o.logger.info({ rules: loaded, actionTypes: this.supportedActionTypes }, 'topic rules loaded');
  }

  async createTopicRule(input: CreateTopicRuleInput): Promise<void> {
    const ruleName = checkRuleName(input.ruleName);
    const tags = parseTaggingHeader(input.tags);
    const { document, ruleDisabled } = this.#readPayload(input.topicRulePayload);
    const built = this.#build(ruleName, document, ruleDisabled);
    await this.#queue.run(ruleName, async () => {
      const now = this.#clock();
      const record: RuleRecord = {
        ruleName,
        document: JSON.stringify(document),
        ...topicPatternOf(built.active),
        ruleDisabled,
        createdAtMs: now,
        lastModifiedAtMs: now,
      };
      try {
        await this.#store.apply([{ op: 'checkRule', ruleName, exists: false }, { op: 'putRule', rule: record }]);
      } catch (err: unknown) {
        await built.close();
        if (isStoreError(err, 'ConditionFailed')) {
          throw AwsErrors.resourceAlreadyExists(`Topic rule ${ruleName} already exists`, { resourceId: ruleName, resourceArn: this.#arn(ruleName) });
        }
        throw err;
      }
      this.#o.engine.put(built.active);
      await putCreationTags(this.#o.store.tags, { resourceType: 'rule', resourceId: ruleName }, tags);
      this.#o.logger.info({ ruleName, ruleDisabled }, 'topic rule created');
    });
  }

  async getTopicRule(ruleName: string): Promise<GetTopicRuleOutput> {
    const record = await this.#require(checkRuleName(ruleName));
    const document = parseDocument(record);
    return {
      ruleArn: this.#arn(record.ruleName),
      rule: {
        ruleName: record.ruleName,
        sql: document.sql,
        ...(document.description === undefined ? {} : { description: document.description }),
        createdAt: new Date(record.createdAtMs),
        actions: document.actions,
        ruleDisabled: record.ruleDisabled,
        awsIotSqlVersion: document.awsIotSqlVersion,
        ...(document.errorAction === undefined ? {} : { errorAction: document.errorAction }),
      },
    };
  }

  async listTopicRules(input: ListTopicRulesInput = {}): Promise<ListTopicRulesOutput> {
    const size = input.maxResults ?? DEFAULT_PAGE;
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) {
      const constraint = size < 1 ? 'Member must have value greater than or equal to 1' : `Member must have value less than or equal to ${MAX_PAGE}`;
      throw AwsErrors.invalidRequest(`1 validation error detected: Value '${size}' at 'maxResults' failed to satisfy constraint: ${constraint}`);
    }
    const scope = `ListTopicRules:${input.topic ?? ''}:${input.ruleDisabled === undefined ? '' : String(input.ruleDisabled)}`;
    const after = input.nextToken === undefined || input.nextToken === '' ? undefined : decodePageToken(input.nextToken, scope);
    const records = await this.#store.listRules({
      limit: size + 1,
      ...(after === undefined ? {} : { afterRuleName: after }),
      ...(input.topic === undefined ? {} : { topicPattern: input.topic }),
      ...(input.ruleDisabled === undefined ? {} : { ruleDisabled: input.ruleDisabled }),
    });
    const page = records.slice(0, size);
    const last = page[page.length - 1];
    return {
      rules: page.map((r) => ({
        ruleArn: this.#arn(r.ruleName),
        ruleName: r.ruleName,
        ...(r.topicPattern === undefined ? {} : { topicPattern: r.topicPattern }),
        createdAt: new Date(r.createdAtMs),
        ruleDisabled: r.ruleDisabled,
      })),
      ...(records.length > size && last !== undefined ? { nextToken: encodePageToken(scope, last.ruleName) } : {}),
    };
  }

  async replaceTopicRule(input: ReplaceTopicRuleInput): Promise<void> {
    const ruleName = checkRuleName(input.ruleName);
    const { document, ruleDisabled } = this.#readPayload(input.topicRulePayload);
    const built = this.#build(ruleName, document, ruleDisabled);
    await this.#queue.run(ruleName, async () => {
      let current: RuleRecord;
      try {
        current = await this.#require(ruleName);
        await this.#store.apply([
          { op: 'checkRule', ruleName, exists: true },
          {
            op: 'putRule',
            rule: {
              ...withoutTopicPattern(current),
              document: JSON.stringify(document),
              ...topicPatternOf(built.active),
              ruleDisabled,
              lastModifiedAtMs: this.#clock(),
            },
          },
        ]);
      } catch (err: unknown) {
        await built.close();
        if (isStoreError(err, 'ConditionFailed')) throw this.#notFound(ruleName);
        throw err;
      }
      this.#o.engine.put(built.active);
      this.#o.logger.info({ ruleName, ruleDisabled }, 'topic rule replaced');
    });
  }

  async deleteTopicRule(ruleName: string): Promise<void> {
    const name = checkRuleName(ruleName);
    await this.#queue.run(name, async () => {
      try {
        await this.#store.apply([{ op: 'checkRule', ruleName: name, exists: true }, { op: 'deleteRule', ruleName: name }]);
      } catch (err: unknown) {
        if (isStoreError(err, 'ConditionFailed')) throw this.#notFound(name);
        throw err;
      }
      this.#o.engine.remove(name);
      this.#o.logger.info({ ruleName: name }, 'topic rule deleted');
    });
  }

  enableTopicRule(ruleName: string): Promise<void> {
    return this.#setDisabled(ruleName, false);
  }

  disableTopicRule(ruleName: string): Promise<void> {
    return this.#setDisabled(ruleName, true);
  }

  async #setDisabled(ruleName: string, ruleDisabled: boolean): Promise<void> {
    const name = checkRuleName(ruleName);
    await this.#queue.run(name, async () => {
      const current = await this.#require(name);
      // A rule that did not build at start gets another chance (and its error) on enable.
      const built = !ruleDisabled && !this.#o.engine.has(name) ? this.#build(name, parseDocument(current), false) : undefined;
      try {
        await this.#store.apply([
          { op: 'checkRule', ruleName: name, exists: true },
          { op: 'putRule', rule: { ...current, ruleDisabled, lastModifiedAtMs: this.#clock() } },
        ]);
      } catch (err: unknown) {
        await built?.close();
        if (isStoreError(err, 'ConditionFailed')) throw this.#notFound(name);
        throw err;
      }
      if (built !== undefined) this.#o.engine.put(built.active);
      else this.#o.engine.setEnabled(name, !ruleDisabled);
      this.#o.logger.info({ ruleName: name, ruleDisabled }, ruleDisabled ? 'topic rule disabled' : 'topic rule enabled');
    });
  }

  async getTopicRuleMetrics(ruleName: string): Promise<RuleMetricsSnapshot> {
    const name = checkRuleName(ruleName);
    const live = this.#o.engine.metrics(name);
    if (live !== undefined) return live;
    const record = await this.#require(name);
    // Stored but not active (it did not build at start): no counters yet.
    const document = parseDocument(record);
    return {
      ruleName: name,
      enabled: false,
      since: this.#clock() / 1000,
      evaluated: 0,
      matched: 0,
      evaluationErrors: 0,
      droppedHops: 0,
      executed: 0,
      succeeded: 0,
      failed: 0,
      lastError: 'the rule could not be activated at startup (see the server log)',
      lastErrorAt: this.#clock() / 1000,
      actions: document.actions.map((a, index) => ({ index, type: actionTypeOf(a) ?? '?', executed: 0, succeeded: 0, failed: 0, timedOut: 0, throttled: 0 })),
    };
  }

  engineMetrics(): EngineMetricsSnapshot {
    return this.#o.engine.stats();
  }

  async testTopicRule(input: TestTopicRuleInput): Promise<TestTopicRuleOutput> {
    let sql = input.sql;
    let version = input.awsIotSqlVersion;
    if (sql === undefined) {
      if (input.ruleName === undefined) throw AwsErrors.invalidRequest("Give 'sql' (a statement) or 'ruleName' (a stored rule) to test");
      const document = parseDocument(await this.#require(checkRuleName(input.ruleName)));
      sql = document.sql;
      version ??= document.awsIotSqlVersion;
    }
    const compiled = compileRule(sql, parseSqlVersion(version ?? DEFAULT_SQL_VERSION));
    const warnings = compiled.warnings.length === 0 ? {} : { warnings: compiled.warnings };
    const basic = parseBasicIngestTopic(input.topic);
    const topic = basic === undefined ? input.topic : basic.topic;
    const ctx = this.#o.engine.context(input.clientId === undefined ? {} : { clientId: input.clientId }, basic !== undefined);
    const result = await compiled.evaluate(topic, input.payload, ctx, { explain: true });
    if (!result.matched) {
      return { matched: false, reason: result.reason ?? { clause: result.clause, message: `the ${result.clause} clause rejected the message` }, ...warnings };
    }
    const bytes = result.payload();
    if (result.isJson) return { matched: true, output: bytes.length === 0 ? null : (JSON.parse(bytes.toString('utf8')) as unknown), ...warnings };
    if (isUtf8(bytes)) return { matched: true, output: bytes.toString('utf8'), ...warnings };
    return { matched: true, output: bytes.toString('base64'), outputEncoding: 'base64', ...warnings };
  }

  // ─── Helpers ────────────────────────────────────────────────────────────────────────────────

  #arn(ruleName: string): string {
    return iotArn(this.#o.scope, 'rule', ruleName);
  }

  #notFound(ruleName: string): Error {
    return AwsErrors.resourceNotFound(`Topic rule ${ruleName} does not exist`);
  }

  async #require(ruleName: string): Promise<RuleRecord> {
    const record = await this.#store.getRule(ruleName);
    if (record === undefined) throw this.#notFound(ruleName);
    return record;
  }

  /** The TopicRulePayload, checked member by member; the document to store. */
  #readPayload(payload: unknown): { document: TopicRuleDocument; ruleDisabled: boolean } {
    if (payload === undefined || payload === null) throw AwsErrors.invalidRequest("The topic rule payload is required: {\"sql\": ..., \"actions\": [...]}");
    if (!isPlainObject(payload)) throw AwsErrors.invalidRequest('The topic rule payload must be a JSON object');
    const member = (name: string): unknown => (Object.hasOwn(payload, name) && payload[name] !== null ? payload[name] : undefined);
    const sql = member('sql');
    if (typeof sql !== 'string' || sql.trim() === '') throw AwsErrors.invalidRequest("Invalid topic rule payload: 'sql' is required (a string)");
    const description = member('description');
    if (description !== undefined && typeof description !== 'string') throw AwsErrors.invalidRequest("Invalid topic rule payload: 'description' must be a string");
    const ruleDisabled = member('ruleDisabled') ?? false;
    if (typeof ruleDisabled !== 'boolean') throw AwsErrors.invalidRequest("Invalid topic rule payload: 'ruleDisabled' must be true or false");
    const version = parseSqlVersion(member('awsIotSqlVersion') ?? DEFAULT_SQL_VERSION);
    const actions = member('actions');
    if (!Array.isArray(actions)) throw AwsErrors.invalidRequest("Invalid topic rule payload: 'actions' is required (a list of actions)");
    if (actions.length > MAX_ACTIONS) throw AwsErrors.invalidRequest(`Invalid topic rule payload: at most ${MAX_ACTIONS} actions (got ${actions.length})`);
    const errorAction = member('errorAction');
    return {
      document: {
        sql,
        ...(description === undefined ? {} : { description }),
        actions,
        ...(errorAction === undefined ? {} : { errorAction }),
        awsIotSqlVersion: version,
      },
      ruleDisabled,
    };
  }

  /** Compiles the SQL and builds every action; throws the first problem, with nothing left open. */
  #build(ruleName: string, document: TopicRuleDocument, ruleDisabled: boolean): Built {
    const version = parseSqlVersion(document.awsIotSqlVersion);
    const compiled = compileRule(document.sql, version);
    const created: RuleAction[] = [];
    const close = async (): Promise<void> => {
      await Promise.all(created.map((a) => Promise.resolve(a.close?.()).catch(() => undefined)));
    };
    try {
      const actions = document.actions.map((a, i) => {
        const action = this.#createAction(a, `actions[${i}]`, version);
        created.push(action);
        return action;
      });
      let errorAction: RuleAction | undefined;
      if (document.errorAction !== undefined) {
        errorAction = this.#createAction(document.errorAction, 'errorAction', version, { allowExternalFunctions: false });
        created.push(errorAction);
      }
      return {
        active: { ruleName, compiled, enabled: !ruleDisabled, actions, ...(errorAction === undefined ? {} : { errorAction }) },
        close,
      };
    } catch (err: unknown) {
      void close();
      throw err;
    }
  }

  #createAction(raw: unknown, where: string, version: string, options: ActionCreateOptions = {}): RuleAction {
    const type = actionTypeOf(raw);
    if (type === undefined) {
      throw AwsErrors.invalidRequest(`Invalid ${where}: an action is an object with exactly one member naming its type, e.g. {"republish": {...}}`);
    }
    const factory = this.#factories.get(type);
    if (factory === undefined) {
      throw AwsErrors.invalidRequest(
        `Invalid ${where}: the action type '${type}' is not supported by this server; supported types: ${this.supportedActionTypes.join(', ')}`,
      );
    }
    // The factories take ActionCreateOptions as an optional fourth argument (not yet in ActionFactory).
    const create = factory.create.bind(factory) as (params: unknown, deps: ActionDependencies, sqlVersion: string, options?: ActionCreateOptions) => RuleAction;
    return create((raw as Record<string, unknown>)[type], this.#o.actionDeps, version, options);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function actionTypeOf(raw: unknown): string | undefined {
  if (!isPlainObject(raw)) return undefined;
  const keys = Object.keys(raw).filter((k) => raw[k] !== null && raw[k] !== undefined);
  return keys.length === 1 ? keys[0] : undefined;
}

function checkRuleName(ruleName: string): string {
  const problems: string[] = [];
  const length = [...ruleName].length;
  if (length > 128) problems.push('Member must have length less than or equal to 128');
  if (length < 1) problems.push('Member must have length greater than or equal to 1');
  if (!RULE_NAME.test(ruleName)) problems.push('Member must satisfy regular expression pattern: ^[a-zA-Z0-9_]+$');
  if (problems.length === 0) return ruleName;
  const shown = ruleName.length > 256 ? `${ruleName.slice(0, 256)}...` : ruleName;
  const count = problems.length === 1 ? '1 validation error detected' : `${problems.length} validation errors detected`;
  throw AwsErrors.invalidRequest(`${count}: ${problems.map((p) => `Value '${shown}' at 'ruleName' failed to satisfy constraint: ${p}`).join('; ')}`);
}

function topicPatternOf(active: ActiveRule): { topicPattern?: string } {
  const filter = active.compiled.fromFilter;
  return filter === undefined ? {} : { topicPattern: filter };
}

function withoutTopicPattern(record: RuleRecord): Omit<RuleRecord, 'topicPattern'> {
  const { topicPattern: _, ...rest } = record;
  return rest;
}

function parseDocument(record: RuleRecord): TopicRuleDocument {
  const parsed = JSON.parse(record.document) as unknown;
  if (!isPlainObject(parsed) || typeof parsed['sql'] !== 'string' || !Array.isArray(parsed['actions'])) {
    throw AwsErrors.internalFailure(`The stored rule ${record.ruleName} is damaged`);
  }
  return {
    sql: parsed['sql'],
    ...(typeof parsed['description'] === 'string' ? { description: parsed['description'] } : {}),
    actions: parsed['actions'] as unknown[],
    ...(parsed['errorAction'] === undefined ? {} : { errorAction: parsed['errorAction'] }),
    awsIotSqlVersion: typeof parsed['awsIotSqlVersion'] === 'string' ? parsed['awsIotSqlVersion'] : DEFAULT_SQL_VERSION,
  };
}
