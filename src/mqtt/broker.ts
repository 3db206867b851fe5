/**
 * The broker: sessions, the publish pipeline, retained messages, wills, session expiry and
 * persistence. Connections (connection.ts) speak the protocol; this file decides where messages go.
 *
 * A PUBLISH through route():
 *   1. retain: store/replace/delete (empty payload) in the retained index and the store;
 *   2. router.match(topic) (cached per topic) → per-client targets (overlapping subscriptions
 *      merged: highest QoS, every subscription identifier) (cached per match result);
 *   3. per target: authorizeReceive, then QoS 0 → write the shared encoded buffer; QoS 1/2 →
 *      session entry into the inflight window (packet id patched into a copy) or the queue;
 *   4. shared groups: one member per group, round robin over connected members;
 *   5. consumers (shadow, rules) once per message, right after its deliveries were written.
 * The encoded PUBLISH is built once per (protocol version, QoS, RETAIN flag) and shared.
 */
import type { Duplex } from 'node:stream';
import type { SessionMessageRecord } from '../store/index.js';
import { encodePublish, withPacketId, type EncodedPublish, type PublishProperties } from './codec.js';
import { Connection } from './connection.js';
import type { BrokerEvent, BrokerHooks, ClientInfo, DisconnectCause, PeerFacts } from './hooks.js';
import type { Broker, BrokerConfig, BrokerStats, Consumer, ConsumerOptions, ServerMessage } from './index.js';
import { silentLogger, type Logger } from './logger.js';
import type { Message, QoS } from './message.js';
import type { BrokerOptions } from './options.js';
import { Persister } from './persister.js';
import { RC } from './reason-codes.js';
import { RetainedIndex } from './router/retained-index.js';
import type { MatchResult, Router, Subscription } from './router/router.js';
import { createLocalRouter } from './router/topic-trie.js';
import { Session, type OutEntry } from './session/session.js';
import { hasWildcard, parseSharedFilter } from './topic.js';

/** One client's merged view of the subscriptions that matched a topic. */
interface Target {
  readonly clientId: string;
  readonly qos: QoS;
  readonly retainAsPublished: boolean;
  readonly subscriptionIds: readonly number[] | undefined;
  /** All of the client's matching subscriptions, kept only when one has No Local set. */
  readonly noLocalSubs: readonly Subscription[] | undefined;
}

const NEVER_EXPIRES = 0xffffffff;
const NO_SUBSCRIPTIONS: readonly Subscription[] = Object.freeze([]);
/** Keep-alive is enforced at most this late (mosquitto checks in the same way, from its loop). */
const SWEEP_INTERVAL_MS = 250;

export interface RouteResult {
  /** Some subscriber (or consumer) matched. */
  readonly matched: boolean;
  /** Some write must be committed before the publisher may be acknowledged. */
  readonly needsCommit: boolean;
}

/** Per-publish cache of encoded PUBLISH packets, by (v5, QoS, RETAIN). */
class EncodeCache {
  private readonly slots: Array<EncodedPublish | undefined> = [];
  private expirySec: number | undefined;

  constructor(
    private readonly message: Message,
    now: number,
  ) {
    if (message.expiresAtMs !== undefined) this.expirySec = Math.max(0, Math.floor((message.expiresAtMs - now) / 1000));
  }

  get(version: 3 | 4 | 5, qos: QoS, retain: boolean, subscriptionIds: readonly number[] | undefined): EncodedPublish {
    if (subscriptionIds !== undefined && version === 5) {
      return encodeFor(this.message, version, qos, retain, this.expirySec, subscriptionIds, false);
    }
    const key = (version === 5 ? 6 : 0) + qos * 2 + (retain ? 1 : 0);
    let e = this.slots[key];
    if (!e) {
      e = encodeFor(this.message, version, qos, retain, this.expirySec, undefined, false);
      this.slots[key] = e;
    }
    return e;
  }
}

