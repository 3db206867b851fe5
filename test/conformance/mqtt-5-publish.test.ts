/**
 * Proves that the broker honours the MQTT 5.0 normative statements on PUBLISH: property forwarding,
 * topic aliases, message expiry, Maximum Packet Size and Receive Maximum flow control, PUBACK reason
 * codes and the QoS 2 exchange (mqtt profile; aws refuses QoS 2), over a raw socket.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, RawClient, uid, sleep, type TestBroker, type ConnectOptions } from './helpers/broker.js';
import { closeAfterTest, destroyOpenClients, expectDisconnect, v5 } from './helpers/v5.js';




// ---- raw MQTT 5 encoding/decoding, for what mqtt-packet cannot express (interleaved user properties)

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const str = (s: string): Buffer => Buffer.concat([u16(Buffer.byteLength(s)), Buffer.from(s)]);
function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
const userProp = (k: string, v: string): Buffer => Buffer.concat([Buffer.from([0x26]), str(k), str(v)]);

function rawPublish(topic: string, payload: Buffer, qos: 0 | 1, packetId: number, props: Buffer): Buffer {
  const body = Buffer.concat([str(topic), qos > 0 ? u16(packetId) : Buffer.alloc(0), varint(props.length), props, payload]);
  return Buffer.concat([Buffer.from([0x30 | (qos << 1)]), varint(body.length), body]);
}

/** The user properties, in wire order, of the first PUBLISH frame in `bytes`. */
function userPropertiesOfFirstPublish(bytes: Buffer): Array<[string, string]> {
  let p = 0;
  for (;;) {
    const type = bytes[p]! >> 4;
    let len = 0;
    let mul = 1;
    let q = p + 1;
    for (;;) {
      const b = bytes[q++]!;
      len += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) break;
    }
    if (type !== 3) {
      p = q + len;
      continue;
    }
    const qos = (bytes[p]! >> 1) & 3;
    let r = q;
    r += 2 + bytes.readUInt16BE(r);
    if (qos > 0) r += 2;
    let plen = 0;
    mul = 1;
    for (;;) {
      const b = bytes[r++]!;
      plen += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) break;
    }
    const end = r + plen;
    const out: Array<[string, string]> = [];
    const readStr = (): string => {
      const n = bytes.readUInt16BE(r);
      const s = bytes.subarray(r + 2, r + 2 + n).toString('utf8');
      r += 2 + n;
      return s;
    };
    while (r < end) {
      const id = bytes[r++]!;
      if (id === 0x01) r += 1;
      else if (id === 0x02) r += 4;
      else if (id === 0x23) r += 2;
      else if (id === 0x03 || id === 0x08 || id === 0x09) r += 2 + bytes.readUInt16BE(r);
      else if (id === 0x0b) while (bytes[r++]! & 0x80);
      else if (id === 0x26) out.push([readStr(), readStr()]);
      else throw new Error(`unexpected property 0x${id.toString(16)}`);
    }
    return out;
  }
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

/** A subscriber on a fresh topic and a publisher. */
async function pair(b: TestBroker, qos: 0 | 1 | 2 = 1, subOpts: ConnectOptions = {}): Promise<{ sub: RawClient; pub: RawClient; topic: string }> {
  const topic = `p/${uid('t')}`;
  const sub = await v5(b.port, subOpts);
  await sub.subscribe(topic, qos);
  const pub = await v5(b.port);
  return { sub, pub, topic };
}

