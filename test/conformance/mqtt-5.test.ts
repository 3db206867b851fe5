/**
 * Proves that the broker honours the MQTT 5.0 normative statements on CONNECT/CONNACK, sessions
 * (Clean Start, Session Expiry), DISCONNECT, wills (incl. Will Delay), keep-alive, takeover and
 * shutdown, in both profiles (`aws` deviations per spec/mqtt.md sections 3-12), over a raw socket.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import { strict as assert } from 'node:assert';
import { startBroker, RawClient, uid, sleep, type TestBroker } from './helpers/broker.js';
import { closeAfterTest, destroyOpenClients, expectDisconnect, v5, v5Connack } from './helpers/v5.js';





function disconnectWith(c: RawClient, reasonCode: number, properties?: { sessionExpiryInterval?: number }): void {
  c.send({ cmd: 'disconnect', reasonCode, ...(properties ? { properties } : {}) });
}

let aws: TestBroker;
let mqtt: TestBroker;

before(async () => {
  aws = await startBroker('aws');
  mqtt = await startBroker('mqtt');
});
after(async () => {
  await aws.close();
  await mqtt.close();
});
afterEach(destroyOpenClients);

describe('MQTT 5 CONNACK properties', () => {
  it('[MQTT-3.2.2-9] aws: CONNACK has Maximum QoS 1, Receive Maximum, Retain Available, Maximum Packet Size, Topic Alias Maximum 8, Wildcard/Shared Available, Subscription Identifiers Available 0', async () => {
    const [, ack] = await v5Connack(aws.port);
    const p = ack.properties ?? {};
    assert.equal(ack.reasonCode, 0);
    assert.equal(p.maximumQoS, 1);
    assert.equal(p.receiveMaximum, 100);
    assert.equal(p.retainAvailable, true);
    assert.equal(p.maximumPacketSize, 146 * 1024);
    assert.equal(p.topicAliasMaximum, 8);
    assert.equal(p.wildcardSubscriptionAvailable, true);
    assert.equal(p.subscriptionIdentifiersAvailable, false);
    assert.equal(p.sharedSubscriptionAvailable, true);
  });

  it('[MQTT-3.2.2-9] mqtt: CONNACK has no Maximum QoS (QoS 2 supported) and advertises Subscription Identifiers, Shared and Wildcard subscriptions', async () => {
    const [, ack] = await v5Connack(mqtt.port);
    const p = ack.properties ?? {};
    assert.equal(p.maximumQoS, undefined);
    assert.notEqual(p.subscriptionIdentifiersAvailable, false);
    assert.notEqual(p.sharedSubscriptionAvailable, false);
    assert.notEqual(p.wildcardSubscriptionAvailable, false);
    assert.notEqual(p.retainAvailable, false);
    assert.ok((p.receiveMaximum ?? 65535) > 0);
    assert.ok((p.topicAliasMaximum ?? 0) > 0);
  });

  it('[MQTT-3.2.2-16] [MQTT-3.1.3-6] [MQTT-3.1.3-7] an empty Client Identifier gets a unique Assigned Client Identifier', async () => {
    const [, a] = await v5Connack(aws.port, { clientId: '' });
    const [, b] = await v5Connack(aws.port, { clientId: '' });
    const ida = a.properties?.assignedClientIdentifier;
    const idb = b.properties?.assignedClientIdentifier;
    assert.ok(ida && ida.length > 0);
    assert.ok(idb && idb.length > 0);
    assert.notEqual(ida, idb);
    assert.equal(a.sessionPresent, false);
    const [, c] = await v5Connack(aws.port, { clientId: 'given-id-' + uid() });
    assert.equal(c.properties?.assignedClientIdentifier, undefined, 'not sent when the client chose an id');
  });

  it('[MQTT-3.2.2-16] a session created with an Assigned Client Identifier can be resumed with that identifier', async () => {
    const [c, a] = await v5Connack(mqtt.port, { clientId: '', properties: { sessionExpiryInterval: 60 } });
    const id = a.properties?.assignedClientIdentifier;
    assert.ok(id);
    await c.disconnect();
    const [, b] = await v5Connack(mqtt.port, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.equal(b.sessionPresent, true);
  });

  it('[MQTT-3.2.2-21] [MQTT-3.2.2-22] aws: Server Keep Alive is sent when the keep-alive was changed (10 → 30, 0 → 1200, 5000 → 1200), absent otherwise', async () => {
    const [, a] = await v5Connack(aws.port, { keepalive: 10 });
    assert.equal(a.properties?.serverKeepAlive, 30);
    const [, b] = await v5Connack(aws.port, { keepalive: 0 });
    assert.equal(b.properties?.serverKeepAlive, 1200);
    const [, c] = await v5Connack(aws.port, { keepalive: 5000 });
    assert.equal(c.properties?.serverKeepAlive, 1200);
    const [, d] = await v5Connack(aws.port, { keepalive: 60 });
    assert.equal(d.properties?.serverKeepAlive, undefined);
    const [, e] = await v5Connack(mqtt.port, { keepalive: 7 });
    assert.equal(e.properties?.serverKeepAlive, undefined, 'mqtt profile keeps the requested keep-alive');
  });

  it('[MQTT-3.2.2-12] aws: a Will with QoS 2 is refused with CONNACK 0x9B (QoS not supported)', async () => {
    const c = await RawClient.open(aws.port, { protocolVersion: 5 });
    closeAfterTest(c);
    const ack = await c.connect({ protocolVersion: 5, allowFailure: true, will: { topic: 'w/q2', payload: Buffer.from('x'), qos: 2, retain: false } });
    assert.equal(ack.reasonCode, 0x9b);
    assert.equal(ack.sessionPresent, false, '[MQTT-3.2.2-6]');
    await c.expectClose();
  });

  it('[MQTT-3.1.3.2.3] a Will with Payload Format Indicator 1 and a payload that is not UTF-8 is refused with CONNACK 0x99', async () => {
    const c = await RawClient.open(mqtt.port, { protocolVersion: 5 });
    closeAfterTest(c);
    const ack = await c.connect({
      protocolVersion: 5,
      allowFailure: true,
      will: { topic: 'w/pfi', payload: Buffer.from([0xff, 0xfe]), qos: 0, retain: false, properties: { payloadFormatIndicator: true } },
    });
    assert.equal(ack.reasonCode, 0x99);
    await c.expectClose();
  });

  it('[MQTT-3.1.2.11.3] [MQTT-3.2.2-7] Receive Maximum 0 in CONNECT is a Protocol Error: CONNACK 0x82 and close', async () => {
    const c = await RawClient.open(mqtt.port, { protocolVersion: 5 });
    closeAfterTest(c);
    const ack = await c.connect({ protocolVersion: 5, allowFailure: true, properties: { receiveMaximum: 0 } });
    assert.equal(ack.reasonCode, 0x82);
    await c.expectClose();
  });

  it('[MQTT-3.2.2 Session Expiry Interval] aws: a Session Expiry above 7 days is clamped and the clamped value is returned in CONNACK', async () => {
    const [, a] = await v5Connack(aws.port, { clean: true, properties: { sessionExpiryInterval: 0xffffffff } });
    assert.equal(a.properties?.sessionExpiryInterval, 604800);
    const [, b] = await v5Connack(aws.port, { clean: true, properties: { sessionExpiryInterval: 3600 } });
    assert.equal(b.properties?.sessionExpiryInterval, undefined, 'not sent when unchanged');
  });
});

describe('MQTT 5 Clean Start and Session Expiry', () => {
  for (const profile of ['aws', 'mqtt'] as const) {
    it(`[MQTT-3.1.2-5] [MQTT-3.1.2-25] [MQTT-3.2.2-3] ${profile}: with Session Expiry > 0 the session outlives the connection; Clean Start 0 resumes it (Session Present 1) with its subscriptions and queued QoS 1`, async () => {
      const b = profile === 'aws' ? aws : mqtt;
      const id = uid('keep');
      const topic = `s/${uid('t')}`;
      const s1 = await v5(b.port, { clientId: id, clean: true, properties: { sessionExpiryInterval: 60 } });
      assert.deepEqual(await s1.subscribe(topic, 1), [1]);
      await s1.disconnect();
      const pub = await v5(b.port);
      await pub.publish(topic, 'while-offline', { qos: 1 });
      const [s2, ack] = await v5Connack(b.port, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
      assert.equal(ack.sessionPresent, true);
      const m = await s2.expectPublish();
      assert.equal(m.text, 'while-offline');
      assert.equal(m.qos, 1);
    });
  }

  it('[MQTT-3.1.2-4] [MQTT-3.2.2-2] Clean Start 1 discards an existing session: Session Present 0 and its subscriptions are gone', async () => {
    const id = uid('clean');
    const topic = `s/${uid('t')}`;
    const s1 = await v5(mqtt.port, { clientId: id, properties: { sessionExpiryInterval: 60 } });
    await s1.subscribe(topic, 1);
    await s1.disconnect();
    const [s2, ack] = await v5Connack(mqtt.port, { clientId: id, clean: true, properties: { sessionExpiryInterval: 60 } });
    assert.equal(ack.sessionPresent, false);
    const pub = await v5(mqtt.port);
    await pub.publish(topic, 'x', { qos: 1 });
    await s2.expectNoPacket(300);
  });

  it('[MQTT-3.1.2-6] [MQTT-3.2.2-3] with Session Expiry 0 (absent) nothing is kept: Clean Start 0 gets Session Present 0', async () => {
    const id = uid('eph');
    const s1 = await v5(mqtt.port, { clientId: id, clean: false });
    await s1.subscribe(`s/${uid('t')}`, 1);
    await s1.disconnect();
    const [, ack] = await v5Connack(mqtt.port, { clientId: id, clean: false });
    assert.equal(ack.sessionPresent, false);
  });

  it('[MQTT-3.1.2-25] the Session Expiry of the latest CONNECT applies: resuming without one (0) ends the session at the next disconnect', async () => {
    const id = uid('reset');
    const s1 = await v5(mqtt.port, { clientId: id, properties: { sessionExpiryInterval: 60 } });
    await s1.disconnect();
    const [s2, a] = await v5Connack(mqtt.port, { clientId: id, clean: false });
    assert.equal(a.sessionPresent, true);
    await s2.disconnect();
    const [, b] = await v5Connack(mqtt.port, { clientId: id, clean: false });
    assert.equal(b.sessionPresent, false);
  });

  it('[MQTT-4.1.0-2] the session is discarded once the Session Expiry Interval (1 s) has passed after the disconnect', async () => {
    const id = uid('exp');
    const s1 = await v5(mqtt.port, { clientId: id, properties: { sessionExpiryInterval: 1 } });
    await s1.subscribe(`s/${uid('t')}`, 1);
    await s1.disconnect();
    const [s2, early] = await v5Connack(mqtt.port, { clientId: id, clean: false, properties: { sessionExpiryInterval: 1 } });
    assert.equal(early.sessionPresent, true, 'still there right after the disconnect');
    await s2.disconnect();
    await sleep(2300);
    const [, late] = await v5Connack(mqtt.port, { clientId: id, clean: false, properties: { sessionExpiryInterval: 1 } });
    assert.equal(late.sessionPresent, false);
  });

  it('[MQTT-3.14.2-2] [MQTT-3.14.2.2.2] DISCONNECT raising Session Expiry from 0 to > 0 is a Protocol Error: DISCONNECT 0x82 (without Session Expiry), session not kept', async () => {
    const id = uid('raise');
    const c = await v5(mqtt.port, { clientId: id });
    disconnectWith(c, 0, { sessionExpiryInterval: 60 });
    await expectDisconnect(c, 0x82);
    const [, ack] = await v5Connack(mqtt.port, { clientId: id, clean: false });
    assert.equal(ack.sessionPresent, false);
  });

  it('[MQTT-3.14.2.2.2] DISCONNECT with Session Expiry 0 ends a persistent session at the disconnect', async () => {
    const id = uid('drop');
    const c = await v5(aws.port, { clientId: id, properties: { sessionExpiryInterval: 60 } });
    disconnectWith(c, 0, { sessionExpiryInterval: 0 });
    await c.waitClosed(2000);
    await sleep(50);
    const [, ack] = await v5Connack(aws.port, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.equal(ack.sessionPresent, false);
  });
});

describe('MQTT 5 DISCONNECT and the Will', () => {
  async function willWatcher(b: TestBroker, topic: string): Promise<RawClient> {
    const w = await v5(b.port);
    await w.subscribe(topic, 0);
    return w;
  }
  const will = (topic: string, extra: Record<string, unknown> = {}) => ({
    topic,
    payload: Buffer.from('gone'),
    qos: 0 as const,
    retain: false,
    ...extra,
  });

  it('[MQTT-3.14.4-3] [MQTT-3.1.2-10] DISCONNECT 0x00 discards the Will', async () => {
    const topic = `will/${uid('t')}`;
    const w = await willWatcher(mqtt, topic);
    const c = await v5(mqtt.port, { will: will(topic) });
    disconnectWith(c, 0x00);
    await c.waitClosed(2000);
    await w.expectNoPacket(400);
  });

  for (const profile of ['aws', 'mqtt'] as const) {
    it(`[MQTT-3.1.2-8] [MQTT-3.14.2.1] ${profile}: DISCONNECT 0x04 (Disconnect with Will Message) publishes the Will`, async () => {
      const b = profile === 'aws' ? aws : mqtt;
      const topic = `will/${uid('t')}`;
      const w = await willWatcher(b, topic);
      const c = await v5(b.port, { will: will(topic) });
      disconnectWith(c, 0x04);
      const m = await w.expectPublish();
      assert.equal(m.topic, topic);
      assert.equal(m.text, 'gone');
    });
  }

  it('[MQTT-3.1.2-8] a connection closed without DISCONNECT publishes the Will', async () => {
    const topic = `will/${uid('t')}`;
    const w = await willWatcher(aws, topic);
    const c = await v5(aws.port, { will: will(topic) });
    c.destroy();
    assert.equal((await w.expectPublish()).text, 'gone');
  });

  it('[MQTT-3.1.2-26] mqtt: reconnecting before the Will Delay Interval has passed means the Will is never sent', async () => {
    const topic = `will/${uid('t')}`;
    const id = uid('wd');
    const w = await willWatcher(mqtt, topic);
    const c = await v5(mqtt.port, { clientId: id, properties: { sessionExpiryInterval: 60 }, will: will(topic, { properties: { willDelayInterval: 1 } }) });
    c.destroy();
    await sleep(200);
    const [, ack] = await v5Connack(mqtt.port, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.equal(ack.sessionPresent, true);
    await w.expectNoPacket(1400);
  });

  it('[MQTT-3.1.2-8] mqtt: the Will is sent only once the Will Delay Interval (1 s) has passed', async () => {
    const topic = `will/${uid('t')}`;
    const w = await willWatcher(mqtt, topic);
    const c = await v5(mqtt.port, { properties: { sessionExpiryInterval: 60 }, will: will(topic, { properties: { willDelayInterval: 1 } }) });
    const t0 = Date.now();
    c.destroy();
    await w.expectNoPacket(600);
    const m = await w.expectPublish(2000);
    assert.equal(m.text, 'gone');
    assert.ok(Date.now() - t0 >= 900, 'not before the delay');
  });

  it('[MQTT-3.1.2-8] mqtt: the Will is sent when the session ends, if that comes before the Will Delay Interval', async () => {
    const topic = `will/${uid('t')}`;
    const w = await willWatcher(mqtt, topic);
    const c = await v5(mqtt.port, { properties: { sessionExpiryInterval: 1 }, will: will(topic, { properties: { willDelayInterval: 30 } }) });
    c.destroy();
    const m = await w.expectPublish(3000);
    assert.equal(m.text, 'gone');
  });

  for (const profile of ['aws', 'mqtt'] as const) {
    it(`[MQTT-3.1.3.2.4] ${profile}: the Will's Message Expiry Interval counts from its publication, not from CONNECT`, async () => {
      const b = profile === 'aws' ? aws : mqtt;
      const topic = `will/${uid('t')}`;
      const w = await willWatcher(b, topic);
      const c = await v5(b.port, { will: will(topic, { properties: { messageExpiryInterval: 2 } }) });
      await sleep(2200);
      c.destroy();
      const m = await w.expectPublish();
      assert.equal(m.text, 'gone');
      const left = m.properties?.messageExpiryInterval;
      assert.ok(left !== undefined && left >= 1 && left <= 2, `expiry ${left}`);
    });
  }

  it('[spec/mqtt.md section 8] aws: Will Delay Interval is ignored, the Will is published at once', async () => {
    const topic = `will/${uid('t')}`;
    const w = await willWatcher(aws, topic);
    const c = await v5(aws.port, { properties: { sessionExpiryInterval: 60 }, will: will(topic, { properties: { willDelayInterval: 30 } }) });
    c.destroy();
    assert.equal((await w.expectPublish(1000)).text, 'gone');
  });
});

describe('MQTT 5 server-initiated DISCONNECT', () => {
  it('[MQTT-3.1.2-24] [MQTT-4.13] mqtt: no packet within 1.5 x Keep Alive (1 s) → DISCONNECT 0x8D (Keep Alive timeout) and close', async () => {
    const c = await v5(mqtt.port, { keepalive: 1 });
    const t0 = Date.now();
    await expectDisconnect(c, 0x8d, 3000);
    assert.ok(Date.now() - t0 >= 1300, `closed after ${Date.now() - t0} ms, before 1.5 x keep-alive`);
  });

  it('[MQTT-3.1.2-24] a PINGREQ within the keep-alive keeps the connection open', async () => {
    const c = await v5(mqtt.port, { keepalive: 1 });
    for (let i = 0; i < 3; i++) {
      await sleep(600);
      c.send({ cmd: 'pingreq' });
      await c.expectPacket('pingresp');
    }
  });

  for (const profile of ['aws', 'mqtt'] as const) {
    it(`[MQTT-3.1.4-3] ${profile}: a second connection with the same Client Identifier gets the old one DISCONNECT 0x8E (Session taken over)`, async () => {
      const b = profile === 'aws' ? aws : mqtt;
      const id = uid('dup');
      const old = await v5(b.port, { clientId: id });
      const fresh = await v5(b.port, { clientId: id });
      await expectDisconnect(old, 0x8e);
      fresh.send({ cmd: 'pingreq' });
      await fresh.expectPacket('pingresp');
    });
  }

  for (const profile of ['aws', 'mqtt'] as const) {
    it(`[MQTT-4.13] [MQTT-3.14.2-1] ${profile}: broker.close() sends DISCONNECT 0x8B (Server shutting down) to MQTT 5 clients`, async () => {
      const b = await startBroker(profile);
      try {
        const c1 = await v5(b.port);
        const c2 = await v5(b.port, { properties: { sessionExpiryInterval: 60 } });
        const closing = b.broker.close();
        await expectDisconnect(c1, 0x8b);
        await expectDisconnect(c2, 0x8b);
        await closing;
      } finally {
        await b.close();
      }
    });
  }
});
