/**
 * Conversions between MessageRecord and the columns that hold a message in SQLite (session message
 * bodies and retained messages use the same columns). Absent optional fields are NULL in a column and
 * come back absent, never as `undefined` (exactOptionalPropertyTypes).
 */
import type { MessagePropertiesRecord, MessageRecord } from '../records.js';
import { decodeProperties, encodeProperties } from '../properties-codec.js';

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The message columns as a row comes back from SQLite. */
export interface MessageColumns {
  readonly topic: string;
  readonly payload: Buffer;
  readonly created_at_ms: number;
  readonly expires_at_ms: number | null;
  readonly properties: Buffer | null;
}

export function propertiesToColumn(properties: MessagePropertiesRecord | undefined): Buffer | null {
  return properties === undefined ? null : encodeProperties(properties);
}

/** A message from its columns; qos and retain are passed separately (session messages keep them per row). */
export function messageFromColumns(row: MessageColumns, qos: number, retain: number): MessageRecord {
  const message: Mutable<MessageRecord> = {
    topic: row.topic,
    payload: row.payload,
    qos: qos as MessageRecord['qos'],
    retain: retain === 1,
    createdAtMs: row.created_at_ms,
  };
  if (row.expires_at_ms !== null) message.expiresAtMs = row.expires_at_ms;
  if (row.properties !== null) message.properties = decodeProperties(row.properties);
  return message;
}
