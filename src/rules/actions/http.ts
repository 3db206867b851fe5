/**
 * The `http` action (spec/iot-sql.md section 9; developer guide https-rule-action): POSTs the
 * rule's output to `url`.
 *
 *   { "http": { "url": "https://hooks.example.com/iot/${topic(2)}", "confirmationUrl": "https://hooks.example.com/iot/",
 *               "headers": [{ "key": "x-device", "value": "${clientid()}" }] } }
 *   on sensors/d1 {"t":1} → POST https://hooks.example.com/iot/d1, Content-Type application/json, body {"t":1}
 *
 * Body: the output bytes; Content-Type application/json for JSON output, else
 * application/octet-stream, unless a `content-type` header (any case) is given. `url`,
 * `confirmationUrl` and header values are substitution templates; header keys are not.
 *
 * Retries as the guide's "HTTP action retry logic": at most 3 tries; a retry only after HTTP 429 or
 * 5xx, or a connection error (refused, reset, DNS), never after a timeout, never after a response
 * larger than 16384 bytes, and never past the total deadline; the waits double with jitter
 * (100 ms, 200 ms ...). Redirects are not followed. Anything but 2xx after the last try is the
 * ActionFailure.
 *
 * Differences from AWS, on purpose:
 * - AWS only sends to a confirmed, enabled topic rule destination (it GETs confirmationUrl and
 *   waits for ConfirmTopicRuleDestination). Thingcore has no destinations: a rule is usable as soon
 *   as it is created. The prefix rule is kept: a `url` with templates needs a `confirmationUrl`
 *   that it starts with, and the rendered URL must still start with it and have its origin, so a
 *   payload cannot steer a request to another host.
 * - AWS accepts only https; Thingcore also accepts http (a local network service), nothing else.
 * - enableBatching is refused (not implemented). `auth.sigv4` signs each try with Signature V4
 *   using ActionsConfig.awsCredentials (else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 *   AWS_SESSION_TOKEN); its roleArn is validated but not assumed.
 */
import { createHash, createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AwsErrors } from '../../shared/index.js';
import type { RuleMatch } from '../rule.js';
import { isSqlVersion, SQL_VERSIONS, type SqlVersion } from '../sql/values.js';
import { compileTemplate, type CompiledTemplate } from '../template.js';
import { ActionFailure, type ActionDependencies, type ActionFactory, type ActionInput, type ActionsConfig, type RuleAction } from './action.js';
import type { ActionCreateOptions } from './index.js';

const ACTION = 'http';
const FAILED_ACTION = 'HttpAction';
const MAX_URL_LENGTH = 2000;
const MAX_HEADERS = 100;
/** The guide: no retry after a response larger than this. */
const NO_RETRY_RESPONSE_BYTES = 16384;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Set by the HTTP client from the request itself; a rule may not override them. */
const FORBIDDEN_HEADERS = new Set([
  'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect', 'proxy-connection',
]);

export interface HttpActionOptions {
  /** Tries at most, the first included (default 3, as AWS). */
  readonly attempts?: number;
  /** Each try (default 3000 ms). */
  readonly timeoutMs?: number;
  /** All tries and waits together (default 10000 ms). */
  readonly totalTimeoutMs?: number;
  /** The first wait before a retry; each next one doubles (default 100 ms). */
  readonly baseDelayMs?: number;
  /** No wait is longer (default 2000 ms). */
  readonly maxDelayMs?: number;
}

interface SigV4 {
  readonly signingRegion: string;
  readonly serviceName: string;
  readonly roleArn: string;
}

interface Compiled {
  readonly url: CompiledTemplate;
  readonly confirmationUrl: CompiledTemplate | undefined;
  readonly headers: readonly { readonly key: string; readonly value: CompiledTemplate }[];
  readonly hasContentType: boolean;
  readonly sigv4: SigV4 | undefined;
}

/** The rule's awsIotSqlVersion, checked (the rule service has checked it already). */
function sqlVersionOf(version: string): SqlVersion {
  if (!isSqlVersion(version)) throw AwsErrors.invalidRequest(`awsIotSqlVersion must be one of ${SQL_VERSIONS.join(', ')}`);
  return version;
}

/** InvalidRequestException worded as republish words it: Invalid <type> action: '<field>' <problem>. */
function invalid(field: string, problem: string): Error {
  return AwsErrors.invalidRequest(`Invalid ${/^[A-Za-z0-9]+/.exec(field)?.[0] ?? field} action: '${field}' ${problem}`);
}

