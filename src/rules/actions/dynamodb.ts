/**
 * The `dynamoDB` action (spec/iot-sql.md section 9; developer guide dynamodb-rule-action): writes
 * the rule's SELECT output into one column (`payloadField`, default `payload`) of the item whose
 * key is rendered from the `hashKeyValue` / `rangeKeyValue` templates.
 *
 *   { "tableName": "wx_data", "hashKeyField": "sample_time", "hashKeyValue": "${timestamp()}",
 *     "hashKeyType": "NUMBER", "rangeKeyField": "device_id", "rangeKeyValue": "${topic(2)}",
 *     "payloadField": "device_data", "roleArn": "arn:aws:iam::123456789012:role/r" }
 *   on device/22/data {"temperature":28} → PutItem wx_data
 *     { sample_time: {N:"1700000000000"}, device_id: {S:"22"}, device_data: {M:{temperature:{N:"28"}}} }
 *
 * Every parameter but roleArn is a substitution template (the guide's "API and AWS CLI only" is a
 * yes for an API-only server). `operation` INSERT (default) is PutItem, UPDATE is UpdateItem
 * `SET payloadField = :payload` (other columns kept, the item created if missing), DELETE is
 * DeleteItem on the key. JSON output is written as DynamoDB types by toAttributeValue below; a
 * non-JSON output (raw bytes) as binary, as the guide's note says. roleArn is validated and kept but
 * not assumed: the client uses ActionsConfig's credentials.
 */
import { DeleteItemCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { AwsErrors } from '../../shared/index.js';
import type { RuleMatch } from '../rule.js';
import { isSqlVersion, SQL_VERSIONS, type SqlVersion } from '../sql/values.js';
import { compileTemplate, type CompiledTemplate } from '../template.js';
import { ActionFailure, type ActionDependencies, type ActionFactory, type ActionInput, type ActionsConfig, type RuleAction } from './action.js';
import type { ActionCreateOptions } from './index.js';

// ---------------------------------------------------------------------------------------------
// Type conversion: the SELECT output (RuleMatch.output: JSON data, bigint beyond 2^53, Buffer for
// raw bytes) as DynamoDB AttributeValues.
//
//   string → S ("" allowed: DynamoDB accepts empty strings outside keys)
//   number → N (its shortest decimal text; [DECISION] a non-finite number, which JSON cannot
//            carry, becomes NULL as it does when the output is serialized to JSON)
//   bigint → N (all digits)        boolean → BOOL        null → NULL
//   array  → L (an Undefined item becomes NULL)         object → M (Undefined members omitted)
//   Buffer → B
//   undefined → no attribute at all

export function toAttributeValue(v: unknown): AttributeValue | undefined {
  switch (typeof v) {
    case 'string':
      return { S: v };
    case 'number':
      return Number.isFinite(v) ? { N: v === 0 ? '0' : String(v) } : { NULL: true };
    case 'bigint':
      return { N: v.toString() };
    case 'boolean':
      return { BOOL: v };
    case 'undefined':
      return undefined;
    case 'object':
      if (v === null) return { NULL: true };
      if (v instanceof Uint8Array) return { B: v };
      if (Array.isArray(v)) return { L: v.map((item: unknown) => toAttributeValue(item) ?? { NULL: true }) };
      return { M: toItem(v as Record<string, unknown>) };
    default:
      return undefined;
  }
}

/** A JSON object as a DynamoDB item (or M value): one attribute per member that is not Undefined. */
export function toItem(o: Readonly<Record<string, unknown>>): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {};
  for (const k of Object.keys(o)) {
    const av = toAttributeValue(o[k]);
    if (av === undefined) continue;
    if (k === '__proto__') Object.defineProperty(item, k, { value: av, enumerable: true, writable: true, configurable: true });
    else item[k] = av;
  }
  return item;
}

/** What the payload column receives: the JSON output by type, raw bytes as B, nothing for Undefined. */
export function payloadAttribute(match: RuleMatch): AttributeValue | undefined {
  if (!match.isJson) return match.output === undefined ? undefined : { B: match.payload() };
  return toAttributeValue(match.output);
}

