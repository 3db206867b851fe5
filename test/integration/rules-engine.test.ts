// Proves that topic rules run on the real server as AWS IoT runs them, seen from MQTT.js clients: republish round trips (templates, QoS, MQTT 5 headers), Basic Ingest, live enable/disable/replace/delete, the shadow change-detector rule firing exactly when the reported value changes, get_thing_shadow, errorAction with AWS's payload when an action fails, bounded republish loops, per-rule metrics, and the dry run through its route and `thingcore rule`.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import type { IPublishPacket } from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import {
  CreateTopicRuleCommand,
  DeleteTopicRuleCommand,
  DisableTopicRuleCommand,
  EnableTopicRuleCommand,
  GetTopicRuleCommand,
  ReplaceTopicRuleCommand,
  SqlParseException,
  InvalidRequestException,
} from '@aws-sdk/client-iot';
import type { IoTClient, TopicRulePayload } from '@aws-sdk/client-iot';
import { createProgram, reportFailure } from '../../src/cli/index.js';
import { callExtension, ruleMetrics, testRule } from '../../src/cli/rule.js';
import { adminIotClient } from './helpers/aws.js';
import { connectClient, endClient, startTestServer } from './helpers/server.js';
import type { TestServer } from './helpers/server.js';

const roleArn = 'arn:aws:iam::000000000000:role/rules';
type Action = NonNullable<TopicRulePayload['actions']>[number];
const republish = (topic: string, extra: Record<string, unknown> = {}): Action => ({ republish: { topic, roleArn, ...extra } }) as Action;

interface Received {
  readonly topic: string;
  readonly payload: Buffer;
  readonly packet: IPublishPacket;
}

/** Every message a client receives, with a way to wait for the next ones. */
class Inbox {
  readonly messages: Received[] = [];
  #waiters: Array<() => void> = [];

