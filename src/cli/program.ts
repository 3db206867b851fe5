import { Command } from 'commander';
import { serveCommand } from './serve.js';

/** The `thingcore` command. Each subcommand group lives in its own file and is added here. */
export function createProgram(): Command {
  return new Command('thingcore')
    .description('A self-hostable IoT core shaped like AWS IoT Core')
    .version('0.1.0')
    .addCommand(serveCommand());
}