const NUMBER_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export type DynamoKeyType = 'STRING' | 'NUMBER';

/** A rendered key value as S or N; undefined when NUMBER is asked of text that is not a number. */
export function keyAttribute(value: string, type: DynamoKeyType): AttributeValue | undefined {
  if (type === 'STRING') return { S: value };
  return NUMBER_TEXT.test(value) ? { N: value } : undefined;
}

// ---------------------------------------------------------------------------------------------
// One DynamoDB client per ActionsConfig, shared by every dynamoDB and dynamoDBv2 action, created
// on first use and destroyed when the last action using it closes.

export interface DynamoDbClientLease {
  client(): DynamoDBClient;
  release(): void;
}

const clients = new WeakMap<ActionsConfig, { client: DynamoDBClient | undefined; users: number }>();

export function acquireDynamoDbClient(config: ActionsConfig): DynamoDbClientLease {
  let entry = clients.get(config);
  if (entry === undefined) {
    entry = { client: undefined, users: 0 };
    clients.set(config, entry);
  }
  const e = entry;
  e.users += 1;
  let released = false;
  return {
    client() {
      if (released) throw new Error('DynamoDB client lease already released');
      e.client ??= new DynamoDBClient({
        region: config.awsRegion ?? process.env['AWS_REGION'] ?? 'us-east-1',
        ...(config.dynamoDbEndpoint === undefined ? {} : { endpoint: config.dynamoDbEndpoint }),
        ...(config.awsCredentials === undefined ? {} : { credentials: config.awsCredentials }),
        maxAttempts: 3,
        requestHandler: { connectionTimeout: 3000, requestTimeout: 5000 },
      });
      return e.client;
    },
    release() {
      if (released) return;
      released = true;
      e.users -= 1;
      if (e.users === 0) {
        e.client?.destroy();
        e.client = undefined;
        clients.delete(config);
      }
    },
  };
}

/** The rule's awsIotSqlVersion, checked (the rule service has checked it already). */
function sqlVersionOf(version: string): SqlVersion {
  if (!isSqlVersion(version)) throw AwsErrors.invalidRequest(`awsIotSqlVersion must be one of ${SQL_VERSIONS.join(', ')}`);
  return version;
}

/** InvalidRequestException worded as republish words it: Invalid <type> action: '<field>' <problem>. */
function invalid(field: string, problem: string): Error {
  return AwsErrors.invalidRequest(`Invalid ${/^[A-Za-z0-9]+/.exec(field)?.[0] ?? field} action: '${field}' ${problem}`);
}

// ---------------------------------------------------------------------------------------------
// Parameter validation (CreateTopicRule time), shared with dynamodbv2.ts.

export type Params = Readonly<Record<string, unknown>>;

/** The action's parameters as an object with only the known members. */
export function paramsObject(params: unknown, where: string, allowed: readonly string[]): Params {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw invalid(where, `must be an object with ${allowed.join(', ')}`);
  }
  for (const k of Object.keys(params)) {
    if (!allowed.includes(k)) throw invalid(`${where}.${k}`, `is not a parameter of ${where} (expected ${allowed.join(', ')})`);
  }
  return params as Params;
}

export function requiredString(p: Params, key: string, where: string, maxLength = 2048): string {
  const v = p[key];
  if (v === undefined || v === null) throw invalid(`${where}.${key}`, 'is required');
  if (typeof v !== 'string' || v.length === 0) throw invalid(`${where}.${key}`, 'must be a non-empty string');
  if (v.length > maxLength) throw invalid(`${where}.${key}`, `must be at most ${maxLength} characters`);
  return v;
}

export function optionalString(p: Params, key: string, where: string, maxLength = 2048): string | undefined {
  return p[key] === undefined || p[key] === null ? undefined : requiredString(p, key, where, maxLength);
}

// ---------------------------------------------------------------------------------------------

const ACTION = 'dynamoDB';
const FAILED_ACTION = 'DynamoAction';
const OPERATIONS = ['INSERT', 'UPDATE', 'DELETE'] as const;
type Operation = (typeof OPERATIONS)[number];
const KEY_TYPES: readonly DynamoKeyType[] = ['STRING', 'NUMBER'];

