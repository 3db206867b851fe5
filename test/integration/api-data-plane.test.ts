// Proves that AWS's IoTDataPlaneClient drives the MQTT data plane of the real server as spec/http-api.md 4 and spec/mqtt.md 6, 7 and 11 describe: Publish reaches MQTT 5 subscribers with every property (and refuses qos 2, wildcards and reserved topics), retained messages are read, listed page by page and deleted by an empty retained publish, and DeleteConnection disconnects a client with 0x98, publishes its will unless told not to, ends persistent sessions and answers 404 for unknown clients.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  DeleteConnectionCommand,
  GetRetainedMessageCommand,
  InvalidRequestException,
  ListRetainedMessagesCommand,
  PublishCommand,
  ResourceNotFoundException,
  UnauthorizedException,
} from '@aws-sdk/client-iot-data-plane';
import type { IoTDataPlaneClient, RetainedMessageSummary } from '@aws-sdk/client-iot-data-plane';
import type { IPublishPacket, MqttClient } from 'mqtt';
import { adminDataPlaneClient, rejectsWith } from './helpers/aws.js';
import { connectClient, endClient, startTestServer } from './helpers/server.js';
import type { TestServer } from './helpers/server.js';

type Received = { topic: string; payload: Buffer; packet: IPublishPacket };

