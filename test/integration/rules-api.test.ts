// Proves that AWS's own IoTClient drives every topic-rule operation of the real server (spec/http-api.md 3.6) end to end — shapes, defaults, listing filters and pagination, replace, enable/disable, delete, persistence across a restart — with every refusal (bad SQL, unknown action type, bad names, bad members, missing rules, duplicates) arriving as the SDK's own exception class and status.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import {
  CreateTopicRuleCommand,
  DeleteTopicRuleCommand,
  DisableTopicRuleCommand,
  EnableTopicRuleCommand,
  GetTopicRuleCommand,
  InvalidRequestException,
  ListTopicRulesCommand,
  ReplaceTopicRuleCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  SqlParseException,
  paginateListTopicRules,
} from '@aws-sdk/client-iot';
import type { IoTClient, TopicRulePayload } from '@aws-sdk/client-iot';
import { resolveConfig, startServer } from '../../src/core/index.js';
import type { RunningServer } from '../../src/core/index.js';
import { ruleMetrics } from '../../src/cli/rule.js';
import { adminIotClient, rejectsWith } from './helpers/aws.js';

const arnPrefix = 'arn:aws:iot:us-east-1:000000000000';
const roleArn = 'arn:aws:iam::000000000000:role/rules';

const republish = (topic: string, extra: Record<string, unknown> = {}): NonNullable<TopicRulePayload['actions']>[number] =>
  ({ republish: { topic, roleArn, ...extra } }) as NonNullable<TopicRulePayload['actions']>[number];

