/**
 * A session: the state the server keeps for one client id [MQTT-4.1.0]: its subscriptions, the
 * outbound QoS 1/2 messages not yet completed (inflight window + queue), and the inbound QoS 2
 * packet ids awaiting PUBREL. It outlives its connection when persistent.
 *
 *   broker.deliver() ──► queue (FIFO, bounded by maxQueuedMessages; excess dropped)
 *                          │ while connected and inflight.size < window
 *                          ▼
 *                        inflight (packetId → entry, insertion order = send order)
 *                          │ PUBACK (QoS 1) / PUBREC → 'released' → PUBCOMP (QoS 2)
 *                          ▼
 *                        done (deleted from the store when persistent)
 *
 * On resume every 'sent' entry is sent again with DUP=1 and its packet id, every 'released' one
 * gets its PUBREL again, in the original order [MQTT-4.4.0-1], before any queued message.
 * Persistent sessions mirror every change into SessionOps that the broker's persister commits.
 */
import type { SessionOp, SubscriptionRecord } from '../../store/index.js';
import type { Message, QoS } from '../message.js';

export interface OutEntry {
  /** Delivery order within the session; the store key. */
  readonly seq: number;
  readonly message: Message;
  /** QoS of this delivery: min(message QoS, granted QoS). */
  readonly qos: QoS;
  /** RETAIN flag on the wire for this delivery. */
  readonly retain: boolean;
  readonly subscriptionIds: readonly number[] | undefined;
  packetId: number;
  state: 'queued' | 'sent' | 'released';
  /** Receive authorization still to be checked when it is sent (queued while offline). */
  checkReceive: boolean;
}

const EMPTY_SET: ReadonlySet<number> = new Set();
const EMPTY_INFLIGHT: ReadonlyMap<number, OutEntry> = new Map();
const EMPTY_SUBSCRIPTIONS: ReadonlyMap<string, SubscriptionRecord> = new Map();

export class Session {
  readonly clientId: string;
  protocolVersion: 3 | 4 | 5;
  /** Seconds the session outlives its connection; 0 = ends with the connection. */
  sessionExpiryIntervalSec: number;
  readonly sessionIdentifier: string;
  /** Wall-clock ms of the disconnect; null while connected. */
  disconnectedAtMs: number | null = null;
  /** Full filter (with any `$share/` prefix) → options. */
  private subscriptionMap: Map<string, SubscriptionRecord> | null = null;
  /** client ← broker: sent, awaiting PUBACK/PUBREC/PUBCOMP; packetId → entry, in send order. */
  private inflightMap: Map<number, OutEntry> | null = null;
  /** client ← broker: waiting for room in the inflight window (or for the client to come back). */
  private queue: OutEntry[] = [];
  private queueHead = 0;
  /** client → broker: QoS 2 packet ids received, PUBREC sent, awaiting PUBREL. */
  private awaitingRelIds: Set<number> | null = null;
  private nextSeq = 1;
  private nextPacketId = 1;
  /** Pending store writes (persistent sessions only); drained by the broker's persister. */
  private ops: SessionOp[] | null;

  constructor(init: {
    clientId: string;
    protocolVersion: 3 | 4 | 5;
    sessionExpiryIntervalSec: number;
    sessionIdentifier: string;
  }) {
    this.clientId = init.clientId;
    this.protocolVersion = init.protocolVersion;
    this.sessionExpiryIntervalSec = init.sessionExpiryIntervalSec;
    this.sessionIdentifier = init.sessionIdentifier;
    this.ops = init.sessionExpiryIntervalSec > 0 ? [] : null;
  }

  /** client → broker: QoS 2 packet ids awaiting PUBREL (created on first use: most sessions never have one). */
  get awaitingRel(): ReadonlySet<number> {
    return this.awaitingRelIds ?? EMPTY_SET;
  }

  /**
   * client ← broker: sent, awaiting PUBACK/PUBREC/PUBCOMP; packetId → entry, in send order.
   * (Maps are created on first use: an idle client has neither, which keeps it small.)
   */
  get inflight(): ReadonlyMap<number, OutEntry> {
    return this.inflightMap ?? EMPTY_INFLIGHT;
  }

