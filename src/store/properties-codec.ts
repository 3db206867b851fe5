/**
 * Compact binary form of MessagePropertiesRecord, for a single BLOB column (SQLite now, a PostgreSQL
 * bytea later). Most messages have no properties at all: callers store NULL for those, so this codec
 * only runs for messages that carry some.
 *
 * Why not JSON: correlationData is binary (base64 would grow it by a third) and the hot path encodes
 * one of these per queued message. Why not one column per property: `{}` and `userProperties: []`
 * must come back exactly as given, and a presence bit per field says that with no extra columns.
 *
 *   byte 0      format version (1)
 *   byte 1      presence flags
 *                 0x01 payloadFormatIndicator present   0x02 its value (true)
 *                 0x04 contentType    0x08 responseTopic
 *                 0x10 correlationData   0x20 userProperties   (0x40, 0x80 reserved: must be 0)
 *   then, for each present field in the order above:
 *     string      varint byte length, UTF-8 bytes
 *     bytes       varint length, the bytes
 *     userProps   varint pair count, then name and value as strings, in the original order
 *
 * Example: { contentType: 'a', userProperties: [['k', 'v']] }
 *   → 01 24 01 61 01 01 6b 01 76   (9 bytes)
 *
 * Strings are UTF-8; MQTT allows only well-formed UTF-8 [MQTT-1.5.4-1], so a JS string from the
 * broker always survives the round trip.
 */
import type { MessagePropertiesRecord } from './records.js';
import { StoreError } from './errors.js';

const FORMAT_VERSION = 1;
const PFI_PRESENT = 0x01;
const PFI_TRUE = 0x02;
const CONTENT_TYPE = 0x04;
const RESPONSE_TOPIC = 0x08;
const CORRELATION_DATA = 0x10;
const USER_PROPERTIES = 0x20;
const KNOWN_FLAGS = 0x3f;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, offset: number, n: number): number {
  while (n >= 0x80) {
    buf[offset++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[offset++] = n;
  return offset;
}

export function encodeProperties(properties: MessagePropertiesRecord): Buffer {
  const { payloadFormatIndicator, contentType, responseTopic, correlationData, userProperties } = properties;
  let flags = 0;
  let size = 2;
  let contentTypeBytes = 0;
  let responseTopicBytes = 0;
  if (payloadFormatIndicator !== undefined) flags |= PFI_PRESENT | (payloadFormatIndicator ? PFI_TRUE : 0);
  if (contentType !== undefined) {
    flags |= CONTENT_TYPE;
    contentTypeBytes = Buffer.byteLength(contentType, 'utf8');
    size += varintSize(contentTypeBytes) + contentTypeBytes;
  }
  if (responseTopic !== undefined) {
    flags |= RESPONSE_TOPIC;
    responseTopicBytes = Buffer.byteLength(responseTopic, 'utf8');
    size += varintSize(responseTopicBytes) + responseTopicBytes;
  }
  if (correlationData !== undefined) {
    flags |= CORRELATION_DATA;
    size += varintSize(correlationData.length) + correlationData.length;
  }
  if (userProperties !== undefined) {
    flags |= USER_PROPERTIES;
    size += varintSize(userProperties.length);
    for (const [name, value] of userProperties) {
      const n = Buffer.byteLength(name, 'utf8');
      const v = Buffer.byteLength(value, 'utf8');
      size += varintSize(n) + n + varintSize(v) + v;
    }
  }

  const buf = Buffer.allocUnsafe(size);
  buf[0] = FORMAT_VERSION;
  buf[1] = flags;
  let at = 2;
  if (contentType !== undefined) {
    at = writeVarint(buf, at, contentTypeBytes);
    at += buf.write(contentType, at, 'utf8');
  }
  if (responseTopic !== undefined) {
    at = writeVarint(buf, at, responseTopicBytes);
    at += buf.write(responseTopic, at, 'utf8');
  }
  if (correlationData !== undefined) {
    at = writeVarint(buf, at, correlationData.length);
    at += correlationData.copy(buf, at);
  }
  if (userProperties !== undefined) {
    at = writeVarint(buf, at, userProperties.length);
    for (const [name, value] of userProperties) {
      at = writeVarint(buf, at, Buffer.byteLength(name, 'utf8'));
      at += buf.write(name, at, 'utf8');
      at = writeVarint(buf, at, Buffer.byteLength(value, 'utf8'));
      at += buf.write(value, at, 'utf8');
    }
  }
  if (at !== size) throw new Error(`encodeProperties: wrote ${at} bytes, expected ${size}`);
  return buf;
}

class Reader {
  at = 2;
  constructor(private readonly buf: Buffer) {}

  varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const byte = this.buf[this.at++];
      if (byte === undefined) throw corrupt('truncated length');
      n += (byte & 0x7f) * scale;
      if (byte < 0x80) return n;
      scale *= 0x80;
      if (scale > 2 ** 35) throw corrupt('length too long');
    }
  }

  bytes(): Buffer {
    const length = this.varint();
    const end = this.at + length;
    if (end > this.buf.length) throw corrupt('truncated field');
    // A copy, not a view: the caller may keep it long after the row buffer is gone.
    const out = Buffer.from(this.buf.subarray(this.at, end));
    this.at = end;
    return out;
  }

  string(): string {
    const length = this.varint();
    const end = this.at + length;
    if (end > this.buf.length) throw corrupt('truncated string');
    const out = this.buf.toString('utf8', this.at, end);
    this.at = end;
    return out;
  }
}

function corrupt(what: string): StoreError {
  return new StoreError('CorruptRecord', `stored message properties are corrupt: ${what}`);
}

export function decodeProperties(buf: Buffer): MessagePropertiesRecord {
  if (buf.length < 2) throw corrupt('too short');
  if (buf[0] !== FORMAT_VERSION) throw corrupt(`unknown format version ${String(buf[0])}`);
  const flags = buf[1] ?? 0;
  if ((flags & ~KNOWN_FLAGS) !== 0) throw corrupt(`unknown flags 0x${flags.toString(16)}`);
  if ((flags & (PFI_PRESENT | PFI_TRUE)) === PFI_TRUE) throw corrupt('payloadFormatIndicator value without presence');
  const reader = new Reader(buf);
  const out: Mutable<MessagePropertiesRecord> = {};
  if ((flags & PFI_PRESENT) !== 0) out.payloadFormatIndicator = (flags & PFI_TRUE) !== 0;
  if ((flags & CONTENT_TYPE) !== 0) out.contentType = reader.string();
  if ((flags & RESPONSE_TOPIC) !== 0) out.responseTopic = reader.string();
  if ((flags & CORRELATION_DATA) !== 0) out.correlationData = reader.bytes();
  if ((flags & USER_PROPERTIES) !== 0) {
    const count = reader.varint();
    const pairs: (readonly [string, string])[] = [];
    for (let i = 0; i < count; i++) {
      const name = reader.string();
      pairs.push([name, reader.string()]);
    }
    out.userProperties = pairs;
  }
  if (reader.at !== buf.length) throw corrupt('trailing bytes');
  return out;
}
