/**
 * `thingcore policy list|get|create|attach|detach|explain`: IoT policies through the public API with
 * AWS's own IoTClient (ListPolicies, GetPolicy / GetPolicyVersion, CreatePolicy, AttachPolicy,
 * DetachPolicy), signed with the admin key like every admin command.
 *
 * `explain` is the Thingcore extension `POST /test-authorization/explain` (see
 * api/routes/policies.ts): who (`--cert <certificateId>` or `--access-key <id>`), as which client id,
 * may do what (`--action iot:Publish --resource <topic>`), and which statement decided, with its
 * variables substituted, or that no statement allowed it. It is sent as a TestAuthorization whose
 * path and body are rewritten before signing, so it rides the SDK's client, signer and error
 * parsing; the 200 body is read raw.
 */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import {
  AttachPolicyCommand,
  CreatePolicyCommand,
  DescribeCertificateCommand,
  DetachPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  IoTClient,
  paginateListPolicies,
} from '@aws-sdk/client-iot';
import type { Policy } from '@aws-sdk/client-iot';
import { adminCommand, withSession } from './admin.js';
import type { AdminDeps, AdminFlags } from './admin.js';
import { sdkClientConfig } from './connection.js';
import { callExtension } from './extension.js';
import type { AdminSession } from './connection.js';
import { CliError, usageError } from './errors.js';
import { formatDate, formatFields, formatJson, formatTable } from './output.js';
import type { CliIo } from './output.js';

interface GetFlags extends AdminFlags {
  readonly version?: string;
}

interface CreateFlags extends AdminFlags {
  readonly document: string;
}

interface TargetFlags extends AdminFlags {
  readonly cert?: string;
  readonly accessKey?: string;
  readonly target?: string;
}

interface ExplainFlags extends TargetFlags {
  readonly clientId?: string;
  readonly action: string;
  readonly resource: string[];
}

/** One statement's part in a decision, as the explain route answers it. */
export interface ExplainedStatement {
  readonly statement: { readonly policyName: string; readonly policyVersionId: string; readonly statementIndex: number; readonly sid?: string; readonly effect: string };
  readonly outcome: string;
  readonly detail: string;
}

export interface ExplainedDecision {
  readonly action: string;
  readonly resource: string;
  readonly authDecision: 'ALLOWED' | 'EXPLICIT_DENY' | 'IMPLICIT_DENY';
  readonly summary: string;
  readonly statements: readonly ExplainedStatement[];
  readonly missingContextValues: readonly string[];
}

export interface ExplainAnswer {
  readonly principal: string;
  readonly clientId?: string;
  readonly policies: ReadonlyArray<{ readonly policyName: string; readonly policyVersionId: string }>;
  readonly allowedEverything?: string;
  readonly results: readonly ExplainedDecision[];
}

export interface ExplainRequest {
  readonly principal: string;
  readonly clientId?: string;
  readonly authInfos: ReadonlyArray<{ readonly action?: string; readonly actionType?: string; readonly resources: readonly string[] }>;
  readonly policyNamesToAdd?: readonly string[];
  readonly policyNamesToSkip?: readonly string[];
}

