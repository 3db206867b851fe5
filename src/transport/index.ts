/**
 * transport/: listeners that accept connections and hand each one over as a byte stream plus what
 * is known of the peer (`PeerFacts`: address, TLS peer certificate, WebSocket upgrade request):
 * plain TCP, TLS (mutual), and the HTTP(S) API port with MQTT over WebSocket at `/mqtt`.
 *
 * It refuses: MQTT packets, authentication decisions (a TLS client certificate that does not verify
 * is still handed over; identity/ decides), AWS routes (the HTTP request handler is plugged in).
 * From mqtt/ it imports only the PeerFacts type.
 */
export { listenTcp } from './tcp.js';
export type { TcpListenerOptions } from './tcp.js';
export { listenTls } from './tls.js';
export type { TlsListenerOptions } from './tls.js';
export { listenHttp, listenHttps, mqttSubprotocols, chooseSubprotocol } from './http.js';
export type { HttpListenerOptions, HttpsListenerOptions, UpgradeDecision } from './http.js';
export { WebSocketDuplex } from './websocket-stream.js';
export { defaultRequestHandler, sendJson } from './default-request-handler.js';
export type {
  CloseOptions,
  ConnectionHandler,
  ListenerHandle,
  PeerFacts,
  RequestHandler,
  SecureListenerHandle,
  TlsMaterial,
  TransportLogger,
} from './types.js';