describe('MQTT 5 PUBLISH properties are forwarded', () => {
  for (const profile of ['aws', 'mqtt'] as const) {
    it(`[MQTT-3.3.2-17] [MQTT-3.3.2-18] ${profile}: User Properties reach the subscriber unaltered and in order (repeated names interleaved)`, async () => {
      const b = profile === 'aws' ? aws : mqtt;
      const { sub, pub, topic } = await pair(b, 1);
      const raw: Buffer[] = [];
      sub.socket.on('data', (d: Buffer) => raw.push(d));
      const sent: Array<[string, string]> = [
        ['z', '1'],
        ['a', '2'],
        ['z', '3'],
        ['é', 'ü'],
        ['a', ''],
      ];
      pub.sendRaw(rawPublish(topic, Buffer.from('up'), 1, 9, Buffer.concat(sent.map(([k, v]) => userProp(k, v)))));
      const ack = await pub.expectPacket('puback');
      assert.equal(ack.messageId, 9);
      const m = await sub.expectPublish();
      assert.equal(m.text, 'up');
      assert.deepEqual(userPropertiesOfFirstPublish(Buffer.concat(raw)), sent);
    });
  }

  it('[MQTT-3.3.2-15] [MQTT-3.3.2-16] Response Topic and (binary) Correlation Data are forwarded unaltered', async () => {
    const { sub, pub, topic } = await pair(aws, 1);
    const corr = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x41]);
    await pub.publish(topic, 'req', { qos: 1, properties: { responseTopic: 'reply/to/me', correlationData: corr } });
    const m = await sub.expectPublish();
    assert.equal(m.properties?.responseTopic, 'reply/to/me');
    assert.deepEqual(Buffer.from(m.properties?.correlationData ?? []), corr);
  });

  it('[MQTT-3.3.2-4] [MQTT-3.3.2-20] Payload Format Indicator and Content Type are forwarded unaltered', async () => {
    const { sub, pub, topic } = await pair(mqtt, 0);
    await pub.publish(topic, '{"a":1}', { qos: 0, properties: { payloadFormatIndicator: true, contentType: 'application/json; charset=utf-8' } });
    const m = await sub.expectPublish();
    assert.equal(m.properties?.payloadFormatIndicator, true);
    assert.equal(m.properties?.contentType, 'application/json; charset=utf-8');
    await pub.publish(topic, Buffer.from([0xff]), { qos: 0, properties: { payloadFormatIndicator: false } });
    const m2 = await sub.expectPublish();
    assert.equal(m2.properties?.payloadFormatIndicator, false);
  });

  it('[MQTT-3.3.2.3.2] Payload Format Indicator 1 with a payload that is not UTF-8: PUBACK 0x99 (Payload format invalid), not delivered', async () => {
    const { sub, pub, topic } = await pair(mqtt, 1);
    pub.send({ cmd: 'publish', topic, payload: Buffer.from([0x61, 0xc3, 0x28]), qos: 1, messageId: 5, retain: false, dup: false, properties: { payloadFormatIndicator: true } });
    const ack = await pub.expectPacket('puback');
    assert.equal(ack.messageId, 5);
    assert.equal(ack.reasonCode, 0x99);
    await sub.expectNoPacket(300);
  });

  it('[MQTT-3.3.2-14] a Response Topic with a wildcard is a Protocol Error (DISCONNECT 0x82)', async () => {
    const { pub, topic } = await pair(mqtt, 1);
    pub.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 1, messageId: 3, retain: false, dup: false, properties: { responseTopic: 'a/+' } });
    await expectDisconnect(pub, 0x82);
  });

  it('[MQTT-3.3.4-6] a client PUBLISH carrying a Subscription Identifier is a Protocol Error', async () => {
    const { pub, topic } = await pair(mqtt, 1);
    pub.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { subscriptionIdentifier: 3 } });
    await expectDisconnect(pub, 0x82);
  });
});

