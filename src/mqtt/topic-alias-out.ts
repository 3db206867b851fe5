/**
 * Server → client topic aliases (MQTT 5, section 3.3.2.3.4), one table per network connection
 * [MQTT-3.3.2-10]: the first PUBLISH on a topic carries the topic and a new alias, later ones an
 * empty topic and the alias alone. Aliases are handed out first come, up to the Topic Alias
 * Maximum the client sent in CONNECT [MQTT-3.3.2-9]; once all are taken, other topics go out in
 * full (no reassignment: a client that counts on an alias meaning one topic is never surprised).
 *
 * It works on encoded PUBLISH packets (after the broker's encode-once fan-out and the per-receiver
 * packet id), so subscribers without aliases keep sharing one encoding.
 */
import { varintBytes, writeVarint } from './codec.js';

/** Property identifier of Topic Alias. */
const TOPIC_ALIAS = 0x23;

export class TopicAliasOut {
  /** Topic bytes (as a latin1 string, byte-exact) → alias. */
  readonly #aliases = new Map<string, number>();

  constructor(private readonly maximum: number) {}

  /**
   * The packet to send instead of `packet` (an MQTT 5 PUBLISH without a topic alias): with an
   * alias, or `packet` itself when the table is full. `maxBytes` (the client's Maximum Packet
   * Size, 0 = none) is respected: a first use that would exceed it goes out unaliased.
   */
  apply(packet: Buffer, maxBytes: number): Buffer {
    // Fixed header: type/flags, Remaining Length (1-4 bytes)
    let pos = 1;
    while ((packet[pos]! & 0x80) !== 0) pos++;
    pos++;
    const topicLength = packet.readUInt16BE(pos);
    if (topicLength === 0) return packet; // already aliased
    const topicStart = pos + 2;
    const topicEnd = topicStart + topicLength;
    const key = packet.toString('latin1', topicStart, topicEnd);
    let alias = this.#aliases.get(key);
    const known = alias !== undefined;
    if (alias === undefined) {
      if (this.#aliases.size >= this.maximum) return packet;
      alias = this.#aliases.size + 1;
    }
    const qos = (packet[0]! >> 1) & 0x03;
    const idEnd = topicEnd + (qos > 0 ? 2 : 0);
    // Property Length, then the properties
    let propLength = 0;
    let multiplier = 1;
    pos = idEnd;
    for (;;) {
      const b = packet[pos++]!;
      propLength += (b & 0x7f) * multiplier;
      if ((b & 0x80) === 0) break;
      multiplier *= 128;
    }
    const propsStart = pos;
    const payloadStart = propsStart + propLength;
    const newPropLength = propLength + 3;
    const newTopicLength = known ? 0 : topicLength;
    const remaining = 2 + newTopicLength + (idEnd - topicEnd) + varintBytes(newPropLength) + newPropLength + (packet.length - payloadStart);
    const total = 1 + varintBytes(remaining) + remaining;
    if (!known && maxBytes > 0 && total > maxBytes) return packet;
    if (!known) this.#aliases.set(key, alias);
    const out = Buffer.allocUnsafe(total);
    out[0] = packet[0]!;
    let o = writeVarint(out, 1, remaining);
    out.writeUInt16BE(newTopicLength, o);
    o += 2;
    if (!known) o += packet.copy(out, o, topicStart, topicEnd);
    o += packet.copy(out, o, topicEnd, idEnd); // packet id
    o = writeVarint(out, o, newPropLength);
    out[o++] = TOPIC_ALIAS;
    out.writeUInt16BE(alias, o);
    o += 2;
    packet.copy(out, o, propsStart); // the other properties and the payload
    return out;
  }
}
