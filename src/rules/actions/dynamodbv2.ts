/**
 * The `dynamoDBv2` action (spec/iot-sql.md section 9; developer guide dynamodb-v2-rule-action):
 * PutItem of the SELECT output, each top-level member its own column, typed as dynamodb.ts's
 * toAttributeValue says (string S, number N, boolean BOOL, null NULL, array L, object M).
 *
 *   { "putItem": { "tableName": "readings_${topic(2)}" }, "roleArn": "arn:aws:iam::123456789012:role/r" }
 *   SELECT topic(3) AS device, temp, tags FROM 'site/+/+' on site/a/d1 {"temp":21.5,"tags":["x"]}
 *   → PutItem readings_a { device: {S:"d1"}, temp: {N:"21.5"}, tags: {L:[{S:"x"}]} }
 *
 * The output must hold the table's key attributes at its top level with the key's type (the guide's
 * requirement); DynamoDB checks that and its refusal becomes the ActionFailure. An output that is
 * not a JSON object (raw bytes, a SELECT VALUE scalar, Undefined) cannot be split into columns and
 * fails the same way. putItem.tableName is a substitution template; roleArn is not (and is not
 * assumed: the client uses ActionsConfig's credentials).
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { AwsErrors } from '../../shared/index.js';
import { isSqlVersion, SQL_VERSIONS, type SqlVersion } from '../sql/values.js';
import { compileTemplate, type CompiledTemplate } from '../template.js';
import { ActionFailure, type ActionDependencies, type ActionFactory, type ActionInput, type RuleAction } from './action.js';
import {
  acquireDynamoDbClient,
  describeError,
  paramsObject,
  requiredString,
  toItem,
  type DynamoDbClientLease,
} from './dynamodb.js';
import type { ActionCreateOptions } from './index.js';

const ACTION = 'dynamoDBv2';
const FAILED_ACTION = 'DynamoDBv2Action';

/** The rule's awsIotSqlVersion, checked (the rule service has checked it already). */
function sqlVersionOf(version: string): SqlVersion {
  if (!isSqlVersion(version)) throw AwsErrors.invalidRequest(`awsIotSqlVersion must be one of ${SQL_VERSIONS.join(', ')}`);
  return version;
}

export const dynamoDbV2ActionFactory: ActionFactory & {
  create(params: unknown, deps: ActionDependencies, sqlVersion: string, options?: ActionCreateOptions): RuleAction;
} = {
  type: ACTION,
  create(params: unknown, deps: ActionDependencies, sqlVersion: string, options: ActionCreateOptions = {}): RuleAction {
    const p = paramsObject(params, ACTION, ['putItem', 'roleArn']);
    if (p['putItem'] === undefined || p['putItem'] === null) throw AwsErrors.invalidRequest(`Invalid ${ACTION} action: '${ACTION}.putItem' is required ({"tableName": "..."})`);
    const putItem = paramsObject(p['putItem'], `${ACTION}.putItem`, ['tableName']);
    const tableName = compileTemplate(requiredString(putItem, 'tableName', `${ACTION}.putItem`, 255), sqlVersionOf(sqlVersion), {
      label: `${ACTION}.putItem.tableName`,
      ...(options.allowExternalFunctions === false ? { allowExternalFunctions: false } : {}),
    });
    requiredString(p, 'roleArn', ACTION);
    return new DynamoDbV2Action(tableName, acquireDynamoDbClient(deps.config));
  },
};

class DynamoDbV2Action implements RuleAction {
  readonly type = ACTION;

  constructor(
    private readonly tableName: CompiledTemplate,
    private readonly lease: DynamoDbClientLease,
  ) {}

  async execute(input: ActionInput): Promise<void> {
    const m = input.match;
    let table = this.tableName.text;
    try {
      table = await this.tableName.render(m);
      if (table === '') throw this.fail(table, 'putItem.tableName rendered to an empty string');
      const out = m.output;
      if (!m.isJson || typeof out !== 'object' || out === null || Array.isArray(out)) {
        throw this.fail(table, `the rule's output must be a JSON object, one column per member (got ${kindOf(out)})`);
      }
      await this.lease.client().send(new PutItemCommand({ TableName: table, Item: toItem(out as Record<string, unknown>) }));
    } catch (err: unknown) {
      if (err instanceof ActionFailure) throw err;
      throw new ActionFailure(FAILED_ACTION, table, `Failed to put item into DynamoDB table ${table}: ${describeError(err)}`, { cause: err });
    }
  }

  private fail(table: string, message: string): ActionFailure {
    return new ActionFailure(FAILED_ACTION, table, `Failed to put item into DynamoDB table ${table}: ${message}`);
  }

  async close(): Promise<void> {
    this.lease.release();
  }
}

function kindOf(v: unknown): string {
  if (v === undefined) return 'no output';
  if (v === null) return 'null';
  if (Buffer.isBuffer(v)) return 'binary data';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}
