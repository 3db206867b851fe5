// Proves the dynamoDBv2 action puts the SELECT output as one column per top-level member (typed as DynamoDB types) into the rendered table, fails with DynamoDBv2Action for an output that is not a JSON object or a write DynamoDB refuses, and refuses bad parameters at create time naming the field.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { isServiceError } from '../../shared/index.js';
import { ActionFailure, type ActionDependencies } from './action.js';
import { dynamoDbV2ActionFactory } from './dynamodbv2.js';
import { matchedInput as input, ROLE, silent, startRecordingDynamoDb, type RecordingDynamoDb } from './test-fixtures.js';

describe('dynamoDBv2 requests (recording endpoint)', () => {
  let endpoint: RecordingDynamoDb;
  let deps: ActionDependencies;
  let requests: RecordingDynamoDb['requests'];

  before(async () => {
    endpoint = await startRecordingDynamoDb({ keyed: { type: 'com.amazon.coral.validate#ValidationException', message: 'One of the required keys was not given a value' } });
    ({ deps, requests } = endpoint);
  });

  after(() => endpoint.close());

  async function run(tableName: string, sql: string, topic: string, payload: string | Buffer): Promise<void> {
    const action = dynamoDbV2ActionFactory.create({ putItem: { tableName }, roleArn: ROLE }, deps, '2016-03-23');
    try {
      await action.execute(input(sql, topic, payload));
    } finally {
      await action.close?.();
    }
  }

  it('puts each top-level member as its own typed column into the rendered table', async () => {
    await run('readings_${topic(2)}', "SELECT topic(3) AS device, temp, ok, tags, pos, note FROM 'site/+/+'", 'site/a/d1', '{"temp":21.5,"ok":true,"tags":["x",1],"pos":{"lat":1.25},"note":null}');
    assert.deepStrictEqual(requests.at(-1), {
      target: 'DynamoDB_20120810.PutItem',
      body: {
        TableName: 'readings_a',
        Item: {
          device: { S: 'd1' },
          temp: { N: '21.5' },
          ok: { BOOL: true },
          tags: { L: [{ S: 'x' }, { N: '1' }] },
          pos: { M: { lat: { N: '1.25' } } },
          note: { NULL: true },
        },
      },
    });
  });

  async function failure(tableName: string, sql: string, payload: string | Buffer): Promise<ActionFailure> {
    try {
      await run(tableName, sql, 't', payload);
    } catch (err: unknown) {
      assert.ok(err instanceof ActionFailure, `expected an ActionFailure, got ${String(err)}`);
      assert.equal(err.failedAction, 'DynamoDBv2Action');
      assert.equal(err.failedResource, tableName);
      return err;
    }
    assert.fail('expected an ActionFailure');
  }

  it('fails for an output that is not a JSON object, before sending anything', async () => {
    const sent = requests.length;
    assert.match((await failure('t1', "SELECT * FROM 't'", Buffer.from([0xff]))).message, /must be a JSON object, one column per member \(got binary data\)/);
    assert.match((await failure('t1', "SELECT VALUE v FROM 't'", '{"v":3}')).message, /\(got a number\)/);
    assert.match((await failure('t1', "SELECT VALUE v FROM 't'", '{}')).message, /\(got no output\)/);
    assert.equal(requests.length, sent);
  });

  it("fails with DynamoDB's refusal (a key missing from the output)", async () => {
    const f = await failure('keyed', "SELECT v FROM 't'", '{"v":1}');
    assert.match(f.message, /^Failed to put item into DynamoDB table keyed: ValidationException: One of the required keys was not given a value$/);
  });
});

describe('dynamoDBv2 parameters (create time)', () => {
  const deps: ActionDependencies = { config: {}, logger: silent, publish: async () => undefined };
  const refused: [string, unknown, RegExp][] = [
    ['no putItem', { roleArn: ROLE }, /^Invalid dynamoDBv2 action: 'dynamoDBv2.putItem' is required/],
    ['putItem without tableName', { roleArn: ROLE, putItem: {} }, /'dynamoDBv2.putItem.tableName' is required/],
    ['an empty tableName', { roleArn: ROLE, putItem: { tableName: '' } }, /'dynamoDBv2.putItem.tableName' must be a non-empty string/],
    ['putItem as a string', { roleArn: ROLE, putItem: 'tbl' }, /'dynamoDBv2.putItem' must be an object with tableName/],
    ['no roleArn', { putItem: { tableName: 'tbl' } }, /'dynamoDBv2.roleArn' is required/],
    ['an unknown member of putItem', { roleArn: ROLE, putItem: { tableName: 'tbl', conditionExpression: 'x' } }, /'dynamoDBv2.putItem.conditionExpression' is not a parameter/],
  ];
  for (const [name, params, message] of refused) {
    it(`refuses ${name}`, () => {
      assert.throws(() => dynamoDbV2ActionFactory.create(params, deps, '2016-03-23'), (err: unknown) => isServiceError(err, 'InvalidRequestException') && message.test(err.message));
    });
  }

  it('refuses a tableName template that does not parse with SqlParseException', () => {
    assert.throws(
      () => dynamoDbV2ActionFactory.create({ roleArn: ROLE, putItem: { tableName: 't_${topic(' } }, deps, '2016-03-23'),
      (err: unknown) => isServiceError(err, 'SqlParseException') && /dynamoDBv2\.putItem\.tableName/.test(err.message),
    );
  });
});
