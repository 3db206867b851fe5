/**
 * Signal handling for `thingcore serve`: the first SIGINT/SIGTERM closes the server in order (stop
 * accepting, broker.close() — clients disconnected, wills sent, sessions flushed — listeners, store)
 * and exits 0; a second signal, or a close that takes longer than `forceAfterMs`, exits 1 at once.
 */
import type { ServerLogger } from './logger.js';

export interface ShutdownOptions {
  readonly logger: ServerLogger;
  /** Default process.exit. */
  readonly exit?: (code: number) => void;
  /** Default 30 000. */
  readonly forceAfterMs?: number;
  readonly signals?: readonly NodeJS.Signals[];
}

/** Installs the handlers; returns the function that removes them. */
export function installShutdownHandlers(server: { close(): Promise<void> }, options: ShutdownOptions): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const { logger } = options;
  let shuttingDown = false;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      logger.warn({ signal }, 'second signal: exiting without finishing the shutdown');
      flushThen(logger, () => exit(1));
      return;
    }
    shuttingDown = true;
    logger.info({ signal }, 'signal received: shutting down (send it again to force)');
    const force = setTimeout(() => {
      logger.error({ forceAfterMs: options.forceAfterMs ?? 30_000 }, 'shutdown took too long: exiting');
      flushThen(logger, () => exit(1));
    }, options.forceAfterMs ?? 30_000);
    force.unref();
    server.close().then(
      () => {
        clearTimeout(force);
        flushThen(logger, () => exit(0));
      },
      (err: unknown) => {
        clearTimeout(force);
        logger.error({ err }, 'shutdown failed');
        flushThen(logger, () => exit(1));
      },
    );
  };

  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}

function flushThen(logger: ServerLogger, then: () => void): void {
  try {
    logger.flush((err?: Error) => {
      void err;
      then();
    });
  } catch {
    then();
  }
}
