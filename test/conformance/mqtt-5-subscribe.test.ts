/**
 * Proves that the broker honours the MQTT 5.0 normative statements on SUBSCRIBE/UNSUBSCRIBE:
 * subscription options (No Local, Retain As Published, Retain Handling), subscription identifiers,
 * shared subscriptions and the SUBACK/UNSUBACK reason codes, in both profiles, over a raw socket.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import { strict as assert } from 'node:assert';
import type { IPublishPacket, ISubscription } from 'mqtt-packet';
import { startBroker, RawClient, uid, type TestBroker } from './helpers/broker.js';
import { destroyOpenClients, expectDisconnect, v5 } from './helpers/v5.js';




/** SUBSCRIBE with an optional Subscription Identifier; returns the SUBACK reason codes. */
async function subscribe(c: RawClient, subscriptions: ISubscription[], subscriptionIdentifier?: number): Promise<number[]> {
  const messageId = c.packetId();
  c.send({ cmd: 'subscribe', messageId, subscriptions, ...(subscriptionIdentifier !== undefined ? { properties: { subscriptionIdentifier } } : {}) });
  const ack = await c.expectPacket('suback');
  assert.equal(ack.messageId, messageId, '[MQTT-3.8.4-2]');
  return ack.granted.map((g) => (typeof g === 'number' ? g : (g as { qos: number }).qos));
}

