// Proves, over raw TCP bytes, that the broker honours the normative statements of MQTT 3.1.1 a server must
// (mqtt profile), and that the aws profile deviates exactly where AWS IoT Core does (spec/mqtt.md).
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import mqttPacket from 'mqtt-packet';
import type { IPublishPacket } from 'mqtt-packet';
import type { BrokerHooks } from '../../src/mqtt/index.js';
import { startBroker, RawClient, assertHealthy, collectPublishes, uid, sleep, type TestBroker } from './helpers/broker.js';

/** Filters/topics under `denied/` are refused by the hooks (to test the 3.1.1 denial behaviour). */
const denyHooks: BrokerHooks = {
  authorizeSubscribe: (_c, filter) => !filter.startsWith('denied/'),
  authorizePublish: (_c, topic) => !topic.startsWith('denied/'),
};

/** A 3.1.1 CONNECT (remaining length < 128): byte 8 = protocol level, byte 9 = connect flags. */
function connectBytes(clientId: string, fields: { clean?: boolean; keepalive?: number } = {}): Buffer {
  const b = mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: fields.clean ?? true,
    keepalive: fields.keepalive ?? 60,
    clientId,
  });
  assert.ok(b.length < 129, 'test CONNECT must have a 1-byte remaining length');
  return b;
}

/** CONNECT with an empty client id and clean=0 (mqtt-packet refuses to generate one). */
function emptyIdPersistentConnect(): Buffer {
  const b = connectBytes('', { clean: true });
  b[9] = b[9]! & ~0x02;
  return b;
}

async function sub(port: number, filters: string | string[], qos: 0 | 1 | 2 = 0, opts: { clientId?: string; clean?: boolean } = {}): Promise<RawClient> {
  const c = await RawClient.connect(port, { clientId: opts.clientId ?? uid('sub'), clean: opts.clean ?? true });
  const list = typeof filters === 'string' ? [filters] : filters;
  const granted = await c.subscribe(list, qos);
  assert.deepEqual(granted, list.map(() => qos));
  return c;
}

