/**
 * Server configuration: defaults (ARCHITECTURE.md "Defaults a user gets from `thingcore serve`"),
 * a JSON config file (`--config thingcore.json`) that can set everything a flag sets plus limits and
 * features, the environment (THINGCORE_DATA_DIR) and flags. Precedence: flags > environment > file >
 * defaults. Every value is validated; all problems are reported together in one ConfigError.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { awsFeatures, awsLimits, brokerOptionsFor } from '../mqtt/index.js';
import { normalizeHostNames } from '../identity/index.js';
import type { BrokerFeatures, BrokerLimits, BrokerOptions, Profile } from '../mqtt/index.js';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/** The resolved configuration `startServer` runs with. */
export interface ServerConfig {
  /** Absolute path. */
  readonly dataDir: string;
  /** Address every listener binds to. */
  readonly host: string;
  /** subjectAltName entries of the server certificate (DNS names and IPs clients connect to). */
  readonly hostNames: readonly string[];
  /** MQTT over mutual TLS; 0 = pick a free port. */
  readonly mqttsPort: number;
  /** HTTPS API + MQTT over WebSocket at /mqtt; 0 = pick a free port. */
  readonly httpsPort: number;
  /** Plain MQTT; null = off. */
  readonly mqttPort: number | null;
  /** Plain HTTP API + WebSocket; null = off. */
  readonly httpPort: number | null;
  readonly profile: Profile;
  /** Plain MQTT on (1883 unless given) and anonymous clients may do everything. */
  readonly dev: boolean;
  /**
   * Without --dev: the IoT policy (by name, looked up live) that governs anonymous clients of the
   * plain MQTT listener; null = they are refused.
   */
  readonly anonymousPolicy: string | null;
  readonly logLevel: LogLevel;
  readonly region: string;
  readonly accountId: string;
  /** The broker's profile options with the configured limit/feature overrides applied. */
  readonly broker: BrokerOptions;
  /** The outside world of the topic rules' actions; localFunctions paths are absolute. */
  readonly rules: RulesSettings;
}

/**
 * The config file's `rules` section (and `--local-function`): what the rule actions reach. Maps onto
 * the rules engine's ActionsConfig; its region is the server's.
 */
export interface RulesSettings {
  /** Function ARN or function name → JavaScript module exporting a Lambda-style `handler(event, context)`. */
  readonly localFunctions?: Readonly<Record<string, string>>;
  /** Lambda-compatible endpoint for functions not run locally (AWS itself when absent). */
  readonly lambdaEndpoint?: string;
  /** DynamoDB-compatible endpoint for the dynamoDB/dynamoDBv2 actions (AWS itself when absent). */
  readonly dynamoDbEndpoint?: string;
  /** Local functions: per-invocation timeout (default 3000) and worker heap bound (default 128). */
  readonly lambdaTimeoutMs?: number;
  readonly lambdaMemoryMb?: number;
}

/** What a config file or the flags may set; every field optional. Keys match the flags in camelCase. */
export interface ConfigInput {
  readonly dataDir?: string;
  readonly host?: string;
  readonly hostNames?: readonly string[];
  readonly mqttsPort?: number;
  readonly httpsPort?: number;
  readonly mqttPort?: number;
  readonly httpPort?: number;
  readonly profile?: Profile;
  readonly dev?: boolean;
  readonly anonymousPolicy?: string;
  readonly logLevel?: LogLevel;
  readonly region?: string;
  readonly accountId?: string;
  readonly limits?: Partial<BrokerLimits>;
  readonly features?: Partial<BrokerFeatures>;
  readonly rules?: RulesSettings;
}

export const configDefaults = {
  dataDir: './thingcore-data',
  host: '127.0.0.1',
  hostNames: ['localhost', '127.0.0.1'],
  mqttsPort: 8883,
  httpsPort: 8443,
  devMqttPort: 1883,
  profile: 'aws',
  logLevel: 'info',
  region: 'us-east-1',
  accountId: '000000000000',
} as const;