/** Subscription identifiers of a delivered PUBLISH, sorted. */
function subIds(p: IPublishPacket): number[] {
  const v = p.properties?.subscriptionIdentifier;
  if (v === undefined) return [];
  return (Array.isArray(v) ? [...v] : [v]).sort((a, b) => a - b);
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

describe('MQTT 5 subscription options', () => {
  for (const profile of ['aws', 'mqtt'] as const) {
    it(`[MQTT-3.8.3-3] ${profile}: No Local: a client's own publishes are not forwarded to its No Local subscription, other clients' are`, async () => {
      const b = profile === 'aws' ? aws : mqtt;
      const topic = `nl/${uid('t')}`;
      const a = await v5(b.port);
      assert.deepEqual(await subscribe(a, [{ topic, qos: 1, nl: true }]), [1]);
      const other = await v5(b.port);
      await other.subscribe(topic, 1);
      // QoS 0 publishes: a QoS 1 delivery to the publisher itself may come before its PUBACK
      await a.publish(topic, 'from-a', { qos: 0 });
      assert.equal((await other.expectPublish()).text, 'from-a');
      await a.expectNoPacket(300);
      await other.publish(topic, 'from-other', { qos: 0 });
      assert.equal((await a.expectPublish()).text, 'from-other');
    });
  }

  it('[MQTT-3.8.3-3] No Local applies per subscription: an overlapping subscription without it still delivers (once)', async () => {
    const base = `nl/${uid('t')}`;
    const a = await v5(mqtt.port);
    await subscribe(a, [
      { topic: `${base}/x`, qos: 1, nl: true },
      { topic: `${base}/#`, qos: 1 },
    ]);
    await a.publish(`${base}/x`, 'self', { qos: 0 });
    const m = await a.expectPublish();
    assert.equal(m.text, 'self');
    await a.expectNoPacket(300);
  });

  it('[MQTT-3.8.3-4] No Local on a Shared Subscription is a Protocol Error (DISCONNECT 0x82)', async () => {
    const c = await v5(mqtt.port);
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `$share/g/${uid('t')}`, qos: 1, nl: true }] });
    await expectDisconnect(c, 0x82);
  });

  for (const profile of ['aws', 'mqtt'] as const) {
    it(`[MQTT-3.3.1-12] [MQTT-3.3.1-13] ${profile}: Retain As Published 0 forwards RETAIN=0, 1 keeps the RETAIN flag of the PUBLISH`, async () => {
      const b = profile === 'aws' ? aws : mqtt;
      const topic = `rap/${uid('t')}`;
      const plain = await v5(b.port);
      await subscribe(plain, [{ topic, qos: 1, rh: 2 }]);
      const rap = await v5(b.port);
      await subscribe(rap, [{ topic, qos: 1, rap: true, rh: 2 }]);
      const pub = await v5(b.port);
      await pub.publish(topic, 'r', { qos: 1, retain: true });
      await pub.publish(topic, 'n', { qos: 1, retain: false });
      const p1 = await plain.expectPublish();
      const p2 = await plain.expectPublish();
      const r1 = await rap.expectPublish();
      const r2 = await rap.expectPublish();
      assert.deepEqual([p1.retain, p2.retain], [false, false]);
      assert.deepEqual([r1.retain, r2.retain], [true, false]);
      await pub.publish(topic, '', { qos: 1, retain: true }); // clear
    });
  }

  it('[MQTT-3.3.1-9] [MQTT-3.8.4-4] Retain Handling 0: retained messages are sent (RETAIN=1) on every SUBSCRIBE, also when the subscription is replaced', async () => {
    const topic = `rh/${uid('t')}`;
    const pub = await v5(mqtt.port);
    await pub.publish(topic, 'kept', { qos: 1, retain: true });
    const c = await v5(mqtt.port);
    await subscribe(c, [{ topic, qos: 0, rh: 0 }]);
    const m1 = await c.expectPublish();
    assert.equal(m1.text, 'kept');
    assert.equal(m1.retain, true);
    await subscribe(c, [{ topic, qos: 0, rh: 0 }]);
    assert.equal((await c.expectPublish()).text, 'kept');
    await pub.publish(topic, '', { qos: 1, retain: true });
  });

  it('[MQTT-3.3.1-10] Retain Handling 1: retained messages are sent only when the subscription did not exist', async () => {
    const topic = `rh/${uid('t')}`;
    const pub = await v5(mqtt.port);
    await pub.publish(topic, 'kept', { qos: 1, retain: true });
    const c = await v5(mqtt.port);
    await subscribe(c, [{ topic, qos: 0, rh: 1 }]);
    assert.equal((await c.expectPublish()).text, 'kept');
    await subscribe(c, [{ topic, qos: 0, rh: 1 }]);
    await c.expectNoPacket(300);
    await pub.publish(topic, '', { qos: 1, retain: true });
  });

  it('[MQTT-3.3.1-11] Retain Handling 2: no retained messages at subscribe time, live messages still flow', async () => {
    const topic = `rh/${uid('t')}`;
    const pub = await v5(mqtt.port);
    await pub.publish(topic, 'kept', { qos: 1, retain: true });
    const c = await v5(mqtt.port);
    await subscribe(c, [{ topic, qos: 0, rh: 2 }]);
    await c.expectNoPacket(300);
    await pub.publish(topic, 'live', { qos: 1 });
    assert.equal((await c.expectPublish()).text, 'live');
    await pub.publish(topic, '', { qos: 1, retain: true });
  });

  it('[MQTT-3.8.3-5] reserved bits set in the Subscription Options → DISCONNECT 0x81 (Malformed Packet)', async () => {
    const c = await v5(mqtt.port);
    // SUBSCRIBE id 1, no properties, filter "a", options 0xC1 (reserved bits 6-7 set)
    c.sendHex('82 07 00 01 00 00 01 61 c1');
    await expectDisconnect(c, 0x81);
  });
});

