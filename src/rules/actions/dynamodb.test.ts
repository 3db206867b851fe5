// Proves the dynamoDB action's type conversion table (JSON output → DynamoDB types, raw bytes → B, keys as S or N), the request it sends for INSERT, UPDATE and DELETE with every template rendered (checked on the wire against a recording endpoint), its ActionFailures, and its create-time refusals naming the field.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { isServiceError } from '../../shared/index.js';
import type { RuleMatch } from '../index.js';
import { ActionFailure, type ActionDependencies } from './action.js';
import { dynamoDbActionFactory, keyAttribute, payloadAttribute, toAttributeValue, toItem } from './dynamodb.js';
import { matchedInput as input, ROLE, silent, startRecordingDynamoDb, type RecordingDynamoDb } from './test-fixtures.js';

const match = (sql: string, topic: string, payload: string | Buffer): RuleMatch => input(sql, topic, payload).match;

describe('DynamoDB type conversion', () => {
  const table: [string, unknown, unknown][] = [
    ['a string', 'x y', { S: 'x y' }],
    ['an empty string', '', { S: '' }],
    ['an integer', 42, { N: '42' }],
    ['zero and minus zero', -0, { N: '0' }],
    ['a decimal', -54.98, { N: '-54.98' }],
    ['a large double', 1e21, { N: '1e+21' }],
    ['a bigint beyond 2^53', 12345678901234567890n, { N: '12345678901234567890' }],
    ['a non-finite number', Number.POSITIVE_INFINITY, { NULL: true }],
    ['true', true, { BOOL: true }],
    ['false', false, { BOOL: false }],
    ['null', null, { NULL: true }],
    ['a list (Undefined items as NULL)', [1, 'a', null, undefined, [true]], { L: [{ N: '1' }, { S: 'a' }, { NULL: true }, { NULL: true }, { L: [{ BOOL: true }] }] }],
    ['a map (Undefined members omitted)', { a: 1, b: { c: 'd' }, u: undefined }, { M: { a: { N: '1' }, b: { M: { c: { S: 'd' } } } } }],
    ['an empty map and list', { m: {}, l: [] }, { M: { m: { M: {} }, l: { L: [] } } }],
    ['bytes', Buffer.from([1, 2]), { B: Buffer.from([1, 2]) }],
    ['Undefined', undefined, undefined],
  ];
  for (const [name, value, expected] of table) {
    it(`writes ${name}`, () => assert.deepStrictEqual(toAttributeValue(value), expected));
  }

  it('keeps a member named __proto__ as data', () => {
    const item = toItem(JSON.parse('{"__proto__":{"x":1}}') as Record<string, unknown>);
    assert.deepStrictEqual(Object.keys(item), ['__proto__']);
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(item, '__proto__')?.value, { M: { x: { N: '1' } } });
  });

  it('writes the SELECT output by its kind: object as M, scalar by type, raw bytes as B, Undefined not at all', () => {
    assert.deepStrictEqual(payloadAttribute(match("SELECT temp, tags FROM 't'", 't', '{"temp":21.5,"tags":["a"]}')), { M: { temp: { N: '21.5' }, tags: { L: [{ S: 'a' }] } } });
    assert.deepStrictEqual(payloadAttribute(match("SELECT VALUE temp FROM 't'", 't', '{"temp":21.5}')), { N: '21.5' });
    assert.deepStrictEqual(payloadAttribute(match("SELECT * FROM 't'", 't', Buffer.from([0xde, 0xad]))), { B: Buffer.from([0xde, 0xad]) });
    assert.equal(payloadAttribute(match("SELECT VALUE missing FROM 't'", 't', '{}')), undefined);
  });

  it('types keys as STRING or NUMBER (NUMBER only for number text)', () => {
    assert.deepStrictEqual(keyAttribute('007', 'STRING'), { S: '007' });
    assert.deepStrictEqual(keyAttribute('-1.5e3', 'NUMBER'), { N: '-1.5e3' });
    assert.deepStrictEqual(keyAttribute('1700000000000', 'NUMBER'), { N: '1700000000000' });
    for (const bad of ['abc', '1.2.3', '', 'NaN', '0x10', ' 1']) assert.equal(keyAttribute(bad, 'NUMBER'), undefined, bad);
  });
});