/** A configuration that cannot be used; `problems` lists every reason, the message all of them. */
export class ConfigError extends Error {
  readonly code = 'InvalidConfiguration';
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(`invalid configuration (${source}):\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface ResolveConfigSources {
  /** From the command line (already parsed with parseConfigInput). */
  readonly flags?: ConfigInput;
  /** From the config file (loadConfigFile). */
  readonly file?: ConfigInput;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Relative paths resolve against this; default process.cwd(). */
  readonly cwd?: string;
}

/** Merges the sources over the defaults and checks the result as a whole. */
export function resolveConfig(sources: ResolveConfigSources = {}): ServerConfig {
  const flags = sources.flags ?? {};
  const file = sources.file ?? {};
  const env = sources.env ?? {};
  const cwd = sources.cwd ?? process.cwd();
  const envDataDir = env['THINGCORE_DATA_DIR'] || undefined; // empty = unset
  const pick = <K extends keyof ConfigInput>(key: K): ConfigInput[K] => flags[key] ?? file[key];

  const problems: string[] = [];
  const dev = pick('dev') ?? false;
  const profile = pick('profile') ?? configDefaults.profile;
  const host = pick('host') ?? configDefaults.host;
  const mqttsPort = pick('mqttsPort') ?? configDefaults.mqttsPort;
  const httpsPort = pick('httpsPort') ?? configDefaults.httpsPort;
  const mqttPort = pick('mqttPort') ?? (dev ? configDefaults.devMqttPort : null);
  const httpPort = pick('httpPort') ?? null;

  const ports: Array<[string, number | null]> = [
    ['mqttsPort', mqttsPort],
    ['httpsPort', httpsPort],
    ['mqttPort', mqttPort],
    ['httpPort', httpPort],
  ];
  const used = new Map<number, string>();
  for (const [name, port] of ports) {
    if (port === null || port === 0) continue;
    const other = used.get(port);
    if (other !== undefined) problems.push(`${name} and ${other} are both ${port}; each listener needs its own port`);
    used.set(port, name);
  }

  const hostNames = [...(pick('hostNames') ?? configDefaults.hostNames)];
  if (!isUnspecifiedAddress(host) && !hostNames.includes(host)) hostNames.push(host);

  const limits = { ...file.limits, ...flags.limits };
  const features = { ...file.features, ...flags.features };

  // rules: the flags win key by key; a local function named by both takes the flag's module.
  const rulesMerged: { -readonly [K in keyof RulesSettings]: RulesSettings[K] } = { ...file.rules, ...flags.rules };
  const localEntries = [
    ...Object.entries(file.rules?.localFunctions ?? {}),
    ...Object.entries(flags.rules?.localFunctions ?? {}),
  ];
  if (localEntries.length > 0) {
    const localFunctions: Record<string, string> = {};
    for (const [name, path] of localEntries) localFunctions[name] = resolve(cwd, path);
    for (const [name, path] of Object.entries(localFunctions)) {
      if (!existsSync(path)) problems.push(`rules.localFunctions["${name}"]: no such file ${path}`);
    }
    rulesMerged.localFunctions = localFunctions;
  } else {
    delete rulesMerged.localFunctions;
  }
  if (problems.length > 0) throw new ConfigError('combined settings', problems);

  return {
    dataDir: resolve(cwd, flags.dataDir ?? envDataDir ?? file.dataDir ?? configDefaults.dataDir),
    host,
    hostNames,
    mqttsPort,
    httpsPort,
    mqttPort,
    httpPort,
    profile,
    dev,
    anonymousPolicy: pick('anonymousPolicy') ?? null,
    logLevel: pick('logLevel') ?? configDefaults.logLevel,
    region: pick('region') ?? configDefaults.region,
    accountId: pick('accountId') ?? configDefaults.accountId,
    broker: brokerOptionsFor(profile, { limits, features }),
    rules: rulesMerged,
  };
}

/**
 * Reads and validates a JSON config file. A relative `dataDir` or `rules.localFunctions` path inside
 * it is taken relative to the file's own directory, so the file means the same thing wherever the server is started from.
 */
export async function loadConfigFile(path: string): Promise<ConfigInput> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err: unknown) {
    throw new ConfigError(path, [`cannot read the config file: ${err instanceof Error ? err.message : String(err)}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err: unknown) {
    throw new ConfigError(path, [`not valid JSON: ${err instanceof Error ? err.message : String(err)}`]);
  }
  const input = parseConfigInput(json, path);
  const base = dirname(path);
  const localFunctions = input.rules?.localFunctions;
  return {
    ...input,
    ...(input.dataDir !== undefined && { dataDir: resolve(base, input.dataDir) }),
    ...(input.rules !== undefined &&
      localFunctions !== undefined && {
        rules: {
          ...input.rules,
          localFunctions: Object.fromEntries(Object.entries(localFunctions).map(([name, p]) => [name, resolve(base, p)])),
        },
      }),
  };
}

const topLevelKeys = new Set<string>([
  'dataDir', 'host', 'hostNames', 'mqttsPort', 'httpsPort', 'mqttPort', 'httpPort', 'profile', 'dev',
  'anonymousPolicy', 'logLevel', 'region', 'accountId', 'limits', 'features', 'rules', '$schema',
]);

