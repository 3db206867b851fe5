// Proves the lambda, dynamoDB, dynamoDBv2 and http actions against real targets: items written through their factories into dynalite (a DynamoDB implementation) read back with the AWS SDK, a POST received by a local HTTP server, a local Lambda module run in a worker, and every failure an ActionFailure carrying the failedAction and failedResource the errorAction payload needs.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, type AttributeValue, type KeySchemaElement, type ScalarAttributeType } from '@aws-sdk/client-dynamodb';
import { compileRule, type EvaluationContext } from '../../src/rules/index.js';
import { ActionFailure, type ActionDependencies, type ActionInput, type ActionsConfig, type RuleAction } from '../../src/rules/actions/action.js';
import { dynamoDbActionFactory } from '../../src/rules/actions/dynamodb.js';
import { dynamoDbV2ActionFactory } from '../../src/rules/actions/dynamodbv2.js';
import { httpActionFactory } from '../../src/rules/actions/http.js';
import { lambdaActionFactory } from '../../src/rules/actions/lambda.js';

/** dynalite ships no types: the part used here. */
type Dynalite = (options: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

const ROLE = 'arn:aws:iam::123456789012:role/iot-actions';
const LAMBDA_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:';
const CREDENTIALS = { accessKeyId: 'AKIDTHINGCORE', secretAccessKey: 'thingcore-secret' };
const silent = { info() {}, warn() {}, error() {} };

let db: Server;
let hooks: Server;
let hookBase = '';
let ddb: DynamoDBClient;
let dir = '';
let config: ActionsConfig;
let deps: ActionDependencies;
const actions: RuleAction[] = [];
const received: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];

function input(sql: string, topic: string, payload: string | Buffer, ctx: Partial<EvaluationContext> = {}): ActionInput {
  const context: EvaluationContext = { timestamp: 1_700_000_000_123, clientId: 'weather-22', ...ctx };
  const r = compileRule(sql, '2016-03-23').evaluate(topic, Buffer.from(payload), context);
  assert.ok(!(r instanceof Promise) && r.matched, 'the rule matches');
  return { ruleName: 'wx', topic, originalPayload: Buffer.from(payload), clientId: 'weather-22', match: r, context, hops: 0 };
}

function create<T extends { create(p: unknown, d: ActionDependencies, v: string): RuleAction }>(factory: T, params: unknown): RuleAction {
  const a = factory.create(params, deps, '2016-03-23');
  actions.push(a);
  return a;
}

