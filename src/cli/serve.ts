import { Command, Option } from 'commander';
import {
  ConfigError,
  createLogger,
  installShutdownHandlers,
  loadConfigFile,
  logLevels,
  parseConfigInput,
  resolveConfig,
  startServer,
} from '../core/index.js';
import type { ConfigInput, ServerConfig } from '../core/index.js';

/** Commander's view of `serve`'s flags (all strings, as typed). */
interface ServeFlags {
  readonly dataDir?: string;
  readonly host?: string;
  readonly hostNames?: string;
  readonly mqttsPort?: string;
  readonly httpsPort?: string;
  readonly mqttPort?: string;
  readonly httpPort?: string;
  readonly config?: string;
  readonly profile?: string;
  readonly dev?: boolean;
  readonly anonymousPolicy?: string;
  readonly logLevel?: string;
  readonly region?: string;
  readonly accountId?: string;
  /** Repeatable `<arn-or-name>=<path>`. */
  readonly localFunction?: readonly string[];
}

/** `thingcore serve`: runs the server until SIGINT/SIGTERM. */
export function serveCommand(): Command {
  return new Command('serve')
    .description('run the Thingcore server (MQTT broker, HTTPS API, MQTT over WebSocket)')
    .option('--data-dir <dir>', 'data directory (env THINGCORE_DATA_DIR; default ./thingcore-data)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1)')
    .option('--host-names <names>', 'comma-separated DNS names/IPs for the server certificate (default localhost,127.0.0.1)')
    .option('--mqtts-port <port>', 'MQTT over mutual TLS port, 0 = pick one (default 8883)')
    .option('--https-port <port>', 'HTTPS API and MQTT-over-WebSocket port, 0 = pick one (default 8443)')
    .option('--mqtt-port <port>', 'plain MQTT port (off unless given; --dev turns it on at 1883)')
    .option('--http-port <port>', 'plain HTTP API port (off unless given)')
    .option('--config <file>', 'JSON config file; it can set everything a flag sets, plus limits and features')
    .addOption(new Option('--profile <profile>', 'broker behaviour (default aws)').choices(['aws', 'mqtt']))
    .option('--dev', 'development mode: plain MQTT on, anonymous clients may do everything')
    .option('--anonymous-policy <name>', 'without --dev: the IoT policy (by name) that governs anonymous plain-MQTT clients')
    .addOption(new Option('--log-level <level>', 'log level (default info)').choices([...logLevels]))
    .option('--region <region>', 'AWS region in ARNs (default us-east-1)')
    .option('--account-id <id>', 'AWS account id in ARNs (default 000000000000)')
    .option(
      '--local-function <arn-or-name=path>',
      'run a rule lambda action\'s function locally: function ARN or name = JS module exporting handler(event, context); repeatable',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(async (flags: ServeFlags) => {
      await serve(flags);
    });
}

async function serve(flags: ServeFlags): Promise<void> {
  let config: ServerConfig;
  try {
    const file = flags.config === undefined ? undefined : await loadConfigFile(flags.config);
    config = resolveConfig({
      flags: parseConfigInput(flagsToInput(flags), 'command-line flags'),
      ...(file !== undefined && { file }),
      env: process.env,
    });
  } catch (err: unknown) {
    if (err instanceof ConfigError) {
      process.stderr.write(`thingcore: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  try {
    const server = await startServer(config, { logger });
    installShutdownHandlers(server, { logger });
  } catch (err: unknown) {
    logger.fatal({ err }, 'could not start');
    process.stderr.write(`thingcore: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
    logger.flush();
    process.exit(1);
  }
}

/** Flag names → config keys; absent flags stay absent so the file and defaults can apply. */
function flagsToInput(flags: ServeFlags): Record<keyof ConfigInput, unknown> {
  return {
    dataDir: flags.dataDir,
    host: flags.host,
    hostNames: flags.hostNames,
    mqttsPort: flags.mqttsPort,
    httpsPort: flags.httpsPort,
    mqttPort: flags.mqttPort,
    httpPort: flags.httpPort,
    profile: flags.profile,
    dev: flags.dev,
    anonymousPolicy: flags.anonymousPolicy,
    logLevel: flags.logLevel,
    region: flags.region,
    accountId: flags.accountId,
    limits: undefined,
    features: undefined,
    // Module paths relative to the cwd (resolveConfig); a flag wins over the file's entry of the same name.
    rules: flags.localFunction === undefined ? undefined : { localFunctions: flags.localFunction },
  };
}