describe('MQTT 5 Subscription Identifiers', () => {
  it('[MQTT-3.3.4-3] [MQTT-3.3.4-4] [MQTT-3.3.4-2] mqtt: one PUBLISH for overlapping subscriptions carries every matching Subscription Identifier, at the highest granted QoS', async () => {
    const base = `si/${uid('t')}`;
    const c = await v5(mqtt.port);
    assert.deepEqual(await subscribe(c, [{ topic: `${base}/+`, qos: 0 }], 5), [0]);
    assert.deepEqual(await subscribe(c, [{ topic: `${base}/#`, qos: 1 }], 7), [1]);
    assert.deepEqual(await subscribe(c, [{ topic: `${base}/a`, qos: 0 }]), [0]);
    const pub = await v5(mqtt.port);
    await pub.publish(`${base}/a`, 'x', { qos: 1 });
    const m = await c.expectPublish();
    assert.deepEqual(subIds(m), [5, 7]);
    assert.equal(m.qos, 1);
    c.send({ cmd: 'puback', messageId: m.messageId! });
    await c.expectNoPacket(300);
    await pub.publish(`${base}/b/c`, 'y', { qos: 0 });
    assert.deepEqual(subIds(await c.expectPublish()), [7]);
  });

  it('[MQTT-3.8.4-3] mqtt: re-subscribing replaces the subscription, including its Subscription Identifier', async () => {
    const topic = `si/${uid('t')}`;
    const c = await v5(mqtt.port);
    await subscribe(c, [{ topic, qos: 0 }], 11);
    await subscribe(c, [{ topic, qos: 0 }], 12);
    const pub = await v5(mqtt.port);
    await pub.publish(topic, 'x', { qos: 0 });
    assert.deepEqual(subIds(await c.expectPublish()), [12]);
    await subscribe(c, [{ topic, qos: 0 }]);
    await pub.publish(topic, 'y', { qos: 0 });
    assert.deepEqual(subIds(await c.expectPublish()), []);
  });

  it('[MQTT-3.3.4-3] mqtt: a retained message sent on subscribe carries the Subscription Identifier', async () => {
    const topic = `si/${uid('t')}`;
    const pub = await v5(mqtt.port);
    await pub.publish(topic, 'kept', { qos: 1, retain: true });
    const c = await v5(mqtt.port);
    await subscribe(c, [{ topic, qos: 0 }], 99);
    const m = await c.expectPublish();
    assert.equal(m.retain, true);
    assert.deepEqual(subIds(m), [99]);
    await pub.publish(topic, '', { qos: 1, retain: true });
  });

  it('[MQTT-3.8.2.1.2] mqtt: a Subscription Identifier of 0 is a Protocol Error (DISCONNECT 0x82)', async () => {
    const c = await v5(mqtt.port);
    // SUBSCRIBE id 1, properties: Subscription Identifier (0x0B) = 0, filter "a" QoS 0
    c.sendHex('82 09 00 01 02 0b 00 00 01 61 00');
    await expectDisconnect(c, 0x82);
  });

  it('[MQTT-3.2.2.3.12] [spec/mqtt.md section 10] aws: a SUBSCRIBE with a Subscription Identifier → DISCONNECT 0xA1 (Subscription Identifiers not supported)', async () => {
    const c = await v5(aws.port);
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/b', qos: 1 }], properties: { subscriptionIdentifier: 1 } });
    await expectDisconnect(c, 0xa1);
  });
});

