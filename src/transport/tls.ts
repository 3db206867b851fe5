import { createServer } from 'node:tls';
import type { TLSSocket, SecureContextOptions } from 'node:tls';
import { bind, createHandle, handOver } from './listener.js';
import { silentLogger } from './silent-logger.js';
import type { ConnectionHandler, PeerFacts, SecureListenerHandle, TlsMaterial, TransportLogger } from './types.js';

export interface TlsListenerOptions extends TlsMaterial {
  readonly host: string;
  readonly port: number;
  readonly onConnection: ConnectionHandler;
  /** Ask the client for a certificate; default true (mutual TLS). */
  readonly requestCert?: boolean;
  /**
   * Refuse handshakes whose client certificate does not verify against `ca`; default false: the
   * identity service decides (registered CAs, CA-less registration, revocation) and logs why.
   */
  readonly rejectUnauthorized?: boolean;
  /** Default 10 000. */
  readonly handshakeTimeoutMs?: number;
  readonly logger?: TransportLogger;
}

/** MQTT over TLS (mutual TLS on 8883): hands over the TLS socket with the peer's certificate DER. */
export async function listenTls(options: TlsListenerOptions): Promise<SecureListenerHandle> {
  const logger = options.logger ?? silentLogger;
  const server = createServer({
    ...secureContextOf(options),
    requestCert: options.requestCert ?? true,
    rejectUnauthorized: options.rejectUnauthorized ?? false,
    handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
    minVersion: 'TLSv1.2',
    noDelay: true,
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    socket.setNoDelay(true);
    const peer = peerFactsOf(socket, 'tls');
    if (!socket.authorized && peer.peerCertificateDer !== undefined) {
      // Not fatal here: identity/ makes the decision; this says what OpenSSL thought of the chain.
      logger.debug(
        { transport: 'tls', remoteAddress: peer.remoteAddress, authorizationError: String(socket.authorizationError) },
        'client certificate did not verify against the configured CAs',
      );
    }
    handOver(() => options.onConnection(socket, peer), socket, (err) =>
      logger.error({ err, transport: 'tls' }, 'connection handler failed'),
    );
  });
  server.on('tlsClientError', (err, socket) => {
    logger.debug({ err, transport: 'tls', remoteAddress: socket.remoteAddress }, 'TLS handshake failed');
  });
  server.on('error', (err) => logger.error({ err, transport: 'tls' }, 'listener error'));
  const port = await bind(server, options.host, options.port);
  const handle = createHandle('tls', server, options.host, port);
  return Object.assign(handle, {
    updateTls(material: TlsMaterial): void {
      server.setSecureContext(secureContextOf(material));
    },
  });
}

/** Peer facts of a TLS socket (TLS listener, or the HTTPS server's upgraded sockets). */
export function peerFactsOf(socket: TLSSocket, transport: 'tls' | 'wss'): PeerFacts {
  // Not detailed (true): that also builds the issuer chain objects, and we only need the DER.
  // getPeerCertificate returns {} (no raw) when the client presented none.
  const der = socket.getPeerCertificate(false).raw as Buffer | undefined;
  return {
    transport,
    ...(socket.remoteAddress !== undefined && { remoteAddress: socket.remoteAddress }),
    ...(socket.remotePort !== undefined && { remotePort: socket.remotePort }),
    ...(der !== undefined && der.length > 0 && { peerCertificateDer: der }),
  };
}

export function secureContextOf(material: TlsMaterial): SecureContextOptions {
  return {
    key: material.key,
    cert: material.cert,
    ...(material.ca !== undefined && { ca: typeof material.ca === 'string' ? material.ca : [...material.ca] }),
  };
}