export function policyCommand(deps: AdminDeps): Command {
  const { io } = deps;
  const targetOptions = (command: Command): Command =>
    command
      .option('--cert <certificateId>', 'the certificate (its 64-hex id)')
      .option('--access-key <id>', 'an access key id (the principal of SigV4-signed WebSocket clients)')
      .option('--target <arn>', 'a certificate ARN or access key id, as AttachPolicy takes it');
  return new Command('policy')
    .description('list, show, create, attach and detach IoT policies, and explain decisions')
    .addCommand(
      adminCommand('list', 'list every policy (ListPolicies)').action(async (flags: AdminFlags) => {
        await withPolicyClient(deps, flags, async (client) => {
          const policies: Policy[] = [];
          for await (const page of paginateListPolicies({ client }, { pageSize: 250 })) policies.push(...(page.policies ?? []));
          if (flags.json === true) io.stdout(formatJson({ policies }));
          else io.stdout(policies.length === 0 ? 'no policies\n' : formatTable(['NAME', 'ARN'], policies.map((p) => [p.policyName ?? '?', p.policyArn ?? '-'])));
        });
      }),
    )
    .addCommand(
      adminCommand('get', "show a policy's default version (or --version N) and its document")
        .argument('<name>', 'policy name')
        .option('--version <id>', 'a version id (default: the default version)')
        .action(async (policyName: string, flags: GetFlags) => {
          await withPolicyClient(deps, flags, async (client) => {
            if (flags.version !== undefined) {
              const { $metadata: _, ...v } = await client.send(new GetPolicyVersionCommand({ policyName, policyVersionId: flags.version }));
              if (flags.json === true) return io.stdout(formatJson(v));
              return io.stdout(
                formatFields([
                  ['Name', v.policyName],
                  ['ARN', v.policyArn],
                  ['Version', `${v.policyVersionId ?? '?'}${v.isDefaultVersion === true ? ' (default)' : ''}`],
                  ['Created', formatDate(v.creationDate)],
                  ['Document', prettyDocument(v.policyDocument)],
                ]),
              );
            }
            const { $metadata: _, ...p } = await client.send(new GetPolicyCommand({ policyName }));
            if (flags.json === true) return io.stdout(formatJson(p));
            io.stdout(
              formatFields([
                ['Name', p.policyName],
                ['ARN', p.policyArn],
                ['Default version', p.defaultVersionId],
                ['Created', formatDate(p.creationDate)],
                ['Modified', formatDate(p.lastModifiedDate)],
                ['Document', prettyDocument(p.policyDocument)],
              ]),
            );
          });
        }),
    )
    .addCommand(
      adminCommand('create', 'create a policy (CreatePolicy); a bad document is refused with what and where')
        .argument('<name>', 'policy name')
        .requiredOption('--document <json>', 'the policy document, or @file to read it from a file')
        .action(async (policyName: string, flags: CreateFlags) => {
          const policyDocument = await readDocument(flags.document);
          await withPolicyClient(deps, flags, async (client) => {
            const { $metadata: _, ...out } = await client.send(new CreatePolicyCommand({ policyName, policyDocument }));
            io.stdout(flags.json === true ? formatJson(out) : `created policy ${out.policyName ?? policyName} (version ${out.policyVersionId ?? '1'})\n`);
          });
        }),
    )
    .addCommand(
      targetOptions(adminCommand('attach', 'attach a policy to a certificate or access key (AttachPolicy)').argument('<name>', 'policy name')).action(
        async (policyName: string, flags: TargetFlags) => {
          await withPolicyClient(deps, flags, async (client) => {
            const target = await resolveTarget(client, flags);
            await client.send(new AttachPolicyCommand({ policyName, target }));
            io.stdout(flags.json === true ? formatJson({ policyName, target, attached: true }) : `attached policy ${policyName} to ${target}\n`);
          });
        },
      ),
    )
    .addCommand(
      targetOptions(adminCommand('detach', 'detach a policy from a certificate or access key (DetachPolicy)').argument('<name>', 'policy name')).action(
        async (policyName: string, flags: TargetFlags) => {
          await withPolicyClient(deps, flags, async (client) => {
            const target = await resolveTarget(client, flags);
            await client.send(new DetachPolicyCommand({ policyName, target }));
            io.stdout(flags.json === true ? formatJson({ policyName, target, detached: true }) : `detached policy ${policyName} from ${target}\n`);
          });
        },
      ),
    )
    .addCommand(
      targetOptions(adminCommand('explain', 'say whether a principal may do an action and which statement decides (Thingcore extension)'))
        .option('--client-id <id>', 'the MQTT client id (iot:ClientId, and the thing the connection binds to)')
        .addOption(new Option('--action <action>', 'an IoT action, e.g. iot:Publish, iot:Subscribe, iot:Receive, iot:Connect').makeOptionMandatory())
        .addOption(
          new Option('--resource <name>', 'topic, topic filter, client id, thing[/shadow], or a full ARN; repeatable')
            .makeOptionMandatory()
            .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]),
        )
        .action(async (flags: ExplainFlags) => {
          await withPolicyClient(deps, flags, async (client) => {
            const principal = await resolveTarget(client, flags);
            const answer = await explainAuthorization(client, {
              principal,
              ...(flags.clientId === undefined ? {} : { clientId: flags.clientId }),
              authInfos: [{ action: flags.action, resources: flags.resource }],
            });
            io.stdout(flags.json === true ? formatJson(answer) : formatExplanation(answer));
          });
        }),
    );
}

