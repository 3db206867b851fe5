/**
 * AWS IoT lifecycle events (spec/mqtt.md section 14): turns the broker's connected / disconnected /
 * connect-failed / subscribed / unsubscribed events into messages on
 *   $aws/events/presence/{connected,disconnected,connect_failed}/<clientId>
 *   $aws/events/subscriptions/{subscribed,unsubscribed}/<clientId>
 * with AWS's payloads, field for field and in AWS's field order. Emitted in both profiles.
 *
 * versionNumber: per client id, only increasing; a connect and its disconnect share the number
 * (kept per connection id, so a takeover's late disconnect still carries the old number). Like AWS,
 * the counter of a client id that has had no connection for `resetAfterIdleMs` (1 h) starts again at
 * 0; the sweep that forgets it also bounds memory. Deviation: AWS keeps the number for as long as a
 * persistent session lives; we do not know session lifetimes here, so ours restarts after 1 h idle
 * (and after a server restart).
 */
import { randomUUID } from 'node:crypto';
import type { BrokerEvent, ClientInfo, DisconnectCause, Logger, PeerFacts, ServerMessage } from '../mqtt/index.js';
import { certificateId } from '../identity/index.js';

/** AWS disconnectReason for each broker DisconnectCause (spec/mqtt.md section 14 table). */
export const disconnectReasons: Readonly<Record<DisconnectCause, string>> = {
  'client-disconnect': 'CLIENT_INITIATED_DISCONNECT',
  'connection-lost': 'CONNECTION_LOST',
  'keepalive-timeout': 'MQTT_KEEP_ALIVE_TIMEOUT',
  'taken-over': 'DUPLICATE_CLIENTID',
  'protocol-error': 'CLIENT_ERROR',
  'not-authorized': 'AUTH_ERROR',
  'server-shutdown': 'SERVER_INITIATED_DISCONNECT',
  administrative: 'API_INITIATED_DISCONNECT',
  throttled: 'THROTTLED',
  'server-error': 'SERVER_ERROR',
};

export interface LifecycleEventsOptions {
  /** Publishes as the server (Broker.publish). */
  readonly publish: (message: ServerMessage) => Promise<void>;
  readonly logger: Logger;
  /** Thing name for clients connected through an exclusive thing association (identity issue). */
  readonly thingNameOf?: (client: ClientInfo) => string | undefined;
  readonly now?: () => number;
  /** Default 3 600 000 (1 h). */
  readonly resetAfterIdleMs?: number;
}

export interface LifecycleEvents {
  /** The broker's onEvent hook. */
  onEvent(event: BrokerEvent): void;
  /** Stops the idle sweep. */
  close(): void;
}

interface ClientVersion {
  /** The number the next connect gets. */
  next: number;
  /** Open connections of this client id (0 or 1, briefly 2 during a takeover). */
  open: number;
  lastActivityMs: number;
}

