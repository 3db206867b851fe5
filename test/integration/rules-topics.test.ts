// Proves the topic boundaries of the rules engine in the aws profile: Basic Ingest messages
// ($aws/rules/<rule>/...) reach that rule and never a subscriber, and a rule listening on a
// reserved `$aws` topic does not open that topic to publishing clients.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { connectClient, endClient, startTestServer, type TestServer } from './helpers/server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('rules: Basic Ingest and reserved topics (aws profile)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ profile: 'aws', dev: true });
    await ts.server.rules.createTopicRule({
      ruleName: 'ingest_to_out',
      topicRulePayload: {
        sql: "SELECT * FROM 'never/matches'",
        actions: [{ republish: { topic: 'ingest/out', qos: 0, roleArn: 'arn:aws:iam::000000000000:role/r' } }],
      },
    } as never);
    await ts.server.rules.createTopicRule({
      ruleName: 'documents_listener',
      topicRulePayload: {
        sql: "SELECT * FROM '$aws/things/+/shadow/update/documents'",
        actions: [{ republish: { topic: 'docs/out', qos: 0, roleArn: 'arn:aws:iam::000000000000:role/r' } }],
      },
    } as never);
  });
  after(async () => {
    await ts?.close();
  });

  it('a Basic Ingest message reaches its rule and no subscriber, even one on $aws/rules/#', async () => {
    const spy = await connectClient(ts, 'tcp', { protocolVersion: 5 });
    const out = await connectClient(ts, 'tcp', { protocolVersion: 5 });
    const pub = await connectClient(ts, 'tcp', { protocolVersion: 5 });
    try {
      const spied: string[] = [];
      spy.on('message', (t) => spied.push(t));
      await spy.subscribeAsync('$aws/rules/#', { qos: 1 });
      const got = new Promise<string>((resolve) => out.once('message', (_t, p) => resolve(p.toString())));
      await out.subscribeAsync('ingest/out', { qos: 0 });
      await pub.publishAsync('$aws/rules/ingest_to_out/anything', '{"v":1}', { qos: 1 });
      assert.deepEqual(JSON.parse(await got), { v: 1 });
      await sleep(200);
      assert.deepEqual(spied, [], 'no subscriber sees Basic Ingest traffic');
    } finally {
      await Promise.all([endClient(spy), endClient(out), endClient(pub)]);
    }
  });

  it('a rule listening on .../update/documents does not let clients publish there', async () => {
    const listener = await connectClient(ts, 'tcp', { protocolVersion: 5 });
    const pub = await connectClient(ts, 'tcp', { protocolVersion: 5 });
    try {
      const seen: string[] = [];
      listener.on('message', (t) => seen.push(t));
      await listener.subscribeAsync('docs/out', { qos: 0 });
      // The service owns .../update/documents; a client publish is refused (PUBACK 0x87 in MQTT 5).
      await assert.rejects(pub.publishAsync('$aws/things/t1/shadow/update/documents', '{"forged":true}', { qos: 1 }), /Not authorized/);
      await sleep(200);
      assert.deepEqual(seen, [], 'the forged document did not reach the rule');
    } finally {
      await Promise.all([endClient(listener), endClient(pub)]);
    }
  });
});