describe('topic rule routes with the AWS SDK v3 IoTClient, against the real server', () => {
  let dataDir: string;
  let server: RunningServer;
  let iot: IoTClient;

  async function start(): Promise<void> {
    const config = resolveConfig({ flags: { dataDir, host: '127.0.0.1', mqttsPort: 0, httpsPort: 0, httpPort: 0, profile: 'aws', dev: true, mqttPort: 0 }, env: {} });
    server = await startServer(config, { logger: pino({ level: process.env['THINGCORE_TEST_LOG_LEVEL'] ?? 'silent' }), closeGraceMs: 500 });
    iot?.destroy();
    iot = await adminIotClient(server);
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'thingcore-rules-api-'));
    await start();
  });

  after(async () => {
    iot.destroy();
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('CreateTopicRule and GetTopicRule: the AWS shapes, the defaults, actions echoed as given', async () => {
    const created = await iot.send(
      new CreateTopicRuleCommand({
        ruleName: 'shape_1',
        tags: 'team=ops&env=test',
        topicRulePayload: {
          sql: "SELECT * FROM 'sensors/+'",
          description: 'the shape rule',
          actions: [republish('out/${topic(2)}', { qos: 1, headers: { contentType: 'application/json', userProperties: [{ key: 'k', value: 'v' }] } })],
          errorAction: republish('errors/shape'),
        },
      }),
    );
    assert.equal(created.$metadata.httpStatusCode, 200);

    const got = await iot.send(new GetTopicRuleCommand({ ruleName: 'shape_1' }));
    assert.equal(got.ruleArn, `${arnPrefix}:rule/shape_1`);
    const rule = got.rule;
    assert.ok(rule !== undefined);
    assert.equal(rule.ruleName, 'shape_1');
    assert.equal(rule.sql, "SELECT * FROM 'sensors/+'");
    assert.equal(rule.description, 'the shape rule');
    assert.equal(rule.awsIotSqlVersion, '2015-10-08', 'AWS API default when omitted');
    assert.equal(rule.ruleDisabled, false);
    assert.ok(rule.createdAt instanceof Date && Math.abs(rule.createdAt.getTime() - Date.now()) < 60_000);
    assert.deepEqual(rule.actions, [
      { republish: { topic: 'out/${topic(2)}', roleArn, qos: 1, headers: { contentType: 'application/json', userProperties: [{ key: 'k', value: 'v' }] } } },
    ]);
    assert.deepEqual(rule.errorAction, { republish: { topic: 'errors/shape', roleArn } });

    // A rule without FROM (Basic Ingest only), explicitly disabled, on the newer SQL version.
    await iot.send(new CreateTopicRuleCommand({ ruleName: 'ingest_only', topicRulePayload: { sql: 'SELECT temp', awsIotSqlVersion: '2016-03-23', ruleDisabled: true, actions: [] } }));
    const ingest = (await iot.send(new GetTopicRuleCommand({ ruleName: 'ingest_only' }))).rule;
    assert.equal(ingest?.awsIotSqlVersion, '2016-03-23');
    assert.equal(ingest?.ruleDisabled, true);
    assert.deepEqual(ingest?.actions, []);
    assert.equal(ingest?.description, undefined);
  });

  it('CreateTopicRule refusals: SqlParseException for bad SQL, InvalidRequestException naming what is wrong, ResourceAlreadyExistsException', async () => {
    const bad = await rejectsWith(
      iot.send(new CreateTopicRuleCommand({ ruleName: 'bad_sql', topicRulePayload: { sql: "SELECT * FROM 'a' WHERE", actions: [] } })),
      SqlParseException,
      400,
    );
    assert.match(bad.message, /line 1/i);
    await rejectsWith(iot.send(new CreateTopicRuleCommand({ ruleName: 'bad_sql', topicRulePayload: { sql: 'SELEKT x', actions: [] } })), SqlParseException, 400);
    // A template in an action is SQL too.
    await rejectsWith(
      iot.send(new CreateTopicRuleCommand({ ruleName: 'bad_template', topicRulePayload: { sql: "SELECT * FROM 'a'", actions: [republish('out/${topic(}')] } })),
      SqlParseException,
      400,
    );

    const unknown = await rejectsWith(
      iot.send(
        new CreateTopicRuleCommand({
          ruleName: 'sqs_rule',
          topicRulePayload: { sql: "SELECT * FROM 'a'", actions: [{ sqs: { queueUrl: 'https://sqs/q', roleArn } }] },
        }),
      ),
      InvalidRequestException,
      400,
    );
    assert.match(unknown.message, /'sqs' is not supported/);
    assert.match(unknown.message, /supported types: republish, lambda, dynamoDB, dynamoDBv2, http/);
    const unknownError = await rejectsWith(
      iot.send(new CreateTopicRuleCommand({ ruleName: 's3_err', topicRulePayload: { sql: "SELECT * FROM 'a'", actions: [], errorAction: { s3: { bucketName: 'b', key: 'k', roleArn } } } })),
      InvalidRequestException,
      400,
    );
    assert.match(unknownError.message, /errorAction: the action type 's3' is not supported/);

    const noTopic = await rejectsWith(
      iot.send(new CreateTopicRuleCommand({ ruleName: 'no_topic', topicRulePayload: { sql: "SELECT * FROM 'a'", actions: [{ republish: { roleArn } as never }] } })),
      InvalidRequestException,
      400,
    );
    assert.match(noTopic.message, /republish\.topic/);
    const badQos = await rejectsWith(
      iot.send(new CreateTopicRuleCommand({ ruleName: 'bad_qos', topicRulePayload: { sql: "SELECT * FROM 'a'", actions: [republish('x', { qos: 2 })] } })),
      InvalidRequestException,
      400,
    );
    assert.match(badQos.message, /republish\.qos/);
    await rejectsWith(
      iot.send(new CreateTopicRuleCommand({ ruleName: 'wild', topicRulePayload: { sql: "SELECT * FROM 'a'", actions: [republish('out/#')] } })),
      InvalidRequestException,
      400,
    );
    const badVersion = await rejectsWith(
      iot.send(new CreateTopicRuleCommand({ ruleName: 'bad_version', topicRulePayload: { sql: "SELECT * FROM 'a'", awsIotSqlVersion: '2020-01-01', actions: [] } })),
      InvalidRequestException,
      400,
    );
    assert.match(badVersion.message, /awsIotSqlVersion/);
    await rejectsWith(
      iot.send(new CreateTopicRuleCommand({ ruleName: 'too_many', topicRulePayload: { sql: "SELECT * FROM 'a'", actions: Array.from({ length: 11 }, () => republish('x')) } })),
      InvalidRequestException,
      400,
    );
    await rejectsWith(
      iot.send(new CreateTopicRuleCommand({ ruleName: 'two_keys', topicRulePayload: { sql: "SELECT * FROM 'a'", actions: [{ ...republish('x'), lambda: { functionArn: 'f' } }] } })),
      InvalidRequestException,
      400,
    );
    const badName = await rejectsWith(
      iot.send(new CreateTopicRuleCommand({ ruleName: 'bad-name', topicRulePayload: { sql: "SELECT * FROM 'a'", actions: [] } })),
      InvalidRequestException,
      400,
    );
    assert.match(badName.message, /ruleName/);
    await rejectsWith(iot.send(new CreateTopicRuleCommand({ ruleName: 'x'.repeat(129), topicRulePayload: { sql: "SELECT * FROM 'a'", actions: [] } })), InvalidRequestException, 400);

    await iot.send(new CreateTopicRuleCommand({ ruleName: 'dup', topicRulePayload: { sql: "SELECT * FROM 'a'", actions: [] } }));
    const dup = await rejectsWith(iot.send(new CreateTopicRuleCommand({ ruleName: 'dup', topicRulePayload: { sql: "SELECT * FROM 'b'", actions: [] } })), ResourceAlreadyExistsException, 409);
    assert.equal(dup.resourceId, 'dup');
    assert.equal(dup.resourceArn, `${arnPrefix}:rule/dup`);
    assert.equal((await iot.send(new GetTopicRuleCommand({ ruleName: 'dup' }))).rule?.sql, "SELECT * FROM 'a'", 'the first one stays');

    // None of the refused rules exists.
    for (const ruleName of ['bad_sql', 'bad_template', 'sqs_rule', 's3_err', 'no_topic', 'bad_qos', 'wild', 'bad_version', 'too_many', 'two_keys']) {
      await rejectsWith(iot.send(new GetTopicRuleCommand({ ruleName })), ResourceNotFoundException, 404);
    }
  });

  it('ListTopicRules: name order, topicPattern, the topic and ruleDisabled filters, nextToken pagination and the SDK paginator', async () => {
    const names = ['list_c', 'list_a', 'list_e', 'list_b', 'list_d'];
    for (const [i, ruleName] of names.entries()) {
      await iot.send(
        new CreateTopicRuleCommand({ ruleName, topicRulePayload: { sql: `SELECT * FROM '${i % 2 === 0 ? 'list/even' : 'list/odd/+'}'`, ruleDisabled: i === 3, actions: [] } }),
      );
    }
    const even = await iot.send(new ListTopicRulesCommand({ topic: 'list/even' }));
    assert.deepEqual(
      even.rules?.map((r) => r.ruleName),
      ['list_c', 'list_d', 'list_e'],
    );
    const first = even.rules?.[0];
    assert.equal(first?.ruleArn, `${arnPrefix}:rule/list_c`);
    assert.equal(first?.topicPattern, 'list/even');
    assert.equal(first?.ruleDisabled, false);
    assert.ok(first?.createdAt instanceof Date);
    assert.equal(even.nextToken, undefined);

    const odd = await iot.send(new ListTopicRulesCommand({ topic: 'list/odd/+' }));
    assert.deepEqual(odd.rules?.map((r) => [r.ruleName, r.ruleDisabled]), [['list_a', false], ['list_b', true]]);
    const disabledOdd = await iot.send(new ListTopicRulesCommand({ topic: 'list/odd/+', ruleDisabled: true }));
    assert.deepEqual(disabledOdd.rules?.map((r) => r.ruleName), ['list_b']);

    const page1 = await iot.send(new ListTopicRulesCommand({ maxResults: 2 }));
    assert.equal(page1.rules?.length, 2);
    assert.ok(page1.nextToken !== undefined);
    const page2 = await iot.send(new ListTopicRulesCommand({ maxResults: 2, nextToken: page1.nextToken }));
    assert.ok((page2.rules?.[0]?.ruleName ?? '') > (page1.rules?.[1]?.ruleName ?? ''));

    const all: string[] = [];
    for await (const page of paginateListTopicRules({ client: iot, pageSize: 2 }, {})) all.push(...(page.rules ?? []).map((r) => r.ruleName ?? ''));
    assert.deepEqual(all, [...all].sort());
    for (const n of names) assert.ok(all.includes(n));
    assert.equal(new Set(all).size, all.length, 'no rule twice across pages');
    const enabledOnly: string[] = [];
    for await (const page of paginateListTopicRules({ client: iot, pageSize: 1 }, { ruleDisabled: false })) enabledOnly.push(...(page.rules ?? []).map((r) => r.ruleName ?? ''));
    assert.ok(!enabledOnly.includes('list_b') && enabledOnly.includes('list_e'));

    await rejectsWith(iot.send(new ListTopicRulesCommand({ maxResults: 0 })), InvalidRequestException, 400);
    await rejectsWith(iot.send(new ListTopicRulesCommand({ maxResults: 10_001 })), InvalidRequestException, 400);
    await rejectsWith(iot.send(new ListTopicRulesCommand({ nextToken: 'garbage!' })), InvalidRequestException, 400);
    // A token is tied to the filters it was issued for.
    await rejectsWith(iot.send(new ListTopicRulesCommand({ maxResults: 2, nextToken: page1.nextToken, topic: 'list/even' })), InvalidRequestException, 400);
  });

  it('ReplaceTopicRule, DisableTopicRule, EnableTopicRule, DeleteTopicRule; ResourceNotFoundException for a missing rule', async () => {
    await iot.send(new CreateTopicRuleCommand({ ruleName: 'life', tags: 'a=b', topicRulePayload: { sql: "SELECT * FROM 'life/1'", actions: [republish('x')] } }));
    const before = (await iot.send(new GetTopicRuleCommand({ ruleName: 'life' }))).rule;

    await iot.send(new ReplaceTopicRuleCommand({ ruleName: 'life', topicRulePayload: { sql: "SELECT a FROM 'life/2'", awsIotSqlVersion: '2016-03-23', actions: [] } }));
    const replaced = (await iot.send(new GetTopicRuleCommand({ ruleName: 'life' }))).rule;
    assert.equal(replaced?.sql, "SELECT a FROM 'life/2'");
    assert.equal(replaced?.awsIotSqlVersion, '2016-03-23');
    assert.deepEqual(replaced?.actions, []);
    assert.equal(replaced?.createdAt?.getTime(), before?.createdAt?.getTime(), 'createdAt is kept');
    assert.deepEqual((await iot.send(new ListTopicRulesCommand({ topic: 'life/2' }))).rules?.map((r) => r.ruleName), ['life']);
    assert.deepEqual((await iot.send(new ListTopicRulesCommand({ topic: 'life/1' }))).rules, []);
    await rejectsWith(iot.send(new ReplaceTopicRuleCommand({ ruleName: 'life', topicRulePayload: { sql: 'SELECT FROM', actions: [] } })), SqlParseException, 400);
    assert.equal((await iot.send(new GetTopicRuleCommand({ ruleName: 'life' }))).rule?.sql, "SELECT a FROM 'life/2'", 'a refused replace changes nothing');

    await iot.send(new DisableTopicRuleCommand({ ruleName: 'life' }));
    assert.equal((await iot.send(new GetTopicRuleCommand({ ruleName: 'life' }))).rule?.ruleDisabled, true);
    assert.equal((await ruleMetrics(iot, 'life')).enabled, false);
    await iot.send(new EnableTopicRuleCommand({ ruleName: 'life' }));
    assert.equal((await iot.send(new GetTopicRuleCommand({ ruleName: 'life' }))).rule?.ruleDisabled, false);
    assert.equal((await ruleMetrics(iot, 'life')).enabled, true);

    await iot.send(new DeleteTopicRuleCommand({ ruleName: 'life' }));
    await rejectsWith(iot.send(new GetTopicRuleCommand({ ruleName: 'life' })), ResourceNotFoundException, 404);
    for (const call of [
      () => iot.send(new DeleteTopicRuleCommand({ ruleName: 'life' })),
      () => iot.send(new EnableTopicRuleCommand({ ruleName: 'life' })),
      () => iot.send(new DisableTopicRuleCommand({ ruleName: 'life' })),
      () => iot.send(new ReplaceTopicRuleCommand({ ruleName: 'life', topicRulePayload: { sql: "SELECT * FROM 'a'", actions: [] } })),
      () => ruleMetrics(iot, 'life'),
    ]) {
      await rejectsWith(call(), ResourceNotFoundException, 404);
    }
    await rejectsWith(iot.send(new GetTopicRuleCommand({ ruleName: 'no such' })), InvalidRequestException, 400);
  });

  it('rules are stored: after a restart they are all there, with their state', async () => {
    await iot.send(new CreateTopicRuleCommand({ ruleName: 'durable_on', topicRulePayload: { sql: "SELECT * FROM 'd/1'", actions: [republish('d/out')] } }));
    await iot.send(new CreateTopicRuleCommand({ ruleName: 'durable_off', topicRulePayload: { sql: "SELECT * FROM 'd/2'", ruleDisabled: true, actions: [] } }));
    const before = await iot.send(new GetTopicRuleCommand({ ruleName: 'durable_on' }));
    await server.close();
    await start();
    const after = await iot.send(new GetTopicRuleCommand({ ruleName: 'durable_on' }));
    assert.deepEqual(after.rule, before.rule);
    assert.equal((await iot.send(new GetTopicRuleCommand({ ruleName: 'durable_off' }))).rule?.ruleDisabled, true);
    const m = await ruleMetrics(iot, 'durable_on');
    assert.equal(m.enabled, true, 'the loaded rule is live again');
    assert.deepEqual(m.actions.map((a) => a.type), ['republish']);
  });
});