describe('MQTT 3.1.1 conformance (mqtt profile)', () => {
  let b: TestBroker;
  let port: number;
  before(async () => {
    b = await startBroker('mqtt', { hooks: denyHooks });
    port = b.port;
  });
  after(async () => {
    await b.close();
  });

  // ---------------------------------------------------------------------------------------------
  // CONNECT / CONNACK

  it('[MQTT-3.1.0-1] first packet must be CONNECT: anything else closes the connection', async () => {
    for (const first of [
      { cmd: 'pingreq' as const },
      { cmd: 'subscribe' as const, messageId: 1, subscriptions: [{ topic: 'a', qos: 0 as const }] },
      { cmd: 'publish' as const, topic: 'a', payload: Buffer.from('x'), qos: 0 as const, retain: false, dup: false },
    ]) {
      const c = await RawClient.open(port);
      c.send(first);
      const got = await c.expectClose();
      assert.deepEqual(got, [], `nothing may be answered to a first ${first.cmd}`);
    }
    await assertHealthy(port);
  });

  it('[MQTT-3.1.0-2] a second CONNECT is a protocol violation: the connection is closed', async () => {
    const c = await RawClient.connect(port);
    c.send({ cmd: 'connect', clientId: uid(), protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60 });
    assert.deepEqual(await c.expectClose(), []);
  });

  it('[MQTT-3.1.2-1] an incorrect protocol name: the connection is closed without CONNACK', async () => {
    const bytes = connectBytes(uid());
    bytes.write('MQTX', 4, 'latin1');
    const c = await RawClient.open(port);
    c.sendRaw(bytes);
    assert.deepEqual(await c.expectClose(), []);
  });

  it('[MQTT-3.1.2-2] an unsupported protocol level: CONNACK 0x01 then close', async () => {
    const bytes = connectBytes(uid());
    bytes[8] = 6;
    const c = await RawClient.open(port);
    c.sendRaw(bytes);
    const got = await c.expectClose();
    assert.equal(got.length, 1);
    const connack = got[0]!;
    assert.equal(connack.cmd, 'connack');
    assert.equal(connack.cmd === 'connack' && connack.returnCode, 1);
    assert.equal(connack.cmd === 'connack' && connack.sessionPresent, false, '[MQTT-3.2.2-4] session present 0 with a non-zero code');
  });

  it('[MQTT-3.1.2-3] the reserved CONNECT flag must be 0: otherwise the connection is closed', async () => {
    const bytes = connectBytes(uid());
    bytes[9] = bytes[9]! | 0x01;
    const c = await RawClient.open(port);
    c.sendRaw(bytes);
    assert.deepEqual(await c.expectClose(), []);
  });

  it('[MQTT-3.2.2-1] [MQTT-3.2.2-2] [MQTT-3.2.2-3] session present: 0 for clean, 1 when resuming, 0 for a new persistent session', async () => {
    const id = uid('sp');
    let c = await RawClient.open(port);
    let ack = await c.connect({ clientId: id, clean: false });
    assert.equal(ack.sessionPresent, false, '[MQTT-3.2.2-3] no stored session → 0');
    assert.equal(ack.returnCode, 0);
    await c.disconnect();
    c = await RawClient.open(port);
    ack = await c.connect({ clientId: id, clean: false });
    assert.equal(ack.sessionPresent, true, '[MQTT-3.2.2-2] stored session → 1');
    await c.disconnect();
    c = await RawClient.open(port);
    ack = await c.connect({ clientId: id, clean: true });
    assert.equal(ack.sessionPresent, false, '[MQTT-3.2.2-1] clean session → 0');
    await c.disconnect();
    c = await RawClient.open(port);
    ack = await c.connect({ clientId: id, clean: false });
    assert.equal(ack.sessionPresent, false, '[MQTT-3.1.2-6] the clean session discarded the old one');
    await c.disconnect();
  });

  it('[MQTT-3.1.2-4] [MQTT-3.1.2-5] clean=0 keeps subscriptions and stores QoS 1/2 messages while offline', async () => {
    const id = uid('persist');
    const topic = `persist/${uid('t')}`;
    let s = await sub(port, topic, 2, { clientId: id, clean: false });
    await s.disconnect();
    const p = await RawClient.connect(port);
    await p.publish(topic, 'q1', { qos: 1 });
    await p.publish(topic, 'q2', { qos: 2 });
    await p.disconnect();
    s = await RawClient.open(port);
    const ack = await s.connect({ clientId: id, clean: false });
    assert.equal(ack.sessionPresent, true);
    const got = await collectPublishes(s, 2); // PUBACKs the QoS 1, PUBRECs the QoS 2
    assert.deepEqual(got.map((m) => [Buffer.from(m.payload).toString(), m.qos]), [['q1', 1], ['q2', 2]]);
    assert.equal((await s.expectPacket('pubrel')).messageId, got[1]!.messageId);
    s.send({ cmd: 'pubcomp', messageId: got[1]!.messageId! });
    // The subscription survived too: a live publish arrives.
    const p2 = await RawClient.connect(port);
    await p2.publish(topic, 'live', { qos: 0 });
    const live = await s.expectPublish();
    assert.equal(live.text, 'live');
    await p2.disconnect();
    await s.disconnect();
  });

  it('[MQTT-3.1.2-6] clean=1 discards the previous session: subscriptions are gone', async () => {
    const id = uid('clean');
    const topic = `clean/${uid('t')}`;
    let s = await sub(port, topic, 1, { clientId: id, clean: false });
    await s.disconnect();
    s = await RawClient.open(port);
    assert.equal((await s.connect({ clientId: id, clean: true })).sessionPresent, false);
    const p = await RawClient.connect(port);
    await p.publish(topic, 'x', { qos: 1 });
    await s.expectNoPacket(300);
    await p.disconnect();
    await s.disconnect();
  });

  it('[MQTT-3.1.2-7] a clean session ends with the network connection: nothing is kept', async () => {
    const id = uid('c7');
    const topic = `c7/${uid('t')}`;
    const s = await sub(port, topic, 1, { clientId: id, clean: true });
    s.destroy();
    await sleep(50);
    const s2 = await RawClient.open(port);
    assert.equal((await s2.connect({ clientId: id, clean: false })).sessionPresent, false);
    await s2.disconnect();
  });

  it('[MQTT-3.1.2-8] [MQTT-3.1.2-16] the will is published when the connection closes abnormally (QoS, RETAIN=0 kept)', async () => {
    const topic = `will/${uid('t')}`;
    const watcher = await sub(port, topic, 1);
    const c = await RawClient.connect(port, { will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false } });
    c.destroy();
    const m = await watcher.expectPublish();
    assert.equal(m.text, 'gone');
    assert.equal(m.qos, 1);
    assert.equal(m.retain, false);
    watcher.send({ cmd: 'puback', messageId: m.messageId! });
    // Not retained: a new subscriber gets nothing.
    const late = await sub(port, topic, 1);
    await late.expectNoPacket(200);
    await late.disconnect();
    await watcher.disconnect();
  });

  it('[MQTT-3.1.2-8] the will is published when the server closes the connection for a protocol error', async () => {
    const topic = `will/${uid('t')}`;
    const watcher = await sub(port, topic, 0);
    const c = await RawClient.connect(port, { will: { topic, payload: Buffer.from('violated'), qos: 0, retain: false } });
    c.sendHex('f0 00'); // reserved packet type 15 with 3.1.1
    await c.expectClose();
    assert.equal((await watcher.expectPublish()).text, 'violated');
    await watcher.disconnect();
  });

  it('[MQTT-3.1.2-10] [MQTT-3.14.4-3] the will is discarded after DISCONNECT and not published', async () => {
    const topic = `will/${uid('t')}`;
    const watcher = await sub(port, topic, 0);
    const c = await RawClient.connect(port, { will: { topic, payload: Buffer.from('no'), qos: 0, retain: false } });
    await c.disconnect();
    await watcher.expectNoPacket(300);
    await watcher.disconnect();
  });

  it('[MQTT-3.1.2-17] a will with Will Retain=1 is published as a retained message', async () => {
    const topic = `will/${uid('t')}`;
    const c = await RawClient.connect(port, { will: { topic, payload: Buffer.from('dead'), qos: 1, retain: true } });
    c.destroy();
    await sleep(100);
    const late = await RawClient.connect(port);
    await late.subscribe(topic, 1);
    const m = await late.expectPublish();
    assert.equal(m.text, 'dead');
    assert.equal(m.retain, true);
    late.send({ cmd: 'puback', messageId: m.messageId! });
    await late.disconnect();
    const cleaner = await RawClient.connect(port);
    await cleaner.publish(topic, '', { qos: 1, retain: true });
    await cleaner.disconnect();
  });

  it('[MQTT-3.1.2-24] keep alive: no packet within 1.5 x keep alive closes the connection (and fires the will)', async () => {
    const topic = `will/${uid('t')}`;
    const watcher = await sub(port, topic, 0);
    const c = await RawClient.connect(port, { keepalive: 1, will: { topic, payload: Buffer.from('timeout'), qos: 0, retain: false } });
    const start = Date.now();
    await c.expectClose(3000);
    const elapsed = Date.now() - start;
    assert.ok(elapsed >= 1400, `closed after ${elapsed} ms, before 1.5 x keep alive`);
    assert.ok(elapsed < 2600, `closed after ${elapsed} ms, well past 1.5 x keep alive`);
    assert.equal((await watcher.expectPublish()).text, 'timeout');
    await watcher.disconnect();
  });

  it('[MQTT-3.1.2-23] [MQTT-3.12.4-1] PINGREQ keeps the connection alive and is answered with PINGRESP', async () => {
    const c = await RawClient.connect(port, { keepalive: 1 });
    for (let i = 0; i < 5; i++) {
      await sleep(500);
      c.send({ cmd: 'pingreq' });
      await c.expectPacket('pingresp');
    }
    assert.equal(c.closed, false);
    await c.disconnect();
  });

  it('[MQTT-3.1.2-24] keep alive 0 switches the mechanism off', async () => {
    const c = await RawClient.connect(port, { keepalive: 0 });
    await c.expectNoPacket(1200);
    await c.disconnect();
  });

  it('[MQTT-3.1.3-6] [MQTT-3.1.3-7] an empty client id with clean=1 is accepted and gets a unique id', async () => {
    const a = await RawClient.connect(port, { clientId: '', clean: true });
    const b2 = await RawClient.connect(port, { clientId: '', clean: true });
    // Both stay connected (they did not take each other over).
    a.send({ cmd: 'pingreq' });
    b2.send({ cmd: 'pingreq' });
    await a.expectPacket('pingresp');
    await b2.expectPacket('pingresp');
    await a.disconnect();
    await b2.disconnect();
  });

  it('[MQTT-3.1.3-8] [MQTT-3.2.2-5] an empty client id with clean=0: CONNACK 0x02 then close', async () => {
    const c = await RawClient.open(port);
    c.sendRaw(emptyIdPersistentConnect());
    const got = await c.expectClose();
    assert.equal(got.length, 1);
    assert.equal(got[0]!.cmd, 'connack');
    assert.equal(got[0]!.cmd === 'connack' && got[0]!.returnCode, 2);
  });

  it('[MQTT-3.1.3-5] client ids of 1..23 alphanumeric characters are accepted (and longer ones too)', async () => {
    for (const id of ['a', '0123456789abcdefghijKLM', `long-${'x'.repeat(200)}`]) {
      const c = await RawClient.connect(port, { clientId: id });
      await c.disconnect();
    }
  });

  it('[MQTT-3.1.4-2] a CONNECT with a connected client id takes over: the older connection is closed', async () => {
    const id = uid('takeover');
    const first = await RawClient.connect(port, { clientId: id });
    const second = await RawClient.connect(port, { clientId: id });
    await first.expectClose();
    second.send({ cmd: 'pingreq' });
    await second.expectPacket('pingresp');
    await second.disconnect();
  });

  it('[MQTT-3.1.4-2] takeover of a persistent session keeps it (session present, subscriptions)', async () => {
    const id = uid('takeover');
    const topic = `to/${uid('t')}`;
    const first = await sub(port, topic, 1, { clientId: id, clean: false });
    const second = await RawClient.open(port);
    const ack = await second.connect({ clientId: id, clean: false });
    assert.equal(ack.sessionPresent, true);
    await first.expectClose();
    const p = await RawClient.connect(port);
    await p.publish(topic, 'after', { qos: 1 });
    const m = await second.expectPublish();
    assert.equal(m.text, 'after');
    second.send({ cmd: 'puback', messageId: m.messageId! });
    await p.disconnect();
    await second.disconnect();
  });

  it('[MQTT-3.1.4-2] [MQTT-3.1.2-8] the connection closed by a takeover publishes its will', async () => {
    const id = uid('takeover');
    const topic = `will/${uid('t')}`;
    const watcher = await sub(port, topic, 0);
    await RawClient.connect(port, { clientId: id, will: { topic, payload: Buffer.from('taken'), qos: 0, retain: false } });
    const second = await RawClient.connect(port, { clientId: id });
    assert.equal((await watcher.expectPublish()).text, 'taken');
    await second.disconnect();
    await watcher.disconnect();
  });

  it('[MQTT-3.1.2-23] any control packet (not only PINGREQ) resets the keep alive timer', async () => {
    const c = await RawClient.connect(port, { keepalive: 1 });
    for (let i = 0; i < 5; i++) {
      await sleep(500);
      await c.publish(`ka/${uid('t')}`, 'tick', { qos: 1 });
    }
    assert.equal(c.closed, false);
    await c.disconnect();
  });

  // ---------------------------------------------------------------------------------------------
  // PUBLISH flows

  it('[MQTT-4.3.1-1] QoS 0: delivered at most once, no acknowledgement', async () => {
    const topic = `q0/${uid('t')}`;
    const s = await sub(port, topic, 2);
    const p = await RawClient.connect(port);
    await p.publish(topic, 'zero', { qos: 0 });
    const m = await s.expectPublish();
    assert.equal(m.qos, 0);
    assert.equal(m.dup, false);
    assert.equal(m.messageId, undefined);
    await p.expectNoPacket(100);
    await s.expectNoPacket(100);
    await p.disconnect();
    await s.disconnect();
  });

  it('[MQTT-3.3.1-3] the DUP flag of a delivery is set independently of the incoming PUBLISH', async () => {
    const topic = `dup/${uid('t')}`;
    const s = await sub(port, topic, 1);
    const p = await RawClient.connect(port);
    p.send({ cmd: 'publish', topic, payload: Buffer.from('d'), qos: 1, retain: false, dup: true, messageId: 11 });
    await p.expectPacket('puback');
    const m = await s.expectPublish();
    assert.equal(m.dup, false);
    s.send({ cmd: 'puback', messageId: m.messageId! });
    await p.disconnect();
    await s.disconnect();
  });

  it('[MQTT-4.3.2-1] [MQTT-4.3.2-2] [MQTT-3.4.0-1] QoS 1: PUBACK with the packet id; delivery with a packet id and DUP=0', async () => {
    const topic = `q1/${uid('t')}`;
    const s = await sub(port, topic, 1);
    const p = await RawClient.connect(port);
    await p.publish(topic, 'one', { qos: 1, messageId: 777 }); // helper checks PUBACK id
    const m = await s.expectPublish();
    assert.equal(m.qos, 1);
    assert.equal(m.dup, false, '[MQTT-3.3.1-1] DUP=0 on a first delivery');
    assert.ok(m.messageId! > 0);
    s.send({ cmd: 'puback', messageId: m.messageId! });
    await s.expectNoPacket(200);
    await p.disconnect();
    await s.disconnect();
  });

  it('[MQTT-4.3.3-1] [MQTT-4.3.3-2] QoS 2: PUBREC, PUBREL, PUBCOMP in both directions', async () => {
    const topic = `q2/${uid('t')}`;
    const s = await sub(port, topic, 2);
    const p = await RawClient.connect(port);
    await p.publish(topic, 'two', { qos: 2, messageId: 9 });
    const m = await s.expectPublish();
    assert.equal(m.qos, 2);
    assert.equal(m.dup, false);
    s.send({ cmd: 'pubrec', messageId: m.messageId! });
    const rel = await s.expectPacket('pubrel');
    assert.equal(rel.messageId, m.messageId);
    s.send({ cmd: 'pubcomp', messageId: m.messageId! });
    await s.expectNoPacket(200);
    await p.disconnect();
    await s.disconnect();
  });

  it('[MQTT-4.3.3-2] [MQTT-4.3.3-3] QoS 2 exactly once: a PUBLISH resent with DUP before PUBREL is not delivered again', async () => {
    const topic = `q2/${uid('t')}`;
    const s = await sub(port, topic, 2);
    const p = await RawClient.connect(port);
    const pkt: IPublishPacket = { cmd: 'publish', topic, payload: Buffer.from('once'), qos: 2, retain: false, dup: false, messageId: 42 };
    p.send(pkt);
    assert.equal((await p.expectPacket('pubrec')).messageId, 42);
    p.send({ ...pkt, dup: true });
    assert.equal((await p.expectPacket('pubrec')).messageId, 42);
    p.send({ ...pkt, dup: true });
    assert.equal((await p.expectPacket('pubrec')).messageId, 42);
    p.send({ cmd: 'pubrel', messageId: 42 });
    assert.equal((await p.expectPacket('pubcomp')).messageId, 42);
    // A second PUBREL for the same id is answered with PUBCOMP again [MQTT-4.3.3-?]
    p.send({ cmd: 'pubrel', messageId: 42 });
    assert.equal((await p.expectPacket('pubcomp')).messageId, 42);
    const m = await s.expectPublish();
    assert.equal(m.text, 'once');
    await s.ack(m);
    await s.expectNoPacket(300);
    // After PUBCOMP the id is free: the same id is a new message [MQTT-4.3.3-2].
    p.send({ ...pkt, payload: Buffer.from('again') });
    await p.expectPacket('pubrec');
    p.send({ cmd: 'pubrel', messageId: 42 });
    await p.expectPacket('pubcomp');
    const m2 = await s.expectPublish();
    assert.equal(m2.text, 'again');
    await s.ack(m2);
    await p.disconnect();
    await s.disconnect();
  });

  it('[MQTT-3.8.4-6] [MQTT-3.3.5-1] delivery QoS is the minimum of the published and the granted QoS', async () => {
    const topic = `qmin/${uid('t')}`;
    const s0 = await sub(port, topic, 0);
    const s1 = await sub(port, topic, 1);
    const s2 = await sub(port, topic, 2);
    const p = await RawClient.connect(port);
    await p.publish(topic, 'x', { qos: 2 });
    assert.equal((await s0.expectPublish()).qos, 0);
    const m1 = await s1.expectPublish();
    assert.equal(m1.qos, 1);
    await s1.ack(m1);
    const m2 = await s2.expectPublish();
    assert.equal(m2.qos, 2);
    await s2.ack(m2);
    await p.publish(topic, 'y', { qos: 0 });
    assert.equal((await s2.expectPublish()).qos, 0);
    for (const c of [p, s0, s1, s2]) await c.disconnect();
  });

  it('[MQTT-3.3.5-1] overlapping subscriptions: one delivery at the highest granted QoS', async () => {
    const base = `ovl/${uid('t')}`;
    const s = await RawClient.connect(port);
    assert.deepEqual(await s.subscribe([{ topic: `${base}/+`, qos: 0 }, { topic: `${base}/#`, qos: 2 }, { topic: `${base}/x`, qos: 1 }]), [0, 2, 1]);
    const p = await RawClient.connect(port);
    await p.publish(`${base}/x`, 'o', { qos: 2 });
    const m = await s.expectPublish();
    assert.equal(m.qos, 2);
    await s.ack(m);
    await s.expectNoPacket(300);
    await p.disconnect();
    await s.disconnect();
  });

  it('[MQTT-4.6.0-5] [MQTT-4.6.0-6] messages on a topic are delivered in the order received, across QoS levels', async () => {
    const topic = `order/${uid('t')}`;
    const s = await sub(port, topic, 2);
    const p = await RawClient.connect(port);
    const n = 60;
    for (let i = 0; i < n; i++) {
      const qos = (i % 3) as 0 | 1 | 2;
      p.send({ cmd: 'publish', topic, payload: Buffer.from(String(i)), qos, retain: false, dup: false, ...(qos > 0 ? { messageId: i + 1 } : {}) });
      if (qos === 2) {
        await p.expectPacket('pubrec');
        p.send({ cmd: 'pubrel', messageId: i + 1 });
        await p.expectPacket('pubcomp');
      } else if (qos === 1) await p.expectPacket('puback');
    }
    const got: string[] = [];
    while (got.length < n) {
      const m = await s.nextPacket();
      if (m.cmd === 'pubrel') {
        s.send({ cmd: 'pubcomp', messageId: m.messageId! });
        continue;
      }
      assert.equal(m.cmd, 'publish');
      if (m.cmd !== 'publish') return;
      got.push(Buffer.from(m.payload).toString());
      if (m.qos === 1) s.send({ cmd: 'puback', messageId: m.messageId! });
      if (m.qos === 2) s.send({ cmd: 'pubrec', messageId: m.messageId! });
    }
    assert.deepEqual(got, Array.from({ length: n }, (_, i) => String(i)));
    await p.disconnect();
    await s.disconnect();
  });

  it('[MQTT-4.6.0-2] [MQTT-4.6.0-3] PUBACKs are sent in the order the PUBLISHes were received', async () => {
    const topic = `ackorder/${uid('t')}`;
    const p = await RawClient.connect(port);
    for (let i = 1; i <= 20; i++) p.send({ cmd: 'publish', topic, payload: Buffer.from('a'), qos: 1, retain: false, dup: false, messageId: i });
    for (let i = 1; i <= 20; i++) assert.equal((await p.expectPacket('puback')).messageId, i);
    await p.disconnect();
  });

  it('[MQTT-3.3.2-2] [MQTT-4.7.1-1] a wildcard in a PUBLISH topic closes the connection', async () => {
    for (const topic of ['a/+', 'a/#', '#', 'a+b']) {
      const c = await RawClient.connect(port);
      c.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 1, retain: false, dup: false, messageId: 1 });
      assert.deepEqual(await c.expectClose(), [], `topic ${topic}`);
    }
    await assertHealthy(port);
  });

  it('[MQTT-4.7.3-1] a zero-length topic name closes the connection', async () => {
    const c = await RawClient.connect(port);
    c.sendHex('30 03 00 00 78'); // PUBLISH QoS 0, topic "", payload "x"
    assert.deepEqual(await c.expectClose(), []);
  });

  // ---------------------------------------------------------------------------------------------
  // Retained messages

  it('[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8] [MQTT-3.3.1-9] retained: stored, sent on subscribe with RETAIN=1, live with RETAIN=0', async () => {
    const topic = `ret/${uid('t')}`;
    const p = await RawClient.connect(port);
    await p.publish(topic, 'kept', { qos: 1, retain: true });
    const s = await RawClient.connect(port);
    await s.subscribe(topic, 1);
    const m = await s.expectPublish();
    assert.equal(m.text, 'kept');
    assert.equal(m.retain, true, '[MQTT-3.3.1-8] RETAIN=1 for a message sent because of a new subscription');
    assert.equal(m.qos, 1);
    s.send({ cmd: 'puback', messageId: m.messageId! });
    await p.publish(topic, 'live', { qos: 1, retain: true });
    const live = await s.expectPublish();
    assert.equal(live.text, 'live');
    assert.equal(live.retain, false, '[MQTT-3.3.1-9] RETAIN=0 on delivery to an established subscription');
    s.send({ cmd: 'puback', messageId: live.messageId! });
    await p.publish(topic, '', { qos: 1, retain: true });
    await p.disconnect();
    await s.disconnect();
  });

  it('[MQTT-3.3.1-6] retained messages are sent for every matching topic of a new wildcard subscription', async () => {
    const base = `retw/${uid('t')}`;
    const p = await RawClient.connect(port);
    await p.publish(`${base}/a`, 'A', { qos: 0, retain: true });
    await p.publish(`${base}/b/c`, 'BC', { qos: 0, retain: true });
    await p.publish(`${base}`, 'root', { qos: 0, retain: true });
    const s = await RawClient.connect(port);
    await s.subscribe(`${base}/#`, 0);
    const got = (await collectPublishes(s, 3)).map((m) => Buffer.from(m.payload).toString()).sort();
    assert.deepEqual(got, ['A', 'BC', 'root']);
    assert.ok(s.received.filter((x) => x.cmd === 'publish').every((x) => x.cmd === 'publish' && x.retain));
    for (const t of [`${base}/a`, `${base}/b/c`, base]) await p.publish(t, '', { qos: 0, retain: true });
    await p.disconnect();
    await s.disconnect();
  });

  it('[MQTT-3.3.1-7] a new retained message replaces the stored one (QoS 0 too)', async () => {
    const topic = `retr/${uid('t')}`;
    const p = await RawClient.connect(port);
    await p.publish(topic, 'first', { qos: 1, retain: true });
    await p.publish(topic, 'second', { qos: 0, retain: true });
    await sleep(50);
    const s = await RawClient.connect(port);
    await s.subscribe(topic, 1);
    const m = await s.expectPublish();
    assert.equal(m.text, 'second');
    assert.equal(m.qos, 0, 'the stored message keeps its QoS 0');
    await s.expectNoPacket(200);
    await p.publish(topic, '', { qos: 0, retain: true });
    await p.disconnect();
    await s.disconnect();
  });

  it('[MQTT-3.3.1-10] [MQTT-3.3.1-11] an empty retained message is delivered to current subscribers and deletes the stored one', async () => {
    const topic = `retd/${uid('t')}`;
    const p = await RawClient.connect(port);
    await p.publish(topic, 'x', { qos: 1, retain: true });
    const s = await RawClient.connect(port);
    await s.subscribe(topic, 0);
    assert.equal((await s.expectPublish()).text, 'x');
    await p.publish(topic, '', { qos: 1, retain: true });
    const empty = await s.expectPublish();
    assert.equal(empty.payload.length, 0, 'processed as normal: delivered to the current subscriber');
    const late = await RawClient.connect(port);
    await late.subscribe(topic, 1);
    await late.expectNoPacket(300);
    for (const c of [p, s, late]) await c.disconnect();
  });

  it('[MQTT-3.3.1-6] [MQTT-3.8.4-6] a retained QoS 2 message is sent at the minimum of its QoS and the granted QoS', async () => {
    const topic = `retq/${uid('t')}`;
    const p = await RawClient.connect(port);
    await p.publish(topic, 'q2', { qos: 2, retain: true });
    for (const granted of [0, 1, 2] as const) {
      const s = await RawClient.connect(port);
      await s.subscribe(topic, granted);
      const m = await s.expectPublish();
      assert.equal(m.qos, granted);
      assert.equal(m.retain, true);
      await s.ack(m);
      await s.disconnect();
    }
    await p.publish(topic, '', { qos: 0, retain: true });
    await p.disconnect();
  });

  it('[MQTT-3.3.1-12] RETAIN=0: not stored, and an existing retained message is neither removed nor replaced', async () => {
    const topic = `ret0/${uid('t')}`;
    const p = await RawClient.connect(port);
    await p.publish(topic, 'keep', { qos: 1, retain: true });
    await p.publish(topic, 'transient', { qos: 1, retain: false });
    await p.publish(topic, '', { qos: 1, retain: false });
    const s = await RawClient.connect(port);
    await s.subscribe(topic, 0);
    assert.equal((await s.expectPublish()).text, 'keep');
    await s.expectNoPacket(200);
    await p.publish(topic, '', { qos: 1, retain: true });
    await p.disconnect();
    await s.disconnect();
  });

  it('[MQTT-3.8.4-3] a SUBSCRIBE that replaces an existing subscription re-sends the retained messages', async () => {
    const topic = `retre/${uid('t')}`;
    const p = await RawClient.connect(port);
    await p.publish(topic, 'r', { qos: 1, retain: true });
    const s = await RawClient.connect(port);
    await s.subscribe(topic, 0);
    assert.equal((await s.expectPublish()).text, 'r');
    assert.deepEqual(await s.subscribe(topic, 1), [1]);
    const m = await s.expectPublish();
    assert.equal(m.text, 'r');
    assert.equal(m.qos, 1, 'the new subscription replaced the old one (granted QoS 1)');
    s.send({ cmd: 'puback', messageId: m.messageId! });
    // and there is still only one subscription: one live delivery
    await p.publish(topic, 'live', { qos: 1 });
    const live = await s.expectPublish();
    s.send({ cmd: 'puback', messageId: live.messageId! });
    await s.expectNoPacket(200);
    await p.publish(topic, '', { qos: 1, retain: true });
    await p.disconnect();
    await s.disconnect();
  });

  // ---------------------------------------------------------------------------------------------
  // Topic matching

  it('[MQTT-4.7.1-2] [MQTT-4.7.1-3] wildcard matching: # includes the parent level, + fills exactly one level', async () => {
    const r = uid('m');
    const cases: Array<[string, string[], string[]]> = [
      [`${r}/sport/tennis/player1/#`, [`${r}/sport/tennis/player1`, `${r}/sport/tennis/player1/ranking`, `${r}/sport/tennis/player1/score/wimbledon`], [`${r}/sport/tennis/player2`]],
      [`${r}/sport/#`, [`${r}/sport`], [`${r}/sports`]],
      [`${r}/sport/tennis/+`, [`${r}/sport/tennis/player1`, `${r}/sport/tennis/player2`], [`${r}/sport/tennis/player1/ranking`, `${r}/sport/tennis`]],
      [`${r}/sport/+`, [`${r}/sport/`], [`${r}/sport`]],
      [`+/${r}/+`, [`/${r}/finance`], []],
      [`${r}/+/+`, [`${r}//x`, `${r}/a/b`], [`${r}/a`]],
    ];
    const p = await RawClient.connect(port);
    for (const [filter, yes, no] of cases) {
      const s = await sub(port, filter, 0);
      for (const t of [...no, ...yes]) await p.publish(t, t, { qos: 1 });
      const got = (await collectPublishes(s, yes.length)).map((m) => m.topic);
      assert.deepEqual(got, yes, `filter ${filter}`);
      await s.expectNoPacket(100);
      await s.disconnect();
    }
    await p.disconnect();
  });

  it('[MQTT-4.7.2-1] filters starting with a wildcard do not match topics starting with $', async () => {
    const leaf = uid('d');
    const hash = await sub(port, '#', 0);
    const plus = await sub(port, `+/${leaf}`, 0);
    const dollar = await sub(port, `$SYS/${leaf}`, 0);
    const dollarHash = await sub(port, '$SYS/#', 0);
    const p = await RawClient.connect(port);
    await p.publish(`$SYS/${leaf}`, 'sys', { qos: 1 });
    assert.equal((await dollar.expectPublish()).topic, `$SYS/${leaf}`);
    assert.equal((await dollarHash.expectPublish()).topic, `$SYS/${leaf}`);
    await plus.expectNoPacket(200);
    // `#` sees other traffic (from other tests too): just no $ topic
    await sleep(100);
    assert.ok(!hash.received.some((x) => x.cmd === 'publish' && x.topic.startsWith('$')), '# must not match $ topics');
    for (const c of [hash, plus, dollar, dollarHash, p]) await c.disconnect();
  });

  it('[MQTT-4.7.3-4] topic matching is case-sensitive and does not normalise', async () => {
    const r = uid('case');
    const s = await sub(port, `${r}/ACCOUNTS`, 0);
    const p = await RawClient.connect(port);
    await p.publish(`${r}/Accounts`, 'a', { qos: 1 });
    await p.publish(`${r}/ACCOUNTS `, 'b', { qos: 1 });
    await p.publish(`${r}/ACCOUNTS`, 'c', { qos: 1 });
    assert.equal((await s.expectPublish()).text, 'c');
    await s.expectNoPacket(100);
    await p.disconnect();
    await s.disconnect();
  });

  it('[MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.8.0-1] an invalid topic filter in SUBSCRIBE closes the connection', async () => {
    for (const filter of ['sport/tennis#', 'sport/tennis/#/ranking', 'sport+', 'a/b+/c', '']) {
      const c = await RawClient.connect(port);
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 0 }] });
      assert.deepEqual(await c.expectClose(), [], `filter ${JSON.stringify(filter)}`);
    }
    await assertHealthy(port);
  });

  // ---------------------------------------------------------------------------------------------
  // SUBSCRIBE / UNSUBSCRIBE

  it('[MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-4] [MQTT-3.9.3-1] SUBACK: same packet id, one return code per filter in order', async () => {
    const r = uid('sa');
    const c = await RawClient.connect(port);
    c.send({
      cmd: 'subscribe',
      messageId: 4321,
      subscriptions: [
        { topic: `${r}/a`, qos: 2 },
        { topic: `${r}/b`, qos: 0 },
        { topic: `denied/${r}`, qos: 1 },
        { topic: `${r}/c/#`, qos: 1 },
      ],
    });
    const suback = await c.expectPacket('suback');
    assert.equal(suback.messageId, 4321);
    assert.deepEqual(suback.granted, [2, 0, 0x80, 1], 'a denied filter gets 0x80 in the mqtt profile');
    await c.disconnect();
  });

  it('[MQTT-3.10.4-1] [MQTT-3.10.4-2] [MQTT-3.10.4-4] UNSUBSCRIBE stops delivery; UNSUBACK carries the packet id', async () => {
    const topic = `unsub/${uid('t')}`;
    const s = await sub(port, topic, 1);
    s.send({ cmd: 'unsubscribe', messageId: 555, unsubscriptions: [topic] });
    assert.equal((await s.expectPacket('unsuback')).messageId, 555);
    const p = await RawClient.connect(port);
    await p.publish(topic, 'x', { qos: 1 });
    await s.expectNoPacket(300);
    await p.disconnect();
    await s.disconnect();
  });

  it('[MQTT-3.10.4-1] UNSUBSCRIBE compares filters character by character (a/+ does not remove a/#)', async () => {
    const r = uid('u');
    const s = await sub(port, `${r}/#`, 0);
    await s.unsubscribe(`${r}/+`);
    const p = await RawClient.connect(port);
    await p.publish(`${r}/x`, 'still', { qos: 1 });
    assert.equal((await s.expectPublish()).text, 'still');
    await p.disconnect();
    await s.disconnect();
  });

  it('[MQTT-3.10.4-5] [MQTT-3.10.4-6] UNSUBSCRIBE of unknown filters still gets one UNSUBACK', async () => {
    const c = await RawClient.connect(port);
    c.send({ cmd: 'unsubscribe', messageId: 77, unsubscriptions: ['never/subscribed', 'nor/this/#'] });
    assert.equal((await c.expectPacket('unsuback')).messageId, 77);
    await c.expectNoPacket(100);
    await c.disconnect();
  });

  // ---------------------------------------------------------------------------------------------
  // Session resume

  it('[MQTT-4.4.0-1] [MQTT-3.3.1-1] on resume unacknowledged QoS 1 messages are re-sent with DUP=1 and the same packet ids, in order', async () => {
    const id = uid('resume');
    const topic = `resume/${uid('t')}`;
    const s = await sub(port, topic, 1, { clientId: id, clean: false });
    const p = await RawClient.connect(port);
    for (const x of ['m1', 'm2', 'm3']) await p.publish(topic, x, { qos: 1 });
    const first = await Promise.all([s.expectPublish(), s.expectPublish(), s.expectPublish()]);
    assert.deepEqual(first.map((m) => m.text), ['m1', 'm2', 'm3']);
    s.send({ cmd: 'puback', messageId: first[0]!.messageId! }); // only m1 is acknowledged
    await sleep(50);
    s.destroy();
    await sleep(50);
    const s2 = await RawClient.open(port);
    assert.equal((await s2.connect({ clientId: id, clean: false })).sessionPresent, true);
    const again = [await s2.expectPublish(), await s2.expectPublish()];
    assert.deepEqual(again.map((m) => m.text), ['m2', 'm3']);
    assert.deepEqual(again.map((m) => m.messageId), [first[1]!.messageId, first[2]!.messageId]);
    assert.ok(again.every((m) => m.dup), 'DUP=1 on a redelivery');
    for (const m of again) s2.send({ cmd: 'puback', messageId: m.messageId! });
    await s2.expectNoPacket(200);
    await p.disconnect();
    await s2.disconnect();
  });

  it('[MQTT-4.4.0-1] [MQTT-4.6.0-6] on resume: unacknowledged deliveries first (DUP=1), then messages queued while offline (DUP=0), in order', async () => {
    const id = uid('resume');
    const topic = `resume/${uid('t')}`;
    const s = await sub(port, topic, 1, { clientId: id, clean: false });
    const p = await RawClient.connect(port);
    for (const x of ['a', 'b']) await p.publish(topic, x, { qos: 1 });
    const held = [await s.expectPublish(), await s.expectPublish()];
    await s.disconnect(); // a normal DISCONNECT: the session is kept
    for (const x of ['c', 'd', 'e']) await p.publish(topic, x, { qos: 1 });
    const s2 = await RawClient.open(port);
    assert.equal((await s2.connect({ clientId: id, clean: false })).sessionPresent, true);
    const got = [];
    for (let i = 0; i < 5; i++) {
      const m = await s2.expectPublish();
      got.push(m);
      s2.send({ cmd: 'puback', messageId: m.messageId! });
    }
    assert.deepEqual(got.map((m) => m.text), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(got.map((m) => m.dup), [true, true, false, false, false]);
    assert.deepEqual(got.slice(0, 2).map((m) => m.messageId), held.map((m) => m.messageId));
    await s2.expectNoPacket(200);
    await p.disconnect();
    await s2.disconnect();
  });

  it('[MQTT-3.3.1-6] resuming a session is not a new subscription: retained messages are not sent again', async () => {
    const id = uid('rr');
    const topic = `rr/${uid('t')}`;
    const p = await RawClient.connect(port);
    await p.publish(topic, 'ret', { qos: 1, retain: true });
    const s = await RawClient.open(port);
    await s.connect({ clientId: id, clean: false });
    await s.subscribe(topic, 1);
    const m = await s.expectPublish();
    s.send({ cmd: 'puback', messageId: m.messageId! });
    await s.disconnect();
    const s2 = await RawClient.open(port);
    assert.equal((await s2.connect({ clientId: id, clean: false })).sessionPresent, true);
    await s2.expectNoPacket(300);
    await p.publish(topic, '', { qos: 1, retain: true });
    const cleared = await s2.expectPublish(); // the live (empty) delivery
    assert.equal(cleared.retain, false);
    s2.send({ cmd: 'puback', messageId: cleared.messageId! });
    await p.disconnect();
    await s2.disconnect();
  });

  it('[MQTT-4.4.0-1] on resume a QoS 2 delivery already PUBRECed gets its PUBREL re-sent', async () => {
    const id = uid('resume2');
    const topic = `resume2/${uid('t')}`;
    const s = await sub(port, topic, 2, { clientId: id, clean: false });
    const p = await RawClient.connect(port);
    await p.publish(topic, 'q2', { qos: 2 });
    const m = await s.expectPublish();
    s.send({ cmd: 'pubrec', messageId: m.messageId! });
    await s.expectPacket('pubrel');
    s.destroy();
    await sleep(50);
    const s2 = await RawClient.open(port);
    await s2.connect({ clientId: id, clean: false });
    const rel = await s2.expectPacket('pubrel');
    assert.equal(rel.messageId, m.messageId);
    s2.send({ cmd: 'pubcomp', messageId: m.messageId! });
    await s2.expectNoPacket(200);
    await p.disconnect();
    await s2.disconnect();
  });

  it('[MQTT-4.3.3-2] on resume an inbound QoS 2 message awaiting PUBREL is not delivered twice', async () => {
    const id = uid('inq2');
    const topic = `inq2/${uid('t')}`;
    const s = await sub(port, topic, 2);
    const p = await RawClient.open(port);
    await p.connect({ clientId: id, clean: false });
    const pkt: IPublishPacket = { cmd: 'publish', topic, payload: Buffer.from('one'), qos: 2, retain: false, dup: false, messageId: 5 };
    p.send(pkt);
    await p.expectPacket('pubrec');
    p.destroy();
    await sleep(50);
    const p2 = await RawClient.open(port);
    await p2.connect({ clientId: id, clean: false });
    p2.send({ ...pkt, dup: true });
    await p2.expectPacket('pubrec');
    p2.send({ cmd: 'pubrel', messageId: 5 });
    await p2.expectPacket('pubcomp');
    const m = await s.expectPublish();
    assert.equal(m.text, 'one');
    await s.ack(m);
    await s.expectNoPacket(300);
    await p2.disconnect();
    await s.disconnect();
  });

  // ---------------------------------------------------------------------------------------------
  // Denials in the mqtt profile

  it('[MQTT-3.3.5-2] a PUBLISH the server refuses (not authorized) is acknowledged and dropped in the mqtt profile', async () => {
    const topic = `denied/${uid('t')}`;
    const all = await sub(port, '#', 0);
    const c = await RawClient.connect(port);
    await c.publish(topic, 'nope', { qos: 1 });
    c.send({ cmd: 'pingreq' });
    await c.expectPacket('pingresp');
    await sleep(100);
    assert.ok(!all.received.some((x) => x.cmd === 'publish' && x.topic === topic), 'the refused message was routed');
    await c.disconnect();
    await all.disconnect();
  });

  it('[MQTT-3.14.4-1] [MQTT-3.14.4-2] after DISCONNECT the server closes the connection', async () => {
    const c = await RawClient.connect(port);
    c.send({ cmd: 'disconnect' });
    await c.expectClose();
  });
});