describe('dynamoDB requests (recording endpoint)', () => {
  let endpoint: RecordingDynamoDb;
  let deps: ActionDependencies;
  let requests: RecordingDynamoDb['requests'];

  before(async () => {
    endpoint = await startRecordingDynamoDb({ missing: { type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: 'Requested resource not found' } });
    ({ deps, requests } = endpoint);
  });

  after(() => endpoint.close());

  async function run(params: Record<string, unknown>, sql: string, topic: string, payload: string | Buffer): Promise<{ target: string; body: Record<string, unknown> }> {
    const action = dynamoDbActionFactory.create({ roleArn: ROLE, ...params }, deps, '2016-03-23');
    try {
      await action.execute(input(sql, topic, payload));
    } finally {
      await action.close?.();
    }
    const last = requests.at(-1);
    assert.ok(last);
    return last;
  }

  it('INSERT (default): PutItem with the rendered keys and the output in `payload`', async () => {
    const r = await run(
      { tableName: 'wx_${topic(1)}', hashKeyField: 'sample_time', hashKeyValue: '${timestamp()}', hashKeyType: 'NUMBER', rangeKeyField: 'device_id', rangeKeyValue: '${topic(2)}' },
      "SELECT temperature, wind.velocity AS wind_velocity FROM 'device/+/data'",
      'device/22/data',
      '{"temperature":28,"wind":{"velocity":22}}',
    );
    assert.equal(r.target, 'DynamoDB_20120810.PutItem');
    assert.deepStrictEqual(r.body, {
      TableName: 'wx_device',
      Item: {
        sample_time: { N: '1700000000000' },
        device_id: { S: '22' },
        payload: { M: { temperature: { N: '28' }, wind_velocity: { N: '22' } } },
      },
    });
  });

  it('payloadField and a binary output', async () => {
    const r = await run({ tableName: 'raw', hashKeyField: 'id', hashKeyValue: '${clientid()}', payloadField: 'data_${topic(2)}' }, "SELECT * FROM 'bin/+'", 'bin/x', Buffer.from([0, 255]));
    assert.deepStrictEqual(r.body, { TableName: 'raw', Item: { id: { S: 'c1' }, data_x: { B: Buffer.from([0, 255]).toString('base64') } } });
  });

  it('UPDATE: UpdateItem setting only the payload column', async () => {
    const r = await run({ tableName: 'state', hashKeyField: 'thing', hashKeyValue: '${topic(2)}', operation: 'UPDATE', payloadField: 'last' }, "SELECT v FROM 't/+'", 't/lamp', '{"v":true}');
    assert.equal(r.target, 'DynamoDB_20120810.UpdateItem');
    assert.deepStrictEqual(r.body, {
      TableName: 'state',
      Key: { thing: { S: 'lamp' } },
      UpdateExpression: 'SET #payload = :payload',
      ExpressionAttributeNames: { '#payload': 'last' },
      ExpressionAttributeValues: { ':payload': { M: { v: { BOOL: true } } } },
    });
  });

  it('DELETE from a template: DeleteItem on the key', async () => {
    const r = await run({ tableName: 'state', hashKeyField: 'thing', hashKeyValue: '${thing}', operation: '${op}' }, "SELECT * FROM 't'", 't', '{"op":"DELETE","thing":"lamp"}');
    assert.equal(r.target, 'DynamoDB_20120810.DeleteItem');
    assert.deepStrictEqual(r.body, { TableName: 'state', Key: { thing: { S: 'lamp' } } });
  });

  async function failure(params: Record<string, unknown>, payload: string): Promise<ActionFailure> {
    try {
      await run({ tableName: 't1', hashKeyField: 'k', hashKeyValue: '${k}', ...params }, "SELECT * FROM 't'", 't', payload);
    } catch (err: unknown) {
      assert.ok(err instanceof ActionFailure, `expected an ActionFailure, got ${String(err)}`);
      assert.equal(err.failedAction, 'DynamoAction');
      return err;
    }
    assert.fail('expected an ActionFailure');
  }

  it('fails with DynamoAction and the table for what cannot be written', async () => {
    const sent = requests.length;
    assert.match((await failure({}, '{}')).message, /hashKeyValue rendered to an empty string/);
    assert.match((await failure({ hashKeyType: 'NUMBER' }, '{"k":"abc"}')).message, /hashKeyValue "abc" is not a number \(hashKeyType NUMBER\)/);
    assert.match((await failure({ operation: '${op}' }, '{"k":"a","op":"UPSERT"}')).message, /operation rendered to "UPSERT"; it must be one of INSERT, UPDATE, DELETE/);
    assert.match((await failure({ payloadField: 'k' }, '{"k":"a"}')).message, /payloadField "k" is also a key field/);
    assert.equal(requests.length, sent, 'nothing was sent for these');
    const f = await failure({ tableName: 'missing' }, '{"k":"a"}');
    assert.equal(f.failedResource, 'missing');
    assert.match(f.message, /^Failed to write to DynamoDB table missing: ResourceNotFoundException: Requested resource not found$/);
  });
});

