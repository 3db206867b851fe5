/**
 * One client connection: the byte stream, the decoder, the write batching, the keep-alive timer and
 * the protocol state machine
 *
 *   awaiting-connect ──CONNECT──► connecting ──(authenticate ok)──► connected ──► closed
 *          │                          └─────(refused: CONNACK failure)─────────────┘
 *          └──(anything else, timeout)──────────────────────────────────────────────┘
 *
 * Packets are handled strictly in order. A handler that must wait (an asynchronous authorization
 * decision) parks the following packets in a backlog and pauses the stream until it is done.
 * Protocol outcomes are values: each handler turns a reason code into the packet that the protocol
 * version calls for (MQTT 5 reason code, or for 3.1.1 a failure code or a closed connection).
 */
import { randomFillSync } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { Duplex } from 'node:stream';
import {
  Decoder,
  DecodeError,
  encodeAck,
  encodeOther,
  PINGRESP,
  userPropertiesToPairs,
  type ConnectPacket,
  type DisconnectPacket,
  type InboundPacket,
  type ProtocolVersion,
  type PublishPacket,
  type SubscribePacket,
  type UnsubscribePacket,
  type AckPacket,
} from './codec.js';
import type { BrokerImpl } from './broker.js';
import type { CleanCloseMarker, ClientInfo, DisconnectCause, PeerFacts, Principal } from './hooks.js';
import type { Message, MessageProperties, QoS } from './message.js';
import { RC, reasonText } from './reason-codes.js';
import { anonymousPrincipal } from './principal.js';
import type { Session } from './session/session.js';
import { validateTopicFilter, validateTopicName } from './topic.js';
import { TopicAliasOut } from './topic-alias-out.js';

type State = 'awaiting-connect' | 'connecting' | 'connected' | 'closed';

/** How long a new connection may take to send CONNECT. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** QoS 0 deliveries are dropped for a client whose unsent output exceeds this (slow or stuck reader). */
const MAX_WRITE_BUFFER_BYTES = 8 * 1024 * 1024;

let nextConnectionId = 1;

export class Connection {
  readonly id = nextConnectionId++;
  state: State = 'awaiting-connect';
  version: ProtocolVersion = 4;
  clientId = '';
  session: Session | null = null;
  client: ClientInfo | null = null;
  /** client ← broker: most unacknowledged QoS 1/2 PUBLISHes we may have out (client's Receive Maximum, capped). */
  sendWindow = 65535;
  /** client ← broker: largest packet the client accepts (MQTT 5 Maximum Packet Size); 0 = no limit. */
  clientMaxPacketBytes = 0;
  /** Server → client topic aliases, when the client allows them (MQTT 5) and the profile sends them. */
  private aliasOut: TopicAliasOut | undefined = undefined;
  /** Will message, published if the connection ends without a normal DISCONNECT. */
  will: Message | null = null;
  willDelaySec = 0;
  private readonly decoder: Decoder;
  private corked = false;
  private keepAliveMs = 0;
  private lastActivityMs = Date.now();
  /**
   * Wall-clock ms after which the broker's periodic sweep closes this connection: the CONNECT
   * deadline at first, then 1.5 x keep-alive after the last packet [MQTT-3.1.2-24]; 0 = never.
   * (One sweep for all connections instead of a timer each: a timer costs ~200 bytes per idle client.)
   */
  private deadlineMs: number;
  /** client → broker: topic aliases (MQTT 5). */
  private topicAliases: Map<number, string> | null = null;
  /** client → broker: QoS 1/2 PUBLISHes not yet acknowledged (Receive Maximum accounting). */
  private inboundUnacked = 0;
  /** client → broker: QoS 2 packet ids received on this connection, awaiting PUBREL (they count toward Receive Maximum). */
  private inboundQos2: Set<number> | null = null;
  private backlog: InboundPacket[] | null = null;

  constructor(
    readonly broker: BrokerImpl,
    readonly stream: Duplex,
    readonly peer: PeerFacts,
  ) {
    this.decoder = new Decoder(broker.options.limits.maxPacketBytes, this);
    // Shared listener functions find the connection through a symbol: no closures per connection.
    (stream as StreamWithConnection)[kConnection] = this;
    stream.on('data', onStreamData);
    stream.on('error', onStreamGone);
    // 'end' needs no listener: without allowHalfOpen the stream closes right after it.
    stream.on('close', onStreamGone);
    this.deadlineMs = Date.now() + CONNECT_TIMEOUT_MS;
  }

  /** Called by the broker's sweep: closes the connection when its deadline passed. */
  checkDeadline(now: number): void {
    if (this.deadlineMs === 0 || now < this.deadlineMs) return;
    if (this.state === 'connected') {
      if (now - this.lastActivityMs < this.keepAliveMs * 1.5) {
        this.deadlineMs = this.lastActivityMs + this.keepAliveMs * 1.5;
        return;
      }
      this.fail(RC.KEEP_ALIVE_TIMEOUT, 'keepalive-timeout');
    } else {
      this.close('protocol-error', false); // no CONNECT (or no answer to it) in time
    }
  }

  // ------------------------------------------------------------------------------------------
  // Input

  onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastActivityMs = Date.now();
    try {
      this.decoder.push(chunk);
    } catch (err: unknown) {
      this.onDecodeError(err);
    }
  }

  private onDecodeError(err: unknown): void {
    if (err instanceof DecodeError) {
      this.broker.logger.debug({ clientId: this.clientId, err: err.message }, 'malformed input');
      if (this.state === 'awaiting-connect' && /protocol version/i.test(err.message)) {
        // [MQTT-3.1.2-2] unacceptable protocol level: CONNACK 0x01 (3.1.1 form) and close
        this.writeNow(encodeOther({ cmd: 'connack', returnCode: 1, sessionPresent: false }, 4));
        this.close('protocol-error', false);
        return;
      }
      this.fail(err.reasonCode, 'protocol-error');
      return;
    }
    this.broker.logger.error({ clientId: this.clientId, err }, 'unexpected error handling input');
    this.fail(RC.IMPLEMENTATION_SPECIFIC_ERROR, 'server-error');
  }

  onPacket(packet: InboundPacket): void {
    if (this.state === 'closed') return;
    if (this.backlog) {
      this.backlog.push(packet);
      return;
    }
    let result: void | Promise<void>;
    try {
      result = this.handle(packet);
    } catch (err: unknown) {
      this.onHandlerError(err, packet.cmd);
      return;
    }
    if (result instanceof Promise) this.park(result, packet.cmd);
  }

  /** Holds back further packets until `pending` settles, then replays them in order. */
  private park(pending: Promise<void>, cmd: string): void {
    this.backlog = [];
    this.stream.pause();
    pending
      .catch((err: unknown) => this.onHandlerError(err, cmd))
      .finally(() => {
        const backlog = this.backlog ?? [];
        this.backlog = null;
        if (this.state === 'closed') return;
        for (let i = 0; i < backlog.length; i++) {
          let r: void | Promise<void>;
          const p = backlog[i]!;
          try {
            r = this.handle(p);
          } catch (err: unknown) {
            this.onHandlerError(err, p.cmd);
            return;
          }
          if (r instanceof Promise) {
            this.park(r, p.cmd);
            this.backlog!.push(...backlog.slice(i + 1));
            return;
          }
          if (this.isClosed) return;
        }
        this.stream.resume();
      });
  }

  private onHandlerError(err: unknown, cmd: string): void {
    this.broker.logger.error({ clientId: this.clientId, packet: cmd, err }, 'unexpected error handling a packet');
    this.fail(RC.IMPLEMENTATION_SPECIFIC_ERROR, 'server-error');
  }

  private handle(packet: InboundPacket): void | Promise<void> {
    if (this.state === 'awaiting-connect') {
      if (packet.cmd !== 'connect') {
        this.close('protocol-error', false); // [MQTT-3.1.0-1]
        return;
      }
      return this.handleConnect(packet);
    }
    if (this.state !== 'connected') return; // CONNECT still being processed: nothing may overtake it
    switch (packet.cmd) {
      case 'publish':
        return this.handlePublish(packet);
      case 'puback':
      case 'pubcomp':
        return this.handleCompletion(packet);
      case 'pubrec':
        return this.handlePubrec(packet);
      case 'pubrel':
        return this.handlePubrel(packet);
      case 'subscribe':
        return this.handleSubscribe(packet);
      case 'unsubscribe':
        return this.handleUnsubscribe(packet);
      case 'pingreq':
        this.write(PINGRESP);
        return;
      case 'disconnect':
        return this.handleDisconnect(packet);
      case 'connect':
        this.fail(RC.PROTOCOL_ERROR, 'protocol-error'); // [MQTT-3.1.0-2] a second CONNECT
        return;
      case 'auth':
        this.fail(RC.PROTOCOL_ERROR, 'protocol-error'); // no enhanced authentication was negotiated
        return;
      default:
        this.fail(RC.PROTOCOL_ERROR, 'protocol-error');
    }
  }

  // ------------------------------------------------------------------------------------------
  // CONNECT

  private async handleConnect(packet: ConnectPacket): Promise<void> {
    this.state = 'connecting';
    const { options, hooks } = this.broker;
    const { limits, features } = options;
    const version = (packet.protocolVersion ?? 4) as ProtocolVersion;
    this.version = version;
    const v5 = version === 5;
    const props = packet.properties ?? {};

    if (version === 3 && options.profile === 'aws') {
      // spec/mqtt.md section 2: MQTT 3.1 is not supported by AWS IoT Core
      this.refuse(RC.UNSUPPORTED_PROTOCOL_VERSION, 'protocol-error');
      return;
    }
    if (props.authenticationMethod !== undefined) {
      this.refuse(RC.BAD_AUTHENTICATION_METHOD, 'protocol-error'); // no enhanced authentication
      return;
    }
    if (v5 && props.receiveMaximum === 0) {
      this.fail(RC.PROTOCOL_ERROR, 'protocol-error'); // [MQTT-3.1.2-?] Receive Maximum 0 is a protocol error
      return;
    }
    if (v5 && props.maximumPacketSize === 0) {
      this.fail(RC.PROTOCOL_ERROR, 'protocol-error');
      return;
    }

    // Client identifier [MQTT-3.1.3-*]
    let clientId = packet.clientId;
    let assigned = false;
    const cleanStart = packet.clean !== false;
    if (clientId.length === 0) {
      if (!v5 && !cleanStart) {
        this.refuse(RC.CLIENT_IDENTIFIER_NOT_VALID, 'protocol-error'); // [MQTT-3.1.3-8]
        return;
      }
      clientId = `tc-${newSessionIdentifier()}`;
      assigned = true;
    }
    if (Buffer.byteLength(clientId) > limits.maxClientIdBytes || clientId.includes('\u0000')) {
      this.refuse(RC.CLIENT_IDENTIFIER_NOT_VALID, 'protocol-error');
      return;
    }
    this.clientId = clientId;

    // Keep-alive (spec/mqtt.md section 4 in the aws profile)
    const requestedKeepAlive = packet.keepalive ?? 0;
    let keepAlive = requestedKeepAlive;
    if (keepAlive === 0) keepAlive = limits.keepAliveDefaultSec;
    else if (keepAlive < limits.keepAliveMinSec) keepAlive = limits.keepAliveMinSec;
    if (keepAlive > limits.keepAliveMaxSec) keepAlive = limits.keepAliveMaxSec;

    // Will [MQTT-3.1.2-8..] checked before authentication so a bad will is a protocol answer
    let will: Message | null = null;
    if (packet.will) {
      const w = packet.will;
      const wq = (w.qos ?? 0) as QoS;
      if (wq > features.maxQos) {
        this.refuse(RC.QOS_NOT_SUPPORTED, 'protocol-error'); // spec/mqtt.md section 3: Will QoS 2
        return;
      }
      if (w.retain && !features.retainAvailable) {
        this.refuse(RC.RETAIN_NOT_SUPPORTED, 'protocol-error');
        return;
      }
      const check = validateTopicName(w.topic, limits);
      if (!check.ok) {
        this.refuse(RC.TOPIC_NAME_INVALID, 'protocol-error');
        return;
      }
      const payload = typeof w.payload === 'string' ? Buffer.from(w.payload) : Buffer.from(w.payload);
      const wp = w.properties ?? {};
      if (wp.payloadFormatIndicator === true && !isUtf8(payload)) {
        this.refuse(RC.PAYLOAD_FORMAT_INVALID, 'protocol-error');
        return;
      }
      if (payload.length > limits.maxPayloadBytes) {
        this.refuse(RC.PACKET_TOO_LARGE, 'protocol-error');
        return;
      }
      will = this.toMessage(w.topic, payload, wq, w.retain === true, {
        ...(wp.payloadFormatIndicator !== undefined ? { payloadFormatIndicator: wp.payloadFormatIndicator } : {}),
        ...(wp.messageExpiryInterval !== undefined ? { messageExpiryInterval: wp.messageExpiryInterval } : {}),
        ...(wp.contentType !== undefined ? { contentType: wp.contentType } : {}),
        ...(wp.responseTopic !== undefined ? { responseTopic: wp.responseTopic } : {}),
        ...(wp.correlationData !== undefined ? { correlationData: Buffer.from(wp.correlationData) } : {}),
        ...(wp.userProperties !== undefined ? { userProperties: userPropertiesToPairs(wp.userProperties) ?? [] } : {}),
      });
      this.willDelaySec = features.willDelay ? (wp.willDelayInterval ?? 0) : 0;
    }

    // Authentication (fails closed)
    let principal: Principal = anonymousPrincipal;
    let attachment: unknown;
    if (hooks.authenticate) {
      try {
        const res = await hooks.authenticate({
          clientId,
          clientIdAssigned: assigned,
          protocolVersion: version,
          ...(packet.username !== undefined ? { username: packet.username } : {}),
          ...(packet.password !== undefined ? { password: packet.password } : {}),
          cleanStart,
          keepAliveSec: keepAlive,
          ...(will ? { will } : {}),
          peer: this.peer,
        });
        if (!res.ok) {
          this.broker.emit({
            type: 'connect-failed',
            clientId,
            peer: this.peer,
            reasonCode: res.reasonCode,
            ...(res.principal !== undefined ? { principal: res.principal } : {}),
          });
          this.refuse(res.reasonCode, 'not-authorized');
          return;
        }
        principal = res.principal;
        attachment = res.attachment;
      } catch (err: unknown) {
        this.broker.logger.warn({ clientId, err }, 'authenticate hook failed; connection refused');
        this.broker.emit({ type: 'connect-failed', clientId, peer: this.peer, reasonCode: RC.NOT_AUTHORIZED });
        this.refuse(RC.NOT_AUTHORIZED, 'not-authorized');
        return;
      }
    }
    if (this.isClosed) return; // the socket went away while we waited

    // Session expiry [MQTT-3.1.2-11..] (3.1.1: cleanSession=0 keeps the session for the configured default)
    let sessionExpiry: number;
    if (v5) sessionExpiry = props.sessionExpiryInterval ?? 0;
    else sessionExpiry = cleanStart ? 0 : limits.sessionExpiryDefaultSec;
    const requestedExpiry = sessionExpiry;
    if (sessionExpiry > limits.sessionExpiryMaxSec) sessionExpiry = limits.sessionExpiryMaxSec;

    const client: ClientInfo = {
      clientId,
      connectionId: this.id,
      protocolVersion: version,
      principal,
      peer: this.peer,
      attachment,
      sessionIdentifier: '',
    };

    // The will must be publishable by this client (spec/mqtt.md section 3 "Will not authorized")
    if (will && hooks.authorizePublish) {
      let allowed = false;
      try {
        allowed = await hooks.authorizePublish(client, will.topic, will.qos);
        if (allowed && will.retain && hooks.authorizeRetain) allowed = await hooks.authorizeRetain(client, will.topic);
      } catch {
        allowed = false;
      }
      if (!allowed) {
        this.broker.emit({ type: 'connect-failed', clientId, peer: this.peer, principal, reasonCode: RC.NOT_AUTHORIZED });
        this.refuse(RC.NOT_AUTHORIZED, 'not-authorized');
        return;
      }
      if (this.isClosed) return;
    }

    // Take over or create the session [MQTT-3.1.4-2..4]
    const { session, sessionPresent } = this.broker.openSession(this, {
      clientId,
      cleanStart,
      protocolVersion: version,
      sessionExpiryIntervalSec: sessionExpiry,
      sessionIdentifier: newSessionIdentifier(),
    });
    this.session = session;
    // The identifier of the session, which a resumed session keeps (spec/mqtt.md section 14)
    (client as { sessionIdentifier: string }).sessionIdentifier = session.sessionIdentifier;
    this.client = client;
    this.will = will;
    // Request Problem Information 0 [MQTT-3.1.2-29]: nothing to suppress, reason strings are only
    // ever sent in CONNACK and DISCONNECT, which the rule exempts.
    this.sendWindow = Math.min(v5 ? (props.receiveMaximum ?? 65535) : 65535, limits.maxInflightOut);
    this.clientMaxPacketBytes = v5 ? (props.maximumPacketSize ?? 0) : 0;
    const aliasMax = v5 ? (props.topicAliasMaximum ?? 0) : 0;
    this.aliasOut = aliasMax > 0 && features.serverTopicAliases ? new TopicAliasOut(aliasMax) : undefined;
    this.decoder.protocolVersion = version;

    // CONNACK
    const connack: Parameters<typeof encodeOther>[0] = {
      cmd: 'connack',
      sessionPresent,
      ...(v5 ? { reasonCode: 0 } : { returnCode: 0 }),
    };
    if (v5) {
      const p: NonNullable<Extract<Parameters<typeof encodeOther>[0], { cmd: 'connack' }>['properties']> = {
        receiveMaximum: limits.receiveMaximum,
        topicAliasMaximum: limits.topicAliasMaximum,
        retainAvailable: features.retainAvailable,
        wildcardSubscriptionAvailable: features.wildcardSubscriptionAvailable,
        subscriptionIdentifiersAvailable: features.subscriptionIdentifiersAvailable,
        sharedSubscriptionAvailable: features.sharedSubscriptionAvailable,
        maximumPacketSize: limits.maxPacketBytes,
      };
      if (features.maxQos < 2) p.maximumQoS = features.maxQos;
      if (assigned) p.assignedClientIdentifier = clientId;
      if (requestedExpiry !== sessionExpiry) p.sessionExpiryInterval = sessionExpiry;
      if (keepAlive !== requestedKeepAlive) p.serverKeepAlive = keepAlive;
      connack.properties = p;
    }
    this.state = 'connected';
    this.write(encodeOther(connack, version));

    // Keep-alive: 1.5 x, from CONNACK [MQTT-3.1.2-24]
    this.keepAliveMs = keepAlive * 1000;
    this.deadlineMs = this.keepAliveMs > 0 ? this.lastActivityMs + this.keepAliveMs * 1.5 : 0;

    this.broker.emit({ type: 'connected', client: this.client, sessionPresent });
    // Redeliver what the session still owes, then the queue [MQTT-4.4.0-1]
    this.resume();
  }

  /** A refused CONNECT: CONNACK with the failure code in the connection's protocol form, then close. */
  private refuse(reasonCode: number, cause: DisconnectCause): void {
    if (this.version === 5) {
      this.writeNow(encodeOther({ cmd: 'connack', reasonCode, sessionPresent: false, properties: { reasonString: reasonText(reasonCode) } }, 5));
    } else {
      const rc = v4ConnackCode(reasonCode);
      // AWS IoT closes a 3.1.1 connection refused by policy without a CONNACK (spec/mqtt.md section 3)
      const silent = this.broker.options.profile === 'aws' && reasonCode === RC.NOT_AUTHORIZED;
      if (rc !== undefined && !silent) this.writeNow(encodeOther({ cmd: 'connack', returnCode: rc, sessionPresent: false }, 4));
    }
    this.close(cause, false);
  }

  // ------------------------------------------------------------------------------------------
  // PUBLISH (client → broker)

  private handlePublish(packet: PublishPacket): void | Promise<void> {
    const { options, hooks } = this.broker;
    const { limits, features } = options;
    const qos = packet.qos;

    if (qos > features.maxQos) {
      // AWS: a QoS 2 PUBLISH closes the connection (MQTT 5: DISCONNECT 0x9B) (spec/mqtt.md section 5)
      this.fail(RC.QOS_NOT_SUPPORTED, 'protocol-error');
      return;
    }
    if (packet.retain && !features.retainAvailable) {
      this.fail(RC.RETAIN_NOT_SUPPORTED, 'protocol-error'); // [MQTT-3.3.1-?]
      return;
    }
    if (qos > 0) {
      // Receive Maximum [MQTT-3.3.4-9]
      if (qos === 1 || !this.session!.awaitingRel.has(packet.packetId)) {
        if (this.inboundUnacked + (this.inboundQos2?.size ?? 0) >= limits.receiveMaximum) {
          this.fail(RC.RECEIVE_MAXIMUM_EXCEEDED, 'protocol-error');
          return;
        }
      }
    }

    // Topic alias (MQTT 5) [MQTT-3.3.2-7..]
    let topic = packet.topic;
    const props = packet.properties;
    if (props?.topicAlias !== undefined) {
      const alias = props.topicAlias;
      if (alias === 0 || alias > limits.topicAliasMaximum) {
        this.fail(RC.TOPIC_ALIAS_INVALID, 'protocol-error');
        return;
      }
      if (topic.length === 0) {
        const known = this.topicAliases?.get(alias);
        if (known === undefined) {
          this.fail(RC.PROTOCOL_ERROR, 'protocol-error');
          return;
        }
        topic = known;
      } else {
        (this.topicAliases ??= new Map()).set(alias, topic);
      }
    }

    const check = validateTopicName(topic, limits);
    if (!check.ok) {
      this.rejectPublish(packet, RC.TOPIC_NAME_INVALID, true);
      return;
    }
    if (packet.payload.length > limits.maxPayloadBytes) {
      // AWS: an oversized publish disconnects the client (CLIENT_ERROR), spec/mqtt.md section 11
      this.fail(RC.PACKET_TOO_LARGE, 'protocol-error');
      return;
    }
    if (props?.payloadFormatIndicator === true && !isUtf8(packet.payload)) {
      this.rejectPublish(packet, RC.PAYLOAD_FORMAT_INVALID, false); // [MQTT-3.3.2-?] MQTT 5 0x99
      return;
    }
    if (props?.responseTopic !== undefined && !validateTopicName(props.responseTopic, limits).ok) {
      this.fail(RC.PROTOCOL_ERROR, 'protocol-error'); // Response Topic must be a topic name [MQTT-3.3.2-14]
      return;
    }
    if (qos === 2 && this.session!.awaitingRel.has(packet.packetId)) {
      // A resent QoS 2 PUBLISH we already have: acknowledge, do not route again [MQTT-4.3.3-9]
      this.write(encodeAck(this.version, 'pubrec', packet.packetId));
      return;
    }
    if (features.restrictDollarTopics && topic.charCodeAt(0) === 0x24 && !this.broker.hasConsumerFor(topic)) {
      this.rejectPublish(packet, RC.NOT_AUTHORIZED, true);
      return;
    }

    const client = this.client!;
    const message = this.toMessage(topic, packet.payload, qos, packet.retain, props ? toMessageProperties(props) : undefined);
    if (!hooks.authorizePublish && !(packet.retain && hooks.authorizeRetain)) {
      this.accept(packet, message);
      return;
    }
    let decision: boolean | Promise<boolean>;
    try {
      decision = hooks.authorizePublish ? hooks.authorizePublish(client, topic, qos) : true;
    } catch {
      decision = false;
    }
    if (decision instanceof Promise) {
      return decision
        .catch(() => false)
        .then(async (allowed) => {
          if (allowed && packet.retain && hooks.authorizeRetain) allowed = await Promise.resolve(hooks.authorizeRetain(client, topic)).catch(() => false);
          if (this.state !== 'connected') return;
          if (allowed) this.accept(packet, message);
          else this.rejectPublish(packet, RC.NOT_AUTHORIZED, true);
        });
    }
    if (decision && packet.retain && hooks.authorizeRetain) {
      let r: boolean | Promise<boolean>;
      try {
        r = hooks.authorizeRetain(client, topic);
      } catch {
        r = false;
      }
      if (r instanceof Promise) {
        return r
          .catch(() => false)
          .then((allowed) => {
            if (this.state !== 'connected') return;
            if (allowed) this.accept(packet, message);
            else this.rejectPublish(packet, RC.NOT_AUTHORIZED, true);
          });
      }
      decision = r;
    }
    if (decision) this.accept(packet, message);
    else this.rejectPublish(packet, RC.NOT_AUTHORIZED, true);
  }

  /** Routes an accepted PUBLISH and acknowledges it once whatever it needs is durable. */
  private accept(packet: PublishPacket, message: Message): void {
    const result = this.broker.route(message, this.client ?? undefined);
    const qos = packet.qos;
    if (qos === 0) return;
    const packetId = packet.packetId;
    const rc = result.matched || this.broker.options.profile === 'aws' || this.version !== 5 ? 0 : RC.NO_MATCHING_SUBSCRIBERS;
    if (qos === 2) this.session!.addAwaitingRel(packetId);
    if (qos === 2) this.broker.persistSession(this.session!);
    if (qos === 2) (this.inboundQos2 ??= new Set()).add(packetId); // until PUBREL [MQTT-3.3.4-7]
    const cmd = qos === 1 ? 'puback' : 'pubrec';
    if (!result.needsCommit && !(qos === 2 && this.session!.persistent)) {
      this.write(encodeAck(this.version, cmd, packetId, rc));
      return;
    }
    if (qos === 1) this.inboundUnacked++;
    this.broker.persister.afterCommit((ok) => {
      if (qos === 1) this.inboundUnacked--;
      if (this.state !== 'connected') return;
      if (ok) this.write(encodeAck(this.version, cmd, packetId, rc));
      else this.fail(RC.UNSPECIFIED_ERROR, 'server-error'); // not stored: never acknowledge it
    });
  }

  /**
   * A PUBLISH we will not route. MQTT 5 answers QoS 1/2 with the reason code; QoS 0 has no answer,
   * so a QoS 0 message with an invalid topic disconnects. 3.1.1 has no failure code: the aws
   * profile closes the connection (spec/mqtt.md section 11), the mqtt profile acknowledges and drops.
   */
  private rejectPublish(packet: PublishPacket, reasonCode: number, mayClose: boolean): void {
    const { features } = this.broker.options;
    if (this.version === 5) {
      if (packet.qos === 0) {
        if (reasonCode !== RC.NOT_AUTHORIZED) this.fail(reasonCode, 'protocol-error');
        else this.denied('iot:Publish', packet.topic);
        return;
      }
      this.write(encodeAck(5, packet.qos === 1 ? 'puback' : 'pubrec', packet.packetId, reasonCode));
      return;
    }
    if (reasonCode === RC.TOPIC_NAME_INVALID) {
      this.close('protocol-error', false); // [MQTT-4.8.0-1] protocol violation in 3.1.1
      return;
    }
    if (mayClose && features.closeOnDeniedV4) {
      this.close(reasonCode === RC.NOT_AUTHORIZED ? 'not-authorized' : 'protocol-error', false);
      return;
    }
    if (packet.qos > 0) this.write(encodeAck(this.version, packet.qos === 1 ? 'puback' : 'pubrec', packet.packetId));
    if (packet.qos === 2) this.session!.addAwaitingRel(packet.packetId);
  }

  private denied(action: string, resource: string): void {
    this.broker.logger.debug({ clientId: this.clientId, action, resource }, 'denied');
  }

  private handlePubrel(packet: AckPacket): void {
    const session = this.session!;
    const existed = session.deleteAwaitingRel(packet.packetId);
    this.inboundQos2?.delete(packet.packetId);
    this.broker.persistSession(session);
    const rc = existed || this.version !== 5 ? 0 : RC.PACKET_IDENTIFIER_NOT_FOUND;
    this.write(encodeAck(this.version, 'pubcomp', packet.packetId, rc));
  }

  // ------------------------------------------------------------------------------------------
  // Acknowledgements (broker → client deliveries)

  private handleCompletion(packet: AckPacket): void {
    const session = this.session!;
    const e = session.inflight.get(packet.packetId);
    // PUBACK for a QoS 1 delivery, PUBCOMP for a QoS 2 one that was released; anything else is ignored
    if (!e || (packet.cmd === 'puback' ? e.qos !== 1 : e.state !== 'released')) return;
    session.complete(packet.packetId);
    this.broker.drain(session, this);
    this.broker.persistSession(session);
  }

  private handlePubrec(packet: AckPacket): void {
    const session = this.session!;
    const e = session.inflight.get(packet.packetId);
    if (!e || e.qos !== 2) {
      if (this.version === 5) this.write(encodeAck(5, 'pubrel', packet.packetId, RC.PACKET_IDENTIFIER_NOT_FOUND));
      return;
    }
    if (packet.reasonCode >= 0x80) {
      // MQTT 5: a PUBREC with a failure code ends the exchange [MQTT-4.3.3-?]
      session.complete(packet.packetId);
      this.broker.drain(session, this);
    } else {
      session.release(packet.packetId);
      this.write(encodeAck(this.version, 'pubrel', packet.packetId));
    }
    this.broker.persistSession(session);
  }

  // ------------------------------------------------------------------------------------------
  // SUBSCRIBE / UNSUBSCRIBE

  private handleSubscribe(packet: SubscribePacket): void | Promise<void> {
    const { options, hooks } = this.broker;
    const { limits, features } = options;
    const v5 = this.version === 5;
    const subId = packet.properties?.subscriptionIdentifier;
    if (subId !== undefined) {
      if (!features.subscriptionIdentifiersAvailable) {
        this.fail(RC.SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED, 'protocol-error'); // spec/mqtt.md section 10
        return;
      }
      if (subId === 0) {
        this.fail(RC.PROTOCOL_ERROR, 'protocol-error'); // [MQTT-3.8.2-?] value 0 is a protocol error
        return;
      }
    }
    const packetId = packet.messageId ?? 0;
    const requests = packet.subscriptions;
    const codes: number[] = new Array<number>(requests.length);
    const accepted: Array<{ index: number; topicFilter: string; shareName: string | undefined; qos: QoS }> = [];
    const session = this.session!;

    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]!;
      if (r.qos > features.maxQos && options.profile === 'aws') {
        // AWS closes on a QoS 2 SUBSCRIBE (spec/mqtt.md section 5)
        this.fail(RC.QOS_NOT_SUPPORTED, 'protocol-error');
        return;
      }
      const check = validateTopicFilter(r.topic, {
        ...limits,
        sharedAllowed: features.sharedSubscriptionAvailable,
        wildcardsAllowed: features.wildcardSubscriptionAvailable,
      });
      if (!check.ok) {
        if (!v5) {
          this.close('protocol-error', false); // an invalid filter is a protocol violation in 3.1.1
          return;
        }
        codes[i] =
          check.reason === 'shared-not-supported'
            ? RC.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED
            : check.reason === 'wildcards-not-supported'
              ? RC.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED
              : RC.TOPIC_FILTER_INVALID;
        continue;
      }
      if (check.shareName !== undefined && r.nl === true) {
        this.fail(RC.PROTOCOL_ERROR, 'protocol-error'); // [MQTT-3.8.3-4] No Local on a shared subscription
        return;
      }
      if (limits.maxFiltersPerSubscribe > 0 && i >= limits.maxFiltersPerSubscribe) {
        codes[i] = v5 ? RC.QUOTA_EXCEEDED : 0x80;
        continue;
      }
      const qos = Math.min(r.qos, features.maxQos) as QoS;
      accepted.push({ index: i, topicFilter: check.topicFilter, shareName: check.shareName, qos });
    }

    const finish = (allowed: readonly boolean[]): void => {
      if (this.state !== 'connected') return;
      const granted: string[] = [];
      const retainedToSend: Array<{ filter: string; rh: 0 | 1 | 2; rap: boolean; qos: QoS; isNew: boolean; subId: number | undefined }> = [];
      for (let k = 0; k < accepted.length; k++) {
        const a = accepted[k]!;
        const r = requests[a.index]!;
        if (!allowed[k]) {
          if (!v5 && features.closeOnDeniedV4) {
            this.denied('iot:Subscribe', r.topic);
            this.close('not-authorized', false); // AWS closes a 3.1.1 connection on a denied SUBSCRIBE
            return;
          }
          codes[a.index] = v5 ? RC.NOT_AUTHORIZED : 0x80;
          continue;
        }
        const exists = session.subscriptions.has(r.topic);
        if (
          !exists &&
          limits.maxSubscriptionsPerSession > 0 &&
          session.subscriptions.size >= limits.maxSubscriptionsPerSession
        ) {
          codes[a.index] = v5 ? RC.QUOTA_EXCEEDED : 0x80;
          continue;
        }
        const rh = (v5 ? (r.rh ?? 0) : 0) as 0 | 1 | 2;
        const rap = v5 ? r.rap === true : false;
        const nl = v5 ? r.nl === true : false;
        session.setSubscription({
          topicFilter: r.topic,
          qos: a.qos,
          noLocal: nl,
          retainAsPublished: rap,
          retainHandling: rh,
          ...(subId !== undefined ? { subscriptionId: subId } : {}),
        });
        this.broker.router.add({
          clientId: this.clientId,
          topicFilter: a.topicFilter,
          ...(a.shareName !== undefined ? { shareName: a.shareName } : {}),
          qos: a.qos,
          noLocal: nl,
          retainAsPublished: rap,
          retainHandling: rh,
          ...(subId !== undefined ? { subscriptionId: subId } : {}),
        });
        codes[a.index] = a.qos;
        granted.push(r.topic);
        // Retained messages are not sent for shared subscriptions [MQTT-3.8.4-?]
        if (a.shareName === undefined) retainedToSend.push({ filter: a.topicFilter, rh, rap, qos: a.qos, isNew: !exists, subId });
      }
      this.broker.persistSession(session);
      this.write(encodeOther({ cmd: 'suback', messageId: packetId, granted: codes }, this.version));
      for (const t of retainedToSend) {
        // Retain Handling [MQTT-3.3.1-9..11]: 0 always, 1 only for a new subscription, 2 never
        if (t.rh === 2 || (t.rh === 1 && !t.isNew)) continue;
        this.broker.sendRetained(this, t.filter, t.qos, t.subId);
      }
      if (granted.length > 0) this.broker.emit({ type: 'subscribed', client: this.client!, topicFilters: granted });
    };

    if (!hooks.authorizeSubscribe || accepted.length === 0) {
      finish(accepted.map(() => true));
      return;
    }
    const client = this.client!;
    const decisions = accepted.map((a) => {
      try {
        return hooks.authorizeSubscribe!(client, requests[a.index]!.topic, a.qos);
      } catch {
        return false;
      }
    });
    if (decisions.some((d) => d instanceof Promise)) {
      return Promise.all(decisions.map((d) => Promise.resolve(d).catch(() => false))).then(finish);
    }
    finish(decisions as boolean[]);
  }

  private handleUnsubscribe(packet: UnsubscribePacket): void {
    const session = this.session!;
    const v5 = this.version === 5;
    const codes: number[] = [];
    const removed: string[] = [];
    for (const filter of packet.unsubscriptions) {
      const check = validateTopicFilter(filter, { ...this.broker.options.limits, sharedAllowed: true, wildcardsAllowed: true });
      if (!check.ok) {
        if (!v5) {
          this.close('protocol-error', false);
          return;
        }
        codes.push(RC.TOPIC_FILTER_INVALID);
        continue;
      }
      const existed = session.deleteSubscription(filter);
      if (existed) {
        this.broker.router.remove(this.clientId, check.topicFilter, check.shareName);
        removed.push(filter);
      }
      codes.push(existed ? 0 : RC.NO_SUBSCRIPTION_EXISTED);
    }
    this.broker.persistSession(session);
    const unsuback = v5
      ? { cmd: 'unsuback' as const, messageId: packet.messageId ?? 0, granted: codes }
      : { cmd: 'unsuback' as const, messageId: packet.messageId ?? 0, granted: [] };
    this.write(encodeOther(unsuback, this.version));
    this.broker.emit({ type: 'unsubscribed', client: this.client!, topicFilters: packet.unsubscriptions });
  }

  // ------------------------------------------------------------------------------------------
  // DISCONNECT

  private handleDisconnect(packet: DisconnectPacket): void {
    const session = this.session!;
    if (this.version === 5) {
      const sei = packet.properties?.sessionExpiryInterval;
      if (sei !== undefined) {
        if (session.sessionExpiryIntervalSec === 0 && sei > 0) {
          this.fail(RC.PROTOCOL_ERROR, 'protocol-error'); // [MQTT-3.14.2-2]
          return;
        }
        session.setExpiry(Math.min(sei, this.broker.options.limits.sessionExpiryMaxSec));
      }
      // 0x04 Disconnect with Will Message keeps the will; anything else discards it [MQTT-3.14.4-3]
      if (packet.reasonCode !== 0x04) this.will = null;
    } else {
      this.will = null;
    }
    this.close('client-disconnect', true);
  }

  // ------------------------------------------------------------------------------------------
  // Output

  /** Queues bytes; everything written in one turn of the event loop leaves in one writev. */
  write(buf: Buffer): void {
    if (this.state === 'closed') return;
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(uncork, this);
    }
    this.stream.write(buf);
  }

  /** A PUBLISH to the client (encoded with its packet id), through the topic alias table if any. */
  writePublish(packet: Buffer): void {
    this.write(this.aliasOut === undefined ? packet : this.aliasOut.apply(packet, this.clientMaxPacketBytes));
  }

  private writeNow(buf: Buffer): void {
    if (this.state === 'closed') return;
    this.stream.write(buf);
  }

  /** True when QoS 0 output should be dropped because the client is not reading. */
  get congested(): boolean {
    return this.stream.writableLength > MAX_WRITE_BUFFER_BYTES;
  }

  /** The server ends the connection: MQTT 5 DISCONNECT with the reason code, 3.1.1 just closes. */
  fail(reasonCode: number, cause: DisconnectCause): void {
    if (this.state === 'closed') return;
    if (this.version === 5) {
      if (this.state === 'connected') {
        this.writeNow(encodeOther({ cmd: 'disconnect', reasonCode, properties: { reasonString: reasonText(reasonCode) } }, 5));
      } else if (this.state === 'connecting' || this.state === 'awaiting-connect') {
        // Before CONNACK the failure goes in a CONNACK [MQTT-3.2.2-?]
        if (reasonCode >= 0x80) {
          this.writeNow(encodeOther({ cmd: 'connack', reasonCode, sessionPresent: false, properties: { reasonString: reasonText(reasonCode) } }, 5));
        }
      }
    }
    this.close(cause, false);
  }

  /** Closes the connection; the broker publishes the will (unless cleared) and updates the session. */
  close(cause: DisconnectCause, clientInitiated: boolean): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    this.deadlineMs = 0;
    if (this.corked) {
      this.corked = false;
      this.stream.uncork();
    }
    this.stream.end();
    // Give the peer a moment to read our last packet, then make sure the socket is gone.
    setTimeout(() => this.stream.destroy(), 1000).unref();
    this.broker.connectionClosed(this, wasConnected, cause, clientInitiated);
  }

  /** After (re)connect: resend unacknowledged deliveries with DUP, re-release, then drain the queue. */
  private resume(): void {
    const session = this.session!;
    for (const e of session.inflight.values()) {
      if (e.state === 'released') this.write(encodeAck(this.version, 'pubrel', e.packetId));
      else if (!this.broker.sendEntry(this, e, true)) session.complete(e.packetId); // [MQTT-3.1.2-28]
    }
    this.broker.drain(session, this);
    this.broker.persistSession(session);
  }

  /** The message a PUBLISH (or will) becomes; nothing past this point sees a packet. */
  private toMessage(topic: string, payload: Buffer, qos: QoS, retain: boolean, props: (MessageProperties & { messageExpiryInterval?: number }) | undefined): Message {
    const now = Date.now();
    let expiresAtMs: number | undefined;
    let properties: MessageProperties | undefined;
    if (props) {
      const { messageExpiryInterval, ...rest } = props;
      if (messageExpiryInterval !== undefined) {
        const max = this.broker.options.limits.messageExpiryMaxSec;
        let sec = messageExpiryInterval;
        if (max > 0 && sec > max) sec = max;
        if (this.broker.options.profile === 'aws' && sec === 0) sec = 1; // spec/mqtt.md section 12
        expiresAtMs = now + sec * 1000;
      }
      if (Object.keys(rest).length > 0) properties = rest;
    }
    return {
      topic,
      payload,
      qos,
      retain,
      createdAtMs: now,
      publisherClientId: this.clientId,
      ...(expiresAtMs !== undefined ? { expiresAtMs } : {}),
      ...(properties !== undefined ? { properties } : {}),
    };
  }

  /** Re-reads the state (TypeScript narrows `this.state` across awaits otherwise). */
  get isClosed(): boolean {
    return this.state === 'closed';
  }
}

