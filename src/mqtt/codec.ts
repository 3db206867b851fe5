/**
 * The codec: the only file that imports mqtt-packet.
 *
 * Framing is ours: the fixed header and Remaining Length are read here, so an oversized packet is
 * refused from its header before its body is buffered [MQTT-3.2.2-?? Maximum Packet Size], and every
 * frame is handed on whole. The hot packets (PUBLISH, PUBACK/PUBREC/PUBREL/PUBCOMP, PINGREQ) are
 * decoded in place here; the rest (CONNECT, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT, AUTH) go through
 * mqtt-packet's parser, fed one whole frame at a time.
 *
 * Encoding: PUBLISH is encoded here (once per outgoing shape; the packet id is patched into a copy
 * per receiver, see `withPacketId`), everything else by mqtt-packet's `generate`.
 *
 *   byte 0          1..4                 ...
 *   [type|flags] [Remaining Length varint] [variable header + payload]
 */
import { isUtf8 } from 'node:buffer';
import mqttPacket from 'mqtt-packet';
import type {
  Packet as MqttPacket,
  IPublishPacket,
  IPubackPacket,
  IPubrecPacket,
  IPubrelPacket,
  IPubcompPacket,
  IPingreqPacket,
  UserProperties,
} from 'mqtt-packet';

export type {
  IConnectPacket as ConnectPacket,
  ISubscribePacket as SubscribePacket,
  IUnsubscribePacket as UnsubscribePacket,
  IDisconnectPacket as DisconnectPacket,
  IAuthPacket as AuthPacket,
  UserProperties,
} from 'mqtt-packet';

export type ProtocolVersion = 3 | 4 | 5;

/** MQTT 5 properties a PUBLISH may carry, as decoded (user properties keep their order). */
export interface PublishProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  topicAlias?: number;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Array<[string, string]>;
  subscriptionIdentifiers?: number[];
  contentType?: string;
}

export interface PublishPacket {
  readonly cmd: 'publish';
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly dup: boolean;
  readonly retain: boolean;
  /** 0 for QoS 0. */
  readonly packetId: number;
  readonly properties: PublishProperties | undefined;
}

export interface AckPacket {
  readonly cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
  readonly packetId: number;
  readonly reasonCode: number;
}

export interface PingreqPacket {
  readonly cmd: 'pingreq';
}

export type InboundPacket =
  | PublishPacket
  | AckPacket
  | PingreqPacket
  | Exclude<MqttPacket, IPublishPacket | IPubackPacket | IPubrecPacket | IPubrelPacket | IPubcompPacket | IPingreqPacket>;

/** Why decoding stopped; the connection is closed with the matching reason code. */
export class DecodeError extends Error {
  constructor(
    message: string,
    /** MQTT 5 reason code: 0x81 malformed packet, 0x82 protocol error, 0x95 packet too large. */
    readonly reasonCode: number,
  ) {
    super(message);
    this.name = 'DecodeError';
  }
}

const ACK_NAMES = { 4: 'puback', 5: 'pubrec', 6: 'pubrel', 7: 'pubcomp' } as const;

/**
 * Incremental frame decoder for one connection. `push` every chunk read from the stream; complete
 * packets go to `onPacket` in order. Throws DecodeError; after that the decoder must not be used.
 */
export class Decoder {
  protocolVersion: ProtocolVersion = 4;
  /** Largest frame accepted (fixed header included). */
  maxPacketBytes: number;
  /** Bytes of an incomplete frame (null when none: most connections, most of the time). */
  private pending: Buffer[] | null = null;
  private pendingBytes = 0;
  /** Total length of the frame being collected, once known (0 = not yet known). */
  private neededBytes = 0;

  constructor(
    maxPacketBytes: number,
    private readonly sink: { onPacket(packet: InboundPacket): void },
  ) {
    this.maxPacketBytes = maxPacketBytes;
  }

