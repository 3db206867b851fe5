import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { PeerFacts } from '../mqtt/index.js';

export type { PeerFacts };

/** Receives each accepted connection: a byte stream carrying MQTT, and what is known of the peer. */
export type ConnectionHandler = (stream: Duplex, peer: PeerFacts) => void;

/** Handles a plain (non-WebSocket) HTTP request on the API port. */
export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** The logging surface transport/ needs; pino's Logger satisfies it. */
export interface TransportLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface CloseOptions {
  /** How long open connections may take to end on their own before they are destroyed; default 2000. */
  readonly graceMs?: number;
}

/** A bound listener. */
export interface ListenerHandle {
  readonly kind: 'tcp' | 'tls' | 'http' | 'https';
  readonly host: string;
  /** The bound port (the one the OS picked when 0 was asked for). */
  readonly port: number;
  /** Connections currently open on this listener (WebSockets included). */
  readonly connections: number;
  /**
   * Stops accepting at once, then resolves when every connection has ended; connections still open
   * after `graceMs` are destroyed. Idempotent: later calls return the same promise.
   */
  close(options?: CloseOptions): Promise<void>;
}

/** TLS material for a listener; PEM strings. */
export interface TlsMaterial {
  readonly key: string;
  readonly cert: string;
  /** CAs whose certificates clients may present (also sent as the acceptable-CA list). */
  readonly ca?: string | readonly string[];
}

/** A TLS listener whose certificate can be replaced without a restart (renewal, new CA registered). */
export interface SecureListenerHandle extends ListenerHandle {
  /** Applies to new handshakes; open connections keep theirs. */
  updateTls(material: TlsMaterial): void;
}

export type { IncomingMessage, ServerResponse };
