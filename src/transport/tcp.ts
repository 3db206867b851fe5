import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { bind, createHandle, handOver } from './listener.js';
import type { ConnectionHandler, ListenerHandle, TransportLogger } from './types.js';
import { silentLogger } from './silent-logger.js';

export interface TcpListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly onConnection: ConnectionHandler;
  readonly logger?: TransportLogger;
}

/** Plain MQTT over TCP. */
export async function listenTcp(options: TcpListenerOptions): Promise<ListenerHandle> {
  const logger = options.logger ?? silentLogger;
  const server = createServer({ noDelay: true }, (socket: Socket) => {
    socket.setNoDelay(true);
    const peer = {
      transport: 'tcp' as const,
      ...(socket.remoteAddress !== undefined && { remoteAddress: socket.remoteAddress }),
      ...(socket.remotePort !== undefined && { remotePort: socket.remotePort }),
    };
    handOver(() => options.onConnection(socket, peer), socket, (err) =>
      logger.error({ err, transport: 'tcp' }, 'connection handler failed'),
    );
  });
  server.on('error', (err) => logger.error({ err, transport: 'tcp' }, 'listener error'));
  const port = await bind(server, options.host, options.port);
  return createHandle('tcp', server, options.host, port);
}
