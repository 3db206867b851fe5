/**
 * How an admin command finds and reaches the server: the data dir (--data-dir, THINGCORE_DATA_DIR,
 * the config file's dataDir, ./thingcore-data) holds endpoints.json (the running server's ports),
 * `credentials` (an AWS shared-credentials file with the admin key, profile `default`) and ca.pem
 * (the trust anchor of the server's HTTPS certificate). The API is then called with the official
 * AWS SDK, like any AWS IoT client would.
 */
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { join, resolve } from 'node:path';
import { IoTClient } from '@aws-sdk/client-iot';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ConfigError, configDefaults, endpointsFile, loadConfigFile } from '../core/index.js';
import type { HostPort } from '../core/index.js';
import { CliError, awsErrorOf, httpStatusOf, systemErrorCode, usageError } from './errors.js';
import { createIotAdmin } from './iot-admin.js';
import type { IotAdmin } from './iot-admin.js';

/** The connection flags every admin command takes (as commander parsed them). */
export interface ConnectionFlags {
  readonly dataDir?: string;
  /** API URL override, e.g. https://iot.example.com:8443; default: endpoints.json. */
  readonly endpoint?: string;
  readonly region?: string;
  /** The server's JSON config file, for its dataDir and region. */
  readonly config?: string;
}

/** Where the server is and what to present to it. */
export interface AdminTarget {
  /** Absolute path. */
  readonly dataDir: string;
  readonly apiUrl: string;
  /** True when --endpoint named the URL; false when the running server's endpoints.json did. */
  readonly fromEndpointFlag: boolean;
  /** The running server's endpoints.json; undefined only when --endpoint was given and there is none. */
  readonly endpoints: ServerEndpoints | undefined;
  readonly region: string;
  readonly credentialsPath: string;
  readonly caPath: string;
}

export interface AdminSession extends AdminTarget {
  readonly api: IotAdmin;
  readonly caPem: string;
  /** The error as the user should read it (connection, credential and AWS errors made clear). */
  explain(err: unknown): CliError;
  close(): void;
}

/** The parts of `<data-dir>/endpoints.json` the admin commands use. */
export interface ServerEndpoints {
  /** MQTT over mutual TLS. */
  readonly mqtts?: HostPort;
  readonly https?: HostPort;
  readonly http?: HostPort;
}

export const credentialsFile = 'credentials';
export const caFile = 'ca.pem';
const credentialsProfile = 'default';

/** Resolves the data dir, region and API URL; reads endpoints.json. */
export async function resolveTarget(
  flags: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd: string = process.cwd(),
): Promise<AdminTarget> {
  let fileDataDir: string | undefined;
  let fileRegion: string | undefined;
  if (flags.config !== undefined) {
    try {
      const file = await loadConfigFile(resolve(cwd, flags.config));
      fileDataDir = file.dataDir;
      fileRegion = file.region;
    } catch (err: unknown) {
      if (err instanceof ConfigError) throw usageError(err.message);
      throw err;
    }
  }
  const dataDir = resolve(cwd, flags.dataDir ?? (env['THINGCORE_DATA_DIR'] || undefined) ?? fileDataDir ?? configDefaults.dataDir);
  const region = flags.region ?? fileRegion ?? configDefaults.region;
  const endpoints = await readEndpoints(dataDir);
  let apiUrl: string;
  if (flags.endpoint !== undefined) {
    apiUrl = parseEndpointFlag(flags.endpoint);
  } else if (endpoints === undefined) {
    throw notRunning(dataDir);
  } else {
    apiUrl = apiUrlOf(endpoints);
  }
  return {
    dataDir,
    apiUrl,
    fromEndpointFlag: flags.endpoint !== undefined,
    endpoints,
    region,
    credentialsPath: join(dataDir, credentialsFile),
    caPath: join(dataDir, caFile),
  };
}

/** The API the running server offers: HTTPS, or plain HTTP when that is all it listens on. */
export function apiUrlOf(endpoints: ServerEndpoints): string {
  if (endpoints.https !== undefined) return `https://${urlHost(endpoints.https.host)}:${endpoints.https.port}`;
  if (endpoints.http !== undefined) return `http://${urlHost(endpoints.http.host)}:${endpoints.http.port}`;
  throw new CliError(`${endpointsFile} names no HTTPS or HTTP endpoint`);
}

function parseEndpointFlag(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(`--endpoint must be a URL such as https://localhost:8443 (got ${JSON.stringify(text)})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw usageError(`--endpoint must be an https:// or http:// URL (got ${JSON.stringify(text)})`);
  }
  return url.origin;
}

/** Host text for a URL (IPv6 in brackets). */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export function notRunning(dataDir: string, cause?: unknown): CliError {
  return new CliError(`Thingcore is not running for data dir ${dataDir}: start it with \`thingcore serve\``, undefined, { cause });
}

async function readEndpoints(dataDir: string): Promise<ServerEndpoints | undefined> {
  const path = join(dataDir, endpointsFile);
  const text = await readOptional(path);
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not valid JSON; restart the server to rewrite it`);
  }
  if (!isRecord(json)) throw new CliError(`${path} does not describe the server's endpoints; restart the server to rewrite it`);
  const pick = (name: string): { [key: string]: HostPort } => {
    const value = json[name];
    return isHostPort(value) ? { [name]: { host: value.host, port: value.port } } : {};
  };
  return { ...pick('mqtts'), ...pick('https'), ...pick('http') };
}