function encodeFor(
  message: Message,
  version: 3 | 4 | 5,
  qos: QoS,
  retain: boolean,
  expirySec: number | undefined,
  subscriptionIds: readonly number[] | undefined,
  dup: boolean,
): EncodedPublish {
  let properties: PublishProperties | undefined;
  if (version === 5) {
    const p = message.properties;
    if (p || expirySec !== undefined || subscriptionIds) {
      properties = {
        ...(p?.payloadFormatIndicator !== undefined ? { payloadFormatIndicator: p.payloadFormatIndicator } : {}),
        ...(expirySec !== undefined ? { messageExpiryInterval: expirySec } : {}),
        ...(p?.contentType !== undefined ? { contentType: p.contentType } : {}),
        ...(p?.responseTopic !== undefined ? { responseTopic: p.responseTopic } : {}),
        ...(p?.correlationData !== undefined ? { correlationData: p.correlationData } : {}),
        ...(p?.userProperties !== undefined ? { userProperties: p.userProperties.map(([k, v]) => [k, v] as [string, string]) } : {}),
        ...(subscriptionIds ? { subscriptionIdentifiers: [...subscriptionIds] } : {}),
      };
    }
  }
  return encodePublish(version, { topic: message.topic, payload: message.payload, qos, retain, dup, properties });
}

export class BrokerImpl implements Broker {
  readonly options: BrokerOptions;
  readonly hooks: BrokerHooks;
  readonly logger: Logger;
  readonly router: Router;
  readonly persister: Persister;
  private readonly retained = new RetainedIndex();
  private readonly consumers: Router;
  /** Consumers registered as exclusive (their topics bypass subscribers); 0 skips the check. */
  private exclusiveConsumers = 0;
  private nextConsumerId = 1;
  private readonly sessions = new Map<string, Session>();
  /** clientId → its connected connection. */
  private readonly live = new Map<string, Connection>();
  /** Every open connection, connected or not yet. */
  private readonly connections = new Set<Connection>();
  /** Persistent sessions without a connection (candidates for expiry). */
  private readonly offline = new Set<Session>();
  /** Delayed wills (MQTT 5 Will Delay Interval), by client id. */
  private readonly delayedWills = new Map<string, { timer: NodeJS.Timeout; publish: () => void }>();
  private readonly pending = new Set<Promise<void>>();
  private readonly targetsCache = new WeakMap<MatchResult, readonly Target[]>();
  private readonly sharedCursor = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;
  private closing: Promise<void> | null = null;
  private counters = { messagesIn: 0, messagesOut: 0, messagesDropped: 0 };