  push(chunk: Buffer): void {
    let buf: Buffer;
    if (this.pending !== null) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.neededBytes > 0 && this.pendingBytes < this.neededBytes) return;
      buf = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = null;
      this.pendingBytes = 0;
      this.neededBytes = 0;
    } else {
      buf = chunk;
    }
    const len = buf.length;
    let off = 0;
    while (off < len) {
      if (len - off < 2) break;
      // Remaining Length: 1 to 4 bytes, 7 bits each [MQTT-2.2.3]
      let mul = 1;
      let remaining = 0;
      let pos = off + 1;
      let complete = false;
      for (let i = 0; i < 4; i++) {
        if (pos >= len) break;
        const b = buf[pos++]!;
        remaining += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
        if (i === 3) throw new DecodeError('Remaining Length longer than 4 bytes', 0x81);
      }
      if (!complete) break;
      const headerBytes = pos - off;
      const total = headerBytes + remaining;
      if (total > this.maxPacketBytes) {
        throw new DecodeError(`packet of ${total} bytes exceeds the maximum of ${this.maxPacketBytes}`, 0x95);
      }
      if (off + total > len) {
        this.neededBytes = total;
        break;
      }
      this.sink.onPacket(this.decodeFrame(buf, off, headerBytes, total));
      off += total;
    }
    if (off < len) {
      // Copy a small remainder so it does not pin the whole read chunk while we wait for the rest.
      const rest = off === 0 && buf.length <= 4096 ? buf : Buffer.from(buf.subarray(off));
      this.pending = [rest];
      this.pendingBytes = rest.length;
    }
  }

  private decodeFrame(buf: Buffer, off: number, headerBytes: number, total: number): InboundPacket {
    const byte0 = buf[off]!;
    const type = byte0 >> 4;
    const start = off + headerBytes;
    const end = off + total;
    switch (type) {
      case 3:
        return this.decodePublish(buf, byte0, start, end);
      case 4:
      case 5:
      case 6:
      case 7: {
        // PUBREL's fixed-header flags are 0010, the others 0000 [MQTT-3.6.1-1, MQTT-2.2.2-2]
        if ((byte0 & 0x0f) !== (type === 6 ? 2 : 0)) throw new DecodeError('invalid fixed header flags', 0x81);
        if (end - start < 2) throw new DecodeError('acknowledgement too short', 0x81);
        const packetId = buf.readUInt16BE(start);
        if (packetId === 0) throw new DecodeError('packet identifier 0', 0x81);
        let reasonCode = 0;
        if (end - start > 2) {
          if (this.protocolVersion !== 5) throw new DecodeError('acknowledgement too long', 0x81);
          reasonCode = buf[start + 2]!;
          if (end - start > 3) {
            const [propLen, n] = readVarint(buf, start + 3, end);
            if (start + 3 + n + propLen !== end) throw new DecodeError('bad property length', 0x81);
          }
        }
        return { cmd: ACK_NAMES[type], packetId, reasonCode };
      }
      case 12:
        if (byte0 !== 0xc0 || total !== 2) throw new DecodeError('malformed PINGREQ', 0x81);
        return { cmd: 'pingreq' };
      case 1:
      case 8:
      case 10:
      case 14:
      case 15:
        return this.decodeWithMqttPacket(buf.subarray(off, end));
      default:
        // CONNACK, SUBACK, UNSUBACK, PINGRESP and type 0 are server-to-client only [MQTT-2.2.1]
        throw new DecodeError(`packet type ${type} not allowed from a client`, 0x82);
    }
  }

  private decodeWithMqttPacket(frame: Buffer): InboundPacket {
    const packet = parseFrame(frame, this.protocolVersion);
    if (packet.cmd === 'connect') {
      const v = packet.protocolVersion ?? 4;
      this.protocolVersion = v;
      checkDecodedStrings(frame, [packet.clientId, packet.username, packet.will?.topic]);
      // 3.1.1: a password needs a user name [MQTT-3.1.2-22] (MQTT 5 allows a password alone)
      if (v !== 5 && packet.password !== undefined && packet.username === undefined) {
        throw new DecodeError('password flag set without user name flag', 0x81);
      }
      // mqtt-packet stops after the last field it expects and ignores the rest of the Remaining
      // Length. Re-encoding the parsed CONNECT gives the length a well-formed one has: anything
      // else (bytes left over, a non-minimal length encoding [MQTT-1.5.5-1]) is malformed.
      const expected = encodedLength(packet, v);
      if (expected >= 0 && expected !== frame.length) throw new DecodeError('CONNECT length does not match its fields', 0x81);
    } else if (packet.cmd === 'subscribe') {
      checkDecodedStrings(
        frame,
        packet.subscriptions.map((s) => s.topic),
      );
      if (!packet.messageId) throw new DecodeError('packet identifier 0', 0x81); // [MQTT-2.3.1-1]
      if (packet.subscriptions.length === 0) throw new DecodeError('SUBSCRIBE without a topic filter', 0x82); // [MQTT-3.8.3-3]
    } else if (packet.cmd === 'unsubscribe') {
      checkDecodedStrings(frame, packet.unsubscriptions);
      if (!packet.messageId) throw new DecodeError('packet identifier 0', 0x81); // [MQTT-2.3.1-1]
      if (packet.unsubscriptions.length === 0) throw new DecodeError('UNSUBSCRIBE without a topic filter', 0x82); // [MQTT-3.10.3-2]
    } else if (packet.cmd === 'disconnect' && this.protocolVersion !== 5 && frame.length !== 2) {
      // A 3.1.1 DISCONNECT has no variable header or payload: one with a body is malformed (not a normal disconnect)
      throw new DecodeError('DISCONNECT with a body', 0x81);
    }
    return packet as InboundPacket;
  }

  private decodePublish(buf: Buffer, byte0: number, start: number, end: number): PublishPacket {
    const qos = ((byte0 >> 1) & 3) as 0 | 1 | 2 | 3;
    if (qos === 3) throw new DecodeError('QoS 3', 0x81); // [MQTT-3.3.1-4]
    const dup = (byte0 & 8) !== 0;
    if (dup && qos === 0) throw new DecodeError('DUP set on a QoS 0 PUBLISH', 0x81); // [MQTT-3.3.1-2]
    let p = start;
    if (end - p < 2) throw new DecodeError('PUBLISH too short', 0x81);
    const topicLen = buf.readUInt16BE(p);
    p += 2;
    if (p + topicLen > end) throw new DecodeError('topic longer than packet', 0x81);
    const topicBytes = buf.subarray(p, p + topicLen);
    if (!isAsciiOrUtf8(topicBytes)) throw new DecodeError('topic is not valid UTF-8', 0x81); // [MQTT-1.5.3-1]
    const topic = topicBytes.toString('utf8');
    p += topicLen;
    let packetId = 0;
    if (qos > 0) {
      if (p + 2 > end) throw new DecodeError('PUBLISH too short', 0x81);
      packetId = buf.readUInt16BE(p);
      if (packetId === 0) throw new DecodeError('packet identifier 0', 0x81); // [MQTT-2.3.1-1]
      p += 2;
    }
    let properties: PublishProperties | undefined;
    if (this.protocolVersion === 5) {
      const [propLen, n] = readVarint(buf, p, end);
      p += n;
      if (p + propLen > end) throw new DecodeError('property length beyond packet', 0x81);
      if (propLen > 0) properties = decodePublishProperties(buf, p, p + propLen);
      p += propLen;
    }
    // Copy the payload: a subarray would pin the whole socket chunk for as long as the message lives.
    const payload = Buffer.from(buf.subarray(p, end));
    return { cmd: 'publish', topic, payload, qos, dup, retain: (byte0 & 1) !== 0, packetId, properties };
  }
}

