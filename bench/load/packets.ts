/**
 * Pre-encoded MQTT 3.1.1 packets for the load generator.
 *
 * Every packet the generator sends is built once with mqtt-packet's `generate`. PUBLISH packets are
 * built as a template and a pre-built run of copies of it; a batch of N messages is one memcpy of
 * that run plus in-place patches of the few bytes that differ between messages (packet id, stream
 * id, sequence number, send timestamp). No per-message allocation, one socket write per batch.
 *
 * Payload layout (PAYLOAD_SIZE = 64 bytes unless a scenario asks otherwise):
 *   [0..4)   stream id (u32 BE): which publisher (or pair) sent it
 *   [4..8)   sequence number (u32 BE) within the stream, from 0
 *   [8..16)  send time, performance.now() in ms (f64 BE), written only when a scenario asks
 *   [16..)   filler
 */
import mqttPacket from 'mqtt-packet';

export const PAYLOAD_SIZE = 64;
export const PAYLOAD_STREAM = 0;
export const PAYLOAD_SEQ = 4;
export const PAYLOAD_TIME = 8;

export const PINGREQ = Buffer.from([0xc0, 0x00]);
export const DISCONNECT = Buffer.from([0xe0, 0x00]);

/** Packet type nibbles (high 4 bits of the first byte). */
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const SUBACK = 9;
export const PINGRESP = 13;

export function connectPacket(clientId: string, keepalive = 60): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId,
    keepalive,
  });
}

export function subscribePacket(topics: readonly string[], qos: 0 | 1, messageId: number): Buffer {
  return mqttPacket.generate({
    cmd: 'subscribe',
    messageId,
    subscriptions: topics.map((topic) => ({ topic, qos })),
  });
}

/** Length of the fixed header (type byte + remaining-length varint) at the start of `buf`. */
function fixedHeaderLength(buf: Buffer): number {
  let i = 1;
  while ((buf[i]! & 0x80) !== 0) i++;
  return i + 1;
}

/**
 * A PUBLISH packet to one topic, pre-encoded, plus a pre-built run of `maxBatch` copies of it.
 * `batch(n, firstSeq)` returns a fresh buffer with n consecutive messages of the stream.
 */
export class PublishTemplate {
  readonly packetLength: number;
  /** Offset of the packet id inside one packet, or -1 for QoS 0. */
  readonly idOffset: number;
  /** Offset of the payload inside one packet. */
  readonly payloadOffset: number;
  private readonly run: Buffer;
  readonly maxBatch: number;

  constructor(
    readonly topic: string,
    readonly qos: 0 | 1,
    readonly streamId: number,
    maxBatch: number,
    payloadSize = PAYLOAD_SIZE,
  ) {
    const payload = Buffer.alloc(payloadSize, 0x78); // 'x' filler
    payload.writeUInt32BE(streamId, PAYLOAD_STREAM);
    payload.writeUInt32BE(0, PAYLOAD_SEQ);
    payload.writeDoubleBE(0, PAYLOAD_TIME);
    const one = mqttPacket.generate({
      cmd: 'publish',
      topic,
      payload,
      qos,
      retain: false,
      dup: false,
      ...(qos > 0 ? { messageId: 1 } : {}),
    });
    const hl = fixedHeaderLength(one);
    const topicLen = one.readUInt16BE(hl);
    this.idOffset = qos > 0 ? hl + 2 + topicLen : -1;
    this.payloadOffset = hl + 2 + topicLen + (qos > 0 ? 2 : 0);
    this.packetLength = one.length;
    if (this.payloadOffset + payloadSize !== one.length) throw new Error('unexpected PUBLISH layout');
    this.maxBatch = maxBatch;
    this.run = Buffer.allocUnsafe(one.length * maxBatch);
    for (let i = 0; i < maxBatch; i++) one.copy(this.run, i * one.length);
  }

  /**
   * n messages with sequence numbers firstSeq.., packet ids taken from `ids` (QoS 1; ids[idStart+i]),
   * and, if `time` is given, that send time in every payload.
   */
  batch(n: number, firstSeq: number, ids?: Uint16Array, idStart = 0, time?: number): Buffer {
    if (n > this.maxBatch) throw new Error(`batch of ${n} exceeds ${this.maxBatch}`);
    const len = this.packetLength;
    const out = Buffer.allocUnsafe(n * len);
    this.run.copy(out, 0, 0, n * len);
    const seqAt = this.payloadOffset + PAYLOAD_SEQ;
    for (let i = 0, o = 0; i < n; i++, o += len) {
      out.writeUInt32BE((firstSeq + i) >>> 0, o + seqAt);
    }
    if (ids !== undefined && this.idOffset >= 0) {
      for (let i = 0, o = this.idOffset; i < n; i++, o += len) out.writeUInt16BE(ids[idStart + i]!, o);
    }
    if (time !== undefined) {
      const timeAt = this.payloadOffset + PAYLOAD_TIME;
      for (let i = 0, o = timeAt; i < n; i++, o += len) out.writeDoubleBE(time, o);
    }
    return out;
  }
}