describe('MQTT 5 Topic Alias (client → server)', () => {
  for (const profile of ['aws', 'mqtt'] as const) {
    it(`[MQTT-3.3.2-12] ${profile}: an alias set with a topic stands for that topic when the topic is empty; it can be remapped`, async () => {
      const b = profile === 'aws' ? aws : mqtt;
      const { sub, pub, topic } = await pair(b, 0);
      await sub.subscribe(`${topic}/two`, 0);
      const send = (t: string, payload: string): void =>
        pub.send({ cmd: 'publish', topic: t, payload: Buffer.from(payload), qos: 0, retain: false, dup: false, properties: { topicAlias: 8 } });
      send(topic, 'one');
      send('', 'one-again');
      send(`${topic}/two`, 'two');
      send('', 'two-again');
      const got = [await sub.expectPublish(), await sub.expectPublish(), await sub.expectPublish(), await sub.expectPublish()];
      assert.deepEqual(
        got.map((m) => [m.topic, m.text]),
        [
          [topic, 'one'],
          [topic, 'one-again'],
          [`${topic}/two`, 'two'],
          [`${topic}/two`, 'two-again'],
        ],
      );
      for (const m of got) assert.equal(m.properties?.topicAlias, undefined, 'no alias sent to a client that allowed none [MQTT-3.1.2-30]');
    });
  }

  it('[MQTT-3.3.2-8] [MQTT-3.3.2.3.4] Topic Alias 0 → DISCONNECT 0x94 (Topic Alias invalid)', async () => {
    const c = await v5(mqtt.port);
    c.sendRaw(rawPublish('a/b', Buffer.from('x'), 0, 0, Buffer.from([0x23, 0x00, 0x00])));
    await expectDisconnect(c, 0x94);
  });

  it('[MQTT-3.3.2-9] aws: Topic Alias above the Topic Alias Maximum (8) → DISCONNECT 0x94', async () => {
    const c = await v5(aws.port);
    c.send({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 9 } });
    await expectDisconnect(c, 0x94);
  });

  it('[MQTT-3.3.2.3.4] an empty topic with an alias that has no mapping is a Protocol Error (DISCONNECT 0x82)', async () => {
    const c = await v5(aws.port);
    c.send({ cmd: 'publish', topic: '', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
    await expectDisconnect(c, 0x82);
  });

  it('[MQTT-3.3.2-7] alias mappings do not carry over to a new connection of the same session', async () => {
    const id = uid('alias');
    const c1 = await v5(mqtt.port, { clientId: id, properties: { sessionExpiryInterval: 60 } });
    c1.send({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
    await c1.disconnect();
    const c2 = await v5(mqtt.port, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    c2.send({ cmd: 'publish', topic: '', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
    await expectDisconnect(c2, 0x82);
  });
});

describe('MQTT 5 Topic Alias (server → client)', () => {
  it('[MQTT-3.3.2-9] [MQTT-3.3.2-12] mqtt: the first PUBLISH on a topic sets an alias, later ones send it with an empty topic; no alias above the client\'s Topic Alias Maximum', async () => {
    const base = `p/${uid('ta')}`;
    const sub = await v5(mqtt.port, { properties: { topicAliasMaximum: 2 } });
    await sub.subscribe(`${base}/#`, 1);
    const pub = await v5(mqtt.port);
    let id = 1;
    for (const leaf of ['a', 'a', 'b', 'b', 'c', 'c', 'a']) {
      pub.send({ cmd: 'publish', topic: `${base}/${leaf}`, payload: Buffer.from(leaf), qos: 1, messageId: id++, retain: false, dup: false, properties: { userProperties: { k: 'v' } } });
    }
    const got: Array<[string, number | undefined, string]> = [];
    for (let i = 0; i < 7; i++) {
      const m = await sub.expectPublish();
      got.push([m.topic, m.properties?.topicAlias, m.text]);
      assert.deepEqual({ ...m.properties?.userProperties }, { k: 'v' }, 'the other properties are kept');
      sub.send({ cmd: 'puback', messageId: m.messageId ?? 0 });
    }
    assert.deepEqual(got, [
      [`${base}/a`, 1, 'a'],
      ['', 1, 'a'],
      [`${base}/b`, 2, 'b'],
      ['', 2, 'b'],
      [`${base}/c`, undefined, 'c'],
      [`${base}/c`, undefined, 'c'],
      ['', 1, 'a'],
    ]);
  });

  it('[MQTT-3.3.2-10] mqtt: aliases belong to the network connection: a new connection of the same session starts without them', async () => {
    const id = uid('tar');
    const topic = `p/${uid('t')}`;
    const props = { topicAliasMaximum: 4, sessionExpiryInterval: 60 };
    const c1 = await v5(mqtt.port, { clientId: id, properties: props });
    await c1.subscribe(topic, 0);
    const pub = await v5(mqtt.port);
    pub.send({ cmd: 'publish', topic, payload: Buffer.from('1'), qos: 0, retain: false, dup: false });
    const first = await c1.expectPublish();
    assert.deepEqual([first.topic, first.properties?.topicAlias], [topic, 1]);
    await c1.disconnect();
    const c2 = await v5(mqtt.port, { clientId: id, clean: false, properties: props });
    pub.send({ cmd: 'publish', topic, payload: Buffer.from('2'), qos: 0, retain: false, dup: false });
    const again = await c2.expectPublish();
    assert.deepEqual([again.topic, again.properties?.topicAlias, again.text], [topic, 1, '2'], 'the topic is sent again with the alias');
  });

  it('aws: no alias is sent even to a client that allows them (AWS does not document server aliases)', async () => {
    const { sub, pub, topic } = await pair(aws, 0, { properties: { topicAliasMaximum: 8 } });
    for (let i = 0; i < 2; i++) pub.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    for (let i = 0; i < 2; i++) {
      const m = await sub.expectPublish();
      assert.deepEqual([m.topic, m.properties?.topicAlias], [topic, undefined]);
    }
  });
});

describe('MQTT 5 Message Expiry Interval', () => {
  it('[MQTT-3.3.2-5] [MQTT-3.3.2-6] a message queued for an offline session expires; the others are delivered with the decremented Message Expiry Interval', async () => {
    const id = uid('mexp');
    const topic = `e/${uid('t')}`;
    const s1 = await v5(mqtt.port, { clientId: id, properties: { sessionExpiryInterval: 60 } });
    await s1.subscribe(topic, 1);
    await s1.disconnect();
    const pub = await v5(mqtt.port);
    await pub.publish(topic, 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publish(topic, 'long', { qos: 1, properties: { messageExpiryInterval: 30 } });
    await pub.publish(topic, 'forever', { qos: 1 });
    await sleep(2100);
    const s2 = await v5(mqtt.port, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    const a = await s2.expectPublish();
    const b = await s2.expectPublish();
    assert.deepEqual([a.text, b.text], ['long', 'forever']);
    const left = a.properties?.messageExpiryInterval;
    assert.ok(left !== undefined && left >= 26 && left <= 28, `expiry ${left} after ~2 s of waiting`);
    assert.equal(b.properties?.messageExpiryInterval, undefined);
    s2.send({ cmd: 'puback', messageId: a.messageId! });
    s2.send({ cmd: 'puback', messageId: b.messageId! });
    await s2.expectNoPacket(200);
  });

  it('[MQTT-3.3.2-6] a message forwarded at once carries (about) the received Message Expiry Interval', async () => {
    const { sub, pub, topic } = await pair(mqtt, 0);
    await pub.publish(topic, 'x', { qos: 0, properties: { messageExpiryInterval: 100 } });
    const m = await sub.expectPublish();
    const left = m.properties?.messageExpiryInterval;
    assert.ok(left === 99 || left === 100, `expiry ${left}`);
  });

  it('[spec/mqtt.md section 12] aws: Message Expiry above 7 days is clamped to 604800', async () => {
    const { sub, pub, topic } = await pair(aws, 0);
    await pub.publish(topic, 'x', { qos: 0, properties: { messageExpiryInterval: 10_000_000 } });
    const m = await sub.expectPublish();
    const left = m.properties?.messageExpiryInterval ?? 0;
    assert.ok(left <= 604800 && left >= 604799, `expiry ${left}`);
  });

  it('[MQTT-3.3.2-5] an expired retained message is not sent to a new subscriber', async () => {
    const topic = `e/${uid('r')}`;
    const pub = await v5(mqtt.port);
    await pub.publish(topic, 'stale', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    await sleep(1100);
    const sub = await v5(mqtt.port);
    await sub.subscribe(topic, 1);
    await sub.expectNoPacket(300);
  });
});

describe('MQTT 5 flow control and packet size', () => {
  it('[MQTT-3.1.2-27] [MQTT-3.1.2-28] the server does not send a PUBLISH larger than the client\'s Maximum Packet Size: it is dropped for that client', async () => {
    const { sub, pub, topic } = await pair(mqtt, 1, { properties: { maximumPacketSize: 64 } });
    const other = await v5(mqtt.port);
    await other.subscribe(topic, 1);
    const big = 'x'.repeat(100);
    await pub.publish(topic, big, { qos: 0 });
    await pub.publish(topic, big, { qos: 1 });
    await pub.publish(topic, 'small', { qos: 1 });
    const m = await sub.expectPublish();
    assert.equal(m.text, 'small');
    await sub.expectNoPacket(200, { allowClose: false });
    const seen = [await other.expectPublish(), await other.expectPublish(), await other.expectPublish()].map((p) => p.text.length);
    assert.deepEqual(seen, [100, 100, 5], 'a client without the limit gets everything');
  });

  it('[MQTT-3.1.2-28] a queued message too large for the reconnecting client\'s Maximum Packet Size is discarded, not sent', async () => {
    const id = uid('mps');
    const topic = `m/${uid('t')}`;
    const s1 = await v5(mqtt.port, { clientId: id, properties: { sessionExpiryInterval: 60 } });
    await s1.subscribe(topic, 1);
    await s1.disconnect();
    const pub = await v5(mqtt.port);
    await pub.publish(topic, 'y'.repeat(100), { qos: 1 });
    await pub.publish(topic, 'small', { qos: 1 });
    const s2 = await v5(mqtt.port, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60, maximumPacketSize: 64 } });
    const m = await s2.expectPublish();
    assert.equal(m.text, 'small');
    s2.send({ cmd: 'puback', messageId: m.messageId! });
    await s2.expectNoPacket(200);
  });

  it('[MQTT-3.2.2.3.6] a packet larger than the Maximum Packet Size the server advertised → DISCONNECT 0x95 (Packet too large)', async () => {
    const b = await startBroker('mqtt', { limits: { maxPacketBytes: 1000 } });
    try {
      const c = await RawClient.open(b.port, { protocolVersion: 5 });
      closeAfterTest(c);
      const ack = await c.connect({ protocolVersion: 5 });
      assert.equal(ack.properties?.maximumPacketSize, 1000);
      c.send({ cmd: 'publish', topic: 'big/t', payload: Buffer.alloc(2000, 0x61), qos: 0, retain: false, dup: false });
      await expectDisconnect(c, 0x95);
    } finally {
      await b.close();
    }
  });

  it('[MQTT-3.3.4-9] [MQTT-4.9.0-2] [MQTT-4.9.0-3] the server sends no more unacknowledged QoS 1 PUBLISHes than the client\'s Receive Maximum (2), and still answers other packets', async () => {
    const { sub, pub, topic } = await pair(mqtt, 1, { properties: { receiveMaximum: 2 } });
    for (const t of ['m1', 'm2', 'm3']) await pub.publish(topic, t, { qos: 1 });
    const p1 = await sub.expectPublish();
    const p2 = await sub.expectPublish();
    assert.deepEqual([p1.text, p2.text], ['m1', 'm2']);
    await sub.expectNoPacket(300);
    sub.send({ cmd: 'pingreq' });
    await sub.expectPacket('pingresp');
    sub.send({ cmd: 'puback', messageId: p1.messageId! });
    const p3 = await sub.expectPublish();
    assert.equal(p3.text, 'm3');
  });

  it('[MQTT-3.3.4-7] [MQTT-3.2.2.3.3] mqtt: a client exceeding the server\'s Receive Maximum (2) with unreleased QoS 2 PUBLISHes gets DISCONNECT 0x93', async () => {
    const b = await startBroker('mqtt', { limits: { receiveMaximum: 2 } });
    try {
      const c = await RawClient.open(b.port, { protocolVersion: 5 });
      closeAfterTest(c);
      const ack = await c.connect({ protocolVersion: 5 });
      assert.equal(ack.properties?.receiveMaximum, 2);
      for (const id of [1, 2]) {
        c.send({ cmd: 'publish', topic: 'rm/t', payload: Buffer.from('x'), qos: 2, messageId: id, retain: false, dup: false });
        assert.equal((await c.expectPacket('pubrec')).messageId, id);
      }
      c.send({ cmd: 'publish', topic: 'rm/t', payload: Buffer.from('x'), qos: 2, messageId: 3, retain: false, dup: false });
      await expectDisconnect(c, 0x93);
    } finally {
      await b.close();
    }
  });

  it('[MQTT-3.3.4-7] [MQTT-3.2.2.3.3] mqtt: a QoS 2 flow completed with PUBREL frees its Receive Maximum slot', async () => {
    const b = await startBroker('mqtt', { limits: { receiveMaximum: 2 } });
    try {
      const c = await RawClient.open(b.port, { protocolVersion: 5 });
      closeAfterTest(c);
      await c.connect({ protocolVersion: 5 });
      for (let i = 0; i < 5; i++) await c.publish('rm/t', `m${i}`, { qos: 2 });
      await c.publish('rm/t', 'q1', { qos: 1 });
    } finally {
      await b.close();
    }
  });

  it('[MQTT-3.3.4-7] aws (with a store): more unacknowledged QoS 1 PUBLISHes than Receive Maximum (2) → DISCONNECT 0x93', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-rm-'));
    const b = await startBroker('aws', { limits: { receiveMaximum: 2 }, sqlitePath: join(dir, 'db.sqlite') });
    try {
      const c = await RawClient.open(b.port, { protocolVersion: 5 });
      closeAfterTest(c);
      await c.connect({ protocolVersion: 5 });
      // Retained QoS 1 publishes are acknowledged only once stored: three in one write exceed the window.
      const mk = (id: number): Buffer => rawPublish('rm/t', Buffer.from('x'), 1, id, Buffer.alloc(0));
      const bytes = Buffer.concat([mk(1), mk(2), mk(3)]);
      bytes[0] = bytes[0]! | 1;
      const second = mk(1).length;
      bytes[second] = bytes[second]! | 1;
      bytes[2 * second] = bytes[2 * second]! | 1;
      c.sendRaw(bytes);
      await expectDisconnect(c, 0x93);
    } finally {
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('MQTT 5 PUBACK reason codes', () => {
  it('[MQTT-3.4.2-1] [MQTT-3.4.2.1] mqtt: QoS 1 PUBLISH nobody subscribed to → PUBACK 0x10 (No matching subscribers)', async () => {
    const c = await v5(mqtt.port);
    c.send({ cmd: 'publish', topic: `nobody/${uid('t')}`, payload: Buffer.from('x'), qos: 1, messageId: 2, retain: false, dup: false });
    const ack = await c.expectPacket('puback');
    assert.equal(ack.reasonCode, 0x10);
  });

  it('[spec/mqtt.md section 11] aws: QoS 1 PUBLISH nobody subscribed to → PUBACK 0x00', async () => {
    const c = await v5(aws.port);
    c.send({ cmd: 'publish', topic: `nobody/${uid('t')}`, payload: Buffer.from('x'), qos: 1, messageId: 2, retain: false, dup: false });
    const ack = await c.expectPacket('puback');
    assert.equal(ack.reasonCode ?? 0, 0x00);
  });

  for (const profile of ['aws', 'mqtt'] as const) {
    it(`[MQTT-3.4.2-1] ${profile}: a PUBLISH denied by authorizePublish → PUBACK 0x87 (Not authorized), not delivered, connection kept`, async () => {
      const b = await startBroker(profile, { hooks: { authorizePublish: (_c, topic) => !topic.startsWith('deny/') } });
      try {
        const sub = await v5(b.port);
        await sub.subscribe('deny/#', 1);
        const c = await v5(b.port);
        c.send({ cmd: 'publish', topic: 'deny/x', payload: Buffer.from('x'), qos: 1, messageId: 4, retain: false, dup: false });
        const ack = await c.expectPacket('puback');
        assert.equal(ack.messageId, 4);
        assert.equal(ack.reasonCode, 0x87);
        await sub.expectNoPacket(200);
        await c.publish('ok/x', 'fine', { qos: 1 });
      } finally {
        await b.close();
      }
    });
  }
});

describe('MQTT 5 QoS 2', () => {
  it('[MQTT-4.3.3-10] [MQTT-4.4.0-1] mqtt: a QoS 2 PUBLISH re-sent with DUP after a reconnect (before PUBREL) is delivered exactly once', async () => {
    const { sub, topic } = await pair(mqtt, 2);
    const id = uid('q2pub');
    const p1 = await v5(mqtt.port, { clientId: id, properties: { sessionExpiryInterval: 60 } });
    p1.send({ cmd: 'publish', topic, payload: Buffer.from('once'), qos: 2, messageId: 7, retain: false, dup: false });
    assert.equal((await p1.expectPacket('pubrec')).messageId, 7);
    p1.destroy();
    await sleep(50);
    const p2 = await RawClient.open(mqtt.port, { protocolVersion: 5 });
    closeAfterTest(p2);
    const ack = await p2.connect({ protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.equal(ack.sessionPresent, true);
    p2.send({ cmd: 'publish', topic, payload: Buffer.from('once'), qos: 2, messageId: 7, retain: false, dup: true });
    const rec = await p2.expectPacket('pubrec');
    assert.equal(rec.messageId, 7);
    assert.ok((rec.reasonCode ?? 0) < 0x80);
    p2.send({ cmd: 'pubrel', messageId: 7 });
    const comp = await p2.expectPacket('pubcomp');
    assert.equal(comp.messageId, 7);
    assert.equal(comp.reasonCode ?? 0, 0);
    const m = await sub.expectPublish();
    assert.equal(m.text, 'once');
    assert.equal(m.qos, 2);
    await sub.ack(m);
    await sub.expectNoPacket(400);
  });

  it('[MQTT-4.3.3-4] [MQTT-4.3.3-11] mqtt: outbound QoS 2: PUBLISH → PUBREC → PUBREL → PUBCOMP, then the next message flows', async () => {
    const { sub, pub, topic } = await pair(mqtt, 2);
    await pub.publish(topic, 'a', { qos: 2 });
    const m = await sub.expectPublish();
    assert.equal(m.qos, 2);
    assert.equal(m.dup, false);
    sub.send({ cmd: 'pubrec', messageId: m.messageId! });
    const rel = await sub.expectPacket('pubrel');
    assert.equal(rel.messageId, m.messageId);
    sub.send({ cmd: 'pubcomp', messageId: m.messageId! });
    await pub.publish(topic, 'b', { qos: 2 });
    const m2 = await sub.expectPublish();
    assert.equal(m2.text, 'b');
  });

  it('[MQTT-4.4.0-1] [MQTT-3.3.1-1] mqtt: on resume the server re-sends an unacknowledged PUBLISH with DUP=1 and its packet id, and a pending PUBREL', async () => {
    const id = uid('q2sub');
    const topic = `q2/${uid('t')}`;
    const s1 = await v5(mqtt.port, { clientId: id, properties: { sessionExpiryInterval: 60 } });
    await s1.subscribe(topic, 2);
    const pub = await v5(mqtt.port);
    await pub.publish(topic, 'released', { qos: 2 });
    await pub.publish(topic, 'unacked', { qos: 2 });
    const a = await s1.expectPublish();
    const b = await s1.expectPublish();
    assert.deepEqual([a.text, b.text], ['released', 'unacked']);
    s1.send({ cmd: 'pubrec', messageId: a.messageId! });
    assert.equal((await s1.expectPacket('pubrel')).messageId, a.messageId);
    s1.destroy();
    await sleep(50);
    const s2 = await RawClient.open(mqtt.port, { protocolVersion: 5 });
    closeAfterTest(s2);
    const ack = await s2.connect({ protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.equal(ack.sessionPresent, true);
    const got = [await s2.nextPacket(), await s2.nextPacket()];
    const rel = got.find((p) => p.cmd === 'pubrel');
    const again = got.find((p) => p.cmd === 'publish');
    assert.ok(rel && rel.cmd === 'pubrel' && rel.messageId === a.messageId, 'PUBREL re-sent');
    assert.ok(again && again.cmd === 'publish', 'PUBLISH re-sent');
    assert.equal(again.messageId, b.messageId);
    assert.equal(again.dup, true);
    assert.equal(Buffer.from(again.payload).toString(), 'unacked');
    s2.send({ cmd: 'pubcomp', messageId: a.messageId! });
    s2.send({ cmd: 'pubrec', messageId: b.messageId! });
    assert.equal((await s2.expectPacket('pubrel')).messageId, b.messageId);
    s2.send({ cmd: 'pubcomp', messageId: b.messageId! });
    await s2.expectNoPacket(200);
  });

  it('[MQTT-4.4.0-2] [MQTT-4.9.0-2] mqtt: a PUBREC with a failure code ends the exchange: no PUBREL, no resend, the Receive Maximum slot is freed', async () => {
    const { sub, pub, topic } = await pair(mqtt, 2, { properties: { receiveMaximum: 1 } });
    await pub.publish(topic, 'refused', { qos: 2 });
    await pub.publish(topic, 'next', { qos: 2 });
    const m = await sub.expectPublish();
    assert.equal(m.text, 'refused');
    sub.send({ cmd: 'pubrec', messageId: m.messageId!, reasonCode: 0x80 });
    const n = await sub.expectPublish();
    assert.equal(n.text, 'next', 'no PUBREL for the refused one, the next message is sent');
    await sub.ack(n);
    await sub.expectNoPacket(200);
  });

  it('[MQTT-3.7.2-1] [MQTT-4.3.3-11] mqtt: a PUBREL for an unknown packet id gets PUBCOMP 0x92 (Packet Identifier not found)', async () => {
    const c = await v5(mqtt.port);
    c.send({ cmd: 'pubrel', messageId: 4321 });
    const comp = await c.expectPacket('pubcomp');
    assert.equal(comp.messageId, 4321);
    assert.equal(comp.reasonCode, 0x92);
  });

  it('[MQTT-3.2.2-11] [spec/mqtt.md section 5] aws: a QoS 2 PUBLISH → DISCONNECT 0x9B (QoS not supported)', async () => {
    const c = await v5(aws.port);
    c.send({ cmd: 'publish', topic: 'q/2', payload: Buffer.from('x'), qos: 2, messageId: 1, retain: false, dup: false });
    await expectDisconnect(c, 0x9b);
  });

  it('[MQTT-3.8.4-8] aws: a QoS 1 message to a QoS 0 subscription is delivered at QoS 0', async () => {
    const { sub, pub, topic } = await pair(aws, 0);
    await pub.publish(topic, 'down', { qos: 1 });
    const m = await sub.expectPublish();
    assert.equal(m.qos, 0);
  });
});