/** The access key of `profile` in an AWS shared-credentials (INI) file. */
export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Parses an AWS shared-credentials file: `[profile]` sections of `key = value` lines, `#`/`;` comments. */
export function parseSharedCredentials(text: string): Map<string, Map<string, string>> {
  const profiles = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line);
    if (section !== null) {
      const name = section[1] ?? '';
      current = profiles.get(name) ?? new Map<string, string>();
      profiles.set(name, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === undefined || eq < 0) continue;
    current.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return profiles;
}

export async function readAccessKey(path: string, profile = credentialsProfile): Promise<AccessKey> {
  const text = await readOptional(path);
  if (text === undefined) {
    throw new CliError(`there is no credentials file at ${path}: the server writes it when it first starts`);
  }
  const section = parseSharedCredentials(text).get(profile);
  const accessKeyId = section?.get('aws_access_key_id');
  const secretAccessKey = section?.get('aws_secret_access_key');
  if (!accessKeyId || !secretAccessKey) {
    throw new CliError(`${path} has no aws_access_key_id and aws_secret_access_key in profile [${profile}]`);
  }
  const sessionToken = section?.get('aws_session_token');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/**
 * What every AWS SDK client of the CLI is built with: the server's API URL and region, the admin
 * key from the credentials file, and the data dir's CA as the only trust anchor.
 */
export async function sdkClientConfig(target: {
  readonly apiUrl: string;
  readonly region: string;
  readonly credentialsPath: string;
  readonly caPem: string;
}): Promise<{ endpoint: string; region: string; credentials: AccessKey; requestHandler: NodeHttpHandler }> {
  const credentials = await readAccessKey(target.credentialsPath);
  // The SDK's notice about its own future Node.js support is not this command's business.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  return {
    endpoint: target.apiUrl,
    region: target.region,
    credentials,
    requestHandler: new NodeHttpHandler({
      httpsAgent: new Agent({ ca: target.caPem }),
      connectionTimeout: 5000,
      requestTimeout: 30_000,
      throwOnRequestTimeout: true,
    }),
  };
}

/** Opens the session an admin command works in. */
export async function openAdminSession(flags: ConnectionFlags): Promise<AdminSession> {
  const target = await resolveTarget(flags);
  const caPem = await readOptional(target.caPath);
  if (caPem === undefined) {
    throw new CliError(`there is no CA certificate at ${target.caPath}: is ${target.dataDir} a Thingcore data dir?`);
  }
  const client = new IoTClient(await sdkClientConfig({ ...target, caPem }));
  return {
    ...target,
    api: createIotAdmin(client),
    caPem,
    explain: (err) => explainError(err, target),
    close: () => client.destroy(),
  };
}

const credentialErrors = new Set([
  'InvalidSignatureException',
  'UnrecognizedClientException',
  'MissingAuthenticationTokenException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
]);

const tlsTrustErrors = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The message a user should read for an error from an API call. */
export function explainError(err: unknown, target: AdminTarget): CliError {
  if (err instanceof CliError) return err;
  const aws = awsErrorOf(err);
  if (aws !== undefined) {
    if (credentialErrors.has(aws.name)) {
      return new CliError(`the credentials in ${target.credentialsPath} were not accepted by ${target.apiUrl} (${aws.name}: ${aws.message})`, undefined, { cause: err });
    }
    if (aws.name === 'Unknown' || /^\d+$/.test(aws.name)) {
      // No x-amzn-ErrorType: not an AWS IoT API answer (the SDK names it Unknown, or by a numeric code).
      const status = aws.httpStatus === undefined ? '' : ` HTTP ${aws.httpStatus}`;
      return new CliError(`${target.apiUrl} answered${status} without an AWS error type (${aws.message}): is the AWS IoT API served there?`, undefined, { cause: err });
    }
    return new CliError(`${aws.name}: ${aws.message}`, undefined, { cause: err });
  }
  const code = systemErrorCode(err);
  if (code === 'ECONNREFUSED') {
    return target.fromEndpointFlag
      ? new CliError(`nothing answers at ${target.apiUrl} (connection refused): is Thingcore running there?`, undefined, { cause: err })
      : notRunning(target.dataDir, err);
  }
  if (code !== undefined && tlsTrustErrors.has(code)) {
    return new CliError(`the server at ${target.apiUrl} is not the one ${target.caPath} vouches for (${code})`, undefined, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  if (code !== undefined) return new CliError(`cannot reach ${target.apiUrl}: ${message}`, undefined, { cause: err });
  if (err instanceof Error && err.name === 'TimeoutError') {
    return new CliError(`${target.apiUrl} did not answer in time (${message})`, undefined, { cause: err });
  }
  const status = httpStatusOf(err);
  if (status !== undefined) {
    return new CliError(`${target.apiUrl} answered HTTP ${status} with something that is not an AWS IoT API response`, undefined, { cause: err });
  }
  return new CliError(message, undefined, { cause: err });
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err: unknown) {
    const code = systemErrorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new CliError(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isHostPort(value: unknown): value is HostPort {
  return isRecord(value) && typeof value['host'] === 'string' && Number.isInteger(value['port']);
}