type Params = Readonly<Record<string, unknown>>;

function object(v: unknown, where: string, allowed: readonly string[]): Params {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(where, `must be an object with ${allowed.join(', ')}`);
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) throw invalid(`${where}.${k}`, `is not a parameter of ${where} (expected ${allowed.join(', ')})`);
  }
  return v as Params;
}

function string(p: Params, key: string, where: string, max: number): string {
  const v = p[key];
  if (v === undefined || v === null) throw invalid(`${where}.${key}`, 'is required');
  if (typeof v !== 'string' || v.length === 0) throw invalid(`${where}.${key}`, 'must be a non-empty string');
  if (v.length > max) throw invalid(`${where}.${key}`, `must be at most ${max} characters`);
  return v;
}

/** The text before the first `${` of a template (all of it when there is none). */
function literalPrefix(text: string): string {
  const i = text.indexOf('${');
  return i === -1 ? text : text.slice(0, i);
}

function checkHttpUrl(text: string, key: string): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(`${ACTION}.${key}`, `${JSON.stringify(text)} is not a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid(`${ACTION}.${key}`, `must be an https:// or http:// URL (got ${url.protocol})`);
  if (url.username !== '' || url.password !== '') throw invalid(`${ACTION}.${key}`, 'must not carry credentials; use headers');
}

