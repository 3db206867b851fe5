import { STATUS_CODES, createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { bind, createHandle, handOver } from './listener.js';
import { silentLogger } from './silent-logger.js';
import { peerFactsOf, secureContextOf } from './tls.js';
import { WebSocketDuplex } from './websocket-stream.js';
import { defaultRequestHandler } from './default-request-handler.js';
import type {
  ConnectionHandler,
  ListenerHandle,
  PeerFacts,
  RequestHandler,
  SecureListenerHandle,
  TlsMaterial,
  TransportLogger,
} from './types.js';

/** MQTT-over-WebSocket subprotocols, in order of preference ([MQTT-6.0.0-3]; `mqttv3.1` is MQTT 3.1's). */
export const mqttSubprotocols = ['mqtt', 'mqttv3.1'] as const;

/** An upgrade request refused before the WebSocket handshake (e.g. a bad SigV4 presigned URL). */
export type UpgradeDecision =
  | { readonly ok: true }
  | { readonly ok: false; readonly statusCode: number; readonly message: string };

export interface HttpListenerOptions {
  readonly host: string;
  readonly port: number;
  /** MQTT over WebSocket connections (upgrades on `webSocketPath`). */
  readonly onConnection: ConnectionHandler;
  /** Every other request; default: GET /health → 200 {"status":"ok"}, anything else 404 JSON. */
  readonly onRequest?: RequestHandler;
  /** Default `/mqtt`. */
  readonly webSocketPath?: string;
  /** Optional check before the WebSocket handshake; the full authentication happens at CONNECT. */
  readonly verifyUpgrade?: (request: IncomingMessage) => UpgradeDecision;
  /** Largest WebSocket message accepted; default 128 MiB. */
  readonly maxMessageBytes?: number;
  readonly logger?: TransportLogger;
}

export interface HttpsListenerOptions extends HttpListenerOptions, TlsMaterial {
  /** Ask HTTPS clients for a certificate (it then appears in the WebSocket's PeerFacts); default false, since browsers would prompt. */
  readonly requestCert?: boolean;
}

/** The API port over HTTPS, with MQTT over WebSocket (`wss://host:port/mqtt`). */
export async function listenHttps(options: HttpsListenerOptions): Promise<SecureListenerHandle> {
  const requestCert = options.requestCert ?? false;
  const server = createHttpsServer({
    ...secureContextOf(options),
    requestCert,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
    noDelay: true,
  });
  const handle = await serve(server, 'https', options);
  return Object.assign(handle, {
    updateTls(material: TlsMaterial): void {
      server.setSecureContext(secureContextOf(material));
    },
  });
}

/** The API port over plain HTTP (`--http-port`), with MQTT over WebSocket (`ws://host:port/mqtt`). */
export function listenHttp(options: HttpListenerOptions): Promise<ListenerHandle> {
  return serve(createHttpServer({ noDelay: true }), 'http', options);
}

async function serve(server: HttpServer, kind: 'http' | 'https', options: HttpListenerOptions): Promise<ListenerHandle> {
  const logger = options.logger ?? silentLogger;
  const path = options.webSocketPath ?? '/mqtt';
  const webSockets = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: options.maxMessageBytes ?? 128 * 1024 * 1024,
    handleProtocols: (offered: Set<string>) => chooseSubprotocol(offered) ?? false,
  });
  server.on('request', options.onRequest ?? defaultRequestHandler);
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (err: Error) => logger.debug({ err, transport: kind }, 'upgrade socket error'));
    if (pathOf(request.url) !== path) {
      refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    const offered = offeredSubprotocols(request);
    if (offered.size > 0 && chooseSubprotocol(offered) === undefined) {
      refuseUpgrade(socket, 400, `Unsupported WebSocket subprotocol; use one of: ${mqttSubprotocols.join(', ')}`);
      return;
    }
    const decision = options.verifyUpgrade?.(request) ?? { ok: true };
    if (!decision.ok) {
      refuseUpgrade(socket, decision.statusCode, decision.message);
      return;
    }
    webSockets.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      const stream = new WebSocketDuplex(ws);
      const peer = webSocketPeerFacts(request, kind === 'https' ? 'wss' : 'ws');
      handOver(() => options.onConnection(stream, peer), stream, (err) =>
        logger.error({ err, transport: kind }, 'connection handler failed'),
      );
    });
  });
  server.on('connection', (socket: { setNoDelay?: (noDelay: boolean) => void }) => socket.setNoDelay?.(true));
  server.on('clientError', (err: Error, socket: Duplex) => {
    logger.debug({ err, transport: kind }, 'HTTP client error');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  server.on('tlsClientError', (err: Error) => logger.debug({ err, transport: kind }, 'TLS handshake failed'));
  server.on('error', (err: Error) => logger.error({ err, transport: kind }, 'listener error'));
  const port = await bind(server, options.host, options.port);
  return createHandle(kind, server, options.host, port, () => server.closeIdleConnections());
}

export function chooseSubprotocol(offered: ReadonlySet<string>): string | undefined {
  return mqttSubprotocols.find((protocol) => offered.has(protocol));
}

function offeredSubprotocols(request: IncomingMessage): Set<string> {
  const header = request.headers['sec-websocket-protocol'];
  if (header === undefined) return new Set();
  return new Set(header.split(',').map((p) => p.trim()).filter((p) => p.length > 0));
}

function webSocketPeerFacts(request: IncomingMessage, transport: 'ws' | 'wss'): PeerFacts {
  const socket = request.socket;
  const base = socket instanceof TLSSocket ? peerFactsOf(socket, 'wss') : { transport };
  return {
    ...base,
    transport,
    ...(socket.remoteAddress !== undefined && { remoteAddress: socket.remoteAddress }),
    ...(socket.remotePort !== undefined && { remotePort: socket.remotePort }),
    request: { url: request.url ?? '/', headers: request.headers },
  };
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function refuseUpgrade(socket: Duplex, statusCode: number, message: string): void {
  const body = JSON.stringify({ message });
  const reason = STATUS_CODES[statusCode] ?? 'Error';
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${statusCode} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