describe('MQTT 5 shared subscriptions', () => {
  for (const profile of ['aws', 'mqtt'] as const) {
    it(`[MQTT-4.8.2-3] ${profile}: each message to a share group goes to exactly one member, spread over the members`, async () => {
      const b = profile === 'aws' ? aws : mqtt;
      const topic = `sh/${uid('t')}`;
      const members = [await v5(b.port), await v5(b.port), await v5(b.port)];
      for (const m of members) assert.deepEqual(await m.subscribe(`$share/g1/${topic}`, 1), [1]);
      const pub = await v5(b.port);
      const n = 9;
      for (let i = 0; i < n; i++) await pub.publish(topic, `m${i}`, { qos: 1 });
      const seen: string[] = [];
      const perMember: number[] = [];
      for (const m of members) {
        let count = 0;
        for (;;) {
          let p: IPublishPacket;
          try {
            p = await m.expectPacket('publish', 300);
          } catch {
            break;
          }
          assert.equal(p.qos, 1, '[MQTT-4.8.2-3] granted QoS respected');
          m.send({ cmd: 'puback', messageId: p.messageId! });
          seen.push(Buffer.from(p.payload).toString());
          count++;
        }
        perMember.push(count);
      }
      assert.deepEqual([...seen].sort(), Array.from({ length: n }, (_, i) => `m${i}`).sort(), 'each message exactly once');
      for (const c of perMember) assert.ok(c >= 1, `load spread: ${perMember.join('/')}`);
    });
  }

  it('[MQTT-4.8.2] two share groups on the same filter each get a copy; a non-shared subscriber gets its own', async () => {
    const topic = `sh/${uid('t')}`;
    const g1 = [await v5(mqtt.port), await v5(mqtt.port)];
    const g2 = [await v5(mqtt.port), await v5(mqtt.port)];
    for (const m of g1) await m.subscribe(`$share/one/${topic}`, 0);
    for (const m of g2) await m.subscribe(`$share/two/${topic}`, 0);
    const plain = await v5(mqtt.port);
    await plain.subscribe(topic, 0);
    const pub = await v5(mqtt.port);
    for (let i = 0; i < 4; i++) await pub.publish(topic, `m${i}`, { qos: 0 });
    const drain = async (cs: RawClient[]): Promise<string[]> => {
      const out: string[] = [];
      for (const c of cs) {
        for (;;) {
          try {
            out.push((await c.expectPublish(250)).text);
          } catch {
            break;
          }
        }
      }
      return out.sort();
    };
    const all = ['m0', 'm1', 'm2', 'm3'];
    assert.deepEqual(await drain(g1), all);
    assert.deepEqual(await drain(g2), all);
    assert.deepEqual(await drain([plain]), all);
  });

  it('[MQTT-4.8.2] retained messages are not sent on a shared subscribe', async () => {
    const topic = `sh/${uid('t')}`;
    const pub = await v5(mqtt.port);
    await pub.publish(topic, 'kept', { qos: 1, retain: true });
    const c = await v5(mqtt.port);
    assert.deepEqual(await c.subscribe(`$share/g/${topic}`, 1), [1]);
    await c.expectNoPacket(300);
    await pub.publish(topic, '', { qos: 1, retain: true });
  });
});

