/**
 * The republish action (spec/iot-sql.md section 9): publishes the rule's output as the server.
 *
 *   { "republish": { "topic": "${topic()}/republish", "roleArn": "arn:aws:iam::123456789012:role/r", "qos": 1,
 *                    "headers": { "contentType": "application/json", "responseTopic": "replies/${clientid()}",
 *                                 "correlationData": "${encode(id, 'base64')}", "messageExpiry": "60",
 *                                 "payloadFormatIndicator": "UTF8_DATA",
 *                                 "userProperties": [{ "key": "src", "value": "${topic(2)}" }] } } }
 *
 * Templates: `topic` and every header (user property keys and values included). `correlationData`
 * renders to base64 text, decoded to the MQTT 5 binary property; `messageExpiry` to seconds.
 * A topic starting with `$$` publishes to the `$` topic (`$$aws/things/t/shadow/update` →
 * `$aws/things/t/shadow/update`), as AWS asks; a single `$` works too here.
 *
 * `roleArn` is required (the AWS model requires it) and otherwise unused. `qos` is 0 (default) or 1.
 * A message republished carries `hops + 1`, so the engine can bound republish loops.
 *
 * Failures (ActionFailure 'RepublishAction', the rendered topic as failedResource): a rendered
 * topic that is empty, has wildcards or NUL, or is longer than 65,535 bytes; a reserved jobs topic;
 * a publish the broker refuses.
 */
import { AwsErrors } from '../../shared/index.js';
import { isSqlVersion, SQL_VERSIONS, type SqlVersion } from '../sql/values.js';
import { compileTemplate, type CompiledTemplate } from '../template.js';
import { ActionFailure, type ActionDependencies, type ActionFactory, type ActionInput, type RuleAction } from './action.js';

const FAILED_ACTION = 'RepublishAction';

/**
 * What republish hands `deps.publish`: the contract's message, plus the two MQTT 5 fields the
 * contract does not name yet (core's publish honours them; other implementations may ignore them).
 */
export type RepublishMessage = Parameters<ActionDependencies['publish']>[0] & {
  readonly messageExpiryIntervalSec?: number;
  readonly payloadFormatIndicator?: boolean;
};

interface CompiledHeaders {
  readonly payloadFormatIndicator?: boolean;
  readonly contentType?: CompiledTemplate;
  readonly responseTopic?: CompiledTemplate;
  readonly correlationData?: CompiledTemplate;
  readonly messageExpiry?: CompiledTemplate;
  readonly userProperties?: ReadonlyArray<readonly [CompiledTemplate, CompiledTemplate]>;
}

