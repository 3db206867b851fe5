import type { Server } from 'node:net';
import type { Socket, AddressInfo } from 'node:net';
import type { CloseOptions, ListenerHandle } from './types.js';

/** Binds a server and resolves with the port it got (port 0 = the OS picks one). */
export function bind(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Tracks the raw TCP sockets of a server, so close() can wait for them and destroy the stragglers.
 * Upgraded (WebSocket) sockets are not in node:http's own bookkeeping, so we keep our own set.
 */
export function createHandle(
  kind: ListenerHandle['kind'],
  server: Server,
  host: string,
  port: number,
  beforeClose?: () => void,
): ListenerHandle {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  let closing: Promise<void> | undefined;
  return {
    kind,
    host,
    port,
    get connections() {
      return sockets.size;
    },
    close(options?: CloseOptions): Promise<void> {
      if (closing !== undefined) return closing;
      beforeClose?.();
      closing = new Promise<void>((resolve) => {
        server.close(() => resolve());
        const timer = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, options?.graceMs ?? 2000);
        timer.unref();
        server.once('close', () => clearTimeout(timer));
      });
      return closing;
    },
  };
}

/** Calls the connection handler; a throw costs that one connection, never the listener. */
export function handOver(
  deliver: () => void,
  socket: { destroy(): void },
  log: (err: unknown) => void,
): void {
  try {
    deliver();
  } catch (err: unknown) {
    log(err);
    socket.destroy();
  }
}
