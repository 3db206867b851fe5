/**
 * `thingcore rule list|get|create|replace|delete|enable|disable|metrics|test`: topic rules through
 * the public API with AWS's own IoTClient (ListTopicRules, GetTopicRule, CreateTopicRule,
 * ReplaceTopicRule, DeleteTopicRule, EnableTopicRule, DisableTopicRule), signed with the admin key
 * like every admin command.
 *
 *   thingcore rule create hot --sql "SELECT * FROM 'sensors/+' WHERE temp > 50" --republish 'alerts/${topic(2)}'
 *   thingcore rule create hot --payload @rule.json          # a TopicRulePayload, as `aws iot create-topic-rule`
 *   thingcore rule test --sql "SELECT temp FROM 'sensors/+' WHERE temp > 50" --topic sensors/a --payload '{"temp": 40}'
 *   → no match: WHERE is false: temp > 50 is false (temp = 40)
 *
 * `metrics` (`GET /rules/{ruleName}/metrics`) and `test` (`POST /test-topic-rule`, the dry run) are
 * Thingcore extensions (see api/routes/rules.ts). They are sent as an SDK command whose method,
 * path and body are rewritten before signing, so they ride the SDK's client, signer and error
 * parsing; the 200 body is read raw.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import {
  CreateTopicRuleCommand,
  DeleteTopicRuleCommand,
  DisableTopicRuleCommand,
  EnableTopicRuleCommand,
  GetTopicRuleCommand,
  IoTClient,
  ReplaceTopicRuleCommand,
  paginateListTopicRules,
} from '@aws-sdk/client-iot';
import type { TopicRuleListItem, TopicRulePayload } from '@aws-sdk/client-iot';
import { adminCommand, withSession } from './admin.js';
import type { AdminDeps, AdminFlags } from './admin.js';
import { sdkClientConfig } from './connection.js';
import { callExtension } from './extension.js';

export { callExtension };
import type { AdminSession } from './connection.js';
import { usageError } from './errors.js';
import type { RuleMetricsSnapshot as RuleMetrics } from '../rules/index.js';
import { formatDate, formatFields, formatJson, formatTable } from './output.js';

interface ListFlags extends AdminFlags {
  readonly topic?: string;
  readonly enabled?: boolean;
  readonly disabled?: boolean;
}

interface PayloadFlags extends AdminFlags {
  readonly payload?: string;
  readonly sql?: string;
  readonly sqlVersion?: string;
  readonly description?: string;
  readonly action: string[];
  readonly republish: string[];
  readonly errorAction?: string;
  readonly disabled?: boolean;
}

interface TestFlags extends AdminFlags {
  readonly sql?: string;
  readonly rule?: string;
  readonly sqlVersion?: string;
  readonly topic: string;
  readonly payload?: string;
  readonly payloadBase64?: boolean;
  readonly clientId?: string;
}

/** The dry run's request (`POST /test-topic-rule`). */
export interface RuleTestRequest {
  readonly sql?: string;
  readonly ruleName?: string;
  readonly awsIotSqlVersion?: string;
  readonly topic: string;
  readonly payload: string;
  readonly payloadBase64?: boolean;
  readonly clientId?: string;
}

