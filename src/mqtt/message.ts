/**
 * The broker's internal application message. A wire PUBLISH becomes a Message exactly once, at the
 * channel edge; from the broker onwards nothing sees a packet. Messages are immutable and their
 * payload Buffer is shared, never copied per subscriber.
 */
import type { MessageRecord, MessagePropertiesRecord } from '../store/index.js';

export type QoS = 0 | 1 | 2;

export type MessageProperties = MessagePropertiesRecord;

export interface Message extends MessageRecord {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  /** Client id of the publisher (for No Local); undefined for messages the server itself publishes. */
  readonly publisherClientId?: string;
  /** Set on a will published for a connection that ended (consumers such as shadows ignore wills). */
  readonly isWill?: true;
}