async function createTable(name: string, keys: [string, ScalarAttributeType][]): Promise<void> {
  const schema: KeySchemaElement[] = keys.map(([AttributeName], i) => ({ AttributeName, KeyType: i === 0 ? 'HASH' : 'RANGE' }));
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: keys.map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
      KeySchema: schema,
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

async function getItem(table: string, key: Record<string, AttributeValue>): Promise<Record<string, AttributeValue> | undefined> {
  return (await ddb.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
}

async function failure(p: Promise<unknown>): Promise<ActionFailure> {
  try {
    await p;
  } catch (err: unknown) {
    assert.ok(err instanceof ActionFailure, `expected an ActionFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an ActionFailure');
}

before(async () => {
  db = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((r) => db.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(db.address() as { port: number }).port}`;
  ddb = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  await createTable('wx_data', [['sample_time', 'N'], ['device_id', 'S']]);
  await createTable('thing_state', [['thing', 'S']]);
  await createTable('readings', [['device', 'S'], ['ts', 'N']]);

  hooks = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(req.url?.startsWith('/hooks/gone') === true ? 410 : 200).end();
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  hookBase = `http://127.0.0.1:${(hooks.address() as { port: number }).port}`;

  dir = await mkdtemp(join(tmpdir(), 'thingcore-actions-'));
  await writeFile(
    join(dir, 'alarm.mjs'),
    `import { writeFile } from 'node:fs/promises';
     export async function handler(event, context) {
       if (event.temperature > 100) throw new RangeError('sensor ' + event.device + ' is broken');
       await writeFile(new URL('./alarm-' + event.device + '.json', import.meta.url), JSON.stringify({ event, functionName: context.functionName }));
       return 'ok';
     }`,
  );
  config = {
    dynamoDbEndpoint: endpoint,
    awsRegion: 'us-east-1',
    awsCredentials: CREDENTIALS,
    localFunctions: { alarm: join(dir, 'alarm.mjs') },
    lambdaTimeoutMs: 2000,
  };
  deps = { config, logger: silent, publish: async () => undefined };
});

after(async () => {
  await Promise.all(actions.map((a) => a.close?.()));
  ddb.destroy();
  hooks.closeAllConnections();
  await new Promise((r) => hooks.close(r));
  await new Promise((r) => db.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe('dynamoDB action against dynalite', () => {
  it("stores the developer guide tutorial's row: numeric keys from templates, the output as a map", async () => {
    const a = create(dynamoDbActionFactory, {
      tableName: 'wx_data',
      hashKeyField: 'sample_time',
      hashKeyValue: '${timestamp()}',
      hashKeyType: 'NUMBER',
      rangeKeyField: 'device_id',
      rangeKeyValue: '${topic(2)}',
      rangeKeyType: 'STRING',
      payloadField: 'device_data',
      roleArn: ROLE,
    });
    await a.execute(
      input(
        "SELECT temperature, humidity, barometer, wind.velocity AS wind_velocity, wind.bearing AS wind_bearing FROM 'device/+/data'",
        'device/22/data',
        '{"temperature":28,"humidity":80,"barometer":1013,"wind":{"velocity":22.5,"bearing":255}}',
      ),
    );
    assert.deepStrictEqual(await getItem('wx_data', { sample_time: { N: '1700000000123' }, device_id: { S: '22' } }), {
      sample_time: { N: '1700000000123' },
      device_id: { S: '22' },
      device_data: { M: { temperature: { N: '28' }, humidity: { N: '80' }, barometer: { N: '1013' }, wind_velocity: { N: '22.5' }, wind_bearing: { N: '255' } } },
    });
  });

  it('UPDATE keeps the other columns, DELETE removes the item; binary output is stored as B', async () => {
    const key = { thing: { S: 'lamp' } };
    const insert = create(dynamoDbActionFactory, { tableName: 'thing_state', hashKeyField: 'thing', hashKeyValue: '${topic(2)}', payloadField: 'raw', roleArn: ROLE });
    await insert.execute(input("SELECT * FROM 'state/+'", 'state/lamp', Buffer.from([0xca, 0xfe])));
    const update = create(dynamoDbActionFactory, { tableName: 'thing_state', hashKeyField: 'thing', hashKeyValue: '${topic(2)}', operation: '${op}', payloadField: 'last', roleArn: ROLE });
    await update.execute(input("SELECT on, level FROM 'state/+'", 'state/lamp', '{"op":"UPDATE","on":true,"level":null}'));
    const item = await getItem('thing_state', key);
    assert.ok(item);
    assert.deepStrictEqual(Buffer.from(item['raw']?.B ?? []), Buffer.from([0xca, 0xfe]));
    assert.deepStrictEqual(item['last'], { M: { on: { BOOL: true }, level: { NULL: true } } });
    await update.execute(input("SELECT * FROM 'state/+'", 'state/lamp', '{"op":"DELETE"}'));
    assert.equal(await getItem('thing_state', key), undefined);
  });

  it("fails with DynamoAction and the table when DynamoDB refuses (a missing table, a key of the wrong type)", async () => {
    const missing = create(dynamoDbActionFactory, { tableName: 'no_such_table', hashKeyField: 'k', hashKeyValue: 'x', roleArn: ROLE });
    const f = await failure(missing.execute(input("SELECT * FROM 't'", 't', '{}')));
    assert.equal(f.failedAction, 'DynamoAction');
    assert.equal(f.failedResource, 'no_such_table');
    assert.match(f.message, /ResourceNotFoundException/);
    const wrongType = create(dynamoDbActionFactory, { tableName: 'wx_data', hashKeyField: 'sample_time', hashKeyValue: 'abc', rangeKeyField: 'device_id', rangeKeyValue: 'd', roleArn: ROLE });
    const g = await failure(wrongType.execute(input("SELECT * FROM 't'", 't', '{}')));
    assert.equal(g.failedResource, 'wx_data');
    assert.match(g.message, /ValidationException/);
  });
});

describe('dynamoDBv2 action against dynalite', () => {
  it('writes each top-level member as its own column, typed', async () => {
    const a = create(dynamoDbV2ActionFactory, { putItem: { tableName: '${topic(1)}' }, roleArn: ROLE });
    await a.execute(
      input(
        "SELECT topic(2) AS device, timestamp() AS ts, temp, ok, tags, pos, note, big FROM 'readings/+'",
        'readings/d7',
        '{"temp":-3.25,"ok":false,"tags":["a",2,true],"pos":{"lat":48.85,"lon":2.35},"note":"","big":123456789012345678901234567890}',
      ),
    );
    assert.deepStrictEqual(await getItem('readings', { device: { S: 'd7' }, ts: { N: '1700000000123' } }), {
      device: { S: 'd7' },
      ts: { N: '1700000000123' },
      temp: { N: '-3.25' },
      ok: { BOOL: false },
      tags: { L: [{ S: 'a' }, { N: '2' }, { BOOL: true }] },
      pos: { M: { lat: { N: '48.85' }, lon: { N: '2.35' } } },
      note: { S: '' },
      big: { N: '123456789012345678901234567890' },
    });
  });

  it('fails with DynamoDBv2Action when the output lacks the table key', async () => {
    const a = create(dynamoDbV2ActionFactory, { putItem: { tableName: 'readings' }, roleArn: ROLE });
    const f = await failure(a.execute(input("SELECT temp FROM 't'", 't', '{"temp":1}')));
    assert.equal(f.failedAction, 'DynamoDBv2Action');
    assert.equal(f.failedResource, 'readings');
    assert.match(f.message, /ValidationException/);
  });
});

describe('http action against a local server', () => {
  it('POSTs the output with the rendered url and headers', async () => {
    const a = create(httpActionFactory, {
      url: `${hookBase}/hooks/\${topic(2)}`,
      confirmationUrl: `${hookBase}/hooks/`,
      headers: [{ key: 'x-client', value: '${clientid()}' }],
    });
    await a.execute(input("SELECT temperature AS t FROM 'device/+/data'", 'device/22/data', '{"temperature":28}'));
    const last = received.at(-1);
    assert.ok(last);
    assert.equal(last.path, '/hooks/22');
    assert.equal(last.headers['x-client'], 'weather-22');
    assert.equal(last.headers['content-type'], 'application/json');
    assert.equal(last.body, '{"t":28}');
  });

  it('fails with HttpAction and the URL on a 4xx', async () => {
    const a = create(httpActionFactory, { url: `${hookBase}/hooks/gone` });
    const f = await failure(a.execute(input("SELECT * FROM 't'", 't', '{}')));
    assert.equal(f.failedAction, 'HttpAction');
    assert.equal(f.failedResource, `${hookBase}/hooks/gone`);
    assert.match(f.message, /HTTP 410/);
  });
});

describe('lambda action with a local module', () => {
  it('runs the handler with the output as the event', async () => {
    const a = create(lambdaActionFactory, { functionArn: `${LAMBDA_ARN}alarm` });
    await a.execute(input("SELECT topic(2) AS device, temperature FROM 'device/+/data'", 'device/22/data', '{"temperature":28}'));
    assert.deepStrictEqual(JSON.parse(await readFile(join(dir, 'alarm-22.json'), 'utf8')), { event: { device: '22', temperature: 28 }, functionName: 'alarm' });
  });

  it('fails with LambdaAction and the ARN when the handler throws', async () => {
    const a = create(lambdaActionFactory, { functionArn: `${LAMBDA_ARN}alarm` });
    const f = await failure(a.execute(input("SELECT topic(2) AS device, temperature FROM 'device/+/data'", 'device/23/data', '{"temperature":500}')));
    assert.equal(f.failedAction, 'LambdaAction');
    assert.equal(f.failedResource, `${LAMBDA_ARN}alarm`);
    assert.match(f.message, /RangeError: sensor 23 is broken/);
  });
});
