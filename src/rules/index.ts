/**
 * rules/: AWS IoT topic rules. This door offers the IoT SQL engine (spec/iot-sql.md): compiling a
 * rule statement, evaluating messages against it, explaining a non-match (dry run), and
 * substitution templates for action parameters. The rule engine that consumes broker messages
 * and runs actions (republish, lambda, dynamoDB, http, error actions) builds on it.
 *
 *   const rule = compileRule("SELECT temp AS t FROM 'sensors/+' WHERE temp > 50", '2016-03-23');
 *   const r = rule.evaluate('sensors/a', Buffer.from('{"temp":60}'), { timestamp: Date.now() });
 *   // r.matched === true, r.output = { t: 60 }, r.payload() = <Buffer {"t":60}>
 *
 * Owns: the SQL dialect (lexer, parser, compiler, functions), topic-filter matching for FROM,
 * Basic Ingest topic parsing, template rendering. Refuses: sockets, the broker (it receives a
 * topic, a payload Buffer and an EvaluationContext), persistence, and reaching other rooms: the
 * outside world (shadows, Lambda) comes in through EvaluationContext hooks.
 *
 * Errors: statements and templates that cannot be compiled throw ServiceError SqlParseException
 * (HTTP 400) whose message gives the line, the column and the reason. Evaluation never throws for
 * data (wrong types give Undefined, as AWS); only a failing hook (Lambda, shadow) rejects.
 */
import { AwsErrors } from '../shared/index.js';
import { compileStatement, type CompiledRule } from './rule.js';
import { Message, type EvaluationContext } from './sql/runtime.js';
import { DEFAULT_SQL_VERSION, isSqlVersion, SQL_VERSIONS, type SqlVersion } from './sql/values.js';

export { CompiledRule, RuleMatch } from './rule.js';
export type { EvaluateOptions, NoMatchReason, RuleEvaluation, RuleNoMatch } from './rule.js';
export type { ExplainedOperand, ExplainedTerm, WhereExplanation } from './sql/explain.js';
export type { EvaluationContext } from './sql/runtime.js';
export { compileTemplate, CompiledTemplate, type TemplateOptions } from './template.js';
export { DEFAULT_SQL_VERSION, SQL_VERSIONS, type SqlVersion } from './sql/values.js';

/** A message prepared once (payload parsed at most once) for evaluation by several rules. */
export type PreparedMessage = Message;

/**
 * Compile a rule statement. `version` is the rule's awsIotSqlVersion; AWS's default when it is
 * omitted is 2015-10-08. Throws SqlParseException (bad SQL) or InvalidRequestException (unknown
 * version).
 */
export function compileRule(sql: string, version: string = DEFAULT_SQL_VERSION): CompiledRule {
  return compileStatement(sql, parseSqlVersion(version));
}

/** Validate an awsIotSqlVersion value. */
export function parseSqlVersion(version: unknown): SqlVersion {
  if (!isSqlVersion(version)) {
    throw AwsErrors.invalidRequest(`awsIotSqlVersion must be one of ${SQL_VERSIONS.join(', ')} (got ${JSON.stringify(version) ?? 'undefined'})`);
  }
  return version;
}

/** Prepare one message for CompiledRule.evaluateMessage and CompiledTemplate.render. */
export function prepareMessage(topic: string, payload: Buffer, ctx: EvaluationContext): PreparedMessage {
  return new Message(topic, payload, ctx);
}

/**
 * Basic Ingest (spec section 11): `$aws/rules/<ruleName>/<rest>` names the rule directly; topic()
 * then sees `<rest>`. Undefined for any other topic.
 */
export function parseBasicIngestTopic(topic: string): { readonly ruleName: string; readonly topic: string } | undefined {
  const prefix = '$aws/rules/';
  if (!topic.startsWith(prefix)) return undefined;
  const slash = topic.indexOf('/', prefix.length);
  const ruleName = topic.slice(prefix.length, slash === -1 ? undefined : slash);
  if (!/^[a-zA-Z0-9_]{1,128}$/.test(ruleName)) return undefined;
  return { ruleName, topic: slash === -1 ? '' : topic.slice(slash + 1) };
}

// ─── The rule engine, the rule service and the actions ─────────────────────────────────────────
export { RuleEngine, TopicIndex } from './engine.js';
export type { ActiveRule, EvaluationHooks, IncomingMessage, MessageFacts, MessageProperties, Publisher, RuleEngineOptions } from './engine.js';
export { createRuleService } from './service.js';
export type {
  CreateTopicRuleInput,
  GetTopicRuleOutput,
  ListTopicRulesInput,
  ListTopicRulesOutput,
  ReplaceTopicRuleInput,
  RuleService,
  RuleServiceOptions,
  TestTopicRuleInput,
  TestTopicRuleOutput,
  TopicRule,
  TopicRuleDocument,
  TopicRuleListItem,
} from './service.js';
export type { ActionMetricsSnapshot, EngineMetricsSnapshot, RuleMetricsSnapshot } from './metrics.js';
export { actionFactories, ActionFailure, createLambdaInvoker, republishAction, topicProblem } from './actions/index.js';
export type {
  ActionCreateOptions,
  ActionDependencies,
  ActionFactory,
  ActionInput,
  ActionsConfig,
  LambdaInvoker,
  RepublishMessage,
  RuleAction,
} from './actions/index.js';