/**
 * One mqtt-packet parser serves every connection: frames are handed over whole and parsed
 * synchronously, so no parse ever spans two connections. (A parser per connection cost about a
 * kilobyte per idle client.) After an error its state is unknown, so it is replaced.
 */
let sharedParser: ReturnType<typeof mqttPacket.parser> | null = null;
let parsedPacket: MqttPacket | undefined;
let parseFailure: Error | undefined;

function parseFrame(frame: Buffer, protocolVersion: ProtocolVersion): MqttPacket {
  if (sharedParser === null) {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: MqttPacket) => {
      parsedPacket = p;
    });
    parser.on('error', (err: unknown) => {
      parseFailure = err instanceof Error ? err : new Error(String(err));
    });
    sharedParser = parser;
  }
  parsedPacket = undefined;
  parseFailure = undefined;
  // The parser keeps the settings of the last CONNECT it saw; each frame is parsed as its connection's version.
  (sharedParser as unknown as { settings: { protocolVersion: number } }).settings = { protocolVersion };
  sharedParser.parse(frame);
  const failure = parseFailure as Error | undefined;
  const packet = parsedPacket as MqttPacket | undefined;
  parsedPacket = undefined;
  if (failure || !packet) {
    sharedParser = null;
    const msg = failure ? failure.message : 'incomplete packet';
    throw new DecodeError(msg, /protocol|version|reserved/i.test(msg) ? 0x82 : 0x81);
  }
  return packet;
}

