/**
 * The broker's hooks: where AWS semantics (identity, policies, shadows, rules, lifecycle events) plug
 * in, always from core/, never the other way round. Three kinds (STYLE.md 8.2):
 *  - decisions (authenticate, authorize*): one implementation each; they fail closed (a throw or a
 *    rejected promise means deny);
 *  - consumers (Broker.addConsumer): see each matching message once, off the delivery path;
 *  - events (onEvent): notifications; an error is logged and never reaches the client.
 */
import type { Message, QoS } from './message.js';

/** What the transport knows about the peer (transport/ hands this over with the byte stream). */
export interface PeerFacts {
  readonly transport: 'tcp' | 'tls' | 'ws' | 'wss';
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  /** DER of the TLS client certificate, when mutual TLS presented one. */
  readonly peerCertificateDer?: Buffer;
  /** The HTTP upgrade request of a WebSocket connection. */
  readonly request?: {
    readonly url: string;
    readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  };
}

/**
 * A stream handed to `Broker.accept` may carry this flag: true when the transport saw an orderly
 * close from the peer (a WebSocket close frame). With the `transportCloseIsDisconnect` feature
 * such a close counts as a client DISCONNECT (no will).
 */
export interface CleanCloseMarker {
  readonly closedCleanlyByPeer?: boolean;
}

/** Who is connecting: whatever `authenticate` decided. Opaque to the broker beyond these fields. */
export interface Principal {
  readonly kind: 'certificate' | 'accessKey' | 'anonymous';
  /** Certificate id, access key id, or 'anonymous'. */
  readonly id: string;
}

export interface ConnectInfo {
  readonly clientId: string;
  /** The client sent an empty id and the server assigned this one (MQTT 5). */
  readonly clientIdAssigned: boolean;
  readonly protocolVersion: 3 | 4 | 5;
  readonly username?: string;
  readonly password?: Buffer;
  readonly cleanStart: boolean;
  readonly keepAliveSec: number;
  readonly will?: Message;
  readonly peer: PeerFacts;
}

/** The connected client as hooks see it. `attachment` is whatever authenticate returned, kept for the connection. */
export interface ClientInfo {
  readonly clientId: string;
  readonly connectionId: number;
  readonly protocolVersion: 3 | 4 | 5;
  readonly principal: Principal;
  readonly peer: PeerFacts;
  /** Per-connection data owned by the hook implementation (e.g. policy context and decision cache). */
  readonly attachment: unknown;
  readonly sessionIdentifier: string;
}

export type AuthenticateResult =
  | { readonly ok: true; readonly principal: Principal; readonly attachment?: unknown }
  /**
   * reasonCode is the MQTT 5 CONNACK code (0x86 bad user name or password, 0x87 not authorized, ...);
   * principal, when known, is named in the connect-failed event.
   */
  | { readonly ok: false; readonly reasonCode: number; readonly reason?: string; readonly principal?: Principal };

/** Why a connection ended, in broker terms; core/ maps these to AWS disconnectReason strings. */
export type DisconnectCause =
  | 'client-disconnect'
  | 'connection-lost'
  | 'keepalive-timeout'
  | 'taken-over'
  | 'protocol-error'
  | 'not-authorized'
  | 'server-shutdown'
  | 'administrative'
  | 'throttled'
  | 'server-error';

export type BrokerEvent =
  | { readonly type: 'connected'; readonly client: ClientInfo; readonly sessionPresent: boolean }
  | {
      readonly type: 'disconnected';
      readonly client: ClientInfo;
      readonly cause: DisconnectCause;
      readonly clientInitiated: boolean;
    }
  | {
      readonly type: 'connect-failed';
      readonly clientId: string;
      readonly peer: PeerFacts;
      readonly principal?: Principal;
      readonly reasonCode: number;
    }
  | { readonly type: 'subscribed'; readonly client: ClientInfo; readonly topicFilters: readonly string[] }
  | { readonly type: 'unsubscribed'; readonly client: ClientInfo; readonly topicFilters: readonly string[] };

type Decision = boolean | Promise<boolean>;

export interface BrokerHooks {
  /** Absent: every client is accepted as anonymous. */
  authenticate?(info: ConnectInfo): AuthenticateResult | Promise<AuthenticateResult>;
  /** Absent: allowed. Called for every inbound PUBLISH (and the will at CONNECT). */
  authorizePublish?(client: ClientInfo, topic: string, qos: QoS): Decision;
  /** Absent: allowed. `topicFilter` is the literal filter, `$share/...` prefix included. */
  authorizeSubscribe?(client: ClientInfo, topicFilter: string, qos: QoS): Decision;
  /** Absent: allowed. Synchronous: it runs per delivered message on the hot path. */
  authorizeReceive?(client: ClientInfo, topic: string): boolean;
  /** Absent: allowed. Checked in addition to authorizePublish for retained publishes. */
  authorizeRetain?(client: ClientInfo, topic: string): Decision;
  /** Lifecycle notifications. */
  onEvent?(event: BrokerEvent): void;
}
