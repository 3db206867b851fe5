/**
 * Plain records that the stores carry. No MQTT or AWS types: the broker and the AWS rooms convert
 * their own values to and from these at their edges.
 */

/** MQTT 5 properties that travel with an application message (forwarded to subscribers). */
export interface MessagePropertiesRecord {
  readonly payloadFormatIndicator?: boolean;
  readonly contentType?: string;
  readonly responseTopic?: string;
  readonly correlationData?: Buffer;
  /** Order-preserving list of [name, value] pairs. */
  readonly userProperties?: ReadonlyArray<readonly [string, string]>;
}

/** An application message as stored (retained, queued for an offline session, inflight). */
export interface MessageRecord {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  /** Wall-clock ms when the broker accepted the message. */
  readonly createdAtMs: number;
  /** Wall-clock ms after which the message must not be delivered (MQTT 5 message expiry); absent = never. */
  readonly expiresAtMs?: number;
  readonly properties?: MessagePropertiesRecord;
}

export interface SubscriptionRecord {
  /** The filter exactly as subscribed, including any `$share/<group>/` prefix. */
  readonly topicFilter: string;
  readonly qos: 0 | 1 | 2;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  readonly subscriptionId?: number;
}

/** A persistent session's own state (its subscriptions and messages are kept beside it). */
export interface SessionRecord {
  readonly clientId: string;
  /** 4 = MQTT 3.1.1, 5 = MQTT 5.0 (a session is resumed only by the same version, spec/mqtt.md section 6). */
  readonly protocolVersion: 3 | 4 | 5;
  readonly sessionExpiryIntervalSec: number;
  /** Wall-clock ms when the client went away; null while connected. */
  readonly disconnectedAtMs: number | null;
  /** Stable id of this session across resumes (lifecycle events' sessionIdentifier). */
  readonly sessionIdentifier: string;
}

/**
 * One message owed to a session, in delivery order (`seq` ascending, unique per client).
 * state 'queued': not yet sent; 'sent': PUBLISH sent with `packetId`, awaiting PUBACK/PUBREC;
 * 'released': QoS 2 PUBREC received and PUBREL sent, awaiting PUBCOMP (payload no longer needed).
 */
export interface SessionMessageRecord {
  readonly clientId: string;
  readonly seq: number;
  readonly state: 'queued' | 'sent' | 'released';
  readonly packetId: number | null;
  readonly message: MessageRecord;
}

/** Everything needed to rebuild one persistent session after a restart. */
export interface StoredSession {
  readonly session: SessionRecord;
  readonly subscriptions: readonly SubscriptionRecord[];
  readonly messages: readonly SessionMessageRecord[];
  /** QoS 2 packet ids received from the client and not yet released (PUBREL pending). */
  readonly awaitingRel: readonly number[];
}

export type SessionOp =
  | { readonly op: 'putSession'; readonly session: SessionRecord }
  /** Deletes the session and everything it owns (subscriptions, messages, awaitingRel). */
  | { readonly op: 'deleteSession'; readonly clientId: string }
  | { readonly op: 'putSubscription'; readonly clientId: string; readonly subscription: SubscriptionRecord }
  | { readonly op: 'deleteSubscription'; readonly clientId: string; readonly topicFilter: string }
  /** Inserts or replaces the message with this (clientId, seq). */
  | { readonly op: 'putMessage'; readonly message: SessionMessageRecord }
  /** Changes only state and packetId of an existing message (cheap: no payload rewrite). */
  | {
      readonly op: 'updateMessage';
      readonly clientId: string;
      readonly seq: number;
      readonly state: SessionMessageRecord['state'];
      readonly packetId: number | null;
    }
  | { readonly op: 'deleteMessage'; readonly clientId: string; readonly seq: number }
  | { readonly op: 'putAwaitingRel'; readonly clientId: string; readonly packetId: number }
  | { readonly op: 'deleteAwaitingRel'; readonly clientId: string; readonly packetId: number };

export type RetainedOp =
  | { readonly op: 'put'; readonly message: MessageRecord }
  | { readonly op: 'delete'; readonly topic: string };