/** The length mqtt-packet would encode a parsed packet with; -1 when it cannot encode it. */
function encodedLength(packet: MqttPacket, protocolVersion: ProtocolVersion): number {
  try {
    return mqttPacket.generate(packet, { protocolVersion }).length;
  } catch {
    return -1;
  }
}

/** Strings mqtt-packet decoded with toString(): a U+FFFD that is not in the frame was invalid UTF-8. */
function checkDecodedStrings(frame: Buffer, strings: ReadonlyArray<string | undefined>): void {
  for (const s of strings) {
    if (s !== undefined && s.includes('\ufffd') && !frame.includes(Buffer.from(s, 'utf8'))) {
      throw new DecodeError('string is not valid UTF-8', 0x81);
    }
  }
}

function isAsciiOrUtf8(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return isUtf8(bytes);
  return true;
}

function readVarint(buf: Buffer, pos: number, end: number): [value: number, bytes: number] {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 4; i++) {
    if (pos + i >= end) throw new DecodeError('truncated variable byte integer', 0x81);
    const b = buf[pos + i]!;
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [value, i + 1];
    mul *= 128;
  }
  throw new DecodeError('variable byte integer longer than 4 bytes', 0x81);
}

function readString(buf: Buffer, pos: number, end: number): [string, number] {
  if (pos + 2 > end) throw new DecodeError('truncated string', 0x81);
  const n = buf.readUInt16BE(pos);
  if (pos + 2 + n > end) throw new DecodeError('truncated string', 0x81);
  const bytes = buf.subarray(pos + 2, pos + 2 + n);
  if (!isAsciiOrUtf8(bytes)) throw new DecodeError('string is not valid UTF-8', 0x81);
  return [bytes.toString('utf8'), 2 + n];
}

function decodePublishProperties(buf: Buffer, p: number, end: number): PublishProperties {
  const props: PublishProperties = {};
  const once = (present: unknown): void => {
    if (present !== undefined) throw new DecodeError('property included more than once', 0x82);
  };
  while (p < end) {
    const id = buf[p++]!;
    switch (id) {
      case 0x01: {
        once(props.payloadFormatIndicator);
        if (p >= end) throw new DecodeError('truncated property', 0x81);
        const v = buf[p++]!;
        if (v > 1) throw new DecodeError('invalid payload format indicator', 0x82);
        props.payloadFormatIndicator = v === 1;
        break;
      }
      case 0x02:
        once(props.messageExpiryInterval);
        if (p + 4 > end) throw new DecodeError('truncated property', 0x81);
        props.messageExpiryInterval = buf.readUInt32BE(p);
        p += 4;
        break;
      case 0x23:
        once(props.topicAlias);
        if (p + 2 > end) throw new DecodeError('truncated property', 0x81);
        props.topicAlias = buf.readUInt16BE(p);
        p += 2;
        break;
      case 0x08: {
        once(props.responseTopic);
        const [s, n] = readString(buf, p, end);
        props.responseTopic = s;
        p += n;
        break;
      }
      case 0x09: {
        once(props.correlationData);
        if (p + 2 > end) throw new DecodeError('truncated property', 0x81);
        const n = buf.readUInt16BE(p);
        if (p + 2 + n > end) throw new DecodeError('truncated property', 0x81);
        props.correlationData = Buffer.from(buf.subarray(p + 2, p + 2 + n));
        p += 2 + n;
        break;
      }
      case 0x26: {
        const [k, n1] = readString(buf, p, end);
        const [v, n2] = readString(buf, p + n1, end);
        (props.userProperties ??= []).push([k, v]);
        p += n1 + n2;
        break;
      }
      case 0x0b: {
        // A client must not send a Subscription Identifier in PUBLISH [MQTT-3.3.4-6]
        throw new DecodeError('subscription identifier in a client PUBLISH', 0x82);
      }
      case 0x03: {
        once(props.contentType);
        const [s, n] = readString(buf, p, end);
        props.contentType = s;
        p += n;
        break;
      }
      default:
        throw new DecodeError(`property 0x${id.toString(16)} not allowed in PUBLISH`, 0x82);
    }
  }
  return props;
}