/** A template, or the constant it always renders to (validated once at create time). */
type Param<T extends string> = { readonly constant: T } | { readonly template: CompiledTemplate };

interface Compiled {
  readonly tableName: CompiledTemplate;
  readonly hashKeyField: CompiledTemplate;
  readonly hashKeyValue: CompiledTemplate;
  readonly hashKeyType: Param<DynamoKeyType>;
  readonly rangeKey: { readonly field: CompiledTemplate; readonly value: CompiledTemplate; readonly type: Param<DynamoKeyType> } | undefined;
  readonly payloadField: CompiledTemplate;
  readonly operation: Param<Operation>;
  readonly roleArn: string;
}

export const dynamoDbActionFactory: ActionFactory & {
  create(params: unknown, deps: ActionDependencies, sqlVersion: string, options?: ActionCreateOptions): RuleAction;
} = {
  type: ACTION,
  create(params: unknown, deps: ActionDependencies, sqlVersion: string, options: ActionCreateOptions = {}): RuleAction {
    const p = paramsObject(params, ACTION, [
      'tableName', 'roleArn', 'hashKeyField', 'hashKeyValue', 'hashKeyType',
      'rangeKeyField', 'rangeKeyValue', 'rangeKeyType', 'payloadField', 'operation',
    ]);
    const version = sqlVersionOf(sqlVersion);
    const template = (key: string, text: string): CompiledTemplate =>
      compileTemplate(text, version, { label: `${ACTION}.${key}`, ...(options.allowExternalFunctions === false ? { allowExternalFunctions: false } : {}) });
    const choice = <T extends string>(key: string, text: string | undefined, allowed: readonly T[], fallback: T): Param<T> => {
      if (text === undefined) return { constant: fallback };
      const t = template(key, text);
      if (!t.isConstant) return { template: t };
      if (!(allowed as readonly string[]).includes(text)) throw invalid(`${ACTION}.${key}`, `must be one of ${allowed.join(', ')} (got ${JSON.stringify(text)})`);
      return { constant: text as T };
    };

    const rangeKeyField = optionalString(p, 'rangeKeyField', ACTION);
    const rangeKeyValue = optionalString(p, 'rangeKeyValue', ACTION);
    const rangeKeyType = optionalString(p, 'rangeKeyType', ACTION);
    if ((rangeKeyField === undefined) !== (rangeKeyValue === undefined)) {
      throw invalid(`${ACTION}.rangeKeyField`, `and ${ACTION}.rangeKeyValue must be given together`);
    }
    if (rangeKeyField === undefined && rangeKeyType !== undefined) throw invalid(`${ACTION}.rangeKeyType`, 'needs rangeKeyField and rangeKeyValue');

    const compiled: Compiled = {
      tableName: template('tableName', requiredString(p, 'tableName', ACTION, 255)),
      hashKeyField: template('hashKeyField', requiredString(p, 'hashKeyField', ACTION, 255)),
      hashKeyValue: template('hashKeyValue', requiredString(p, 'hashKeyValue', ACTION, 1024)),
      // [DECISION] STRING when omitted, as AWS IoT Events documents for the same action shape.
      hashKeyType: choice('hashKeyType', optionalString(p, 'hashKeyType', ACTION), KEY_TYPES, 'STRING'),
      rangeKey:
        rangeKeyField === undefined || rangeKeyValue === undefined
          ? undefined
          : {
              field: template('rangeKeyField', rangeKeyField),
              value: template('rangeKeyValue', rangeKeyValue),
              type: choice('rangeKeyType', rangeKeyType, KEY_TYPES, 'STRING'),
            },
      payloadField: template('payloadField', optionalString(p, 'payloadField', ACTION, 255) ?? 'payload'),
      operation: choice('operation', optionalString(p, 'operation', ACTION), OPERATIONS, 'INSERT'),
      roleArn: requiredString(p, 'roleArn', ACTION),
    };
    return new DynamoDbAction(compiled, acquireDynamoDbClient(deps.config));
  },
};

