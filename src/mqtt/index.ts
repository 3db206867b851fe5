/**
 * mqtt/: the protocol engine. MQTT 3.1.1 and 5.0 on one listener: codec (mqtt-packet), connection
 * state machine, sessions (inflight windows, offline queues, expiry), topic router with shared
 * subscriptions, retained messages, wills, MQTT 5 properties.
 *
 * It knows nothing of AWS, certificates, policies or JSON: those plug in through BrokerHooks, from
 * core/ only. It imports nothing but store/ interfaces.
 */
import type { Duplex } from 'node:stream';
import type { SessionStore, RetainedStore } from '../store/index.js';
import type { BrokerHooks, ClientInfo, PeerFacts, DisconnectCause } from './hooks.js';
import type { Message, MessageProperties, QoS } from './message.js';
import type { BrokerOptions } from './options.js';
import type { Logger } from './logger.js';
import type { Router } from './router/router.js';

export type * from './hooks.js';
export type { Message, MessageProperties, QoS } from './message.js';
export type { Logger } from './logger.js';
export type { Router, Subscription, MatchResult, SharedGroupMatch } from './router/router.js';
export * from './options.js';
export { anonymousPrincipal } from './principal.js';

/** A message published by the server itself (lifecycle events, shadow replies, rule republish). */
export interface ServerMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos?: QoS;
  readonly retain?: boolean;
  readonly properties?: MessageProperties;
  /** MQTT 5 message expiry in seconds. */
  readonly messageExpiryIntervalSec?: number;
}

/**
 * In-process consumer of published messages (shadow service, rules engine): called once per
 * message, synchronously after the message's deliveries were written; it must only take the message
 * and queue its own work.
 */
export type Consumer = (message: Message, publisher: ClientInfo | undefined) => void;

export interface ConsumerOptions {
  /**
   * The consumer serves this topic space (default true): with restrictDollarTopics, clients may
   * publish to `$` topics only where an owning consumer matches. A rule's FROM filter is not an owner.
   */
  readonly ownsTopic?: boolean;
  /** Matching messages go to this consumer only: never to subscribers, never retained (Basic Ingest). */
  readonly exclusive?: boolean;
}

export interface BrokerStats {
  readonly connections: number;
  readonly sessions: number;
  readonly subscriptions: number;
  readonly retainedMessages: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly messagesDropped: number;
}

export interface BrokerConfig {
  readonly options: BrokerOptions;
  readonly hooks?: BrokerHooks;
  /** Persistent sessions and retained messages survive restarts only with a store. */
  readonly store?: { readonly sessions: SessionStore; readonly retained: RetainedStore };
  readonly logger?: Logger;
  /** Replaces the local trie (clustered mode). */
  readonly router?: Router;
}

export interface Broker {
  /** Takes over a connected byte stream (TCP socket, TLS socket, WebSocket stream). */
  accept(stream: Duplex, peer: PeerFacts): void;
  /** Publishes as the server; resolves once routed (and stored where a persistent session needs it). */
  publish(message: ServerMessage): Promise<void>;
  /** Registers a consumer for a topic filter; returns the function that removes it. */
  addConsumer(topicFilter: string, consumer: Consumer, options?: ConsumerOptions): () => void;
  /** Connected clients. */
  clients(): IterableIterator<ClientInfo>;
  /**
   * Disconnects every connected client the predicate selects (MQTT 5 DISCONNECT with reasonCode,
   * a plain close for 3.1.1); returns how many. Used for certificate revocation, policy changes,
   * DeleteConnection.
   */
  disconnectClients(
    select: (client: ClientInfo) => boolean,
    reasonCode: number,
    cause: DisconnectCause,
    options?: { readonly preventWill?: boolean; readonly cleanSession?: boolean },
  ): number;
  readonly stats: BrokerStats;
  /** The retained message of a topic (expired ones are not returned). */
  retainedMessage(topic: string): Message | undefined;
  /** Every retained message (unexpired), in no particular order. */
  retainedMessages(): IterableIterator<Message>;
  /** True when the client id has a session (connected, or persistent and offline). */
  hasSession(clientId: string): boolean;
  /**
   * Ends a client id's session: its subscriptions and queued messages are discarded (a connected
   * client should be disconnected first). Returns whether there was one.
   */
  endSession(clientId: string): boolean;
  /**
   * Graceful stop: refuses new connections, disconnects every client (MQTT 5 DISCONNECT 0x8B),
   * publishes their wills, persists sessions and flushes the store. Idempotent.
   */
  close(): Promise<void>;
}

export { createBroker } from './broker.js';
