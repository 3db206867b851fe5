/**
 * core/: the composition root. Reads the configuration, opens the store, loads the CA and server
 * certificate, builds the broker and plugs AWS semantics into its hooks (authentication, lifecycle
 * events; later policies, shadows, rules), starts the listeners, and shuts down in order.
 *
 * It is the only room that imports every other one, and the only place where AWS behaviour meets
 * the broker. It refuses: protocol logic (mqtt/), crypto (identity/), sockets (transport/), and
 * command-line parsing (cli/).
 */
export {
  resolveConfig,
  loadConfigFile,
  parseConfigInput,
  configDefaults,
  logLevels,
  ConfigError,
} from './config.js';
export type { ServerConfig, ConfigInput, LogLevel, ResolveConfigSources } from './config.js';
export { startServer, databaseFile } from './compose.js';
export type { RunningServer, StartServerOptions } from './compose.js';
export { endpointsFile } from './endpoints.js';
export type { Endpoints, HostPort } from './endpoints.js';
export { createLifecycleEvents, disconnectReasons, connectFailureReasonOf } from './lifecycle-events.js';
export type { LifecycleEvents, LifecycleEventsOptions } from './lifecycle-events.js';
export { createAuthenticator } from './authenticate.js';
export { installShutdownHandlers } from './shutdown.js';
export type { ShutdownOptions } from './shutdown.js';
export { createLogger } from './logger.js';
export type { ServerLogger } from './logger.js';