/**
 * Calls `POST /test-authorization/explain` through the SDK: a TestAuthorization whose path and body
 * are replaced in the build step (before signing), and whose raw 200 body is taken before the
 * SDK's deserializer (which would drop every member TestAuthorization does not model). Errors come
 * back as the SDK's modeled exceptions.
 */
export async function explainAuthorization(client: IoTClient, request: ExplainRequest): Promise<ExplainAnswer> {
  const body = {
    principal: request.principal,
    authInfos: request.authInfos,
    ...(request.policyNamesToAdd === undefined ? {} : { policyNamesToAdd: request.policyNamesToAdd }),
    ...(request.policyNamesToSkip === undefined ? {} : { policyNamesToSkip: request.policyNamesToSkip }),
  };
  const query = request.clientId === undefined ? {} : { clientId: request.clientId };
  return (await callExtension(client, 'POST', '/test-authorization/explain', body, query)) as ExplainAnswer;
}


/** For people: the decision per resource, its one-line reason, then every statement's part in it. */
export function formatExplanation(answer: ExplainAnswer): string {
  const out: string[] = [];
  const policies = answer.policies.length === 0 ? 'none' : answer.policies.map((p) => `${p.policyName} (version ${p.policyVersionId})`).join(', ');
  out.push(
    formatFields([
      ['Principal', answer.principal],
      ['Client id', answer.clientId ?? '-'],
      ['Policies', answer.allowedEverything ?? policies],
    ]),
  );
  for (const r of answer.results) {
    out.push(`\n${r.authDecision === 'ALLOWED' ? 'ALLOWED' : 'DENIED'} (${r.authDecision}): ${r.summary}\n`);
    if (r.missingContextValues.length > 0) out.push(`missing context values: ${r.missingContextValues.join(', ')}\n`);
    if (r.statements.length > 0) {
      out.push(
        formatTable(
          ['POLICY', 'VERSION', 'STATEMENT', 'EFFECT', 'OUTCOME', 'WHY'],
          r.statements.map((s) => [
            s.statement.policyName,
            s.statement.policyVersionId,
            `${s.statement.statementIndex}${s.statement.sid === undefined ? '' : ` (${s.statement.sid})`}`,
            s.statement.effect,
            s.outcome,
            s.detail,
          ]),
        ),
      );
    }
  }
  return out.join('');
}

/** The AttachPolicy target from --cert (resolved to its ARN by DescribeCertificate), --access-key or --target. */
async function resolveTarget(client: IoTClient, flags: TargetFlags): Promise<string> {
  const given = [flags.cert, flags.accessKey, flags.target].filter((v) => v !== undefined);
  if (given.length !== 1) throw usageError('give exactly one of --cert <certificateId>, --access-key <id>, --target <arn>');
  if (flags.accessKey !== undefined) return flags.accessKey;
  if (flags.target !== undefined) return flags.target;
  const described = await client.send(new DescribeCertificateCommand({ certificateId: flags.cert }));
  const arn = described.certificateDescription?.certificateArn;
  if (arn === undefined) throw new CliError(`the server's DescribeCertificate answer for ${flags.cert ?? '?'} has no certificateArn`);
  return arn;
}

function prettyDocument(text: string | undefined): string {
  if (text === undefined) return '-';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

async function readDocument(text: string): Promise<string> {
  if (!text.startsWith('@')) return text;
  try {
    return await readFile(text.slice(1), 'utf8');
  } catch (err: unknown) {
    throw usageError(`cannot read the policy document file ${text.slice(1)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Runs `work` with an IoTClient aimed where the admin session is; errors leave as CliErrors. */
async function withPolicyClient(deps: AdminDeps, flags: AdminFlags, work: (client: IoTClient, io: CliIo) => Promise<void>): Promise<void> {
  await withSession(deps, flags, async (session) => {
    const client = await openIotClient(session);
    try {
      await work(client, deps.io);
    } finally {
      client.destroy();
    }
  });
}

async function openIotClient(session: AdminSession): Promise<IoTClient> {
  return new IoTClient(await sdkClientConfig(session));
}