const invalid = (field: string, problem: string): Error => AwsErrors.invalidRequest(`Invalid republish action: '${field}' ${problem}`);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalString(obj: Record<string, unknown>, name: string, path: string): string | undefined {
  const v = obj[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(path, 'must be a string');
  return v;
}

export const republishAction: ActionFactory & {
  create(params: unknown, deps: ActionDependencies, sqlVersion: string, options?: { readonly allowExternalFunctions?: boolean }): RuleAction;
} = {
  type: 'republish',
  create(params: unknown, deps: ActionDependencies, sqlVersion: string, options: { readonly allowExternalFunctions?: boolean } = {}): RuleAction {
    if (!isSqlVersion(sqlVersion)) throw AwsErrors.invalidRequest(`awsIotSqlVersion must be one of ${SQL_VERSIONS.join(', ')}`);
    const version: SqlVersion = sqlVersion;
    if (!isObject(params)) throw AwsErrors.invalidRequest("Invalid republish action: expected an object with 'topic' and 'roleArn'");
    const topicText = optionalString(params, 'topic', 'republish.topic');
    if (topicText === undefined || topicText === '') throw invalid('republish.topic', 'is required');
    const roleArn = optionalString(params, 'roleArn', 'republish.roleArn');
    if (roleArn === undefined || roleArn === '') throw invalid('republish.roleArn', 'is required');
    const qosValue = params['qos'] ?? 0;
    if (qosValue !== 0 && qosValue !== 1) throw invalid('republish.qos', `must be 0 or 1 (got ${JSON.stringify(qosValue)})`);
    const qos: 0 | 1 = qosValue;
    // `$$` at the start stands for a literal `$` (AWS: "use $$ to republish to a reserved topic").
    const external = options.allowExternalFunctions === false ? { allowExternalFunctions: false } : {};
    const topic = compileTemplate(topicText.startsWith('$$') ? topicText.slice(1) : topicText, version, { label: 'republish.topic', ...external });
    if (topic.isConstant) {
      const problem = topicProblem(topicText.startsWith('$$') ? topicText.slice(1) : topicText);
      if (problem !== undefined) throw invalid('republish.topic', problem);
    }
    const headers = compileHeaders(params['headers'], version, external);
    return new RepublishAction(topic, qos, headers, deps);
  },
};

function compileHeaders(raw: unknown, version: SqlVersion, external: { readonly allowExternalFunctions?: boolean }): CompiledHeaders | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) throw invalid('republish.headers', 'must be an object');
  const template = (name: string): CompiledTemplate | undefined => {
    const text = optionalString(raw, name, `republish.headers.${name}`);
    return text === undefined ? undefined : compileTemplate(text, version, { label: `republish.headers.${name}`, ...external });
  };
  const pfi = optionalString(raw, 'payloadFormatIndicator', 'republish.headers.payloadFormatIndicator');
  if (pfi !== undefined && pfi !== 'UNSPECIFIED_BYTES' && pfi !== 'UTF8_DATA') {
    throw invalid('republish.headers.payloadFormatIndicator', `must be UNSPECIFIED_BYTES or UTF8_DATA (got ${JSON.stringify(pfi)})`);
  }
  const correlationData = template('correlationData');
  if (correlationData?.isConstant === true && !isBase64(correlationData.text)) throw invalid('republish.headers.correlationData', 'must be base64');
  const messageExpiry = template('messageExpiry');
  if (messageExpiry?.isConstant === true && expirySeconds(messageExpiry.text) === undefined) {
    throw invalid('republish.headers.messageExpiry', 'must be a whole number of seconds from 0 to 4294967295');
  }
  let userProperties: Array<readonly [CompiledTemplate, CompiledTemplate]> | undefined;
  const ups = raw['userProperties'];
  if (ups !== undefined && ups !== null) {
    if (!Array.isArray(ups) || ups.length < 1 || ups.length > 100) throw invalid('republish.headers.userProperties', 'must be a list of 1 to 100 {key, value} objects');
    userProperties = ups.map((up: unknown, i) => {
      const path = `republish.headers.userProperties[${i}]`;
      if (!isObject(up)) throw invalid(path, 'must be an object with key and value');
      const key = optionalString(up, 'key', `${path}.key`);
      const value = optionalString(up, 'value', `${path}.value`);
      if (key === undefined || value === undefined) throw invalid(path, 'needs both key and value');
      return [compileTemplate(key, version, { label: `${path}.key`, ...external }), compileTemplate(value, version, { label: `${path}.value`, ...external })] as const;
    });
  }
  const contentType = template('contentType');
  const responseTopic = template('responseTopic');
  return {
    ...(pfi === undefined ? {} : { payloadFormatIndicator: pfi === 'UTF8_DATA' }),
    ...(contentType === undefined ? {} : { contentType }),
    ...(responseTopic === undefined ? {} : { responseTopic }),
    ...(correlationData === undefined ? {} : { correlationData }),
    ...(messageExpiry === undefined ? {} : { messageExpiry }),
    ...(userProperties === undefined ? {} : { userProperties }),
  };
}

class RepublishAction implements RuleAction {
  readonly type = 'republish';

  constructor(
    private readonly topic: CompiledTemplate,
    private readonly qos: 0 | 1,
    private readonly headers: CompiledHeaders | undefined,
    private readonly deps: ActionDependencies,
  ) {}

  execute(input: ActionInput): Promise<void> {
    const rendered = this.topic.render(input.match);
    if (typeof rendered === 'string' && this.headers === undefined) return this.publish(input, rendered, undefined);
    return this.executeAsync(input, rendered);
  }

  private async executeAsync(input: ActionInput, rendered: string | Promise<string>): Promise<void> {
    const topic = await rendered;
    return this.publish(input, topic, this.headers === undefined ? undefined : await this.renderHeaders(input, topic));
  }

