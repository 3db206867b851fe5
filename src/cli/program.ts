import { Command, CommanderError } from 'commander';
import type { AdminDeps } from './admin.js';
import { certCommand } from './cert.js';
import { openAdminSession } from './connection.js';
import { deviceCommand } from './device.js';
import { endpointCommand } from './endpoint.js';
import { CliError, exitCodes } from './errors.js';
import { processIo } from './output.js';
import { policyCommand } from './policy.js';
import { ruleCommand } from './rule.js';
import type { CliIo } from './output.js';
import { serveCommand } from './serve.js';
import { shadowCommand } from './shadow.js';
import { thingCommand } from './thing.js';

/**
 * The `thingcore` command. Each subcommand group lives in its own file and is added here. Usage
 * errors throw a CommanderError instead of exiting (main.ts maps it to exit code 2), so the program
 * can be driven in-process by tests with a fake API session and captured output.
 */
export function createProgram(deps: Partial<AdminDeps> = {}): Command {
  const admin: AdminDeps = { openSession: deps.openSession ?? openAdminSession, io: deps.io ?? processIo };
  const program = new Command('thingcore')
    .description('A self-hostable IoT core shaped like AWS IoT Core')
    .version('0.1.0')
    .addCommand(serveCommand())
    .addCommand(deviceCommand(admin))
    .addCommand(thingCommand(admin))
    .addCommand(certCommand(admin))
    .addCommand(shadowCommand(admin))
    .addCommand(policyCommand(admin))
    .addCommand(ruleCommand(admin))
    .addCommand(endpointCommand(admin));
  // addCommand does not pass settings down, so every command gets them here.
  const configure = (command: Command): void => {
    command
      .exitOverride()
      .configureOutput({ writeOut: admin.io.stdout, writeErr: admin.io.stderr })
      .showHelpAfterError(`(run \`${commandPath(command)} --help\` for usage)`);
    command.commands.forEach(configure);
  };
  configure(program);
  return program;
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Reports an error that ended the program and answers the exit code: 0 for help and --version,
 * 2 for usage errors (commander has already printed them), the CliError's own code, 1 for anything
 * else (a bug: printed with its stack).
 */
export function reportFailure(err: unknown, io: CliIo = processIo, env: Readonly<Record<string, string | undefined>> = process.env): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
  if (err instanceof CliError) {
    io.stderr(`thingcore: ${err.message}\n`);
    if (env['THINGCORE_DEBUG'] && err.cause instanceof Error) io.stderr(`${err.cause.stack ?? String(err.cause)}\n`);
    return err.exitCode;
  }
  io.stderr(`thingcore: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return exitCodes.error;
}