/**
 * Validates untrusted settings (a parsed JSON file, or the flags as strings). Ports and limits may be
 * numbers or decimal strings; unknown keys are errors, so a typo never silently does nothing.
 */
export function parseConfigInput(value: unknown, source: string): ConfigInput {
  if (!isRecord(value)) throw new ConfigError(source, ['the configuration must be a JSON object']);
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(value)) {
    if (raw === undefined || key === '$schema') continue;
    if (!topLevelKeys.has(key)) {
      problems.push(`unknown setting "${key}" (known: ${[...topLevelKeys].filter((k) => k !== '$schema').join(', ')})`);
      continue;
    }
    const parsed = parseSetting(key, raw, problems);
    if (parsed !== undefined) out[key] = parsed;
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  return out as ConfigInput;
}

function parseSetting(key: string, raw: unknown, problems: string[]): unknown {
  switch (key) {
    case 'dataDir':
      return nonEmptyString(key, raw, problems);
    case 'host': {
      const host = nonEmptyString(key, raw, problems);
      if (host !== undefined && isIP(host) === 0 && !/^[a-z0-9.-]+$/i.test(host)) {
        problems.push(`host must be an IP address or a host name (got ${JSON.stringify(raw)})`);
        return undefined;
      }
      return host;
    }
    case 'hostNames': {
      const list = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0) : raw;
      if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && s.length > 0)) {
        problems.push(`hostNames must be a non-empty list of DNS names or IP addresses (got ${JSON.stringify(raw)})`);
        return undefined;
      }
      try {
        return normalizeHostNames(list as string[]);
      } catch (err: unknown) {
        problems.push(`hostNames: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      }
    }
    case 'mqttsPort':
    case 'httpsPort':
    case 'mqttPort':
    case 'httpPort':
      return integer(key, raw, 0, 65535, problems);
    case 'profile':
      if (raw === 'aws' || raw === 'mqtt') return raw;
      problems.push(`profile must be "aws" or "mqtt" (got ${JSON.stringify(raw)})`);
      return undefined;
    case 'dev':
      if (typeof raw === 'boolean') return raw;
      problems.push(`dev must be true or false (got ${JSON.stringify(raw)})`);
      return undefined;
    case 'anonymousPolicy':
      if (typeof raw === 'string' && /^[\w+=,.@-]{1,128}$/u.test(raw)) return raw;
      problems.push(`anonymousPolicy must be a policy name: 1 to 128 of [\\w+=,.@-] (got ${JSON.stringify(raw)})`);
      return undefined;
    case 'logLevel':
      if (typeof raw === 'string' && (logLevels as readonly string[]).includes(raw)) return raw;
      problems.push(`logLevel must be one of ${logLevels.join(', ')} (got ${JSON.stringify(raw)})`);
      return undefined;
    case 'region':
      if (typeof raw === 'string' && /^[a-z]{2}(-[a-z]+)+-\d+$/.test(raw)) return raw;
      problems.push(`region must look like "us-east-1" (got ${JSON.stringify(raw)})`);
      return undefined;
    case 'accountId':
      if (typeof raw === 'string' && /^\d{12}$/.test(raw)) return raw;
      problems.push(`accountId must be 12 digits, as a string (got ${JSON.stringify(raw)})`);
      return undefined;
    case 'limits':
      return parseLimits(raw, problems);
    case 'features':
      return parseFeatures(raw, problems);
    case 'rules':
      return parseRules(raw, problems);
    default:
      return undefined;
  }
}

function parseLimits(raw: unknown, problems: string[]): Partial<BrokerLimits> | undefined {
  if (!isRecord(raw)) {
    problems.push('limits must be an object');
    return undefined;
  }
  const out: { -readonly [K in keyof BrokerLimits]?: BrokerLimits[K] } = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!isKeyOf(key, awsLimits)) {
      problems.push(`unknown limit "limits.${key}" (known: ${Object.keys(awsLimits).join(', ')})`);
      continue;
    }
    if (key === 'exemptTopicPrefix') {
      if (typeof value === 'string') out.exemptTopicPrefix = value;
      else problems.push('limits.exemptTopicPrefix must be a string');
      continue;
    }
    const n = integer(`limits.${key}`, value, 0, 0xffffffff, problems);
    if (n !== undefined) out[key] = n;
  }
  if (out.keepAliveMinSec !== undefined && out.keepAliveMaxSec !== undefined && out.keepAliveMinSec > out.keepAliveMaxSec) {
    problems.push('limits.keepAliveMinSec must not exceed limits.keepAliveMaxSec');
  }
  if (out.receiveMaximum === 0) problems.push('limits.receiveMaximum must be at least 1 (MQTT 5 forbids 0)');
  return out;
}

function parseFeatures(raw: unknown, problems: string[]): Partial<BrokerFeatures> | undefined {
  if (!isRecord(raw)) {
    problems.push('features must be an object');
    return undefined;
  }
  const out: Record<string, boolean | number> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!isKeyOf(key, awsFeatures)) {
      problems.push(`unknown feature "features.${key}" (known: ${Object.keys(awsFeatures).join(', ')})`);
    } else if (key === 'maxQos') {
      if (value === 1 || value === 2) out[key] = value;
      else problems.push(`features.maxQos must be 1 or 2 (got ${JSON.stringify(value)})`);
    } else if (typeof value === 'boolean') {
      out[key] = value;
    } else {
      problems.push(`features.${key} must be true or false (got ${JSON.stringify(value)})`);
    }
  }
  return out as Partial<BrokerFeatures>;
}

const rulesKeys = ['localFunctions', 'lambdaEndpoint', 'dynamoDbEndpoint', 'lambdaTimeoutMs', 'lambdaMemoryMb'] as const;

// Lambda's FunctionName pattern (name, partial ARN or full ARN, optional version or alias).
const FUNCTION_NAME = /^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9._-]+)(:(\$LATEST|[a-zA-Z0-9_-]+))?$/;

function parseRules(raw: unknown, problems: string[]): RulesSettings | undefined {
  if (!isRecord(raw)) {
    problems.push('rules must be an object');
    return undefined;
  }
  const out: { -readonly [K in keyof RulesSettings]: RulesSettings[K] } = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    switch (key) {
      case 'localFunctions': {
        const local = parseLocalFunctions(value, problems);
        if (local !== undefined) out.localFunctions = local;
        break;
      }
      case 'lambdaEndpoint':
      case 'dynamoDbEndpoint': {
        const url = typeof value === 'string' ? parseUrl(value) : undefined;
        if (url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:')) out[key] = value as string;
        else problems.push(`rules.${key} must be an http:// or https:// URL (got ${JSON.stringify(value)})`);
        break;
      }
      case 'lambdaTimeoutMs': {
        const n = integer('rules.lambdaTimeoutMs', value, 1, 900_000, problems);
        if (n !== undefined) out.lambdaTimeoutMs = n;
        break;
      }
      case 'lambdaMemoryMb': {
        const n = integer('rules.lambdaMemoryMb', value, 16, 10_240, problems);
        if (n !== undefined) out.lambdaMemoryMb = n;
        break;
      }
      default:
        problems.push(`unknown setting "rules.${key}" (known: ${rulesKeys.join(', ')})`);
    }
  }
  return out;
}