  /** Full filter (with any `$share/` prefix) → options. */
  get subscriptions(): ReadonlyMap<string, SubscriptionRecord> {
    return this.subscriptionMap ?? EMPTY_SUBSCRIPTIONS;
  }

  /** A subscription loaded from the store (not recorded again). */
  restoreSubscription(sub: SubscriptionRecord): void {
    (this.subscriptionMap ??= new Map()).set(sub.topicFilter, sub);
  }

  get persistent(): boolean {
    return this.sessionExpiryIntervalSec > 0;
  }

  get queuedCount(): number {
    return this.queue.length - this.queueHead;
  }

  /** Store writes since the last call (empty for non-persistent sessions). */
  takeOps(): SessionOp[] {
    const ops = this.ops;
    if (!ops || ops.length === 0) return [];
    this.ops = [];
    return ops;
  }

  get hasOps(): boolean {
    return this.ops !== null && this.ops.length > 0;
  }

  /**
   * Changes the expiry (CONNECT resume, MQTT 5 DISCONNECT). Becoming persistent records everything
   * held so far; ceasing to be persistent deletes the stored copy.
   */
  setExpiry(sec: number): void {
    const was = this.persistent;
    this.sessionExpiryIntervalSec = sec;
    if (!was && sec > 0) {
      this.recordAll();
    } else if (was && sec === 0) {
      this.ops = null;
      this.dropStored = true;
    } else {
      this.recordSession();
    }
  }

  /** Set when a persistent session stopped being one: the broker deletes its stored copy. */
  dropStored = false;

  /** Records the session itself (after connect, disconnect, expiry change). */
  recordSession(): void {
    if (!this.persistent) return;
    (this.ops ??= []).push({
      op: 'putSession',
      session: {
        clientId: this.clientId,
        protocolVersion: this.protocolVersion,
        sessionExpiryIntervalSec: this.sessionExpiryIntervalSec,
        disconnectedAtMs: this.disconnectedAtMs,
        sessionIdentifier: this.sessionIdentifier,
      },
    });
  }

  /** Persists everything this session holds (used when a session becomes persistent). */
  recordAll(): void {
    if (!this.persistent) return;
    this.ops = [];
    this.recordSession();
    for (const sub of this.subscriptions.values()) {
      this.ops.push({ op: 'putSubscription', clientId: this.clientId, subscription: sub });
    }
    for (const e of this.inflight.values()) this.recordEntry(e);
    for (let i = this.queueHead; i < this.queue.length; i++) this.recordEntry(this.queue[i]!);
    for (const id of this.awaitingRel) this.ops.push({ op: 'putAwaitingRel', clientId: this.clientId, packetId: id });
  }

  setSubscription(sub: SubscriptionRecord): void {
    (this.subscriptionMap ??= new Map()).set(sub.topicFilter, sub);
    this.ops?.push({ op: 'putSubscription', clientId: this.clientId, subscription: sub });
  }

  deleteSubscription(topicFilter: string): boolean {
    const existed = this.subscriptionMap?.delete(topicFilter) ?? false;
    if (existed) this.ops?.push({ op: 'deleteSubscription', clientId: this.clientId, topicFilter });
    return existed;
  }

  addAwaitingRel(packetId: number): void {
    (this.awaitingRelIds ??= new Set()).add(packetId);
    this.ops?.push({ op: 'putAwaitingRel', clientId: this.clientId, packetId });
  }

  deleteAwaitingRel(packetId: number): boolean {
    const existed = this.awaitingRelIds?.delete(packetId) ?? false;
    if (existed) this.ops?.push({ op: 'deleteAwaitingRel', clientId: this.clientId, packetId });
    return existed;
  }