const kConnection = Symbol('thingcore.connection');
type StreamWithConnection = Duplex & { [kConnection]?: Connection };

function onStreamData(this: StreamWithConnection, chunk: Buffer): void {
  this[kConnection]?.onData(chunk);
}

function onStreamGone(this: StreamWithConnection & CleanCloseMarker): void {
  const conn = this[kConnection];
  if (!conn) return;
  if (this.closedCleanlyByPeer === true && conn.broker.options.features.transportCloseIsDisconnect) {
    conn.will = null;
    conn.close('client-disconnect', true);
  } else {
    conn.close('connection-lost', false);
  }
}

/**
 * A v4 UUID as one flat string. (crypto.randomUUID() returns a rope of 13 pieces, ~450 bytes that
 * every session would keep.)
 */
function newSessionIdentifier(): string {
  const r = randomFillSync(Buffer.allocUnsafe(16));
  r[6] = (r[6]! & 0x0f) | 0x40;
  r[8] = (r[8]! & 0x3f) | 0x80;
  const hex = r.toString('hex');
  const out = Buffer.allocUnsafe(36);
  let o = 0;
  for (let i = 0; i < 32; i++) {
    if (i === 8 || i === 12 || i === 16 || i === 20) out[o++] = 0x2d;
    out[o++] = hex.charCodeAt(i);
  }
  return out.toString('latin1');
}