/**
 * `{ "<function ARN or name>": "<module path>" }`, or (the repeatable `--local-function` flag) a
 * list of `<arn-or-name>=<path>` strings.
 */
function parseLocalFunctions(raw: unknown, problems: string[]): Record<string, string> | undefined {
  let entries: Array<[string, unknown]>;
  if (Array.isArray(raw)) {
    entries = [];
    for (const item of raw) {
      const eq = typeof item === 'string' ? item.indexOf('=') : -1;
      if (typeof item !== 'string' || eq <= 0) {
        problems.push(`local function must be given as <function-arn-or-name>=<module path> (got ${JSON.stringify(item)})`);
        continue;
      }
      entries.push([item.slice(0, eq).trim(), item.slice(eq + 1)]);
    }
  } else if (isRecord(raw)) {
    entries = Object.entries(raw);
  } else {
    problems.push(`rules.localFunctions must be an object mapping function ARNs or names to module paths (got ${JSON.stringify(raw)})`);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [name, path] of entries) {
    if (!FUNCTION_NAME.test(name)) {
      problems.push(`rules.localFunctions: ${JSON.stringify(name)} is neither a Lambda function ARN nor a function name`);
    } else if (typeof path !== 'string' || path.trim().length === 0) {
      problems.push(`rules.localFunctions["${name}"] must be a non-empty module path (got ${JSON.stringify(path)})`);
    } else {
      out[name] = path.trim();
    }
  }
  return out;
}

function integer(name: string, raw: unknown, min: number, max: number, problems: string[]): number | undefined {
  const n = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max) return n;
  problems.push(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  return undefined;
}

function nonEmptyString(name: string, raw: unknown, problems: string[]): string | undefined {
  if (typeof raw === 'string' && raw.trim().length > 0) return raw.trim();
  problems.push(`${name} must be a non-empty string (got ${JSON.stringify(raw)})`);
  return undefined;
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isKeyOf<T extends object>(key: string, object: T): key is Extract<keyof T, string> {
  return Object.prototype.hasOwnProperty.call(object, key);
}

function isUnspecifiedAddress(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}