  constructor(client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload, packet });
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  on(prefix: string): Received[] {
    return this.messages.filter((m) => m.topic.startsWith(prefix));
  }

  /** Resolves with the messages on topics starting with `prefix` once there are `count` of them. */
  async wait(prefix: string, count = 1, timeoutMs = 5000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = this.on(prefix);
      if (got.length >= count) return got;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} message(s) on ${prefix}*, got ${got.length}: ${got.map((m) => m.topic).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

const json = (m: Received | undefined): Record<string, unknown> => JSON.parse(m?.payload.toString('utf8') ?? 'null') as Record<string, unknown>;
const settle = (ms = 150): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the rule engine on the real server, with MQTT.js clients', () => {
  let ts: TestServer;
  let iot: IoTClient;
  let device: MqttClient;
  let app: MqttClient;
  let inbox: Inbox;

  const createRule = (ruleName: string, payload: TopicRulePayload): Promise<unknown> => iot.send(new CreateTopicRuleCommand({ ruleName, topicRulePayload: payload }));

  before(async () => {
    ts = await startTestServer({ config: { httpPort: 0 } });
    iot = await adminIotClient(ts);
    device = await connectClient(ts, 'tcp', { clientId: 'rules-device' });
    app = await connectClient(ts, 'tcp', { clientId: 'rules-app' });
    inbox = new Inbox(app);
    await app.subscribeAsync(['out/#', 'errors/#', 'changes/#', 'bi-out/#', 'live/#', 'loop/#', 'gts-out/#', 'hdr/#'], { qos: 1 });
  });

  after(async () => {
    await endClient(device, true);
    await endClient(app, true);
    iot.destroy();
    await ts.close();
  });

  it('republish: the output on the rendered topic at the rule QoS; templates see the original message and the publisher', async () => {
    await createRule('round_trip', {
      sql: "SELECT *, clientid() AS client, topic(2) AS sensor FROM 'sensors/+' WHERE temp > 50",
      awsIotSqlVersion: '2016-03-23',
      actions: [republish('out/${topic(2)}/${temp}', { qos: 1 })],
    });
    await device.publishAsync('sensors/s1', JSON.stringify({ temp: 40 }), { qos: 1 });
    await device.publishAsync('sensors/s1', JSON.stringify({ temp: 54.5, unit: 'C' }), { qos: 1 });
    const [m] = await inbox.wait('out/s1/');
    assert.equal(m?.topic, 'out/s1/54.5');
    assert.deepEqual(json(m), { temp: 54.5, unit: 'C', client: 'rules-device', sensor: 's1' });
    assert.equal(m?.packet.qos, 1);
    await settle();
    assert.equal(inbox.on('out/s1/').length, 1, 'the message with temp 40 did not match');

    const metrics = await ruleMetrics(iot, 'round_trip');
    assert.equal(metrics.evaluated, 2);
    assert.equal(metrics.matched, 1);
    assert.equal(metrics.executed, 1);
    assert.equal(metrics.succeeded, 1);
    assert.equal(metrics.failed, 0);
    assert.deepEqual(
      metrics.actions.map((a) => [a.index, a.type, a.executed, a.succeeded, a.failed]),
      [[0, 'republish', 1, 1, 0]],
    );
    assert.ok(Math.abs(metrics.since - Date.now() / 1000) < 60);
  });

  it('republish with MQTT 5 headers: content type, response topic, correlation data, user properties, expiry, format indicator', async () => {
    await createRule('headers', {
      sql: "SELECT id, v FROM 'hdr-in/+'",
      actions: [
        republish('hdr/${topic(2)}', {
          qos: 1,
          headers: {
            contentType: 'application/json',
            responseTopic: 'replies/${topic(2)}',
            correlationData: 'Y29ycmVsYXRpb24=', // "correlation"
            messageExpiry: '120',
            payloadFormatIndicator: 'UTF8_DATA',
            userProperties: [
              { key: 'source', value: '${clientid()}' },
              { key: 'id', value: '${id}' },
            ],
          },
        }),
      ],
    });
    await device.publishAsync('hdr-in/d7', JSON.stringify({ id: 'm-1', v: 3 }), { qos: 1 });
    const [m] = await inbox.wait('hdr/d7');
    assert.deepEqual(json(m), { id: 'm-1', v: 3 });
    const p = m?.packet.properties;
    assert.equal(p?.contentType, 'application/json');
    assert.equal(p?.responseTopic, 'replies/d7');
    assert.equal(Buffer.from(p?.correlationData ?? []).toString('utf8'), 'correlation');
    assert.deepEqual({ ...p?.userProperties }, { source: 'rules-device', id: 'm-1' });
    assert.equal(p?.payloadFormatIndicator, true);
    assert.ok(p?.messageExpiryInterval !== undefined && p.messageExpiryInterval <= 120 && p.messageExpiryInterval > 100);
  });

  it('Basic Ingest: $aws/rules/<rule>/… runs that rule only, with topic() after the prefix and FROM not consulted', async () => {
    await createRule('BuildingManager', {
      sql: "SELECT topic() AS t, topic(3) AS f FROM 'never/used'",
      awsIotSqlVersion: '2016-03-23',
      actions: [republish('bi-out/building')],
    });
    await createRule('bi_bystander', { sql: "SELECT * FROM '$aws/rules/BuildingManager/#'", actions: [republish('bi-out/bystander')] });
    await device.publishAsync('$aws/rules/BuildingManager/Buildings/Building5/Floor2/Room201/Lights', '{}', { qos: 1 });
    const [m] = await inbox.wait('bi-out/building');
    assert.deepEqual(json(m), { t: 'Buildings/Building5/Floor2/Room201/Lights', f: 'Floor2' });
    await settle();
    assert.equal(inbox.on('bi-out/bystander').length, 0, 'a Basic Ingest message reaches no other rule, even one whose FROM names its topic');

    // A missing or disabled rule: the PUBLISH is still acknowledged; AWS's RuleNotFound counts it.
    const before = (await callExtension(iot, 'GET', '/rule-engine/metrics')) as { ruleNotFound: number };
    await device.publishAsync('$aws/rules/no_such_rule/x', '{}', { qos: 1 });
    await iot.send(new DisableTopicRuleCommand({ ruleName: 'BuildingManager' }));
    await device.publishAsync('$aws/rules/BuildingManager/x', '{}', { qos: 1 });
    await settle();
    const afterwards = (await callExtension(iot, 'GET', '/rule-engine/metrics')) as { ruleNotFound: number };
    assert.equal(afterwards.ruleNotFound - before.ruleNotFound, 2);
    assert.equal(inbox.on('bi-out/building').length, 1);
    await iot.send(new DeleteTopicRuleCommand({ ruleName: 'bi_bystander' }));
  });

  it('changes apply at once: a disabled rule does nothing; enable, replace and delete take effect on the next message', async () => {
    await createRule('live_rule', { sql: "SELECT n FROM 'live-in'", ruleDisabled: true, actions: [republish('live/v1')] });
    const send = (n: number): Promise<unknown> => device.publishAsync('live-in', JSON.stringify({ n }), { qos: 1 });
    await send(1);
    await settle();
    assert.equal(inbox.on('live/').length, 0, 'disabled: nothing');
    assert.equal((await ruleMetrics(iot, 'live_rule')).evaluated, 0);

    await iot.send(new EnableTopicRuleCommand({ ruleName: 'live_rule' }));
    await send(2);
    assert.deepEqual(json((await inbox.wait('live/v1'))[0]), { n: 2 });

    await iot.send(new ReplaceTopicRuleCommand({ ruleName: 'live_rule', topicRulePayload: { sql: "SELECT n * 10 AS n FROM 'live-in'", actions: [republish('live/v2')] } }));
    await send(3);
    assert.deepEqual(json((await inbox.wait('live/v2'))[0]), { n: 30 });

    await iot.send(new DisableTopicRuleCommand({ ruleName: 'live_rule' }));
    await send(4);
    await iot.send(new EnableTopicRuleCommand({ ruleName: 'live_rule' }));
    await iot.send(new DeleteTopicRuleCommand({ ruleName: 'live_rule' }));
    await send(5);
    await settle();
    assert.deepEqual(
      inbox.on('live/').map((m) => [m.topic, json(m)['n']]),
      [['live/v1', 2], ['live/v2', 30]],
    );
  });

  it("the shadow change detector fires exactly when the reported value changes (the issue's rule, on update/documents)", async () => {
    await createRule('value_changed', {
      sql: "SELECT * FROM '$aws/things/+/shadow/name/+/update/documents' WHERE isNull(previous) OR previous.state.reported.value <> current.state.reported.value",
      actions: [republish('changes/${topic(3)}/${topic(6)}')],
    });
    const shadow = '$aws/things/lamp1/shadow/name/cfg';
    const updates: object[] = [
      { state: { reported: { value: 1 } } }, // creates the shadow: previous is null → fires
      { state: { reported: { value: 1 } } }, // same value → no
      { state: { reported: { value: 2 } } }, // changed → fires
      { state: { desired: { value: 9 } } }, // reported unchanged → no
      { state: { reported: { other: true } } }, // reported.value unchanged → no
      { state: { reported: { value: 3 } } }, // changed → fires
    ];
    await device.subscribeAsync(`${shadow}/update/accepted`, { qos: 1 });
    for (const [i, update] of updates.entries()) {
      const accepted = new Promise<void>((resolve) => {
        const on = (topic: string, payload: Buffer): void => {
          if (topic === `${shadow}/update/accepted` && json({ payload } as Received)['clientToken'] === `u${i}`) {
            device.off('message', on);
            resolve();
          }
        };
        device.on('message', on);
      });
      await device.publishAsync(`${shadow}/update`, JSON.stringify({ ...update, clientToken: `u${i}` }), { qos: 1 });
      await accepted;
    }
    const fired = await inbox.wait('changes/lamp1/cfg', 3);
    await settle(300);
    const values = inbox.on('changes/').map((m) => (json(m)['current'] as { state: { reported: { value?: number } } }).state.reported.value);
    assert.deepEqual(values, [1, 2, 3]);
    assert.equal(json(fired[0])['previous'], null);
    const m = await ruleMetrics(iot, 'value_changed');
    assert.equal(m.evaluated, 6);
    assert.equal(m.matched, 3);
  });

  it('get_thing_shadow() in a rule reads the shadow service', async () => {
    await createRule('with_shadow', {
      sql: "SELECT get_thing_shadow(topic(2), 'arn:aws:iam::000000000000:role/r').state.reported.mode AS mode FROM 'gts/+'",
      awsIotSqlVersion: '2016-03-23',
      actions: [republish('gts-out/${topic(2)}')],
    });
    await ts.server.shadows.update('pump9', undefined, Buffer.from(JSON.stringify({ state: { reported: { mode: 'eco' } } })));
    await device.publishAsync('gts/pump9', '{}', { qos: 1 });
    assert.deepEqual(json((await inbox.wait('gts-out/pump9'))[0]), { mode: 'eco' });
  });

  it('errorAction: a failing action sends AWS error payload (ruleName, topic, clientId, base64OriginalPayload, failures) to the error action; metrics say what failed', async () => {
    await createRule('failing', {
      sql: "SELECT * FROM 'fail-in/+'",
      actions: [republish('out/fine/${topic(2)}'), republish('out/${target}')],
      errorAction: republish('errors/${topic(2)}'),
    });
    const original = JSON.stringify({ target: 'a/#/b' });
    await device.publishAsync('fail-in/x1', original, { qos: 1 });
    const [err] = await inbox.wait('errors/x1');
    const doc = json(err);
    assert.equal(doc['ruleName'], 'failing');
    assert.equal(doc['topic'], 'fail-in/x1');
    assert.equal(doc['clientId'], 'rules-device');
    assert.match(String(doc['cloudwatchTraceId']), /^[0-9a-f-]{36}$/);
    assert.equal(Buffer.from(String(doc['base64OriginalPayload']), 'base64').toString('utf8'), original);
    const failures = doc['failures'] as Array<Record<string, string>>;
    assert.equal(failures.length, 1, 'only the failed action is listed');
    assert.equal(failures[0]?.['failedAction'], 'RepublishAction');
    assert.equal(failures[0]?.['failedResource'], 'out/a/#/b');
    assert.match(failures[0]?.['errorMessage'] ?? '', /wildcard/);
    assert.equal((await inbox.wait('out/fine/x1')).length, 1, 'the other action still ran');

    const m = await ruleMetrics(iot, 'failing');
    assert.equal(m.matched, 1);
    assert.equal(m.executed, 2);
    assert.equal(m.succeeded, 1);
    assert.equal(m.failed, 1);
    assert.match(m.lastError ?? '', /wildcard/);
    assert.ok(m.lastErrorAt !== undefined && Math.abs(m.lastErrorAt - Date.now() / 1000) < 60);
    assert.equal(m.actions[1]?.failed, 1);
    assert.match(m.actions[1]?.lastError ?? '', /out\/a\/#\/b/);
    assert.equal(m.actions[0]?.failed, 0);
    assert.deepEqual([m.errorAction?.type, m.errorAction?.executed, m.errorAction?.succeeded], ['republish', 1, 1]);
  });

  it('a republish loop is bounded: a rule republishing to its own topic stops after 8 hops', async () => {
    await createRule('looping', { sql: "SELECT * FROM 'loop/a'", actions: [republish('loop/a')] });
    await device.publishAsync('loop/a', 'spin', { qos: 0 });
    await inbox.wait('loop/a', 10);
    await settle(300);
    assert.equal(inbox.on('loop/a').length, 10, 'the original and 9 republished copies; the 9th is not evaluated again');
    const m = await ruleMetrics(iot, 'looping');
    assert.equal(m.evaluated, 9);
    assert.equal(m.droppedHops, 1);
    await iot.send(new DeleteTopicRuleCommand({ ruleName: 'looping' }));

    // Two chains republishing the same raw bytes: each message counts its own hops exactly.
    await createRule('chain_a', { sql: "SELECT * FROM 'loop2/a'", actions: [republish('loop2/a')] });
    await createRule('chain_b', { sql: "SELECT * FROM 'loop2/+'", actions: [republish('loop2/b')] });
    await app.subscribeAsync('loop2/#', { qos: 0 });
    await device.publishAsync('loop2/a', 'spin', { qos: 0 });
    await inbox.wait('loop2/b', 45);
    await settle(300);
    // loop2/a: hops 0..9; every loop2/a message of hops h ≤ 8 starts a loop2/b chain of 9 - h messages.
    assert.equal(inbox.on('loop2/a').length, 10);
    assert.equal(inbox.on('loop2/b').length, 45);
    await iot.send(new DeleteTopicRuleCommand({ ruleName: 'chain_a' }));
    await iot.send(new DeleteTopicRuleCommand({ ruleName: 'chain_b' }));
  });

  it('dry run: POST /test-topic-rule says matched with the output, or why not, without storing or running anything', async () => {
    const hit = await testRule(iot, { sql: "SELECT temp AS t FROM 'sensors/+' WHERE temp > 50", topic: 'sensors/a', payload: '{"temp": 60}' });
    assert.deepEqual(hit, { matched: true, output: { t: 60 } });
    const where = await testRule(iot, { sql: "SELECT temp FROM 'sensors/+' WHERE temp > 50 AND color <> 'red'", topic: 'sensors/a', payload: '{"temp": 40, "color": "blue"}' });
    assert.equal(where.matched, false);
    assert.equal(where.reason?.clause, 'WHERE');
    assert.match(where.reason?.message ?? '', /temp > 50 is false \(temp = 40\)/);
    const from = await testRule(iot, { sql: "SELECT * FROM 'sensors/+'", topic: 'other/a', payload: '' });
    assert.equal(from.reason?.clause, 'FROM');
    assert.match(from.reason?.message ?? '', /does not match the FROM topic filter 'sensors\/\+'/);
    const basic = await testRule(iot, { sql: 'SELECT topic() AS t, clientid() AS c', awsIotSqlVersion: '2016-03-23', topic: '$aws/rules/any/a/b', payload: '', clientId: 'dry' });
    assert.deepEqual(basic, { matched: true, output: { t: 'a/b', c: 'dry' } });
    const binary = await testRule(iot, { sql: "SELECT * FROM 'bin'", topic: 'bin', payload: Buffer.from([0xff, 0x00, 0x01]).toString('base64'), payloadBase64: true });
    assert.deepEqual(binary, { matched: true, output: '/wAB', outputEncoding: 'base64' });
    await assert.rejects(testRule(iot, { sql: 'SELECT FROM', topic: 'a', payload: '' }), (e: unknown) => e instanceof SqlParseException);
    await assert.rejects(testRule(iot, { topic: 'a', payload: '' }), (e: unknown) => e instanceof InvalidRequestException);
  });

  it('dry run at POST /rules/test (the issue\'s path), while a rule named `test` can still be created, read and deleted there', async () => {
    const hit = (await callExtension(iot, 'POST', '/rules/test', { sql: "SELECT temp AS t FROM 'sensors/+' WHERE temp > 50", topic: 'sensors/a', payload: '{"temp": 60}' })) as unknown;
    assert.deepEqual(hit, { matched: true, output: { t: 60 } });
    const miss = (await callExtension(iot, 'POST', '/rules/test', { sql: "SELECT * FROM 'sensors/+' WHERE temp > 50", topic: 'sensors/a', payload: { temp: 1 } })) as { matched: boolean; reason?: { clause: string } };
    assert.deepEqual([miss.matched, miss.reason?.clause], [false, 'WHERE']);
    await iot.send(new CreateTopicRuleCommand({ ruleName: 'test', topicRulePayload: { sql: "SELECT * FROM 'named/test'", actions: [{ republish: { topic: 'out/named-test', roleArn } }] } }));
    const stored = await iot.send(new GetTopicRuleCommand({ ruleName: 'test' }));
    assert.equal(stored.rule?.sql, "SELECT * FROM 'named/test'");
    await iot.send(new DeleteTopicRuleCommand({ ruleName: 'test' }));
  });

  it('thingcore rule create|list|get|test|metrics|disable|enable|delete against the running server', async () => {
    const thingcore = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
      let stdout = '';
      let stderr = '';
      const io = { stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t) };
      let code = 0;
      try {
        await createProgram({ io }).parseAsync(['node', 'thingcore', ...args, '--data-dir', ts.dataDir]);
      } catch (err: unknown) {
        code = reportFailure(err, io, {});
      }
      return { code, stdout, stderr };
    };
    const created = await thingcore('rule', 'create', 'cli_rule', '--sql', "SELECT v FROM 'cli/in'", '--republish', 'out/cli');
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'created topic rule cli_rule\n');
    await device.publishAsync('cli/in', '{"v": 7}', { qos: 1 });
    assert.deepEqual(json((await inbox.wait('out/cli'))[0]), { v: 7 });

    const list = await thingcore('rule', 'list', '--topic', 'cli/in');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAME\s+TOPIC\s+STATE\s+CREATED\ncli_rule\s+cli\/in\s+enabled\s+\d{4}-/);
    const got = await thingcore('rule', 'get', 'cli_rule', '--json');
    assert.equal(got.code, 0, got.stderr);
    assert.equal((JSON.parse(got.stdout) as { rule: { sql: string } }).rule.sql, "SELECT v FROM 'cli/in'");

    const metrics = await thingcore('rule', 'metrics', 'cli_rule');
    assert.equal(metrics.code, 0, metrics.stderr);
    assert.match(metrics.stdout, /Matched\s+1\n/);
    assert.match(metrics.stdout, /0\s+republish\s+1\s+1\s+0/);

    const tested = await thingcore('rule', 'test', '--sql', "SELECT temp FROM 'sensors/+' WHERE temp > 50", '--topic', 'sensors/a', '--payload', '{"temp": 40}');
    assert.equal(tested.code, 0, tested.stderr);
    assert.equal(tested.stdout, 'no match: WHERE is false: temp > 50 is false (temp = 40)\n');
    const matched = await thingcore('rule', 'test', '--rule', 'cli_rule', '--topic', 'cli/in', '--payload', '{"v": 1, "w": 2}', '--json');
    assert.deepEqual(JSON.parse(matched.stdout), { matched: true, output: { v: 1 } });
    const badSql = await thingcore('rule', 'test', '--sql', 'SELECT FROM', '--topic', 'a');
    assert.equal(badSql.code, 1);
    assert.match(badSql.stderr, /^thingcore: SqlParseException: /);

    assert.equal((await thingcore('rule', 'disable', 'cli_rule')).stdout, 'disabled topic rule cli_rule\n');
    assert.match((await thingcore('rule', 'list', '--disabled')).stdout, /cli_rule\s+cli\/in\s+disabled/);
    assert.equal((await thingcore('rule', 'enable', 'cli_rule')).stdout, 'enabled topic rule cli_rule\n');
    assert.equal((await thingcore('rule', 'delete', 'cli_rule')).stdout, 'deleted topic rule cli_rule\n');
    const missing = await thingcore('rule', 'get', 'cli_rule');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ResourceNotFoundException: Topic rule cli_rule does not exist/);
    const unknownType = await thingcore('rule', 'create', 'cli_bad', '--sql', "SELECT * FROM 'a'", '--action', '{"sqs":{"queueUrl":"q","roleArn":"r"}}');
    assert.equal(unknownType.code, 1);
    assert.match(unknownType.stderr, /InvalidRequestException: .*'sqs' is not supported/);
  });
});
