/**
 * `thingcore shadow get|update|delete|list|history <thing>`: device shadows over the HTTP data plane
 * with AWS's own IoTDataPlaneClient (GetThingShadow, UpdateThingShadow, DeleteThingShadow,
 * ListNamedShadowsForThing), signed with the admin key like every admin command. `--name` picks a
 * named shadow (default: the classic one).
 *
 * `history` is a Thingcore extension (GET /things/{thing}/shadow/history, no AWS operation): it is
 * sent as a GetThingShadow whose path and query are rewritten before signing, so it rides the same
 * client, signer and error parsing.
 */
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import {
  DeleteThingShadowCommand,
  GetThingShadowCommand,
  IoTDataPlaneClient,
  IoTDataPlaneServiceException,
  ListNamedShadowsForThingCommand,
  UpdateThingShadowCommand,
} from '@aws-sdk/client-iot-data-plane';
import { adminCommand, withSession } from './admin.js';
import type { AdminDeps, AdminFlags } from './admin.js';
import { sdkClientConfig } from './connection.js';
import type { AdminSession } from './connection.js';
import { CliError, usageError } from './errors.js';
import { formatJson, formatTable } from './output.js';

interface ShadowFlags extends AdminFlags {
  readonly name?: string;
}

interface UpdateFlags extends ShadowFlags {
  readonly payload: string;
}

interface HistoryFlags extends ShadowFlags {
  readonly limit?: number;
  readonly before?: number;
}

/** One kept version, as GET /things/{thing}/shadow/history answers it. */
interface HistoryVersion {
  readonly version: number;
  readonly timestamp: number;
  readonly state: Record<string, unknown>;
  readonly metadata: Record<string, unknown>;
}

export function shadowCommand(deps: AdminDeps): Command {
  const { io } = deps;
  const shadowCmd = (name: string, description: string): Command =>
    adminCommand(name, description).argument('<thing>', 'thing name').option('--name <shadow>', 'named shadow (default: the classic shadow)');
  return new Command('shadow')
    .description('read, update, delete and list device shadows (HTTP data plane)')
    .addCommand(
      shadowCmd('get', 'print a shadow document (GetThingShadow)').action(async (thingName: string, flags: ShadowFlags) => {
        await withDataPlane(deps, flags, async (client) => {
          const out = await client.send(new GetThingShadowCommand({ thingName, ...shadowNameOf(flags) }));
          io.stdout(formatJson(parseDocument(out.payload)));
        });
      }),
    )
    .addCommand(
      shadowCmd('update', 'apply a state document (UpdateThingShadow) and print what was accepted')
        .requiredOption('--payload <json>', 'request document, e.g. \'{"state":{"desired":{"on":true}}}\', or @file to read it from a file')
        .action(async (thingName: string, flags: UpdateFlags) => {
          const payload = await readPayload(flags.payload);
          await withDataPlane(deps, flags, async (client) => {
            const out = await client.send(new UpdateThingShadowCommand({ thingName, ...shadowNameOf(flags), payload }));
            io.stdout(formatJson(parseDocument(out.payload)));
          });
        }),
    )
    .addCommand(
      shadowCmd('delete', 'delete a shadow (DeleteThingShadow)').action(async (thingName: string, flags: ShadowFlags) => {
        await withDataPlane(deps, flags, async (client) => {
          const out = await client.send(new DeleteThingShadowCommand({ thingName, ...shadowNameOf(flags) }));
          const doc = parseDocument(out.payload);
          io.stdout(flags.json === true ? formatJson(doc) : `deleted shadow ${describeShadow(thingName, flags.name)} (version ${String(doc['version'])})\n`);
        });
      }),
    )
    .addCommand(
      adminCommand('list', "list a thing's named shadows (ListNamedShadowsForThing, every page)")
        .argument('<thing>', 'thing name')
        .action(async (thingName: string, flags: AdminFlags) => {
          await withDataPlane(deps, flags, async (client) => {
            const results: string[] = [];
            let nextToken: string | undefined;
            do {
              const out = await client.send(new ListNamedShadowsForThingCommand({ thingName, pageSize: 100, ...(nextToken === undefined ? {} : { nextToken }) }));
              results.push(...(out.results ?? []));
              nextToken = out.nextToken === '' ? undefined : out.nextToken;
            } while (nextToken !== undefined);
            if (flags.json === true) io.stdout(formatJson({ results }));
            else io.stdout(results.length === 0 ? `no named shadows for ${thingName}\n` : results.map((n) => `${n}\n`).join(''));
          });
        }),
    )
    .addCommand(
      shadowCmd('history', 'list the kept versions of a shadow, newest first (Thingcore extension)')
        .option('--limit <n>', 'versions per page, 1-100 (default 10)', positiveInt)
        .option('--before <version>', 'only versions below this one (the nextBefore of a previous page)', positiveInt)
        .action(async (thingName: string, flags: HistoryFlags) => {
          await withDataPlane(deps, flags, async (client) => {
            const query: Record<string, string> = {
              ...(flags.name === undefined ? {} : { name: flags.name }),
              ...(flags.limit === undefined ? {} : { limit: String(flags.limit) }),
              ...(flags.before === undefined ? {} : { before: String(flags.before) }),
            };
            const page = parseDocument(await getSigned(client, thingName, '/history', query));
            if (flags.json === true) {
              io.stdout(formatJson(page));
              return;
            }
            io.stdout(historyTable(thingName, flags.name, page));
          });
        }),
    );
}