describe('MQTT 3.1.1 in the aws profile (AWS IoT Core deviations)', () => {
  let b: TestBroker;
  let port: number;
  before(async () => {
    b = await startBroker('aws', { hooks: denyHooks });
    port = b.port;
  });
  after(async () => {
    await b.close();
  });

  it('[aws section 5] a QoS 2 PUBLISH closes the connection', async () => {
    const c = await RawClient.connect(port);
    c.send({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 2, retain: false, dup: false, messageId: 1 });
    assert.deepEqual(await c.expectClose(), []);
    await assertHealthy(port);
  });

  it('[aws section 5] a QoS 2 SUBSCRIBE closes the connection', async () => {
    const c = await RawClient.connect(port);
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/b', qos: 2 }] });
    assert.deepEqual(await c.expectClose(), []);
  });

  it('[aws section 3] a will with QoS 2 is refused (closed)', async () => {
    const c = await RawClient.open(port);
    c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: uid(), clean: true, keepalive: 60, will: { topic: 'w', payload: Buffer.from('x'), qos: 2, retain: false } });
    const got = await c.expectClose();
    assert.ok(got.every((p) => p.cmd !== 'connack' || p.returnCode !== 0), 'no successful CONNACK');
  });

  it('[aws section 2] MQTT 3.1 (protocol level 3) is refused with CONNACK 0x01', async () => {
    const c = await RawClient.open(port, { protocolVersion: 3 });
    c.send({ cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clientId: uid(), clean: true, keepalive: 60 });
    const got = await c.expectClose();
    assert.equal(got.length, 1);
    assert.equal(got[0]!.cmd === 'connack' && got[0]!.returnCode, 1);
  });

  it('[aws section 9] a/# does not match a (MQTT-4.7.1-2 deviation), but matches a/ and a/x', async () => {
    const r = uid('aws');
    const s = await sub(port, `${r}/#`, 1);
    const p = await RawClient.connect(port);
    await p.publish(r, 'parent', { qos: 1 });
    await p.publish(`${r}/`, 'empty-child', { qos: 1 });
    await p.publish(`${r}/x`, 'child', { qos: 1 });
    const got = await collectPublishes(s, 2);
    assert.deepEqual(got.map((m) => Buffer.from(m.payload).toString()), ['empty-child', 'child']);
    await s.expectNoPacket(100);
    await p.disconnect();
    await s.disconnect();
  });

  it('[aws section 7] retained messages are delivered on subscribe only to a filter equal to the topic', async () => {
    const r = uid('awsret');
    const p = await RawClient.connect(port);
    await p.publish(`${r}/x`, 'kept', { qos: 1, retain: true });
    const wild = await RawClient.connect(port);
    await wild.subscribe([`${r}/+`, `${r}/#`], 1);
    await wild.expectNoPacket(300);
    const exact = await RawClient.connect(port);
    await exact.subscribe(`${r}/x`, 1);
    const m = await exact.expectPublish();
    assert.equal(m.text, 'kept');
    assert.equal(m.retain, true);
    exact.send({ cmd: 'puback', messageId: m.messageId! });
    // live delivery reaches the wildcard subscriber, with RETAIN=0
    await p.publish(`${r}/x`, 'live', { qos: 1, retain: true });
    const live = await wild.expectPublish();
    assert.equal(live.text, 'live');
    assert.equal(live.retain, false);
    await p.publish(`${r}/x`, '', { qos: 1, retain: true });
    for (const c of [p, wild, exact]) await c.disconnect();
  });

  it('[aws section 10] a denied SUBSCRIBE closes a 3.1.1 connection (mqtt profile: SUBACK 0x80, tested above)', async () => {
    const c = await RawClient.connect(port);
    c.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: `denied/${uid('t')}`, qos: 1 }] });
    assert.deepEqual(await c.expectClose(), []);
    await assertHealthy(port);
  });

  it('[aws section 11] a denied PUBLISH closes a 3.1.1 connection', async () => {
    const c = await RawClient.connect(port);
    c.send({ cmd: 'publish', topic: `denied/${uid('t')}`, payload: Buffer.from('x'), qos: 1, retain: false, dup: false, messageId: 3 });
    assert.deepEqual(await c.expectClose(), []);
  });

  it('[aws section 9] publishing to a made-up $ topic is not allowed (connection closed)', async () => {
    const c = await RawClient.connect(port);
    c.send({ cmd: 'publish', topic: '$foo/bar', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, messageId: 3 });
    assert.deepEqual(await c.expectClose(), []);
  });

  it('[aws section 4] keep alive below 30 s is raised to 30 s: keep alive 2 survives 3.5 s of silence', async () => {
    const c = await RawClient.connect(port, { keepalive: 2 });
    await c.expectNoPacket(3500);
    c.send({ cmd: 'pingreq' });
    await c.expectPacket('pingresp');
    await c.disconnect();
  });

  it('[aws section 3] [MQTT-3.1.3-8] an empty client id with clean=0 gets CONNACK 0x02; with clean=1 it is accepted', async () => {
    const c = await RawClient.open(port);
    c.sendRaw(emptyIdPersistentConnect());
    const got = await c.expectClose();
    assert.equal(got[0]?.cmd === 'connack' && got[0].returnCode, 2);
    const ok = await RawClient.connect(port, { clientId: '', clean: true });
    await ok.disconnect();
  });

  it('[aws section 3] a client id longer than 128 bytes is refused with CONNACK 0x02', async () => {
    const c = await RawClient.open(port);
    c.send({ cmd: 'connect', clientId: 'x'.repeat(129), protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60 });
    const got = await c.expectClose();
    assert.equal(got[0]?.cmd === 'connack' && got[0].returnCode, 2);
  });
});
