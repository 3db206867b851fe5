/**
 * Records the contract suites store and expect back: sessions, subscriptions and a list of messages
 * that covers the edges of MessageRecord (empty and binary payloads, absent versus present optional
 * fields, every property alone and together).
 */
import type {
  MessageRecord,
  SessionMessageRecord,
  SessionRecord,
  StoredSession,
  SubscriptionRecord,
} from '../records.js';

export function sessionRecord(clientId: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    clientId,
    protocolVersion: 5,
    sessionExpiryIntervalSec: 3600,
    disconnectedAtMs: null,
    sessionIdentifier: `sid-${clientId}`,
    ...overrides,
  };
}

export function subscriptionRecord(topicFilter: string, overrides: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  return { topicFilter, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, ...overrides };
}

export function messageRecord(overrides: Partial<MessageRecord> = {}): MessageRecord {
  return {
    topic: 'devices/d1/telemetry',
    payload: Buffer.from('{"temperature":21.5}'),
    qos: 1,
    retain: false,
    createdAtMs: 1_700_000_000_000,
    ...overrides,
  };
}

export function sessionMessage(
  clientId: string,
  seq: number,
  message: MessageRecord = messageRecord({ payload: Buffer.from(`message ${seq}`) }),
  state: SessionMessageRecord['state'] = 'queued',
  packetId: number | null = null,
): SessionMessageRecord {
  return { clientId, seq, state, packetId, message };
}

export function emptyStoredSession(session: SessionRecord): StoredSession {
  return { session, subscriptions: [], messages: [], awaitingRel: [] };
}

/** Deterministic pseudo-random bytes (no two runs differ, so failures reproduce). */
export function bytes(length: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const everyByte = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));

/** [what it covers, message]: each must come back exactly as stored. */
export const messageVariants: ReadonlyArray<readonly [string, MessageRecord]> = [
  ['empty payload, no optional fields', { topic: 'a/b', payload: Buffer.alloc(0), qos: 0, retain: false, createdAtMs: 0 }],
  ['every byte value in the payload', messageRecord({ payload: everyByte })],
  ['a payload with only NUL bytes', messageRecord({ payload: Buffer.alloc(64) })],
  ['a 256 KiB binary payload', messageRecord({ payload: bytes(256 * 1024, 7) })],
  ['a non-ASCII topic', messageRecord({ topic: 'dévices/温度/😀/ ', payload: Buffer.from('ü', 'utf8') })],
  ['qos 2 with retain set', messageRecord({ qos: 2, retain: true })],
  ['expiresAtMs present', messageRecord({ expiresAtMs: 1_700_000_060_000 })],
  ['the largest safe timestamps', messageRecord({ createdAtMs: Number.MAX_SAFE_INTEGER - 1, expiresAtMs: Number.MAX_SAFE_INTEGER })],
  ['properties present but empty', messageRecord({ properties: {} })],
  ['payloadFormatIndicator false', messageRecord({ properties: { payloadFormatIndicator: false } })],
  ['payloadFormatIndicator true', messageRecord({ properties: { payloadFormatIndicator: true } })],
  ['contentType alone', messageRecord({ properties: { contentType: 'application/json; charset=utf-8' } })],
  ['responseTopic alone', messageRecord({ properties: { responseTopic: 'replies/d1' } })],
  ['binary correlationData alone', messageRecord({ properties: { correlationData: everyByte } })],
  ['empty strings and empty correlationData', messageRecord({ properties: { contentType: '', responseTopic: '', correlationData: Buffer.alloc(0) } })],
  ['userProperties as an empty list', messageRecord({ properties: { userProperties: [] } })],
  [
    'userProperties in order, with duplicate names and empty strings',
    messageRecord({ properties: { userProperties: [['b', '1'], ['a', '2'], ['b', '3'], ['', ''], ['ключ', '值 😀']] } }),
  ],
  [
    'every field at once',
    {
      topic: 'x/y/z',
      payload: bytes(300, 3),
      qos: 1,
      retain: true,
      createdAtMs: 1_700_000_000_123,
      expiresAtMs: 1_700_000_360_123,
      properties: {
        payloadFormatIndicator: true,
        contentType: 'text/plain',
        responseTopic: 'r/1',
        correlationData: bytes(200, 9),
        userProperties: [['k', 'v'.repeat(300)]],
      },
    },
  ],
];

/** Sorts a copy by topic filter (the contract does not fix the order of subscriptions). */
export function byTopicFilter(subscriptions: readonly SubscriptionRecord[]): SubscriptionRecord[] {
  return [...subscriptions].sort((a, b) => (a.topicFilter < b.topicFilter ? -1 : a.topicFilter > b.topicFilter ? 1 : 0));
}

/** Sorts a copy by topic (the contract does not fix the order of retained messages). */
export function byTopic(messages: readonly MessageRecord[]): MessageRecord[] {
  return [...messages].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
}

/** A StoredSession with its subscriptions sorted, for comparing with deepStrictEqual. */
export function normalized(stored: StoredSession | undefined): StoredSession | undefined {
  return stored === undefined ? undefined : { ...stored, subscriptions: byTopicFilter(stored.subscriptions) };
}