class DynamoDbAction implements RuleAction {
  readonly type = ACTION;

  constructor(
    private readonly p: Compiled,
    private readonly lease: DynamoDbClientLease,
  ) {}

  async execute(input: ActionInput): Promise<void> {
    const m = input.match;
    let table = this.p.tableName.text;
    try {
      table = await this.p.tableName.render(m);
      if (table === '') throw this.fail(table, 'tableName rendered to an empty string');
      const operation = await this.choice(this.p.operation, m, 'operation', OPERATIONS, table);
      const key: Record<string, AttributeValue> = {};
      await this.addKey(key, 'hashKey', this.p.hashKeyField, this.p.hashKeyValue, this.p.hashKeyType, m, table);
      if (this.p.rangeKey !== undefined) await this.addKey(key, 'rangeKey', this.p.rangeKey.field, this.p.rangeKey.value, this.p.rangeKey.type, m, table);
      const client = this.lease.client();
      if (operation === 'DELETE') {
        await client.send(new DeleteItemCommand({ TableName: table, Key: key }));
        return;
      }
      const field = await this.p.payloadField.render(m);
      if (field === '') throw this.fail(table, 'payloadField rendered to an empty string');
      if (Object.hasOwn(key, field)) throw this.fail(table, `payloadField ${JSON.stringify(field)} is also a key field`);
      const payload = payloadAttribute(m);
      if (operation === 'INSERT') {
        const item = { ...key };
        if (payload !== undefined) Object.defineProperty(item, field, { value: payload, enumerable: true, writable: true, configurable: true });
        await client.send(new PutItemCommand({ TableName: table, Item: item }));
      } else {
        await client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: key,
            ...(payload === undefined
              ? {}
              : { UpdateExpression: 'SET #payload = :payload', ExpressionAttributeNames: { '#payload': field }, ExpressionAttributeValues: { ':payload': payload } }),
          }),
        );
      }
    } catch (err: unknown) {
      if (err instanceof ActionFailure) throw err;
      throw new ActionFailure(FAILED_ACTION, table, `Failed to write to DynamoDB table ${table}: ${describeError(err)}`, { cause: err });
    }
  }

  private async addKey(
    key: Record<string, AttributeValue>,
    which: 'hashKey' | 'rangeKey',
    fieldTemplate: CompiledTemplate,
    valueTemplate: CompiledTemplate,
    typeParam: Param<DynamoKeyType>,
    m: RuleMatch,
    table: string,
  ): Promise<void> {
    const field = await fieldTemplate.render(m);
    if (field === '') throw this.fail(table, `${which}Field rendered to an empty string`);
    if (Object.hasOwn(key, field)) throw this.fail(table, `hashKeyField and rangeKeyField are both ${JSON.stringify(field)}`);
    const value = await valueTemplate.render(m);
    if (value === '') throw this.fail(table, `${which}Value rendered to an empty string (a key attribute cannot be empty)`);
    const type = await this.choice(typeParam, m, `${which}Type`, KEY_TYPES, table);
    const av = keyAttribute(value, type);
    if (av === undefined) throw this.fail(table, `${which}Value ${JSON.stringify(value)} is not a number (${which}Type NUMBER)`);
    Object.defineProperty(key, field, { value: av, enumerable: true, writable: true, configurable: true });
  }

  private async choice<T extends string>(param: Param<T>, m: RuleMatch, key: string, allowed: readonly T[], table: string): Promise<T> {
    if ('constant' in param) return param.constant;
    const v = await param.template.render(m);
    if (!(allowed as readonly string[]).includes(v)) throw this.fail(table, `${key} rendered to ${JSON.stringify(v)}; it must be one of ${allowed.join(', ')}`);
    return v as T;
  }

  private fail(table: string, message: string): ActionFailure {
    return new ActionFailure(FAILED_ACTION, table, `Failed to write to DynamoDB table ${table}: ${message}`);
  }

  async close(): Promise<void> {
    this.lease.release();
  }
}

/** An SDK or network error as `Name: message`. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message === '' ? err.name : `${err.name}: ${err.message}`;
  return String(err);
}