function uncork(c: Connection): void {
  (c as unknown as { corked: boolean }).corked = false;
  c.stream.uncork();
}

function toMessageProperties(
  p: NonNullable<PublishPacket['properties']>,
): MessageProperties & { messageExpiryInterval?: number } {
  return {
    ...(p.payloadFormatIndicator !== undefined ? { payloadFormatIndicator: p.payloadFormatIndicator } : {}),
    ...(p.messageExpiryInterval !== undefined ? { messageExpiryInterval: p.messageExpiryInterval } : {}),
    ...(p.contentType !== undefined ? { contentType: p.contentType } : {}),
    ...(p.responseTopic !== undefined ? { responseTopic: p.responseTopic } : {}),
    ...(p.correlationData !== undefined ? { correlationData: p.correlationData } : {}),
    ...(p.userProperties !== undefined ? { userProperties: p.userProperties } : {}),
  };
}

/** 3.1.1 CONNACK return codes for the MQTT 5 reasons that have one [MQTT-3.2.2-?]. */
function v4ConnackCode(reasonCode: number): number | undefined {
  switch (reasonCode) {
    case RC.UNSUPPORTED_PROTOCOL_VERSION:
      return 1;
    case RC.CLIENT_IDENTIFIER_NOT_VALID:
      return 2;
    case RC.SERVER_UNAVAILABLE:
    case RC.SERVER_BUSY:
      return 3;
    case RC.BAD_USER_NAME_OR_PASSWORD:
      return 4;
    case RC.NOT_AUTHORIZED:
      return 5;
    default:
      return undefined; // 3.1.1 has no code: just close
  }
}

