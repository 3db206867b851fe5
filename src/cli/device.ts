/**
 * `thingcore device create <name> --out <dir>`: everything a new device needs, in one step, through
 * the public API: the thing (CreateThing), an active certificate and its keys
 * (CreateKeysAndCertificate), the attachment (AttachThingPrincipal), a per-device policy
 * (CreatePolicy + AttachPolicy, when the server offers policies), and the files: cert.pem,
 * key.pem (0600), ca.pem, connect.mjs and README.txt. If any step fails, the earlier ones are
 * undone, so nothing is left half-made.
 */
import { constants } from 'node:fs';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { configDefaults } from '../core/index.js';
import { adminCommand, withSession } from './admin.js';
import type { AdminDeps, AdminFlags } from './admin.js';
import { urlHost } from './connection.js';
import type { AdminSession } from './connection.js';
import { CliError, isAwsError, isUnsupportedOperation, usageError } from './errors.js';
import { connectSnippet, devicePolicyDocument, devicePolicyName, readme } from './device-files.js';
import type { DeviceSnippetInput } from './device-files.js';
import { formatFields, formatJson } from './output.js';
import type { CliIo } from './output.js';
import { formatUndoReport, unwind } from './undo.js';
import type { UndoStep } from './undo.js';

interface DeviceCreateFlags extends AdminFlags {
  readonly out: string;
  /** False with --no-policy. */
  readonly policy: boolean;
}

export function deviceCommand(deps: AdminDeps): Command {
  return new Command('device').description('set up devices').addCommand(
    adminCommand('create', 'create a thing with an active certificate and keys, a policy, and a ready-to-run connection snippet')
      .argument('<name>', 'thing name; also the MQTT client id')
      .requiredOption('--out <dir>', 'directory for cert.pem, key.pem, ca.pem, connect.mjs and README.txt')
      .option('--no-policy', 'do not create and attach a per-device policy')
      .action(async (thingName: string, flags: DeviceCreateFlags) => {
        await withSession(deps, flags, async (session) => {
          const device = await createDevice(session, { thingName, outDir: resolve(flags.out), policy: flags.policy }, deps.io);
          deps.io.stdout(flags.json === true ? formatJson(device) : describeDevice(device));
        });
      }),
  );
}

export interface DeviceCreateOptions {
  readonly thingName: string;
  /** Absolute path. */
  readonly outDir: string;
  /** Create and attach a per-device policy. */
  readonly policy: boolean;
}

export interface CreatedDevice {
  readonly thingName: string;
  readonly thingArn: string;
  readonly thingId: string;
  readonly certificateId: string;
  readonly certificateArn: string;
  /** Null with --no-policy, or when the server does not offer policies yet. */
  readonly policyName: string | null;
  readonly mqtt: { readonly host: string; readonly port: number; readonly clientId: string };
  /** Absolute paths. */
  readonly files: {
    readonly certificate: string;
    readonly privateKey: string;
    readonly ca: string;
    readonly snippet: string;
    readonly readme: string;
  };
}

const fileNames = { certificate: 'cert.pem', privateKey: 'key.pem', ca: 'ca.pem', snippet: 'connect.mjs', readme: 'README.txt' } as const;
const thingNamePattern = /^[a-zA-Z0-9:_-]{1,128}$/;