describe('MQTT 5 SUBACK and UNSUBACK reason codes', () => {
  it('[MQTT-3.8.4-6] [MQTT-3.8.4-7] [MQTT-3.9.3-1] mqtt: granted QoS 0x00/0x01/0x02, one code per filter in order', async () => {
    const c = await v5(mqtt.port);
    const t = uid('t');
    assert.deepEqual(
      await subscribe(c, [
        { topic: `g/${t}/0`, qos: 0 },
        { topic: `g/${t}/1`, qos: 1 },
        { topic: `g/${t}/2`, qos: 2 },
      ]),
      [0, 1, 2],
    );
  });

  it('[MQTT-3.8.4-7] [MQTT-3.2.2-9] aws: granted QoS 0x00/0x01', async () => {
    const c = await v5(aws.port);
    const t = uid('t');
    assert.deepEqual(
      await subscribe(c, [
        { topic: `g/${t}/0`, qos: 0 },
        { topic: `g/${t}/1`, qos: 1 },
      ]),
      [0, 1],
    );
  });

  for (const profile of ['aws', 'mqtt'] as const) {
    it(`[MQTT-3.9.3-2] [MQTT-4.7.1-1] [MQTT-4.7.1-2] ${profile}: an invalid Topic Filter gets 0x8F (Topic Filter invalid), the others are granted`, async () => {
      const b = profile === 'aws' ? aws : mqtt;
      const c = await v5(b.port);
      const t = uid('t');
      assert.deepEqual(
        await subscribe(c, [
          { topic: `ok/${t}/a`, qos: 1 },
          { topic: `bad/#/${t}`, qos: 1 },
          { topic: `bad/a+/${t}`, qos: 1 },
          { topic: `ok/${t}/b`, qos: 0 },
        ]),
        [1, 0x8f, 0x8f, 0],
      );
    });
  }

  for (const profile of ['aws', 'mqtt'] as const) {
    it(`[MQTT-3.9.3-2] ${profile}: a filter denied by authorizeSubscribe gets 0x87 (Not authorized) and receives nothing`, async () => {
      const b = await startBroker(profile, { hooks: { authorizeSubscribe: (_c, filter) => !filter.startsWith('deny/') } });
      try {
        const c = await v5(b.port);
        const t = uid('t');
        assert.deepEqual(
          await subscribe(c, [
            { topic: `deny/${t}`, qos: 1 },
            { topic: `ok/${t}`, qos: 1 },
          ]),
          [0x87, 1],
        );
        const pub = await v5(b.port);
        await pub.publish(`deny/${t}`, 'x', { qos: 1 });
        await pub.publish(`ok/${t}`, 'y', { qos: 1 });
        assert.equal((await c.expectPublish()).text, 'y');
      } finally {
        await b.close();
      }
    });
  }

  it('[MQTT-3.9.3-2] [spec/mqtt.md section 10] aws: more than 8 filters in one SUBSCRIBE → 0x97 (Quota exceeded) for the excess', async () => {
    const c = await v5(aws.port);
    const t = uid('t');
    const subs = Array.from({ length: 9 }, (_, i): ISubscription => ({ topic: `q/${t}/${i}`, qos: 1 }));
    assert.deepEqual(await subscribe(c, subs), [1, 1, 1, 1, 1, 1, 1, 1, 0x97]);
  });

  it('[MQTT-3.9.3-2] [spec/mqtt.md section 10] aws: the 51st subscription of a session → 0x97; re-subscribing an existing filter still works', async () => {
    const c = await v5(aws.port);
    const t = uid('t');
    for (let k = 0; k < 50; k += 5) {
      const subs = Array.from({ length: 5 }, (_, i): ISubscription => ({ topic: `q/${t}/${k + i}`, qos: 0 }));
      assert.deepEqual(await subscribe(c, subs), [0, 0, 0, 0, 0]);
    }
    assert.deepEqual(await subscribe(c, [{ topic: `q/${t}/50`, qos: 0 }]), [0x97]);
    assert.deepEqual(await subscribe(c, [{ topic: `q/${t}/0`, qos: 1 }]), [1]);
  });

  it('[MQTT-3.2.2-10] [spec/mqtt.md section 5] aws (deviation): a SUBSCRIBE requesting QoS 2 → DISCONNECT 0x9B', async () => {
    const c = await v5(aws.port);
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/b', qos: 2 }] });
    await expectDisconnect(c, 0x9b);
  });

  for (const profile of ['aws', 'mqtt'] as const) {
    it(`[MQTT-3.11.3-1] [MQTT-3.11.3-2] [MQTT-3.10.4-2] [MQTT-3.10.4-5] ${profile}: UNSUBACK 0x00 for a removed subscription, 0x11 (No subscription existed) otherwise; nothing more is delivered`, async () => {
      const b = profile === 'aws' ? aws : mqtt;
      const topic = `u/${uid('t')}`;
      const c = await v5(b.port);
      await c.subscribe(topic, 1);
      c.send({ cmd: 'unsubscribe', messageId: 77, unsubscriptions: [`${topic}/never`, topic] });
      const ack = await c.expectPacket('unsuback');
      assert.equal(ack.messageId, 77);
      assert.deepEqual(ack.granted, [0x11, 0x00]);
      const pub = await v5(b.port);
      await pub.publish(topic, 'x', { qos: 1 });
      await c.expectNoPacket(300);
    });
  }
});