export function createHttpActionFactory(options: HttpActionOptions = {}): ActionFactory & {
  create(params: unknown, deps: ActionDependencies, sqlVersion: string, options?: ActionCreateOptions): RuleAction;
} {
  const settings: Required<HttpActionOptions> = {
    attempts: Math.max(1, options.attempts ?? 3),
    timeoutMs: options.timeoutMs ?? 3000,
    totalTimeoutMs: options.totalTimeoutMs ?? 10_000,
    baseDelayMs: options.baseDelayMs ?? 100,
    maxDelayMs: options.maxDelayMs ?? 2000,
  };
  return {
    type: ACTION,
    create(params: unknown, deps: ActionDependencies, sqlVersion: string, createOptions: ActionCreateOptions = {}): RuleAction {
      const p = object(params, ACTION, ['url', 'confirmationUrl', 'headers', 'auth', 'enableBatching', 'batchConfig']);
      const version = sqlVersionOf(sqlVersion);
      const template = (label: string, text: string): CompiledTemplate =>
        compileTemplate(text, version, { label: `${ACTION}.${label}`, ...(createOptions.allowExternalFunctions === false ? { allowExternalFunctions: false } : {}) });

      const urlText = string(p, 'url', ACTION, MAX_URL_LENGTH);
      const url = template('url', urlText);
      const confirmationText = p['confirmationUrl'] === undefined || p['confirmationUrl'] === null ? undefined : string(p, 'confirmationUrl', ACTION, MAX_URL_LENGTH);
      const confirmationUrl = confirmationText === undefined ? undefined : template('confirmationUrl', confirmationText);
      // Only http(s): the scheme and host must be literal text, checked here.
      if (url.isConstant) checkHttpUrl(urlText, 'url');
      else if (!/^https?:\/\/[^/?#$]+/i.test(literalPrefix(urlText))) {
        throw invalid(`${ACTION}.url`, 'must start with a literal https:// or http:// and host before any substitution template');
      }
      if (confirmationText !== undefined) {
        if (confirmationUrl?.isConstant === true) checkHttpUrl(confirmationText, 'confirmationUrl');
        if (!urlText.startsWith(literalPrefix(confirmationText))) throw invalid(`${ACTION}.confirmationUrl`, `must be a prefix of ${ACTION}.url`);
      } else if (!url.isConstant) {
        throw invalid(`${ACTION}.url`, `uses substitution templates, so ${ACTION}.confirmationUrl is required (a fixed prefix of the url, as AWS requires)`);
      }

      const headers: { key: string; value: CompiledTemplate }[] = [];
      const rawHeaders = p['headers'];
      if (rawHeaders !== undefined && rawHeaders !== null) {
        if (!Array.isArray(rawHeaders)) throw invalid(`${ACTION}.headers`, 'must be a list of {key, value}');
        if (rawHeaders.length > MAX_HEADERS) throw invalid(`${ACTION}.headers`, `holds at most ${MAX_HEADERS} headers`);
        rawHeaders.forEach((h: unknown, i: number) => {
          const where = `${ACTION}.headers[${i}]`;
          const o = object(h, where, ['key', 'value']);
          const key = string(o, 'key', where, 256);
          if (!TOKEN.test(key)) throw invalid(`${where}.key`, `${JSON.stringify(key)} is not a valid HTTP header name`);
          if (FORBIDDEN_HEADERS.has(key.toLowerCase())) throw invalid(`${where}.key`, `${key} is set by the HTTP client and cannot be given`);
          const value = o['value'];
          if (typeof value !== 'string') throw invalid(`${where}.value`, 'must be a string');
          if (value.length > 8192) throw invalid(`${where}.value`, 'must be at most 8192 characters');
          headers.push({ key, value: template(`headers[${i}].value`, value) });
        });
      }

      let sigv4: SigV4 | undefined;
      if (p['auth'] !== undefined && p['auth'] !== null) {
        const auth = object(p['auth'], `${ACTION}.auth`, ['sigv4']);
        const s = object(auth['sigv4'], `${ACTION}.auth.sigv4`, ['signingRegion', 'serviceName', 'roleArn']);
        sigv4 = {
          signingRegion: string(s, 'signingRegion', `${ACTION}.auth.sigv4`, 64),
          serviceName: string(s, 'serviceName', `${ACTION}.auth.sigv4`, 64),
          roleArn: string(s, 'roleArn', `${ACTION}.auth.sigv4`, 2048),
        };
      }
      const batching = p['enableBatching'];
      if (batching !== undefined && batching !== null && typeof batching !== 'boolean') throw invalid(`${ACTION}.enableBatching`, 'must be a boolean');
      if (batching === true) throw invalid(`${ACTION}.enableBatching`, 'is not supported by Thingcore');

      const compiled: Compiled = { url, confirmationUrl, headers, hasContentType: headers.some((h) => h.key.toLowerCase() === 'content-type'), sigv4 };
      return new HttpAction(compiled, settings, deps.config);
    },
  };
}

export const httpActionFactory = createHttpActionFactory();

class HttpAction implements RuleAction {
  readonly type = ACTION;

  constructor(
    private readonly p: Compiled,
    private readonly settings: Required<HttpActionOptions>,
    private readonly config: ActionsConfig,
  ) {}

  async execute(input: ActionInput): Promise<void> {
    const m = input.match;
    let target = this.p.url.text;
    try {
      target = await this.p.url.render(m);
      const url = await this.checkTarget(target, m);
      const headers = new Headers();
      headers.set('user-agent', 'Thingcore-Rules-Engine');
      if (!this.p.hasContentType) headers.set('content-type', m.isJson ? 'application/json' : 'application/octet-stream');
      for (const h of this.p.headers) {
        const value = await h.value.render(m);
        if (/[\r\n\0]/.test(value)) throw this.fail(target, `header ${h.key} rendered to a value with a line break or NUL`);
        headers.set(h.key, value);
      }
      await this.post(url, target, headers, m.payload());
    } catch (err: unknown) {
      if (err instanceof ActionFailure) throw err;
      throw new ActionFailure(FAILED_ACTION, target, `Failed to send the message to ${target}: ${describe(err)}`, { cause: err });
    }
  }

  private async checkTarget(target: string, m: RuleMatch): Promise<URL> {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw this.fail(target, 'the url rendered to an invalid URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw this.fail(target, `the url rendered to a ${url.protocol} URL; only https and http are sent`);
    if (url.username !== '' || url.password !== '') throw this.fail(target, 'the url rendered to a URL with credentials');
    if (this.p.confirmationUrl !== undefined) {
      const prefix = await this.p.confirmationUrl.render(m);
      let origin: string;
      try {
        origin = new URL(prefix).origin;
      } catch {
        throw this.fail(target, `the confirmationUrl rendered to an invalid URL ${JSON.stringify(prefix)}`);
      }
      if (!target.startsWith(prefix) || url.origin !== origin) throw this.fail(target, `the url no longer starts with the confirmationUrl ${prefix}`);
    }
    return url;
  }

  /** POST with the guide's retry rules. */
  private async post(url: URL, target: string, headers: Headers, body: Buffer): Promise<void> {
    const s = this.settings;
    const deadline = Date.now() + s.totalTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw this.fail(target, `no answer within ${s.totalTimeoutMs} ms`);
      const timeoutMs = Math.min(s.timeoutMs, remaining);
      if (this.p.sigv4 !== undefined) signV4(url, 'POST', headers, body, this.p.sigv4, credentialsOf(this.config), new Date());
      let retryable: string;
      try {
        const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
        const length = Number(res.headers.get('content-length') ?? '0');
        await res.body?.cancel().catch(() => undefined);
        if (res.status >= 200 && res.status < 300) return;
        const statusText = `HTTP ${res.status}${res.statusText === '' ? '' : ` ${res.statusText}`}`;
        if ((res.status !== 429 && res.status < 500) || res.status > 599 || length > NO_RETRY_RESPONSE_BYTES) throw this.fail(target, statusText);
        retryable = statusText;
      } catch (err: unknown) {
        if (err instanceof ActionFailure) throw err;
        if (isTimeout(err)) throw this.fail(target, `no answer within ${timeoutMs} ms`);
        retryable = describe(err);
      }
      if (attempt >= s.attempts) throw this.fail(target, `${retryable} (after ${attempt} ${attempt === 1 ? 'try' : 'tries'})`);
      const delay = Math.min(s.maxDelayMs, s.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      if (Date.now() + delay >= deadline) throw this.fail(target, `${retryable} (after ${attempt} ${attempt === 1 ? 'try' : 'tries'}; no time left to retry)`);
      await sleep(delay);
    }
  }

  private fail(target: string, message: string): ActionFailure {
    return new ActionFailure(FAILED_ACTION, target, `Failed to send the message to ${target}: ${message}`);
  }
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

/** fetch's "fetch failed" says nothing; its cause has the code (ECONNREFUSED ...). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${cause.message}` : `${cause.name}: ${cause.message}`;
  }
  return `${err.name}: ${err.message}`;
}

// ---------------------------------------------------------------------------------------------
// Signature Version 4 (AWS General Reference, "Create a signed AWS API request"), written out
// rather than taking @smithy/signature-v4 as a runtime dependency; http.test.ts checks it against
// that implementation.

export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

function credentialsOf(config: ActionsConfig): SigningCredentials {
  if (config.awsCredentials !== undefined) return config.awsCredentials;
  const accessKeyId = process.env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = process.env['AWS_SECRET_ACCESS_KEY'];
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    throw new Error('auth.sigv4 needs credentials: set ActionsConfig.awsCredentials or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  }
  const sessionToken = process.env['AWS_SESSION_TOKEN'];
  return sessionToken === undefined ? { accessKeyId, secretAccessKey } : { accessKeyId, secretAccessKey, sessionToken };
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding: everything but unreserved characters as %XX. */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Signs a request in place: sets x-amz-date, x-amz-content-sha256, x-amz-security-token (with a
 * session token) and authorization, signing host and those headers.
 */
export function signV4(
  url: URL,
  method: string,
  headers: Headers,
  body: Buffer,
  scope: { readonly signingRegion: string; readonly serviceName: string },
  credentials: SigningCredentials,
  now: Date,
): void {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256(body);
  headers.set('x-amz-date', amzDate);
  headers.set('x-amz-content-sha256', payloadHash);
  if (credentials.sessionToken !== undefined) headers.set('x-amz-security-token', credentials.sessionToken);
  else headers.delete('x-amz-security-token');
  const signed: [string, string][] = [['host', url.host]];
  for (const name of ['x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token']) {
    const v = headers.get(name);
    if (v !== null) signed.push([name, v]);
  }
  signed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const signedHeaders = signed.map(([k]) => k).join(';');
  const canonicalUri = url.pathname === '' ? '/' : url.pathname.split('/').map(uriEncode).join('/');
  const query = [...url.searchParams].map(([k, v]) => [uriEncode(k), uriEncode(v)] as const);
  query.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const canonicalRequest = [
    method,
    canonicalUri,
    query.map(([k, v]) => `${k}=${v}`).join('&'),
    signed.map(([k, v]) => `${k}:${v.trim().replace(/\s+/g, ' ')}\n`).join(''),
    signedHeaders,
    payloadHash,
  ].join('\n');
  const credentialScope = `${day}/${scope.signingRegion}/${scope.serviceName}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, credentialScope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), scope.signingRegion), scope.serviceName), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  headers.set('authorization', `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${credentialScope}, SignedHeaders=${signedHeaders}, Signature=${signature}`);
}
