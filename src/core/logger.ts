import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config.js';

export type ServerLogger = PinoLogger;

/** JSON lines on stdout (pino), at the configured level. */
export function createLogger(level: LogLevel): ServerLogger {
  return pino({ name: 'thingcore', level });
}