  private publish(input: ActionInput, topic: string, extra: Omit<RepublishMessage, 'topic' | 'payload' | 'qos' | 'hops'> | undefined): Promise<void> {
    // A constant topic was checked at create time.
    const problem = this.topic.isConstant ? undefined : topicProblem(topic);
    if (problem !== undefined) return Promise.reject(new ActionFailure(FAILED_ACTION, topic, `Failed to republish to topic '${topic}': ${problem}`));
    // A fresh Buffer, never the incoming message's own (SELECT * of a non-JSON payload): the
    // publisher may mark it (hops) and the incoming one may be shared with others.
    let payload = input.match.payload();
    if (payload === input.originalPayload) payload = Buffer.from(payload);
    const message: RepublishMessage =
      extra === undefined ? { topic, payload, qos: this.qos, hops: input.hops + 1 } : { topic, payload, qos: this.qos, hops: input.hops + 1, ...extra };
    return this.deps.publish(message).catch((err: unknown) => {
      throw new ActionFailure(FAILED_ACTION, topic, `Failed to republish to topic '${topic}': ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
  }

  private async renderHeaders(input: ActionInput, topic: string): Promise<Omit<RepublishMessage, 'topic' | 'payload' | 'qos' | 'hops'>> {
    const h = this.headers!;
    const text = async (t: CompiledTemplate | undefined): Promise<string | undefined> => (t === undefined ? undefined : await t.render(input.match));
    const contentType = await text(h.contentType);
    const responseTopic = await text(h.responseTopic);
    const correlation = await text(h.correlationData);
    const expiry = await text(h.messageExpiry);
    let userProperties: Array<readonly [string, string]> | undefined;
    if (h.userProperties !== undefined) {
      userProperties = [];
      for (const [k, v] of h.userProperties) userProperties.push([await k.render(input.match), await v.render(input.match)]);
    }
    if (responseTopic !== undefined && topicProblem(responseTopic) !== undefined) {
      throw new ActionFailure(FAILED_ACTION, topic, `Failed to republish to topic '${topic}': responseTopic '${responseTopic}' ${topicProblem(responseTopic)}`);
    }
    let messageExpiryIntervalSec: number | undefined;
    if (expiry !== undefined) {
      messageExpiryIntervalSec = expirySeconds(expiry);
      if (messageExpiryIntervalSec === undefined) {
        throw new ActionFailure(FAILED_ACTION, topic, `Failed to republish to topic '${topic}': messageExpiry '${expiry}' is not a whole number of seconds`);
      }
    }
    const properties = {
      ...(contentType === undefined ? {} : { contentType }),
      ...(responseTopic === undefined ? {} : { responseTopic }),
      ...(correlation === undefined ? {} : { correlationData: Buffer.from(correlation, 'base64') }),
      ...(userProperties === undefined ? {} : { userProperties }),
    };
    return {
      ...(Object.keys(properties).length === 0 ? {} : { properties }),
      ...(messageExpiryIntervalSec === undefined ? {} : { messageExpiryIntervalSec }),
      ...(h.payloadFormatIndicator === undefined ? {} : { payloadFormatIndicator: h.payloadFormatIndicator }),
    };
  }
}

/** Why a rendered topic cannot be published to; undefined when it can. */
export function topicProblem(topic: string): string | undefined {
  if (topic === '') return 'is empty';
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x2b || c === 0x23 || c === 0) return 'contains a wildcard (+ or #) or NUL';
  }
  // UTF-16 length × 3 bounds the UTF-8 length: count only when it could be too long.
  if (topic.length > 21845 && Buffer.byteLength(topic, 'utf8') > 65535) return 'is longer than 65535 bytes';
  if (topic.startsWith('$aws/things/') && /^\$aws\/things\/[^/]+\/jobs(\/|$)/u.test(topic)) return 'is a reserved jobs topic';
  return undefined;
}

function isBase64(text: string): boolean {
  return /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/u.test(text);
}

function expirySeconds(text: string): number | undefined {
  if (!/^[0-9]{1,10}$/u.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return n <= 0xffffffff ? n : undefined;
}
