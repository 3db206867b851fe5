/**
 * What every admin command shares: the connection flags and --json, and running its work in an
 * admin session whose errors come out as messages a user can act on.
 */
import { Command } from 'commander';
import type { AdminSession, ConnectionFlags } from './connection.js';
import type { CliIo } from './output.js';

/** What the admin commands need from outside; tests pass a fake session and capture the output. */
export interface AdminDeps {
  readonly openSession: (flags: ConnectionFlags) => Promise<AdminSession>;
  readonly io: CliIo;
}

export interface AdminFlags extends ConnectionFlags {
  readonly json?: boolean;
}

/** A leaf admin command with the connection flags and --json. */
export function adminCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option('--data-dir <dir>', 'data directory of the server (env THINGCORE_DATA_DIR; default ./thingcore-data)')
    .option('--endpoint <url>', "API URL, e.g. https://localhost:8443 (default: the running server's endpoints.json)")
    .option('--region <region>', 'AWS region to sign requests for (default: the config file, else us-east-1)')
    .option('--config <file>', "the server's JSON config file (for its dataDir and region)")
    .option('--json', 'print JSON (AWS response shapes) instead of tables');
}

/** Runs `work` in an admin session and closes it; every error leaves as a CliError. */
export async function withSession<T>(deps: AdminDeps, flags: ConnectionFlags, work: (session: AdminSession) => Promise<T>): Promise<T> {
  const session = await deps.openSession(flags);
  try {
    return await work(session);
  } catch (err: unknown) {
    throw session.explain(err);
  } finally {
    session.close();
  }
}