export async function createDevice(
  session: Pick<AdminSession, 'api' | 'explain' | 'apiUrl' | 'endpoints' | 'caPem'>,
  options: DeviceCreateOptions,
  io: CliIo,
): Promise<CreatedDevice> {
  const { api } = session;
  const { thingName, outDir } = options;
  if (!thingNamePattern.test(thingName)) {
    throw usageError(`a thing name is 1 to 128 of the characters a-z A-Z 0-9 : _ - (got ${JSON.stringify(thingName)})`);
  }
  const files = {
    certificate: join(outDir, fileNames.certificate),
    privateKey: join(outDir, fileNames.privateKey),
    ca: join(outDir, fileNames.ca),
    snippet: join(outDir, fileNames.snippet),
    readme: join(outDir, fileNames.readme),
  };
  await checkOutDir(outDir, Object.values(files));
  const mqtt = { ...mqttEndpoint(session, io), clientId: thingName };

  // CreateThing answers 200 for an existing thing with the same configuration; undoing would then
  // delete someone else's thing. Refuse up front instead.
  if (await thingExists(session, thingName)) {
    throw new CliError(`thing ${thingName} already exists: choose another name, or delete it first (thingcore thing delete ${thingName})`);
  }

  const undo: UndoStep[] = [];
  let step = 'creating the thing';
  try {
    const thing = await api.createThing({ thingName });
    undo.push({
      todo: `delete the thing ${thingName}`,
      undone: `deleted the thing ${thingName}`,
      run: () => api.deleteThing({ thingName }),
      byHand: `thingcore thing delete ${thingName}`,
    });
    const thingArn = required(thing.thingArn, 'CreateThing', 'thingArn');
    const thingId = required(thing.thingId, 'CreateThing', 'thingId');

    step = 'creating the certificate and keys';
    const created = await api.createKeysAndCertificate({ setAsActive: true });
    const certificateId = required(created.certificateId, 'CreateKeysAndCertificate', 'certificateId');
    undo.push({
      todo: `set the certificate ${certificateId} INACTIVE and delete it`,
      undone: `set the certificate ${certificateId} INACTIVE and deleted it`,
      run: async () => {
        await api.updateCertificate({ certificateId, newStatus: 'INACTIVE' });
        await api.deleteCertificate({ certificateId, forceDelete: true });
      },
      byHand: `thingcore cert delete ${certificateId} --force`,
    });
    const certificateArn = required(created.certificateArn, 'CreateKeysAndCertificate', 'certificateArn');
    const certificatePem = required(created.certificatePem, 'CreateKeysAndCertificate', 'certificatePem');
    const privateKeyPem = required(created.keyPair?.PrivateKey, 'CreateKeysAndCertificate', 'keyPair.PrivateKey');

    step = 'attaching the certificate to the thing';
    await api.attachThingPrincipal({ thingName, principal: certificateArn });
    undo.push({
      todo: `detach the certificate from ${thingName}`,
      undone: `detached the certificate from ${thingName}`,
      run: () => api.detachThingPrincipal({ thingName, principal: certificateArn }),
      byHand: `aws iot detach-thing-principal --thing-name ${thingName} --principal ${certificateArn} --endpoint-url ${session.apiUrl}`,
    });

    let policy: DeviceSnippetInput['policy'] = { missing: 'none was asked for (--no-policy)' };
    if (options.policy) {
      step = 'creating the device policy';
      const policyName = devicePolicyName(thingName);
      const outcome = await createDevicePolicy(session, policyName, devicePolicyDocument(thingArn, thingName));
      if (outcome === 'unsupported') {
        const missing = 'the server does not offer policies yet; create one and attach it to the certificate when it does';
        io.stderr(`notice: ${missing}\n`);
        policy = { missing };
      } else {
        if (outcome === 'created') {
          undo.push({
            todo: `delete the policy ${policyName}`,
            undone: `deleted the policy ${policyName}`,
            run: () => api.deletePolicy({ policyName }),
            byHand: `aws iot delete-policy --policy-name ${policyName} --endpoint-url ${session.apiUrl}`,
          });
        } else {
          io.stderr(`notice: the policy ${policyName} already exists; attaching it as it is\n`);
        }
        step = 'attaching the policy to the certificate';
        await api.attachPolicy({ policyName, target: certificateArn });
        undo.push({
          todo: `detach the policy ${policyName} from the certificate`,
          undone: `detached the policy ${policyName} from the certificate`,
          run: () => api.detachPolicy({ policyName, target: certificateArn }),
          byHand: `aws iot detach-policy --policy-name ${policyName} --target ${certificateArn} --endpoint-url ${session.apiUrl}`,
        });
        policy = { name: policyName };
      }
    }

    step = 'writing the files';
    const snippet: DeviceSnippetInput = { thingName, certificateId, host: mqtt.host, port: mqtt.port, policy };
    await writeFilesAllOrNothing([
      { path: files.certificate, content: certificatePem, mode: 0o644 },
      { path: files.privateKey, content: privateKeyPem, mode: 0o600 },
      { path: files.ca, content: session.caPem, mode: 0o644 },
      { path: files.snippet, content: connectSnippet(snippet), mode: 0o644 },
      { path: files.readme, content: readme(snippet), mode: 0o644 },
    ]);
    return {
      thingName,
      thingArn,
      thingId,
      certificateId,
      certificateArn,
      policyName: 'name' in policy ? policy.name : null,
      mqtt,
      files,
    };
  } catch (err: unknown) {
    const cause = session.explain(err);
    const report = formatUndoReport(await unwind(undo, session.explain));
    throw new CliError(`device create failed while ${step}: ${cause.message}${report === '' ? '' : `\n${report}`}`, cause.exitCode, { cause: err });
  }
}