/** Every message an MQTT client receives, in order, with its packet. */
class Recorder {
  readonly messages: Received[] = [];
  constructor(client: MqttClient) {
    client.on('message', (topic, payload, packet) => this.messages.push({ topic, payload, packet }));
  }
  async next(topic: string, timeoutMs = 5000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find((m) => m.topic === topic);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no message on ${topic} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the MQTT data plane over HTTP with the AWS SDK v3 IoTDataPlaneClient', () => {
  let ts: TestServer;
  let data: IoTDataPlaneClient;
  let watcher: MqttClient;
  let seen: Recorder;

  before(async () => {
    ts = await startTestServer({ profile: 'aws', dev: true });
    data = await adminDataPlaneClient(ts);
    watcher = await connectClient(ts, 'tcp', { clientId: 'dp-watcher' });
    seen = new Recorder(watcher);
    await watcher.subscribeAsync(['dp/#', '$aws/events/presence/disconnected/+'], { qos: 1 });
  });

  after(async () => {
    data.destroy();
    await endClient(watcher);
    await ts.close();
  });

  it('Publish reaches an MQTT 5 subscriber with qos, contentType, responseTopic, correlationData, user properties, payload format and expiry', async () => {
    await data.send(
      new PublishCommand({
        topic: 'dp/props/one two',
        qos: 1,
        payload: Buffer.from('{"t":21.5}'),
        contentType: 'application/json',
        responseTopic: 'dp/replies/one',
        correlationData: Buffer.from('corr-1').toString('base64'),
        userProperties: JSON.stringify([{ deviceName: 'alpha' }, { deviceCnt: '45' }, { deviceName: 'beta' }]),
        payloadFormatIndicator: 'UTF8_DATA',
        messageExpiry: 120,
      }),
    );
    const m = await seen.next('dp/props/one two');
    assert.equal(m.payload.toString('utf8'), '{"t":21.5}');
    assert.equal(m.packet.qos, 1);
    assert.equal(m.packet.retain, false);
    const p = m.packet.properties ?? {};
    assert.equal(p.contentType, 'application/json');
    assert.equal(p.responseTopic, 'dp/replies/one');
    assert.equal(Buffer.from(p.correlationData ?? Buffer.alloc(0)).toString('utf8'), 'corr-1');
    assert.deepEqual({ ...p.userProperties }, { deviceName: ['alpha', 'beta'], deviceCnt: '45' });
    assert.equal(p.payloadFormatIndicator, true);
    assert.ok(typeof p.messageExpiryInterval === 'number' && p.messageExpiryInterval > 100 && p.messageExpiryInterval <= 120, `expiry ${p.messageExpiryInterval}`);

    await data.send(new PublishCommand({ topic: 'dp/props/plain', payload: Buffer.from([0xff, 0x00]) }));
    const plain = await seen.next('dp/props/plain');
    assert.equal(plain.packet.qos, 0);
    assert.deepEqual([...plain.payload], [0xff, 0x00]);
    assert.equal(plain.packet.properties?.userProperties, undefined);
  });

  it('Publish with retain=true delivers the message and keeps it for GetRetainedMessage', async () => {
    const before = Date.now();
    await data.send(
      new PublishCommand({ topic: 'dp/retained/a', qos: 1, retain: true, payload: Buffer.from('kept'), userProperties: JSON.stringify([{ k: 'v' }]) }),
    );
    const live = await seen.next('dp/retained/a');
    assert.equal(live.payload.toString(), 'kept');
    const got = await data.send(new GetRetainedMessageCommand({ topic: 'dp/retained/a' }));
    assert.equal(got.topic, 'dp/retained/a');
    assert.equal(Buffer.from(got.payload ?? new Uint8Array()).toString('utf8'), 'kept');
    assert.equal(got.qos, 1);
    assert.ok(typeof got.lastModifiedTime === 'number' && got.lastModifiedTime >= before - 1000 && got.lastModifiedTime <= Date.now() + 1000);
    assert.deepEqual(JSON.parse(Buffer.from(got.userProperties ?? new Uint8Array()).toString('utf8')), [{ k: 'v' }]);
  });

  it('refuses qos 2, wildcard topics and reserved $ topics; a $aws shadow topic is allowed', async () => {
    await rejectsWith(data.send(new PublishCommand({ topic: 'dp/q2', qos: 2, payload: Buffer.from('x') })), InvalidRequestException, 400);
    await rejectsWith(data.send(new PublishCommand({ topic: 'dp/+/x', payload: Buffer.from('x') })), InvalidRequestException, 400);
    await rejectsWith(data.send(new PublishCommand({ topic: 'dp/#', payload: Buffer.from('x') })), InvalidRequestException, 400);
    await rejectsWith(data.send(new PublishCommand({ topic: '$foo/bar', payload: Buffer.from('x') })), UnauthorizedException, 401);
    await data.send(new PublishCommand({ topic: '$aws/things/dp-lamp/shadow/update', payload: Buffer.from('{"state":{"reported":{"on":true}}}') }));
    assert.equal(seen.on('dp/q2').length + seen.on('dp/+/x').length, 0);
  });

  it('ListRetainedMessages pages through the retained topics with maxResults 2', async () => {
    const topics = ['dp/list/1', 'dp/list/2', 'dp/list/3', 'dp/list/4', 'dp/list/5'];
    for (const [i, topic] of topics.entries()) {
      await data.send(new PublishCommand({ topic, retain: true, qos: i % 2 === 0 ? 0 : 1, payload: Buffer.alloc(i + 1, 0x61) }));
    }
    const all: RetainedMessageSummary[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const out = await data.send(new ListRetainedMessagesCommand({ maxResults: 2, ...(nextToken === undefined ? {} : { nextToken }) }));
      const page = out.retainedTopics ?? [];
      assert.ok(page.length <= 2, `page of ${page.length}`);
      all.push(...page);
      nextToken = out.nextToken;
      pages++;
    } while (nextToken !== undefined);
    assert.ok(pages >= 3);
    const ours = all.filter((s) => s.topic?.startsWith('dp/list/'));
    assert.deepEqual(ours.map((s) => s.topic), topics);
    assert.deepEqual(ours.map((s) => s.payloadSize), [1, 2, 3, 4, 5]);
    assert.deepEqual(ours.map((s) => s.qos), [0, 1, 0, 1, 0]);
    assert.ok(ours.every((s) => typeof s.lastModifiedTime === 'number' && s.lastModifiedTime > 0));
    assert.equal(new Set(all.map((s) => s.topic)).size, all.length, 'no topic twice across pages');
    await rejectsWith(data.send(new ListRetainedMessagesCommand({ maxResults: 201 })), InvalidRequestException, 400);
  });

  it('an empty retained publish deletes the retained message', async () => {
    await data.send(new PublishCommand({ topic: 'dp/gone', retain: true, payload: Buffer.from('soon gone') }));
    await data.send(new GetRetainedMessageCommand({ topic: 'dp/gone' }));
    await data.send(new PublishCommand({ topic: 'dp/gone', retain: true }));
    await rejectsWith(data.send(new GetRetainedMessageCommand({ topic: 'dp/gone' })), ResourceNotFoundException, 404);
    const listed = await data.send(new ListRetainedMessagesCommand({ maxResults: 200 }));
    assert.ok(!(listed.retainedTopics ?? []).some((s) => s.topic === 'dp/gone'));
  });

  it('DeleteConnection sends DISCONNECT 0x98, publishes the will and reports API_INITIATED_DISCONNECT', async () => {
    const victim = await connectClient(ts, 'tcp', { clientId: 'dp-victim', will: { topic: 'dp/will/victim', payload: Buffer.from('bye'), qos: 1, retain: false } });
    const disconnect = new Promise<number | undefined>((resolve) => victim.once('disconnect', (packet) => resolve(packet.reasonCode)));
    await data.send(new DeleteConnectionCommand({ clientId: 'dp-victim' }));
    assert.equal(await disconnect, 0x98);
    assert.equal((await seen.next('dp/will/victim')).payload.toString(), 'bye');
    const event = JSON.parse((await seen.next('$aws/events/presence/disconnected/dp-victim')).payload.toString('utf8')) as Record<string, unknown>;
    assert.equal(event['disconnectReason'], 'API_INITIATED_DISCONNECT');
    assert.equal(event['clientInitiatedDisconnect'], false);
    await endClient(victim, true);
  });

  it('DeleteConnection with preventWillMessage=true sends no will', async () => {
    const victim = await connectClient(ts, 'tcp', { clientId: 'dp-quiet', will: { topic: 'dp/will/quiet', payload: Buffer.from('bye'), qos: 1, retain: false } });
    const closed = new Promise<void>((resolve) => victim.once('close', () => resolve()));
    await data.send(new DeleteConnectionCommand({ clientId: 'dp-quiet', preventWillMessage: true }));
    await closed;
    await seen.next('$aws/events/presence/disconnected/dp-quiet');
    await sleep(300);
    assert.equal(seen.on('dp/will/quiet').length, 0);
    await endClient(victim, true);
  });

  it('DeleteConnection with cleanSession=true ends a persistent session, connected or not; without it the session stays', async () => {
    const broker = ts.server.broker;
    const online = await connectClient(ts, 'tcp', { clientId: 'dp-persist-on', clean: false, properties: { sessionExpiryInterval: 3600 } });
    await data.send(new DeleteConnectionCommand({ clientId: 'dp-persist-on', cleanSession: true }));
    assert.equal(broker.hasSession('dp-persist-on'), false);
    await endClient(online, true);

    const offline = await connectClient(ts, 'tcp', { clientId: 'dp-persist-off', clean: false, properties: { sessionExpiryInterval: 3600 } });
    await offline.subscribeAsync('dp/offline/#', { qos: 1 });
    await endClient(offline);
    assert.equal(broker.hasSession('dp-persist-off'), true);
    await data.send(new DeleteConnectionCommand({ clientId: 'dp-persist-off' }));
    assert.equal(broker.hasSession('dp-persist-off'), true, 'cleanSession=false keeps the session');
    await data.send(new DeleteConnectionCommand({ clientId: 'dp-persist-off', cleanSession: true }));
    assert.equal(broker.hasSession('dp-persist-off'), false);
    await rejectsWith(data.send(new DeleteConnectionCommand({ clientId: 'dp-persist-off' })), ResourceNotFoundException, 404);
  });

  it('DeleteConnection answers 404 for an unknown client and 400 for a client id starting with $', async () => {
    await rejectsWith(data.send(new DeleteConnectionCommand({ clientId: 'dp-nobody' })), ResourceNotFoundException, 404);
    await rejectsWith(data.send(new DeleteConnectionCommand({ clientId: '$dp' })), InvalidRequestException, 400);
  });
});