  constructor(config: BrokerConfig) {
    this.options = config.options;
    this.hooks = config.hooks ?? {};
    this.logger = config.logger ?? silentLogger;
    const hashMatchesParent = this.options.features.hashMatchesParent;
    this.router = config.router ?? createLocalRouter({ hashMatchesParent });
    this.consumers = createLocalRouter({ hashMatchesParent });
    this.persister = new Persister(config.store?.sessions, config.store?.retained, this.logger);
    // One sweep serves every connection's keep-alive/CONNECT deadline and every session's expiry.
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** Loads persistent sessions and retained messages from the store (once, before accepting). */
  async load(config: BrokerConfig): Promise<void> {
    const store = config.store;
    if (!store) return;
    const now = Date.now();
    for (const m of await store.retained.loadAll()) this.retained.set({ ...m });
    for (const stored of await store.sessions.loadAll()) {
      const rec = stored.session;
      const session = new Session({
        clientId: rec.clientId,
        protocolVersion: rec.protocolVersion,
        sessionExpiryIntervalSec: rec.sessionExpiryIntervalSec,
        sessionIdentifier: rec.sessionIdentifier,
      });
      // A session that was connected when the broker stopped was disconnected then.
      session.disconnectedAtMs = rec.disconnectedAtMs ?? now;
      for (const sub of stored.subscriptions) {
        session.restoreSubscription(sub);
        this.router.add(toRouterSubscription(rec.clientId, sub.topicFilter, sub));
      }
      session.restore(stored.messages.map(fromStoredMessage), stored.awaitingRel);
      this.sessions.set(rec.clientId, session);
      this.offline.add(session);
      if (rec.disconnectedAtMs === null) {
        session.recordSession();
        this.persister.touch(session);
      }
    }
    this.expireSessions(now);
  }

  // ------------------------------------------------------------------------------------------
  // Public API

  accept(stream: Duplex, peer: PeerFacts): void {
    if (this.closing) {
      stream.destroy();
      return;
    }
    const conn = new Connection(this, stream, peer);
    this.connections.add(conn);
  }

  async publish(m: ServerMessage): Promise<void> {
    const now = Date.now();
    const message: Message = {
      topic: m.topic,
      payload: m.payload,
      qos: m.qos ?? 0,
      retain: m.retain ?? false,
      createdAtMs: now,
      ...(m.messageExpiryIntervalSec !== undefined ? { expiresAtMs: now + m.messageExpiryIntervalSec * 1000 } : {}),
      ...(m.properties !== undefined ? { properties: m.properties } : {}),
    };
    const result = this.route(message, undefined);
    if (result.needsCommit) {
      await new Promise<void>((resolve, reject) =>
        this.persister.afterCommit((ok) => (ok ? resolve() : reject(new Error('store commit failed')))),
      );
    }
  }

  addConsumer(topicFilter: string, consumer: Consumer, options: ConsumerOptions = {}): () => void {
    const key = `consumer:${this.nextConsumerId++}`;
    const exclusive = options.exclusive === true;
    const entry: ConsumerEntry = { fn: consumer, ownsTopic: options.ownsTopic !== false, exclusive, removed: false };
    if (exclusive) this.exclusiveConsumers++;
    const subscription: ConsumerSubscription = { clientId: key, topicFilter, qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0, consumer: entry };
    this.consumers.add(subscription);
    return () => {
      if (entry.removed) return;
      entry.removed = true;
      this.consumers.remove(key, topicFilter);
      if (exclusive) this.exclusiveConsumers--;
    };
  }

  *clients(): IterableIterator<ClientInfo> {
    for (const c of this.live.values()) if (c.client) yield c.client;
  }

  disconnectClients(
    select: (client: ClientInfo) => boolean,
    reasonCode: number,
    cause: DisconnectCause,
    options: { readonly preventWill?: boolean; readonly cleanSession?: boolean } = {},
  ): number {
    let n = 0;
    for (const conn of [...this.live.values()]) {
      if (!conn.client || !select(conn.client)) continue;
      if (options.preventWill) conn.will = null;
      const clientId = conn.clientId;
      conn.fail(reasonCode, cause);
      if (options.cleanSession) this.discardSession(clientId);
      n++;
    }
    return n;
  }

  retainedMessage(topic: string): Message | undefined {
    const m = this.retained.get(topic);
    return m && (m.expiresAtMs === undefined || m.expiresAtMs > Date.now()) ? m : undefined;
  }

  *retainedMessages(): IterableIterator<Message> {
    const now = Date.now();
    for (const m of this.retained.values()) if (m.expiresAtMs === undefined || m.expiresAtMs > now) yield m;
  }

  hasSession(clientId: string): boolean {
    return this.sessions.has(clientId);
  }

  endSession(clientId: string): boolean {
    if (!this.sessions.has(clientId)) return false;
    this.discardSession(clientId);
    return true;
  }

  get stats(): BrokerStats {
    return {
      connections: this.connections.size,
      sessions: this.sessions.size,
      subscriptions: this.router.size,
      retainedMessages: this.retained.size,
      ...this.counters,
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.sweeper);
      for (const conn of [...this.connections]) {
        if (conn.state === 'connected') conn.fail(RC.SERVER_SHUTTING_DOWN, 'server-shutdown');
        else conn.close('server-shutdown', false);
      }
      // Delayed wills are published now: the server is going away [MQTT-3.1.3-9]
      for (const w of [...this.delayedWills.values()]) w.publish();
      while (this.pending.size > 0) await Promise.all([...this.pending]);
      await this.persister.flush();
    })();
    return this.closing;
  }

  // ------------------------------------------------------------------------------------------
  // Used by connections

  emit(event: BrokerEvent): void {
    const onEvent = this.hooks.onEvent;
    if (!onEvent) return;
    try {
      onEvent(event);
    } catch (err: unknown) {
      this.logger.error({ err, event: event.type }, 'event hook failed');
    }
  }

  /** True when a consumer that owns the topic matches it (restrictDollarTopics admits such publishes). */
  hasConsumerFor(topic: string): boolean {
    if (this.consumers.size === 0) return false;
    const cm = this.consumers.match(topic).subscriptions;
    for (let i = 0; i < cm.length; i++) if (consumerOf(cm[i]!).ownsTopic) return true;
    return false;
  }

  /** Queues a session's pending store writes for the next group commit. */
  persistSession(session: Session): void {
    if (session.hasOps) this.persister.touch(session);
    if (session.dropStored) {
      session.dropStored = false;
      this.persister.addSessionOp({ op: 'deleteSession', clientId: session.clientId });
    }
  }

  openSession(
    conn: Connection,
    init: {
      clientId: string;
      cleanStart: boolean;
      protocolVersion: 3 | 4 | 5;
      sessionExpiryIntervalSec: number;
      sessionIdentifier: string;
    },
  ): { session: Session; sessionPresent: boolean } {
    const { clientId } = init;
    const previous = this.live.get(clientId);
    if (previous) {
      // Session takeover [MQTT-3.1.4-3]: the older connection is closed (MQTT 5: 0x8E)
      previous.fail(RC.SESSION_TAKEN_OVER, 'taken-over');
    }
    let session = this.sessions.get(clientId);
    const delayed = this.delayedWills.get(clientId);
    if (delayed) {
      // Reconnected before the will delay passed: the will is not sent [MQTT-3.1.3-9]
      clearTimeout(delayed.timer);
      this.delayedWills.delete(clientId);
    }
    // AWS: a 3.1.1 session is not resumed by an MQTT 5 connection or vice versa (spec/mqtt.md section 6)
    const versionMismatch =
      session !== undefined &&
      this.options.profile === 'aws' &&
      (session.protocolVersion === 5) !== (init.protocolVersion === 5);
    if (session && (init.cleanStart || versionMismatch)) {
      this.discardSession(clientId);
      session = undefined;
    }
    let sessionPresent = false;
    if (session) {
      sessionPresent = true;
      this.offline.delete(session);
      session.protocolVersion = init.protocolVersion;
      session.disconnectedAtMs = null;
      session.setExpiry(init.sessionExpiryIntervalSec);
    } else {
      session = new Session(init);
      this.sessions.set(clientId, session);
      session.recordSession();
    }
    this.live.set(clientId, conn);
    this.persistSession(session);
    return { session, sessionPresent };
  }

  connectionClosed(conn: Connection, wasConnected: boolean, cause: DisconnectCause, clientInitiated: boolean): void {
    this.connections.delete(conn);
    if (!wasConnected || !conn.session || !conn.client) return;
    const clientId = conn.clientId;
    if (this.live.get(clientId) === conn) this.live.delete(clientId);
    const session = conn.session;
    this.emit({ type: 'disconnected', client: conn.client, cause, clientInitiated });
    const will = conn.will;
    conn.will = null;
    const now = Date.now();
    if (session.persistent && this.sessions.get(clientId) === session) {
      session.disconnectedAtMs = now;
      session.recordSession();
      this.offline.add(session);
      this.persistSession(session);
    } else if (this.sessions.get(clientId) === session) {
      this.discardSession(clientId);
    }
    if (will) {
      const client = conn.client;
      const send = (): void => {
        // The will's Message Expiry counts from its publication, not from CONNECT [MQTT-3.1.3.2.4]
        const now = Date.now();
        const expiry = will.expiresAtMs !== undefined ? { expiresAtMs: will.expiresAtMs + (now - will.createdAtMs) } : {};
        this.route({ ...will, ...expiry, createdAtMs: now, isWill: true }, client);
      };
      const publish = (): void => {
        this.delayedWills.delete(clientId);
        // Authorized at CONNECT and again now (spec/policy.md section 6): the policy or the
        // certificate may have changed since, above all during a will delay.
        const allowed = this.willAllowed(client, will);
        if (allowed === true) send();
        else if (allowed !== false) this.track(allowed.then((ok) => (ok ? send() : this.willDenied(client, will))));
        else this.willDenied(client, will);
      };
      const delaySec = Math.min(conn.willDelaySec, session.persistent ? session.sessionExpiryIntervalSec : 0);
      if (delaySec > 0 && !this.closing) {
        const timer = setTimeout(publish, delaySec * 1000);
        timer.unref();
        this.delayedWills.set(clientId, { timer, publish });
      } else {
        publish();
      }
    }
  }

  /** Routes a message to every matching session and consumer. */
  route(message: Message, publisher: ClientInfo | undefined): RouteResult {
    this.counters.messagesIn++;
    const topic = message.topic;
    const consumerMatches = this.consumers.size > 0 ? this.consumers.match(topic).subscriptions : NO_SUBSCRIPTIONS;
    if (this.exclusiveConsumers > 0 && this.isExclusive(consumerMatches)) {
      // A topic an exclusive consumer owns (e.g. Basic Ingest) goes to it alone: no subscriber, no retain.
      this.callConsumers(consumerMatches, message, publisher);
      return { matched: true, needsCommit: false };
    }
    let needsCommit = false;
    if (message.retain) needsCommit = this.storeRetained(message);
    const match = this.router.match(topic);
    let matched = false;
    const now = Date.now();
    if (message.expiresAtMs !== undefined && message.expiresAtMs <= now) return { matched: false, needsCommit };
    const cache = new EncodeCache(message, now);
    const targets = this.targetsFor(match);
    const publisherId = message.publisherClientId;
    for (let i = 0; i < targets.length; i++) {
      let t: Target | undefined = targets[i]!;
      if (t.noLocalSubs !== undefined && publisherId === t.clientId) {
        t = mergeTargets(t.clientId, t.noLocalSubs.filter((s) => !s.noLocal));
        if (!t) continue;
      }
      const session = this.sessions.get(t.clientId);
      if (!session) continue;
      matched = true;
      const retainFlag = t.retainAsPublished && message.retain;
      const qos = (message.qos < t.qos ? message.qos : t.qos) as QoS;
      if (this.deliver(session, message, qos, retainFlag, t.subscriptionIds, cache)) needsCommit = true;
    }
    const shared = match.shared;
    for (let i = 0; i < shared.length; i++) {
      const g = shared[i]!;
      const picked = this.pickSharedMember(g.group, g.members, message.qos);
      if (!picked) continue;
      matched = true;
      const session = this.sessions.get(picked.clientId)!;
      const qos = (message.qos < picked.qos ? message.qos : picked.qos) as QoS;
      const subIds = picked.subscriptionId !== undefined ? [picked.subscriptionId] : undefined;
      if (this.deliver(session, message, qos, false, subIds, cache)) needsCommit = true;
    }
    // Consumers run after the deliveries are written (queued on the sockets), once per message.
    if (consumerMatches.length > 0 && this.callConsumers(consumerMatches, message, publisher)) matched = true;
    return { matched, needsCommit };
  }

  private isExclusive(consumerMatches: readonly Subscription[]): boolean {
    for (let i = 0; i < consumerMatches.length; i++) if (consumerOf(consumerMatches[i]!).exclusive) return true;
    return false;
  }

  /**
   * Calls each matching consumer once, synchronously and after the message's deliveries were
   * written. Consumers only take the message and queue their own work (the shadow service, the rule
   * engine): holding every message in a closure until a later turn cost more (GC) than the call.
   */
  private callConsumers(consumerMatches: readonly Subscription[], message: Message, publisher: ClientInfo | undefined): boolean {
    let called = false;
    for (let i = 0; i < consumerMatches.length; i++) {
      const c = consumerOf(consumerMatches[i]!);
      if (c.removed) continue;
      called = true;
      try {
        c.fn(message, publisher);
      } catch (err: unknown) {
        this.logger.error({ err, topic: message.topic }, 'consumer failed');
      }
    }
    return called;
  }

  /** Delivers to one session; true when the session's store writes must be committed first. */
  private deliver(
    session: Session,
    message: Message,
    qos: QoS,
    retainFlag: boolean,
    subscriptionIds: readonly number[] | undefined,
    cache: EncodeCache,
  ): boolean {
    const conn = this.live.get(session.clientId);
    const authorizeReceive = this.hooks.authorizeReceive;
    if (conn && conn.client) {
      if (authorizeReceive && !this.mayReceive(conn.client, message.topic)) return false;
      if (qos === 0) {
        if (conn.congested) {
          this.counters.messagesDropped++;
          return false;
        }
        const enc = cache.get(conn.version, 0, retainFlag, subscriptionIds);
        if (conn.clientMaxPacketBytes > 0 && enc.bytes.length > conn.clientMaxPacketBytes) return false; // [MQTT-3.1.2-25]
        conn.writePublish(enc.bytes);
        this.counters.messagesOut++;
        return false;
      }
      const entry = session.newEntry(message, qos, retainFlag, subscriptionIds, false);
      if (session.queuedCount === 0 && session.inflight.size < conn.sendWindow) {
        const enc = cache.get(conn.version, qos, retainFlag, subscriptionIds);
        if (conn.clientMaxPacketBytes > 0 && enc.bytes.length > conn.clientMaxPacketBytes) return false;
        session.markSent(entry, false);
        conn.writePublish(withPacketId(enc, entry.packetId));
        this.counters.messagesOut++;
      } else if (!session.enqueue(entry, this.options.limits.maxQueuedMessages)) {
        this.counters.messagesDropped++;
        return false;
      }
    } else {
      // Offline persistent session: QoS 0 is not queued (spec/mqtt.md section 6), QoS 1/2 is.
      if (qos === 0) return false;
      const entry = session.newEntry(message, qos, retainFlag, subscriptionIds, authorizeReceive !== undefined);
      if (!session.enqueue(entry, this.options.limits.maxQueuedMessages)) {
        this.counters.messagesDropped++;
        return false;
      }
    }
    if (!session.persistent) return false;
    this.persister.touch(session);
    return true;
  }

  /** Sends one session entry on a connection (resume, queue drain); DUP on a resend. */
  sendEntry(conn: Connection, entry: OutEntry, dup: boolean): boolean {
    const now = Date.now();
    const m = entry.message;
    const expirySec = m.expiresAtMs !== undefined ? Math.max(0, Math.floor((m.expiresAtMs - now) / 1000)) : undefined;
    const enc = encodeFor(m, conn.version, entry.qos, entry.retain, expirySec, entry.subscriptionIds, dup);
    // Too large for the client's Maximum Packet Size: not sent; the caller completes the entry [MQTT-3.1.2-28]
    if (conn.clientMaxPacketBytes > 0 && enc.bytes.length > conn.clientMaxPacketBytes) return false;
    conn.writePublish(withPacketId(enc, entry.packetId, dup));
    this.counters.messagesOut++;
    return true;
  }

  /** Moves queued entries into the inflight window while it has room. */
  drain(session: Session, conn: Connection): void {
    const now = Date.now();
    while (session.inflight.size < conn.sendWindow) {
      const e = session.dequeue();
      if (!e) break;
      // Messages whose expiry passed while they waited are not delivered [MQTT-3.3.2-5]
      if (e.message.expiresAtMs !== undefined && e.message.expiresAtMs <= now) {
        session.forget(e);
        continue;
      }
      if (e.checkReceive && conn.client && this.hooks.authorizeReceive && !this.mayReceive(conn.client, e.message.topic)) {
        session.forget(e);
        continue;
      }
      session.markSent(e, true);
      if (!this.sendEntry(conn, e, false)) session.complete(e.packetId);
    }
  }

  /** Retained messages for a new subscription (RETAIN=1 on these) [MQTT-3.3.1-6..8]. */
  sendRetained(conn: Connection, filter: string, grantedQos: QoS, subscriptionId: number | undefined): void {
    const session = conn.session;
    if (!session) return;
    let messages: readonly Message[];
    if (this.options.features.retainedOnExactFilterOnly) {
      // AWS delivers a retained message only when the filter equals its topic (spec/mqtt.md section 7)
      if (hasWildcard(filter)) return;
      const m = this.retained.get(filter);
      messages = m ? [m] : [];
    } else {
      messages = this.retained.match(filter, this.options.features.hashMatchesParent);
    }
    const now = Date.now();
    const subIds = subscriptionId !== undefined ? [subscriptionId] : undefined;
    let touched = false;
    for (const m of messages) {
      if (m.expiresAtMs !== undefined && m.expiresAtMs <= now) continue;
      const qos = (m.qos < grantedQos ? m.qos : grantedQos) as QoS;
      if (this.deliver(session, m, qos, true, subIds, new EncodeCache(m, now))) touched = true;
    }
    if (touched) this.persistSession(session);
  }

  // ------------------------------------------------------------------------------------------
  // Internals

  /** iot:Publish (and iot:RetainPublish for a retained will) on the will topic, failing closed. */
  private willAllowed(client: ClientInfo, will: Message): boolean | Promise<boolean> {
    const { authorizePublish, authorizeRetain } = this.hooks;
    const check = (f: () => boolean | Promise<boolean>): boolean | Promise<boolean> => {
      try {
        const d = f();
        return d instanceof Promise ? d.catch(() => false) : d;
      } catch {
        return false;
      }
    };
    const publish = authorizePublish ? check(() => authorizePublish(client, will.topic, will.qos)) : true;
    const retain = (): boolean | Promise<boolean> => (will.retain && authorizeRetain ? check(() => authorizeRetain(client, will.topic)) : true);
    if (publish === false) return false;
    if (publish === true) return retain();
    return publish.then((ok) => (ok ? retain() : false));
  }

  private willDenied(client: ClientInfo, will: Message): void {
    this.logger.info({ clientId: client.clientId, topic: will.topic }, 'will not published: the client may no longer publish to its topic');
  }

  /** Work the broker must finish before close() resolves (asynchronous will checks). */
  private track(p: Promise<void>): void {
    const done = p.catch((err: unknown) => this.logger.error({ err }, 'will publication failed')).finally(() => this.pending.delete(done));
    this.pending.add(done);
  }

  private mayReceive(client: ClientInfo, topic: string): boolean {
    try {
      return this.hooks.authorizeReceive!(client, topic);
    } catch {
      return false; // decisions fail closed
    }
  }

  private storeRetained(message: Message): boolean {
    const topic = message.topic;
    if (message.payload.length === 0) {
      // An empty retained message deletes the stored one and is not stored [MQTT-3.3.1-10]
      if (!this.retained.delete(topic)) return false;
      this.persister.addRetainedOp({ op: 'delete', topic });
      return this.persister.enabled;
    }
    const { publisherClientId: _p, isWill: _w, ...record } = message;
    this.retained.set(record);
    this.persister.addRetainedOp({ op: 'put', message: record });
    return this.persister.enabled && message.qos > 0;
  }

  private targetsFor(match: MatchResult): readonly Target[] {
    let targets = this.targetsCache.get(match);
    if (targets) return targets;
    const subs = match.subscriptions;
    if (subs.length === 1) {
      targets = [mergeTargets(subs[0]!.clientId, subs)!];
    } else {
      const byClient = new Map<string, Subscription[]>();
      for (const s of subs) {
        const list = byClient.get(s.clientId);
        if (list) list.push(s);
        else byClient.set(s.clientId, [s]);
      }
      targets = [...byClient].map(([clientId, list]) => mergeTargets(clientId, list)!);
    }
    this.targetsCache.set(match, targets);
    return targets;
  }

  private pickSharedMember(group: string, members: readonly Subscription[], qos: QoS): Subscription | undefined {
    const n = members.length;
    const start = (this.sharedCursor.get(group) ?? 0) % n;
    for (let k = 0; k < n; k++) {
      const s = members[(start + k) % n]!;
      const conn = this.live.get(s.clientId);
      if (conn && !conn.congested) {
        this.sharedCursor.set(group, start + k + 1);
        return s;
      }
    }
    // No member online: QoS 1/2 goes to a persistent member's queue (spec/mqtt.md section 9)
    if (qos === 0) return undefined;
    for (let k = 0; k < n; k++) {
      const s = members[(start + k) % n]!;
      if (this.sessions.get(s.clientId)?.persistent) {
        this.sharedCursor.set(group, start + k + 1);
        return s;
      }
    }
    return undefined;
  }

  /** Ends a session: its subscriptions leave the router and its stored copy is deleted. */
  private discardSession(clientId: string): void {
    const session = this.sessions.get(clientId);
    if (!session) return;
    this.sessions.delete(clientId);
    this.offline.delete(session);
    for (const filter of session.subscriptions.keys()) {
      const parsed = parseSharedFilter(filter);
      if (parsed) this.router.remove(clientId, parsed.topicFilter, parsed.shareName);
      else this.router.remove(clientId, filter);
    }
    if (session.persistent || session.dropStored) {
      session.takeOps();
      session.dropStored = false;
      this.persister.addSessionOp({ op: 'deleteSession', clientId });
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const conn of this.connections) conn.checkDeadline(now);
    this.expireSessions(now);
  }

  private expireSessions(now: number): void {
    for (const s of this.offline) {
      if (s.sessionExpiryIntervalSec === NEVER_EXPIRES || s.disconnectedAtMs === null) continue;
      if (now < s.disconnectedAtMs + s.sessionExpiryIntervalSec * 1000) continue;
      // The session ends: a will still delayed is published now [MQTT-3.1.3-9]
      this.delayedWills.get(s.clientId)?.publish();
      this.discardSession(s.clientId);
    }
  }
}

