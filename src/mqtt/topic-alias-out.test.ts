import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import mqttPacket from 'mqtt-packet';
import { encodePublish, withPacketId } from './codec.js';
import { TopicAliasOut } from './topic-alias-out.js';

function parse(buf: Buffer): mqttPacket.IPublishPacket {
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  let out: mqttPacket.Packet | undefined;
  parser.on('packet', (p: mqttPacket.Packet) => (out = p));
  parser.on('error', (err: Error) => assert.fail(err));
  parser.parse(buf);
  assert.ok(out !== undefined && out.cmd === 'publish', 'one PUBLISH');
  return out;
}

const encode = (topic: string, qos: 0 | 1, packetId = 7, payload = 'hello'): Buffer =>
  withPacketId(
    encodePublish(5, {
      topic,
      payload: Buffer.from(payload),
      qos,
      retain: true,
      dup: false,
      properties: { messageExpiryInterval: 30, userProperties: [['a', '1'], ['b', '2']], contentType: 'text/plain' },
    }),
    packetId,
  );

describe('TopicAliasOut', () => {
  it('sets an alias with the topic first, then sends the alias alone; every other field is kept', () => {
    for (const qos of [1, 0] as const) {
      const table = new TopicAliasOut(3);
      const first = parse(table.apply(encode('a/b', qos), 0));
      assert.equal(first.topic, 'a/b');
      assert.equal(first.properties?.topicAlias, 1);
      const second = parse(table.apply(encode('a/b', qos, 9), 0));
      assert.equal(second.topic, '');
      assert.equal(second.properties?.topicAlias, 1);
      for (const p of [first, second]) {
        assert.equal(p.qos, qos);
        assert.equal(p.retain, true);
        assert.equal(p.payload.toString(), 'hello');
        assert.equal(p.properties?.messageExpiryInterval, 30);
        assert.equal(p.properties?.contentType, 'text/plain');
        assert.deepEqual({ ...p.properties?.userProperties }, { a: '1', b: '2' });
      }
      if (qos === 1) assert.deepEqual([first.messageId, second.messageId], [7, 9]);
    }
  });

  it('hands out aliases 1..maximum first come, then sends other topics in full', () => {
    const t = new TopicAliasOut(2);
    const aliasOf = (topic: string): [string, number | undefined] => {
      const p = parse(t.apply(encode(topic, 0), 0));
      return [p.topic, p.properties?.topicAlias];
    };
    assert.deepEqual(aliasOf('x'), ['x', 1]);
    assert.deepEqual(aliasOf('y'), ['y', 2]);
    assert.deepEqual(aliasOf('z'), ['z', undefined]);
    assert.deepEqual(aliasOf('z'), ['z', undefined]);
    assert.deepEqual(aliasOf('y'), ['', 2]);
  });

  it('keys topics by their exact bytes (multi-byte UTF-8)', () => {
    const t = new TopicAliasOut(4);
    assert.equal(parse(t.apply(encode('t/é', 0), 0)).properties?.topicAlias, 1);
    assert.equal(parse(t.apply(encode('t/e', 0), 0)).properties?.topicAlias, 2);
    const again = parse(t.apply(encode('t/é', 0), 0));
    assert.deepEqual([again.topic, again.properties?.topicAlias], ['', 1]);
  });

  it("does not set an alias when the longer packet would pass the client's Maximum Packet Size", () => {
    const t = new TopicAliasOut(4);
    const plain = encode('m/n', 1);
    const out = t.apply(plain, plain.length + 2);
    assert.equal(out, plain, 'sent unaliased');
    const next = parse(t.apply(encode('m/n', 1), plain.length + 3));
    assert.deepEqual([next.topic, next.properties?.topicAlias], ['m/n', 1]);
  });

  it('handles a payload large enough for a multi-byte Remaining Length, and no other properties', () => {
    const t = new TopicAliasOut(1);
    const big = 'x'.repeat(20_000);
    const enc = (): Buffer => withPacketId(encodePublish(5, { topic: 'big/t', payload: Buffer.from(big), qos: 1, retain: false, dup: false }), 3);
    const a = parse(t.apply(enc(), 0));
    const b = parse(t.apply(enc(), 0));
    assert.deepEqual([a.topic, a.properties?.topicAlias, a.payload.length], ['big/t', 1, 20_000]);
    assert.deepEqual([b.topic, b.properties?.topicAlias, b.payload.toString()], ['', 1, big]);
  });
});