export function createLifecycleEvents(options: LifecycleEventsOptions): LifecycleEvents {
  const now = options.now ?? Date.now;
  const resetAfterIdleMs = options.resetAfterIdleMs ?? 60 * 60 * 1000;
  const versions = new Map<string, ClientVersion>();
  /** connectionId → versionNumber of its connected event. */
  const byConnection = new Map<number, number>();

  const sweep = setInterval(() => {
    const cutoff = now() - resetAfterIdleMs;
    for (const [clientId, v] of versions) if (v.open === 0 && v.lastActivityMs < cutoff) versions.delete(clientId);
  }, Math.max(1000, Math.min(resetAfterIdleMs, 5 * 60 * 1000)));
  sweep.unref();

  function send(kind: string, clientId: string, payload: Record<string, unknown>): void {
    const topic = `$aws/events/${kind}/${clientId}`;
    options
      .publish({ topic, payload: Buffer.from(JSON.stringify(payload)), qos: 1 })
      .catch((err: unknown) => options.logger.warn({ err, topic }, 'lifecycle event not published'));
  }

  /** clientId, then thingName when there is one, as AWS orders them. */
  function head(clientId: string, client: ClientInfo | undefined): Record<string, unknown> {
    const thingName = client === undefined ? undefined : options.thingNameOf?.(client);
    return thingName === undefined ? { clientId } : { clientId, thingName };
  }

  function connected(client: ClientInfo): void {
    const t = now();
    let v = versions.get(client.clientId);
    if (v === undefined || (v.open === 0 && t - v.lastActivityMs > resetAfterIdleMs)) {
      v = { next: 0, open: 0, lastActivityMs: t };
      versions.set(client.clientId, v);
    }
    const versionNumber = v.next++;
    v.open++;
    v.lastActivityMs = t;
    byConnection.set(client.connectionId, versionNumber);
    send('presence/connected', client.clientId, {
      ...head(client.clientId, client),
      timestamp: t,
      eventType: 'connected',
      sessionIdentifier: client.sessionIdentifier,
      principalIdentifier: client.principal.id,
      ...ipAddressOf(client.peer),
      versionNumber,
    });
  }

  function disconnected(client: ClientInfo, cause: DisconnectCause, clientInitiated: boolean): void {
    const t = now();
    let versionNumber = byConnection.get(client.connectionId);
    byConnection.delete(client.connectionId);
    const v = versions.get(client.clientId);
    if (v !== undefined) {
      v.lastActivityMs = t;
      if (versionNumber !== undefined) v.open = Math.max(0, v.open - 1);
    }
    // A disconnect whose connect we never saw (it cannot happen unless events were lost): still
    // only-increasing, without taking a number from a future connect.
    versionNumber ??= Math.max(0, (v?.next ?? 1) - 1);
    send('presence/disconnected', client.clientId, {
      ...head(client.clientId, client),
      timestamp: t,
      eventType: 'disconnected',
      sessionIdentifier: client.sessionIdentifier,
      principalIdentifier: client.principal.id,
      clientInitiatedDisconnect: clientInitiated,
      disconnectReason: disconnectReasons[cause],
      versionNumber,
    });
  }

  function connectFailed(event: Extract<BrokerEvent, { type: 'connect-failed' }>): void {
    const principalIdentifier =
      event.principal?.id ??
      (event.peer.peerCertificateDer === undefined ? undefined : certificateId(event.peer.peerCertificateDer));
    send('presence/connect_failed', event.clientId, {
      clientId: event.clientId,
      timestamp: now(),
      eventType: 'connect_failed',
      connectFailureReason: connectFailureReasonOf(event.reasonCode),
      ...(principalIdentifier !== undefined && { principalIdentifier }),
      // There is no session for a refused connect; AWS still sends an identifier.
      sessionIdentifier: randomUUID(),
      ...ipAddressOf(event.peer),
    });
  }

  function subscriptions(kind: 'subscribed' | 'unsubscribed', client: ClientInfo, topics: readonly string[]): void {
    send(`subscriptions/${kind}`, client.clientId, {
      ...head(client.clientId, client),
      timestamp: now(),
      eventType: kind,
      sessionIdentifier: client.sessionIdentifier,
      principalIdentifier: client.principal.id,
      topics: [...topics],
    });
  }

  return {
    onEvent(event: BrokerEvent): void {
      const clientId = event.type === 'connect-failed' ? event.clientId : event.client.clientId;
      // AWS publishes nothing for these: the id would turn the event topic into a filter.
      if (clientId.includes('#') || clientId.includes('+')) return;
      try {
        switch (event.type) {
          case 'connected':
            connected(event.client);
            return;
          case 'disconnected':
            disconnected(event.client, event.cause, event.clientInitiated);
            return;
          case 'connect-failed':
            connectFailed(event);
            return;
          case 'subscribed':
            subscriptions('subscribed', event.client, event.topicFilters);
            return;
          case 'unsubscribed':
            subscriptions('unsubscribed', event.client, event.topicFilters);
            return;
          default:
            assertNever(event);
        }
      } catch (err: unknown) {
        options.logger.error({ err, eventType: event.type, clientId }, 'lifecycle event failed');
      }
    },
    close(): void {
      clearInterval(sweep);
    },
  };
}

/**
 * AWS documents only AUTHORIZATION_FAILED; for other refusals we reuse its disconnectReason words.
 */
export function connectFailureReasonOf(reasonCode: number): string {
  switch (reasonCode) {
    case 0x86: // bad user name or password
    case 0x87: // not authorized
    case 0x8a: // banned
    case 0x8c: // bad authentication method
    case 0x04: // 3.1.1 bad user name or password
    case 0x05: // 3.1.1 not authorized
      return 'AUTHORIZATION_FAILED';
    case 0x97: // quota exceeded
    case 0x9f: // connection rate exceeded
      return 'THROTTLED';
    case 0x80: // unspecified error
    case 0x88: // server unavailable
    case 0x89: // server busy
    case 0x03: // 3.1.1 server unavailable
      return 'SERVER_ERROR';
    default: // malformed, protocol error, client id not valid, will topic/QoS not allowed, …
      return 'CLIENT_ERROR';
  }
}

/** `ipAddress` without the IPv4-mapped IPv6 prefix Node reports on dual-stack sockets. */
function ipAddressOf(peer: PeerFacts): { ipAddress?: string } {
  const address = peer.remoteAddress;
  if (address === undefined) return {};
  return { ipAddress: address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address };
}

function assertNever(value: never): never {
  throw new Error(`unexpected broker event ${JSON.stringify(value)}`);
}