// ---------------------------------------------------------------------------------------------
// Encoding

export function varintBytes(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

export function writeVarint(buf: Buffer, pos: number, n: number): number {
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    buf[pos++] = b;
  } while (n > 0);
  return pos;
}

/** What an outgoing PUBLISH carries besides topic and payload. */
export interface OutgoingPublish {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  readonly dup: boolean;
  readonly properties?: PublishProperties | undefined;
}

function propertiesLength(props: PublishProperties): number {
  let n = 0;
  if (props.payloadFormatIndicator !== undefined) n += 2;
  if (props.messageExpiryInterval !== undefined) n += 5;
  if (props.topicAlias !== undefined) n += 3;
  if (props.responseTopic !== undefined) n += 3 + Buffer.byteLength(props.responseTopic);
  if (props.correlationData !== undefined) n += 3 + props.correlationData.length;
  if (props.userProperties) {
    for (const [k, v] of props.userProperties) n += 5 + Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (props.subscriptionIdentifiers) {
    for (const id of props.subscriptionIdentifiers) n += 1 + varintBytes(id);
  }
  if (props.contentType !== undefined) n += 3 + Buffer.byteLength(props.contentType);
  return n;
}

function writeString(buf: Buffer, pos: number, s: string): number {
  const n = buf.write(s, pos + 2, 'utf8');
  buf.writeUInt16BE(n, pos);
  return pos + 2 + n;
}

function writeProperties(buf: Buffer, pos: number, props: PublishProperties): number {
  if (props.payloadFormatIndicator !== undefined) {
    buf[pos++] = 0x01;
    buf[pos++] = props.payloadFormatIndicator ? 1 : 0;
  }
  if (props.messageExpiryInterval !== undefined) {
    buf[pos++] = 0x02;
    buf.writeUInt32BE(props.messageExpiryInterval, pos);
    pos += 4;
  }
  if (props.topicAlias !== undefined) {
    buf[pos++] = 0x23;
    buf.writeUInt16BE(props.topicAlias, pos);
    pos += 2;
  }
  if (props.responseTopic !== undefined) {
    buf[pos++] = 0x08;
    pos = writeString(buf, pos, props.responseTopic);
  }
  if (props.correlationData !== undefined) {
    buf[pos++] = 0x09;
    buf.writeUInt16BE(props.correlationData.length, pos);
    props.correlationData.copy(buf, pos + 2);
    pos += 2 + props.correlationData.length;
  }
  if (props.userProperties) {
    for (const [k, v] of props.userProperties) {
      buf[pos++] = 0x26;
      pos = writeString(buf, pos, k);
      pos = writeString(buf, pos, v);
    }
  }
  if (props.subscriptionIdentifiers) {
    for (const id of props.subscriptionIdentifiers) {
      buf[pos++] = 0x0b;
      pos = writeVarint(buf, pos, id);
    }
  }
  if (props.contentType !== undefined) {
    buf[pos++] = 0x03;
    pos = writeString(buf, pos, props.contentType);
  }
  return pos;
}

/** An encoded PUBLISH and where its packet id sits (for QoS > 0), so copies can be patched. */
export interface EncodedPublish {
  readonly bytes: Buffer;
  /** Offset of the 2-byte packet identifier, or -1 for QoS 0. */
  readonly packetIdOffset: number;
}

/**
 * Encodes a PUBLISH for a protocol version, with packet id 0 in place (patch it per receiver with
 * `withPacketId`). `topic` may be '' when a topic alias stands for it (MQTT 5).
 */
export function encodePublish(version: ProtocolVersion, p: OutgoingPublish): EncodedPublish {
  const topicBytes = Buffer.byteLength(p.topic);
  let propLen = 0;
  if (version === 5 && p.properties) propLen = propertiesLength(p.properties);
  const remaining =
    2 + topicBytes + (p.qos > 0 ? 2 : 0) + (version === 5 ? varintBytes(propLen) + propLen : 0) + p.payload.length;
  const total = 1 + varintBytes(remaining) + remaining;
  const buf = Buffer.allocUnsafe(total);
  buf[0] = 0x30 | (p.dup ? 8 : 0) | (p.qos << 1) | (p.retain ? 1 : 0);
  let pos = writeVarint(buf, 1, remaining);
  buf.writeUInt16BE(topicBytes, pos);
  pos += 2;
  pos += buf.write(p.topic, pos, 'utf8');
  let packetIdOffset = -1;
  if (p.qos > 0) {
    packetIdOffset = pos;
    buf[pos++] = 0;
    buf[pos++] = 0;
  }
  if (version === 5) {
    pos = writeVarint(buf, pos, propLen);
    if (p.properties && propLen > 0) pos = writeProperties(buf, pos, p.properties);
  }
  p.payload.copy(buf, pos);
  return { bytes: buf, packetIdOffset };
}

/** A copy of an encoded PUBLISH with its packet id (and optionally DUP) set. */
export function withPacketId(encoded: EncodedPublish, packetId: number, dup = false): Buffer {
  const copy = Buffer.allocUnsafe(encoded.bytes.length);
  encoded.bytes.copy(copy);
  if (encoded.packetIdOffset >= 0) copy.writeUInt16BE(packetId, encoded.packetIdOffset);
  if (dup) copy[0] = copy[0]! | 8;
  return copy;
}

/** PUBACK/PUBREC/PUBREL/PUBCOMP; the 2-byte form when reason code is 0 (allowed in v5 too). */
export function encodeAck(
  version: ProtocolVersion,
  cmd: AckPacket['cmd'],
  packetId: number,
  reasonCode = 0,
): Buffer {
  const type = cmd === 'puback' ? 4 : cmd === 'pubrec' ? 5 : cmd === 'pubrel' ? 6 : 7;
  const first = (type << 4) | (type === 6 ? 2 : 0);
  if (version !== 5 || reasonCode === 0) {
    const b = Buffer.allocUnsafe(4);
    b[0] = first;
    b[1] = 2;
    b.writeUInt16BE(packetId, 2);
    return b;
  }
  const b = Buffer.allocUnsafe(5);
  b[0] = first;
  b[1] = 3;
  b.writeUInt16BE(packetId, 2);
  b[4] = reasonCode;
  return b;
}

export const PINGRESP = Buffer.from([0xd0, 0x00]);

/** Encodes any other server-to-client packet with mqtt-packet. */
export function encodeOther(packet: MqttPacket, version: ProtocolVersion): Buffer {
  return mqttPacket.generate(packet, { protocolVersion: version });
}

/** mqtt-packet gives user properties as an object (repeated names as arrays); we keep ordered pairs. */
export function userPropertiesToPairs(props: UserProperties | undefined): Array<[string, string]> | undefined {
  if (!props) return undefined;
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(props)) {
    if (Array.isArray(v)) for (const x of v) out.push([k, String(x)]);
    else out.push([k, String(v)]);
  }
  return out;
}