  /** Creates an outbound entry (not yet placed in the queue or the window). */
  newEntry(
    message: Message,
    qos: QoS,
    retain: boolean,
    subscriptionIds: readonly number[] | undefined,
    checkReceive: boolean,
  ): OutEntry {
    return { seq: this.nextSeq++, message, qos, retain, subscriptionIds, packetId: 0, state: 'queued', checkReceive };
  }

  /** Appends to the queue; false (and nothing recorded) when the queue is full. */
  enqueue(entry: OutEntry, maxQueued: number): boolean {
    if (this.queuedCount >= maxQueued) return false;
    this.queue.push(entry);
    this.recordEntry(entry);
    return true;
  }

  /** Next queued entry, removed from the queue. */
  dequeue(): OutEntry | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const e = this.queue[this.queueHead]!;
    this.queue[this.queueHead++] = undefined as unknown as OutEntry;
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return e;
  }

  /** Puts an entry into the inflight window with a fresh packet id; records it when persistent. */
  markSent(entry: OutEntry, alreadyRecorded: boolean): void {
    entry.packetId = this.allocatePacketId();
    entry.state = 'sent';
    (this.inflightMap ??= new Map()).set(entry.packetId, entry);
    if (!this.ops) return;
    if (alreadyRecorded) {
      this.ops.push({ op: 'updateMessage', clientId: this.clientId, seq: entry.seq, state: 'sent', packetId: entry.packetId });
    } else {
      this.recordEntry(entry);
    }
  }

  /** A dropped queued entry (expired, or not authorized any more). */
  forget(entry: OutEntry): void {
    this.ops?.push({ op: 'deleteMessage', clientId: this.clientId, seq: entry.seq });
  }

  /** PUBACK or PUBCOMP: the entry is done. */
  complete(packetId: number): OutEntry | undefined {
    const e = this.inflight.get(packetId);
    if (!e) return undefined;
    this.inflightMap!.delete(packetId);
    this.ops?.push({ op: 'deleteMessage', clientId: this.clientId, seq: e.seq });
    return e;
  }

  /** PUBREC: the QoS 2 entry moves to 'released' (the payload is no longer needed). */
  release(packetId: number): OutEntry | undefined {
    const e = this.inflight.get(packetId);
    if (!e || e.qos !== 2) return undefined;
    if (e.state !== 'released') {
      e.state = 'released';
      this.ops?.push({ op: 'updateMessage', clientId: this.clientId, seq: e.seq, state: 'released', packetId });
    }
    return e;
  }

  /** Drops everything owed to the client (clean start on a new connection). */
  clearMessages(): void {
    this.inflightMap = null;
    this.queue = [];
    this.queueHead = 0;
    this.awaitingRelIds = null;
  }

  /** Rebuilds state loaded from the store (after a restart). */
  restore(entries: readonly OutEntry[], awaitingRel: readonly number[]): void {
    for (const e of entries) {
      if (e.state === 'queued') this.queue.push(e);
      else (this.inflightMap ??= new Map()).set(e.packetId, e);
      if (e.seq >= this.nextSeq) this.nextSeq = e.seq + 1;
    }
    for (const id of awaitingRel) (this.awaitingRelIds ??= new Set()).add(id);
  }

  private recordEntry(entry: OutEntry): void {
    if (!this.ops) return;
    this.ops.push({
      op: 'putMessage',
      message: {
        clientId: this.clientId,
        seq: entry.seq,
        state: entry.state,
        packetId: entry.state === 'queued' ? null : entry.packetId,
        message: {
          topic: entry.message.topic,
          payload: entry.message.payload,
          qos: entry.qos,
          retain: entry.retain,
          createdAtMs: entry.message.createdAtMs,
          ...(entry.message.expiresAtMs !== undefined ? { expiresAtMs: entry.message.expiresAtMs } : {}),
          ...(entry.message.properties !== undefined ? { properties: entry.message.properties } : {}),
        },
      },
    });
  }

  private allocatePacketId(): number {
    for (let i = 0; i < 65535; i++) {
      const id = this.nextPacketId;
      this.nextPacketId = id === 65535 ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
    throw new Error('no free packet identifier'); // cannot happen: the window is at most 65535
  }
}