function mergeTargets(clientId: string, subs: readonly Subscription[]): Target | undefined {
  if (subs.length === 0) return undefined;
  let qos: QoS = 0;
  let rap = false;
  let ids: number[] | undefined;
  let anyNoLocal = false;
  for (const s of subs) {
    if (s.qos > qos) qos = s.qos;
    if (s.retainAsPublished) rap = true;
    if (s.subscriptionId !== undefined) (ids ??= []).push(s.subscriptionId);
    if (s.noLocal) anyNoLocal = true;
  }
  return { clientId, qos, retainAsPublished: rap, subscriptionIds: ids, noLocalSubs: anyNoLocal ? subs : undefined };
}

function toRouterSubscription(
  clientId: string,
  fullFilter: string,
  o: { qos: QoS; noLocal: boolean; retainAsPublished: boolean; retainHandling: 0 | 1 | 2; subscriptionId?: number },
): Subscription {
  const parsed = parseSharedFilter(fullFilter);
  return {
    clientId,
    topicFilter: parsed ? parsed.topicFilter : fullFilter,
    ...(parsed ? { shareName: parsed.shareName } : {}),
    qos: o.qos,
    noLocal: o.noLocal,
    retainAsPublished: o.retainAsPublished,
    retainHandling: o.retainHandling,
    ...(o.subscriptionId !== undefined ? { subscriptionId: o.subscriptionId } : {}),
  };
}

function fromStoredMessage(r: SessionMessageRecord): OutEntry {
  return {
    seq: r.seq,
    message: { ...r.message },
    qos: r.message.qos,
    retain: r.message.retain,
    subscriptionIds: undefined,
    packetId: r.packetId ?? 0,
    state: r.state,
    checkReceive: true,
  };
}

/** Creates a broker and loads its persistent state; call `accept` for each new connection. */
export async function createBroker(config: BrokerConfig): Promise<Broker> {
  const broker = new BrokerImpl(config);
  await broker.load(config);
  return broker;
}


/** A consumer as the consumer router holds it: the entry rides on its subscription, no lookup. */
interface ConsumerEntry {
  readonly fn: Consumer;
  readonly ownsTopic: boolean;
  readonly exclusive: boolean;
  removed: boolean;
}

interface ConsumerSubscription extends Subscription {
  readonly consumer: ConsumerEntry;
}

/** Only addConsumer puts subscriptions into the consumer router. */
function consumerOf(s: Subscription): ConsumerEntry {
  return (s as ConsumerSubscription).consumer;
}