export interface RuleTestAnswer {
  readonly matched: boolean;
  readonly output?: unknown;
  readonly outputEncoding?: 'base64';
  readonly warnings?: readonly string[];
  readonly reason?: { readonly clause: string; readonly message: string };
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function ruleCommand(deps: AdminDeps): Command {
  const { io } = deps;
  const payloadOptions = (command: Command): Command =>
    command
      .option('--payload <json>', 'the whole TopicRulePayload ({"sql", "actions", ...}), or @file')
      .option('--sql <statement>', 'the rule statement (instead of --payload)')
      .option('--sql-version <version>', 'awsIotSqlVersion: 2015-10-08 (default), 2016-03-23 or beta')
      .option('--description <text>', 'a description')
      .option('--action <json>', 'an action, e.g. {"republish":{"topic":"t","roleArn":"..."}}, or @file; repeatable', collect)
      .option('--republish <topic>', 'add a republish action to this topic (templates allowed); repeatable', collect)
      .option('--error-action <json>', 'the errorAction, or @file')
      .option('--disabled', 'create the rule disabled');
  return new Command('rule')
    .description('list, show, create, replace, delete, enable, disable and test topic rules')
    .addCommand(
      adminCommand('list', 'list topic rules (ListTopicRules)')
        .option('--topic <filter>', 'only rules whose FROM topic filter is this')
        .option('--enabled', 'only enabled rules')
        .option('--disabled', 'only disabled rules')
        .action(async (flags: ListFlags) => {
          if (flags.enabled === true && flags.disabled === true) throw usageError('give at most one of --enabled and --disabled');
          await withRuleClient(deps, flags, async (client) => {
            const rules: TopicRuleListItem[] = [];
            const input = {
              maxResults: 1000,
              ...(flags.topic === undefined ? {} : { topic: flags.topic }),
              ...(flags.enabled === true ? { ruleDisabled: false } : flags.disabled === true ? { ruleDisabled: true } : {}),
            };
            for await (const page of paginateListTopicRules({ client }, input)) rules.push(...(page.rules ?? []));
            if (flags.json === true) return io.stdout(formatJson({ rules }));
            io.stdout(
              rules.length === 0
                ? 'no topic rules\n'
                : formatTable(
                    ['NAME', 'TOPIC', 'STATE', 'CREATED'],
                    rules.map((r) => [r.ruleName ?? '?', r.topicPattern ?? '-', r.ruleDisabled === true ? 'disabled' : 'enabled', formatDate(r.createdAt)]),
                  ),
            );
          });
        }),
    )
    .addCommand(
      adminCommand('get', 'show a topic rule (GetTopicRule)')
        .argument('<name>', 'rule name')
        .action(async (ruleName: string, flags: AdminFlags) => {
          await withRuleClient(deps, flags, async (client) => {
            const { $metadata: _, ...out } = await client.send(new GetTopicRuleCommand({ ruleName }));
            if (flags.json === true) return io.stdout(formatJson(out));
            const rule = out.rule;
            io.stdout(
              formatFields([
                ['Name', rule?.ruleName],
                ['ARN', out.ruleArn],
                ['State', rule?.ruleDisabled === true ? 'disabled' : 'enabled'],
                ['SQL', rule?.sql],
                ['SQL version', rule?.awsIotSqlVersion],
                ['Description', rule?.description],
                ['Created', formatDate(rule?.createdAt)],
                ['Actions', JSON.stringify(rule?.actions ?? [], null, 2)],
                ['Error action', rule?.errorAction === undefined ? undefined : JSON.stringify(rule.errorAction, null, 2)],
              ]),
            );
          });
        }),
    )
    .addCommand(
      payloadOptions(adminCommand('create', 'create a topic rule (CreateTopicRule)').argument('<name>', 'rule name')).action(
        async (ruleName: string, flags: PayloadFlags) => {
          const topicRulePayload = await readPayload(flags);
          await withRuleClient(deps, flags, async (client) => {
            await client.send(new CreateTopicRuleCommand({ ruleName, topicRulePayload }));
            io.stdout(flags.json === true ? formatJson({ ruleName, created: true }) : `created topic rule ${ruleName}\n`);
          });
        },
      ),
    )
    .addCommand(
      payloadOptions(adminCommand('replace', 'replace a topic rule (ReplaceTopicRule)').argument('<name>', 'rule name')).action(
        async (ruleName: string, flags: PayloadFlags) => {
          const topicRulePayload = await readPayload(flags);
          await withRuleClient(deps, flags, async (client) => {
            await client.send(new ReplaceTopicRuleCommand({ ruleName, topicRulePayload }));
            io.stdout(flags.json === true ? formatJson({ ruleName, replaced: true }) : `replaced topic rule ${ruleName}\n`);
          });
        },
      ),
    )
    .addCommand(simple(deps, 'delete', 'delete a topic rule (DeleteTopicRule)', 'deleted', (client, ruleName) => client.send(new DeleteTopicRuleCommand({ ruleName }))))
    .addCommand(simple(deps, 'enable', 'enable a topic rule (EnableTopicRule)', 'enabled', (client, ruleName) => client.send(new EnableTopicRuleCommand({ ruleName }))))
    .addCommand(simple(deps, 'disable', 'disable a topic rule (DisableTopicRule)', 'disabled', (client, ruleName) => client.send(new DisableTopicRuleCommand({ ruleName }))))
    .addCommand(
      adminCommand('metrics', "show a rule's counters: matched, executed, succeeded, failed, last error (Thingcore extension)")
        .argument('<name>', 'rule name')
        .action(async (ruleName: string, flags: AdminFlags) => {
          await withRuleClient(deps, flags, async (client) => {
            const m = await ruleMetrics(client, ruleName);
            io.stdout(flags.json === true ? formatJson(m) : formatMetrics(m));
          });
        }),
    )
    .addCommand(
      adminCommand('test', 'dry run: evaluate a statement (or a stored rule) on one message and say why it does not match (Thingcore extension)')
        .option('--sql <statement>', 'the statement to try')
        .option('--rule <name>', "try a stored rule's statement instead")
        .option('--sql-version <version>', 'awsIotSqlVersion (default: the rule\'s, else 2015-10-08)')
        .requiredOption('--topic <topic>', 'the topic the message is published on ($aws/rules/<rule>/... tries Basic Ingest)')
        .option('--payload <text>', 'the message payload (text, or @file); default empty')
        .option('--payload-base64', 'the payload is base64 of the bytes')
        .option('--client-id <id>', 'the publishing client id (clientid())')
        .action(async (flags: TestFlags) => {
          if ((flags.sql === undefined) === (flags.rule === undefined)) throw usageError('give exactly one of --sql <statement> and --rule <name>');
          const payload = flags.payload === undefined ? '' : await readText(flags.payload, 'payload');
          await withRuleClient(deps, flags, async (client) => {
            const answer = await testRule(client, {
              topic: flags.topic,
              payload,
              ...(flags.sql === undefined ? {} : { sql: flags.sql }),
              ...(flags.rule === undefined ? {} : { ruleName: flags.rule }),
              ...(flags.sqlVersion === undefined ? {} : { awsIotSqlVersion: flags.sqlVersion }),
              ...(flags.payloadBase64 === true ? { payloadBase64: true } : {}),
              ...(flags.clientId === undefined ? {} : { clientId: flags.clientId }),
            });
            io.stdout(flags.json === true ? formatJson(answer) : formatTestAnswer(answer));
          });
        }),
    );
}

function simple(
  deps: AdminDeps,
  name: string,
  description: string,
  done: string,
  call: (client: IoTClient, ruleName: string) => Promise<unknown>,
): Command {
  return adminCommand(name, description)
    .argument('<name>', 'rule name')
    .action(async (ruleName: string, flags: AdminFlags) => {
      await withRuleClient(deps, flags, async (client) => {
        await call(client, ruleName);
        deps.io.stdout(flags.json === true ? formatJson({ ruleName, [done]: true }) : `${done} topic rule ${ruleName}\n`);
      });
    });
}

/** The dry run through the SDK (`POST /test-topic-rule`). */
export async function testRule(client: IoTClient, request: RuleTestRequest): Promise<RuleTestAnswer> {
  return (await callExtension(client, 'POST', '/test-topic-rule', request)) as RuleTestAnswer;
}

/** A rule's counters (`GET /rules/{ruleName}/metrics`). */
export async function ruleMetrics(client: IoTClient, ruleName: string): Promise<RuleMetrics> {
  return (await callExtension(client, 'GET', `/rules/${encodeURIComponent(ruleName)}/metrics`)) as RuleMetrics;
}

/** The wire shapes of `GET /rules/{ruleName}/metrics`, defined once by the rules room (types only). */
export type { ActionMetricsSnapshot as ActionMetrics, RuleMetricsSnapshot as RuleMetrics } from '../rules/index.js';


export function formatTestAnswer(answer: RuleTestAnswer): string {
  const warnings = (answer.warnings ?? []).map((w) => `warning: ${w}\n`).join('');
  if (!answer.matched) return `${warnings}no match: ${answer.reason?.message ?? `the ${answer.reason?.clause ?? '?'} clause rejected the message`}\n`;
  const output =
    answer.outputEncoding === 'base64' ? `(base64) ${String(answer.output)}` : typeof answer.output === 'string' ? answer.output : JSON.stringify(answer.output, null, 2);
  return `${warnings}matched; the actions would receive:\n${output}\n`;
}

export function formatMetrics(m: RuleMetrics): string {
  const time = (s: number | undefined): string | undefined => (s === undefined ? undefined : formatDate(new Date(s * 1000)));
  const out = formatFields([
    ['Rule', m.ruleName],
    ['State', m.enabled ? 'enabled' : 'disabled'],
    ['Since', time(m.since)],
    ['Evaluated', String(m.evaluated)],
    ['Matched', String(m.matched)],
    ['Executed', String(m.executed)],
    ['Succeeded', String(m.succeeded)],
    ['Failed', String(m.failed)],
    ['Evaluation errors', m.evaluationErrors === 0 ? undefined : String(m.evaluationErrors)],
    ['Dropped (hops)', m.droppedHops === 0 ? undefined : String(m.droppedHops)],
    ['Last error', m.lastError === undefined ? undefined : `${m.lastError} (${time(m.lastErrorAt) ?? '-'})`],
  ]);
  const rows = [...m.actions, ...(m.errorAction === undefined ? [] : [m.errorAction])].map((a) => [
    a.index === undefined ? 'error' : String(a.index),
    a.type,
    String(a.executed),
    String(a.succeeded),
    String(a.failed),
    a.lastError === undefined ? '-' : `${a.lastError} (${time(a.lastErrorAt) ?? '-'})`,
  ]);
  return rows.length === 0 ? out : `${out}\n${formatTable(['ACTION', 'TYPE', 'EXECUTED', 'SUCCEEDED', 'FAILED', 'LAST ERROR'], rows)}`;
}

async function readText(text: string, what: string): Promise<string> {
  if (!text.startsWith('@')) return text;
  try {
    return await readFile(text.slice(1), 'utf8');
  } catch (err: unknown) {
    throw usageError(`cannot read the ${what} file ${text.slice(1)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function readJson(text: string, what: string): Promise<unknown> {
  const source = await readText(text, what);
  try {
    return JSON.parse(source) as unknown;
  } catch (err: unknown) {
    throw usageError(`the ${what} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The TopicRulePayload from --payload, or built from --sql and the action flags. */
async function readPayload(flags: PayloadFlags): Promise<TopicRulePayload> {
  if (flags.payload !== undefined) {
    if (flags.sql !== undefined || (flags.action ?? []).length > 0 || (flags.republish ?? []).length > 0) {
      throw usageError('give either --payload or --sql with --action/--republish, not both');
    }
    return (await readJson(flags.payload, 'payload')) as TopicRulePayload;
  }
  if (flags.sql === undefined) throw usageError('give --sql <statement> (with --action/--republish) or --payload <json>');
  const actions: unknown[] = [];
  for (const a of flags.action ?? []) actions.push(await readJson(a, 'action'));
  for (const topic of flags.republish ?? []) actions.push({ republish: { topic, roleArn: 'arn:aws:iam::000000000000:role/thingcore-republish', qos: 0 } });
  return {
    sql: flags.sql,
    actions: actions as TopicRulePayload['actions'],
    ...(flags.sqlVersion === undefined ? {} : { awsIotSqlVersion: flags.sqlVersion }),
    ...(flags.description === undefined ? {} : { description: flags.description }),
    ...(flags.errorAction === undefined ? {} : { errorAction: (await readJson(flags.errorAction, 'error action')) as TopicRulePayload['errorAction'] }),
    ...(flags.disabled === true ? { ruleDisabled: true } : {}),
  };
}

/** Runs `work` with an IoTClient aimed where the admin session is; errors leave as CliErrors. */
async function withRuleClient(deps: AdminDeps, flags: AdminFlags, work: (client: IoTClient) => Promise<void>): Promise<void> {
  await withSession(deps, flags, async (session) => {
    const client = await openIotClient(session);
    try {
      await work(client);
    } finally {
      client.destroy();
    }
  });
}

async function openIotClient(session: AdminSession): Promise<IoTClient> {
  return new IoTClient({ ...(await sdkClientConfig(session)), maxAttempts: 1 });
}