describe('dynamoDB parameters (create time)', () => {
  const deps: ActionDependencies = { config: {}, logger: silent, publish: async () => undefined };
  const base = { tableName: 't1', hashKeyField: 'k', hashKeyValue: '${k}', roleArn: ROLE };
  const refused: [string, unknown, RegExp][] = [
    ['not an object', 'x', /^Invalid dynamoDB action: 'dynamoDB' must be an object/],
    ['no tableName', { ...base, tableName: undefined }, /^Invalid dynamoDB action: 'dynamoDB.tableName' is required$/],
    ['no hashKeyField', { ...base, hashKeyField: undefined }, /'dynamoDB.hashKeyField' is required/],
    ['no hashKeyValue', { ...base, hashKeyValue: undefined }, /'dynamoDB.hashKeyValue' is required/],
    ['no roleArn', { ...base, roleArn: undefined }, /'dynamoDB.roleArn' is required/],
    ['a number as tableName', { ...base, tableName: 5 }, /'dynamoDB.tableName' must be a non-empty string/],
    ['a bad hashKeyType', { ...base, hashKeyType: 'BINARY' }, /'dynamoDB.hashKeyType' must be one of STRING, NUMBER \(got "BINARY"\)/],
    ['a bad operation', { ...base, operation: 'UPSERT' }, /'dynamoDB.operation' must be one of INSERT, UPDATE, DELETE/],
    ['rangeKeyField without rangeKeyValue', { ...base, rangeKeyField: 'r' }, /'dynamoDB.rangeKeyField' and dynamoDB.rangeKeyValue must be given together/],
    ['rangeKeyType alone', { ...base, rangeKeyType: 'NUMBER' }, /'dynamoDB.rangeKeyType' needs rangeKeyField and rangeKeyValue/],
    ['an unknown member', { ...base, hashkeyfield: 'k' }, /'dynamoDB.hashkeyfield' is not a parameter of dynamoDB/],
  ];
  for (const [name, params, message] of refused) {
    it(`refuses ${name}`, () => {
      assert.throws(() => dynamoDbActionFactory.create(params, deps, '2016-03-23'), (err: unknown) => isServiceError(err, 'InvalidRequestException') && message.test(err.message));
    });
  }

  it('refuses a template that does not parse with SqlParseException naming the field', () => {
    assert.throws(
      () => dynamoDbActionFactory.create({ ...base, rangeKeyField: 'r', rangeKeyValue: '${a >}' }, deps, '2016-03-23'),
      (err: unknown) => isServiceError(err, 'SqlParseException') && /dynamoDB\.rangeKeyValue/.test(err.message),
    );
  });

  it('accepts templates in hashKeyType and operation (checked when rendered)', () => {
    const a = dynamoDbActionFactory.create({ ...base, hashKeyType: '${t}', operation: '${op}' }, deps, '2016-03-23');
    assert.equal(a.type, 'dynamoDB');
  });
});