function shadowNameOf(flags: ShadowFlags): { shadowName?: string } {
  return flags.name === undefined ? {} : { shadowName: flags.name };
}

function describeShadow(thingName: string, shadowName: string | undefined): string {
  return shadowName === undefined ? `of ${thingName}` : `${shadowName} of ${thingName}`;
}

function positiveInt(text: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new InvalidArgumentError('expected a positive integer');
  return Number(text);
}

async function readPayload(text: string): Promise<Uint8Array> {
  if (!text.startsWith('@')) return Buffer.from(text, 'utf8');
  try {
    return await readFile(text.slice(1));
  } catch (err: unknown) {
    throw usageError(`cannot read the payload file ${text.slice(1)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function parseDocument(payload: Uint8Array | undefined): Record<string, unknown> {
  const text = Buffer.from(payload ?? new Uint8Array()).toString('utf8');
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new CliError(`the server answered with something that is not a JSON document: ${text.slice(0, 200)}`);
}

function historyTable(thingName: string, shadowName: string | undefined, page: Record<string, unknown>): string {
  const versions = Array.isArray(page['versions']) ? (page['versions'] as HistoryVersion[]) : [];
  if (versions.length === 0) return `no kept versions for the shadow ${describeShadow(thingName, shadowName)}\n`;
  const table = formatTable(
    ['VERSION', 'ACCEPTED', 'STATE'],
    versions.map((v) => [String(v.version), new Date(v.timestamp * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'), JSON.stringify(v.state)]),
  );
  const next = page['nextBefore'];
  return typeof next === 'number' ? `${table}(older versions: --before ${next})\n` : table;
}

/**
 * A signed GET on `/things/{thing}/shadow{suffix}` with `query`, through the data-plane client: a
 * GetThingShadow whose request is rewritten in the build step, before the signer sees it. Answers
 * the raw 200 body; errors come back as the SDK's modeled exceptions.
 */
async function getSigned(client: IoTDataPlaneClient, thingName: string, suffix: string, query: Record<string, string>): Promise<Uint8Array | undefined> {
  const command = new GetThingShadowCommand({ thingName });
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { path?: unknown; query?: unknown };
      if (typeof request.path !== 'string') throw new Error('unexpected request shape in the data-plane client');
      request.path = `${request.path}${suffix}`;
      request.query = query;
      return next(args);
    },
    { step: 'build', name: 'thingcoreRewritePath' },
  );
  return (await client.send(command)).payload;
}

/** Runs `work` with a data-plane client aimed where the admin session is; errors leave as CliErrors. */
async function withDataPlane(deps: AdminDeps, flags: AdminFlags, work: (client: IoTDataPlaneClient) => Promise<void>): Promise<void> {
  await withSession(deps, flags, async (session) => {
    const client = await openDataPlane(session);
    try {
      await work(client);
    } catch (err: unknown) {
      throw explainDataPlane(err, session);
    } finally {
      client.destroy();
    }
  });
}

async function openDataPlane(session: AdminSession): Promise<IoTDataPlaneClient> {
  return new IoTDataPlaneClient(await sdkClientConfig(session));
}

/** The data plane's AWS exceptions in the admin commands' words (`Name: message`); the rest as the session explains them. */
function explainDataPlane(err: unknown, session: AdminSession): CliError {
  if (err instanceof IoTDataPlaneServiceException && err.name !== 'Unknown' && !/^\d+$/.test(err.name)) {
    if (/Signature|UnrecognizedClient|MissingAuthenticationToken|InvalidClientTokenId/.test(err.name)) {
      return new CliError(`the credentials in ${session.credentialsPath} were not accepted by ${session.apiUrl} (${err.name}: ${err.message})`, undefined, { cause: err });
    }
    return new CliError(`${err.name}: ${err.message}`, undefined, { cause: err });
  }
  return session.explain(err);
}