/** 'created', 'exists' (a policy of that name is already there), or 'unsupported' (no policies on this server yet). */
async function createDevicePolicy(
  session: Pick<AdminSession, 'api'>,
  policyName: string,
  policyDocument: string,
): Promise<'created' | 'exists' | 'unsupported'> {
  try {
    await session.api.createPolicy({ policyName, policyDocument });
    return 'created';
  } catch (err: unknown) {
    if (isUnsupportedOperation(err)) return 'unsupported';
    if (isAwsError(err, 'ResourceAlreadyExistsException')) return 'exists';
    throw err;
  }
}

async function thingExists(session: Pick<AdminSession, 'api'>, thingName: string): Promise<boolean> {
  try {
    await session.api.describeThing({ thingName });
    return true;
  } catch (err: unknown) {
    if (isAwsError(err, 'ResourceNotFoundException')) return false;
    throw err;
  }
}

/** MQTT over TLS from endpoints.json; with --endpoint and no endpoints.json, the API host on the default port. */
function mqttEndpoint(session: Pick<AdminSession, 'endpoints' | 'apiUrl'>, io: CliIo): { host: string; port: number } {
  const mqtts = session.endpoints?.mqtts;
  if (mqtts !== undefined) return { host: mqtts.host, port: mqtts.port };
  const host = new URL(session.apiUrl).hostname.replace(/^\[(.*)\]$/, '$1');
  io.stderr(`notice: no endpoints.json to read the MQTT port from; the snippets use ${host} port ${configDefaults.mqttsPort}\n`);
  return { host, port: configDefaults.mqttsPort };
}

function required<T>(value: T | undefined, operation: string, field: string): T {
  if (value === undefined) throw new CliError(`the server's ${operation} answer has no ${field}`);
  return value;
}

/** Creates the directory if needed and refuses to overwrite any of the files (a key above all). */
async function checkOutDir(outDir: string, paths: readonly string[]): Promise<void> {
  try {
    await mkdir(outDir, { recursive: true, mode: 0o700 });
  } catch (err: unknown) {
    throw new CliError(`cannot create ${outDir}: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err });
  }
  const existing: string[] = [];
  for (const path of paths) {
    if (await access(path, constants.F_OK).then(() => true, () => false)) existing.push(path);
  }
  if (existing.length > 0) throw new CliError(`${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}: choose another --out directory`);
}

/** Writes each file exclusively; if one fails, removes the ones already written. */
async function writeFilesAllOrNothing(files: ReadonlyArray<{ path: string; content: string; mode: number }>): Promise<void> {
  const written: string[] = [];
  try {
    for (const file of files) {
      await writeFile(file.path, file.content, { mode: file.mode, flag: 'wx' });
      written.push(file.path);
    }
  } catch (err: unknown) {
    await Promise.all(written.map((path) => rm(path, { force: true })));
    throw new CliError(`cannot write ${files[written.length]?.path ?? 'the files'}: ${err instanceof Error ? err.message : String(err)}`, undefined, {
      cause: err,
    });
  }
}

function describeDevice(device: CreatedDevice): string {
  return (
    `created device ${device.thingName}\n` +
    formatFields([
      ['  thing', device.thingArn],
      ['  certificate', `${device.certificateId} (ACTIVE, attached to the thing)`],
      ['  policy', device.policyName === null ? 'none' : `${device.policyName} (attached to the certificate)`],
      ['  mqtt', `mqtts://${urlHost(device.mqtt.host)}:${device.mqtt.port}, client id ${device.mqtt.clientId}`],
      ['  files', Object.values(device.files).join('\n')],
    ]) +
    `try it:  cd ${dirname(device.files.readme)} && npm install mqtt && node connect.mjs\n`
  );
}
