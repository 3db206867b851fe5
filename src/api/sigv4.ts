/**
 * Server-side AWS Signature Version 4 verification, exactly as spec/http-api.md section 5:
 *
 *  - 5.1 header form (`Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/iot/aws4_request,
 *    SignedHeaders=host;x-amz-date, Signature=<64 hex>`), what every SDK and CLI call sends;
 *  - 5.2 presigned URL (`GET /mqtt?X-Amz-Algorithm=...&X-Amz-Signature=...`), what MQTT-over-WebSocket
 *    clients send. AWS IoT appends `X-Amz-Security-Token` AFTER signing, generic presigners sign it
 *    in: the token-excluded canonical query is tried first, then the token-included one.
 *
 * Canonical request (both forms), worked example for `POST /things/my%3Athing_1` (JS SDK):
 *
 *   POST
 *   /things/my%253Athing_1                the raw path (dot segments removed), %-encoded once more
 *                                         the canonical query (empty here): decoded, re-encoded, sorted
 *   content-type:application/json         every signed header: all occurrences (rawHeaders), trimmed,
 *   host:127.0.0.1:4566                   inner whitespace collapsed, joined with ','
 *   x-amz-date:20261126T064448Z
 *                                         (the header block ends with its own newline)
 *   content-type;host;x-amz-date          SignedHeaders as received
 *   f4c24b4c...                           x-amz-content-sha256 if sent, else hex SHA-256 of the body
 *
 * StringToSign = `AWS4-HMAC-SHA256\n<x-amz-date>\n<scope>\n<hex sha256(canonical request)>`, the key is
 * HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
 *
 * Everything is a value: hostile input (malformed %-escapes, odd headers, huge numbers) gives
 * `{ ok: false }`, never an exception. Cost: one SHA-256 over the canonical request (and one over
 * the body when no x-amz-content-sha256 is sent) plus five HMACs; a second round only for a
 * presigned URL carrying a session token.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AccessKeyStore } from './credentials.js';
import { decodeQuery } from './values.js';

export type SigV4ErrorType =
  | 'InvalidSignatureException'
  | 'UnrecognizedClientException'
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException';

export type SigV4Result =
  | {
      readonly ok: true;
      readonly accessKeyId: string;
      readonly region: string;
      /** The service of the credential scope (`iot`, `execute-api`, `iotdata`, `iotdevicegateway`). */
      readonly service: string;
      readonly form: 'header' | 'presigned';
      readonly signedHeaders: readonly string[];
      readonly sessionToken?: string;
    }
  | { readonly ok: false; readonly errorType: SigV4ErrorType; readonly message: string };

/** What the verifier needs of a request; an IncomingMessage plus its body fits. */
export interface SignedRequestInput {
  readonly method: string;
  /** The request target exactly as received: raw path, then `?` and the raw query. */
  readonly url: string;
  /** Node's `rawHeaders` (name, value, ...): repeated headers are joined exactly. Preferred. */
  readonly rawHeaders?: readonly string[];
  /** Used when rawHeaders is absent (e.g. a WebSocket upgrade's PeerFacts). */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Empty when absent. */
  readonly body?: Buffer;
}

export interface VerifyOptions {
  /** Server time, epoch ms; default Date.now(). */
  readonly nowMs?: number;
  /** Credential-scope services accepted; default `acceptedServices`. */
  readonly services?: readonly string[];
}

/** spec/http-api.md 1.1: control plane `iot`/`execute-api`, data plane `iotdata`/`iotdevicegateway`; accepted everywhere. */
export const acceptedServices: readonly string[] = ['iot', 'execute-api', 'iotdata', 'iotdevicegateway'];

export const emptyBodySha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const algorithm = 'AWS4-HMAC-SHA256';
/** AWS's standard clock-skew window. */
const maxSkewMs = 15 * 60 * 1000;
/** X-Amz-Expires upper bound: one week. */
export const maxPresignExpiresSec = 604800;
/** Headers that must be signed when present (every client signs them; spec 5.1). */
const mustSignWhenPresent = ['x-amz-security-token', 'x-amzn-principal', 'x-amz-tagging'];

const fail = (errorType: SigV4ErrorType, message: string): SigV4Result => ({ ok: false, errorType, message });
const signatureMismatch = (): SigV4Result =>
  fail(
    'InvalidSignatureException',
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  );
const invalidToken = (): SigV4Result => fail('UnrecognizedClientException', 'The security token included in the request is invalid.');

/** Verifies a header-signed or presigned request against the keys Thingcore keeps. Never throws. */
export function verifySigV4(request: SignedRequestInput, keys: AccessKeyStore, options: VerifyOptions = {}): SigV4Result {
  try {
    const headers = collectHeaders(request);
    const { path, query } = splitUrl(request.url);
    const authorization = headers.get('authorization');
    if (authorization !== undefined) return verifyHeaderForm(request, headers, path, query, authorization.join(','), keys, options);
    if (/(?:^|&)X-Amz-(?:Algorithm|Credential|Signature)=/.test(query)) return verifyPresigned(request, headers, path, query, keys, options);
    return fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
  } catch {
    // Defensive only: every step above returns values; nothing hostile should get here.
    return signatureMismatch();
  }
}

type HeaderMap = Map<string, string[]>;

function collectHeaders(request: SignedRequestInput): HeaderMap {
  const map: HeaderMap = new Map();
  const add = (name: string, value: string): void => {
    const key = name.toLowerCase();
    const list = map.get(key);
    if (list === undefined) map.set(key, [value]);
    else list.push(value);
  };
  if (request.rawHeaders !== undefined) {
    for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) add(request.rawHeaders[i]!, request.rawHeaders[i + 1]!);
  } else if (request.headers !== undefined) {
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value === 'string') add(name, value);
      else if (Array.isArray(value)) for (const v of value as readonly string[]) add(name, v);
    }
  }
  return map;
}

function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

interface Scope {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
}

/** `AKID/20261126/us-east-1/iot/aws4_request`. */
function parseCredential(credential: string): Scope | string {
  const parts = credential.split('/');
  if (parts.length !== 5) return `Credential should be of the form '<access key>/<date>/<region>/<service>/aws4_request', not '${clip(credential)}'.`;
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  if (terminator !== 'aws4_request') return `Credential should be scoped with a valid terminator: 'aws4_request', not '${clip(terminator)}'.`;
  if (accessKeyId === '') return 'Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term';
  if (!/^\d{8}$/.test(date)) return `Credential should be scoped to a valid date: '${clip(date)}'.`;
  if (region === '') return 'Credential should be scoped to a valid region.';
  if (service === '') return 'Credential should be scoped to a valid service.';
  return { accessKeyId, date, region, service };
}

function clip(text: string): string {
  return text.length > 128 ? `${text.slice(0, 128)}...` : text;
}

function verifyHeaderForm(
  request: SignedRequestInput,
  headers: HeaderMap,
  path: string,
  rawQuery: string,
  authorization: string,
  keys: AccessKeyStore,
  options: VerifyOptions,
): SigV4Result {
  const incomplete = (why: string) => fail('IncompleteSignatureException', `${why} Authorization=${clip(authorization)}`);
  if (!authorization.startsWith(`${algorithm} `)) {
    return incomplete(`Authorization header requires the '${algorithm}' algorithm with 'Credential', 'SignedHeaders' and 'Signature' parameters.`);
  }
  const params = new Map<string, string>();
  for (const part of authorization.slice(algorithm.length + 1).split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) return incomplete(`Authorization header has a malformed parameter '${clip(item)}'.`);
    const name = item.slice(0, eq);
    if (params.has(name)) return incomplete(`Authorization header has a repeated '${name}' parameter.`);
    params.set(name, item.slice(eq + 1));
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((n) => !params.has(n));
  if (missing.length > 0) return incomplete(missing.map((n) => `Authorization header requires '${n}' parameter.`).join(' '));
  const scope = parseCredential(params.get('Credential')!);
  if (typeof scope === 'string') return incomplete(scope);
  const signature = params.get('Signature')!.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(signature)) return incomplete('Signature must be 64 hexadecimal characters.');
  const signedHeaders = params.get('SignedHeaders')!;
  const amzDate = headers.get('x-amz-date')?.[0];
  if (amzDate === undefined) {
    return incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  const common = checkCommon({ form: 'header', scope, signedHeaders, amzDate, headers, presignExpires: undefined, options });
  if (common !== undefined) return common;
  const names = signedHeaders.split(';');
  if (!names.includes('x-amz-date')) return fail('InvalidSignatureException', "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");

  const secret = keys.secretFor(scope.accessKeyId);
  if (secret === undefined) return invalidToken();
  const token = headers.get('x-amz-security-token');
  if (token !== undefined && token.length !== 1) return invalidToken();
  const tokenCheck = checkSessionToken(token?.[0], secret.sessionToken);
  if (tokenCheck !== undefined) return tokenCheck;

  const payloadHash = payloadHashOf(headers, request.body);
  if (typeof payloadHash !== 'string') return payloadHash;
  const canonicalQuery = canonicalQueryOf(rawQuery, () => false);
  if (canonicalQuery === undefined) return fail('IncompleteSignatureException', 'The query string has a malformed percent-encoding.');
  const expected = signatureFor({
    method: request.method,
    path,
    canonicalQuery,
    headers,
    signedHeaders,
    payloadHash,
    amzDate,
    scope,
    secret: secret.secretAccessKey,
  });
  if (expected === undefined || !sameHex(expected, signature)) return signatureMismatch();
  return success(scope, 'header', names, token?.[0]);
}

function verifyPresigned(
  request: SignedRequestInput,
  headers: HeaderMap,
  path: string,
  rawQuery: string,
  keys: AccessKeyStore,
  options: VerifyOptions,
): SigV4Result {
  const pairs = decodeQuery(rawQuery);
  if (pairs === undefined) return fail('IncompleteSignatureException', 'The query string has a malformed percent-encoding.');
  const amz = new Map<string, string>();
  for (const [name, value] of pairs) {
    if (!name.startsWith('X-Amz-')) continue;
    if (amz.has(name)) return fail('IncompleteSignatureException', `The query string has a repeated '${name}' parameter.`);
    amz.set(name, value);
  }
  const required = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders'];
  if (required.some((n) => !amz.has(n))) {
    return fail(
      'IncompleteSignatureException',
      `AWS query-string parameters must include ${required.map((n) => `'${n}'`).join(', ')}. Re-examine the query-string parameters.`,
    );
  }
  if (amz.get('X-Amz-Algorithm') !== algorithm) {
    return fail('IncompleteSignatureException', `X-Amz-Algorithm only supports '${algorithm}'.`);
  }
  const scope = parseCredential(amz.get('X-Amz-Credential')!);
  if (typeof scope === 'string') return fail('IncompleteSignatureException', scope);
  const signature = amz.get('X-Amz-Signature')!.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(signature)) return fail('IncompleteSignatureException', 'X-Amz-Signature must be 64 hexadecimal characters.');
  let expires: number | undefined;
  const expiresText = amz.get('X-Amz-Expires');
  if (expiresText !== undefined) {
    if (!/^\d{1,7}$/.test(expiresText)) return fail('IncompleteSignatureException', 'X-Amz-Expires should be a number of seconds.');
    expires = Number(expiresText);
    if (expires > maxPresignExpiresSec) {
      return fail('IncompleteSignatureException', `X-Amz-Expires must be less than a week (in seconds) that is ${maxPresignExpiresSec}.`);
    }
  }
  const amzDate = amz.get('X-Amz-Date')!;
  const signedHeaders = amz.get('X-Amz-SignedHeaders')!;
  const common = checkCommon({ form: 'presigned', scope, signedHeaders, amzDate, headers, presignExpires: expires, options });
  if (common !== undefined) return common;

  const secret = keys.secretFor(scope.accessKeyId);
  if (secret === undefined) return invalidToken();
  const token = amz.get('X-Amz-Security-Token');
  const tokenCheck = checkSessionToken(token, secret.sessionToken);
  if (tokenCheck !== undefined) return tokenCheck;

  const payloadHash = payloadHashOf(headers, request.body);
  if (typeof payloadHash !== 'string') return payloadHash;
  // First as AWS IoT presigns (token appended after signing), then as generic presigners do.
  const variants: Array<(name: string) => boolean> = [(n) => n === 'X-Amz-Signature'];
  if (token !== undefined) variants.unshift((n) => n === 'X-Amz-Signature' || n === 'X-Amz-Security-Token');
  for (const drop of variants) {
    const canonicalQuery = canonicalQueryOf(rawQuery, drop);
    if (canonicalQuery === undefined) return fail('IncompleteSignatureException', 'The query string has a malformed percent-encoding.');
    const expected = signatureFor({
      method: request.method,
      path,
      canonicalQuery,
      headers,
      signedHeaders,
      payloadHash,
      amzDate,
      scope,
      secret: secret.secretAccessKey,
    });
    if (expected !== undefined && sameHex(expected, signature)) return success(scope, 'presigned', signedHeaders.split(';'), token);
  }
  return signatureMismatch();
}

function success(scope: Scope, form: 'header' | 'presigned', signedHeaders: readonly string[], token: string | undefined): SigV4Result {
  return {
    ok: true,
    accessKeyId: scope.accessKeyId,
    region: scope.region,
    service: scope.service,
    form,
    signedHeaders,
    ...(token !== undefined && { sessionToken: token }),
  };
}

/** Checks shared by both forms: service, SignedHeaders, date format, scope date, time window. */
function checkCommon(input: {
  form: 'header' | 'presigned';
  scope: Scope;
  signedHeaders: string;
  amzDate: string;
  headers: HeaderMap;
  presignExpires: number | undefined;
  options: VerifyOptions;
}): SigV4Result | undefined {
  const { form, scope, signedHeaders, amzDate, headers, presignExpires, options } = input;
  const services = options.services ?? acceptedServices;
  if (!services.includes(scope.service)) {
    return fail('InvalidSignatureException', `Credential should be scoped to correct service: '${services[0] ?? 'iot'}'.`);
  }
  if (!/^[a-z0-9-]+(?:;[a-z0-9-]+)*$/.test(signedHeaders)) {
    return fail('IncompleteSignatureException', `SignedHeaders must be lower-case header names separated by ';', not '${clip(signedHeaders)}'.`);
  }
  const names = signedHeaders.split(';');
  if (!names.includes('host')) return fail('InvalidSignatureException', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  for (const name of headers.keys()) {
    if ((mustSignWhenPresent.includes(name) || name.startsWith('x-amz-mqtt5-')) && !names.includes(name)) {
      // A presigned URL carries its token in the query (appended after signing, spec 5.2).
      if (name === 'x-amz-security-token' && form === 'presigned') continue;
      return fail('InvalidSignatureException', `Header '${name}' must be a 'SignedHeader' in the AWS Authorization.`);
    }
  }
  const dateMs = parseAmzDate(amzDate);
  if (dateMs === undefined) {
    return fail('IncompleteSignatureException', `Date must be in ISO-8601 'basic format'. Got '${clip(amzDate)}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  }
  if (scope.date !== amzDate.slice(0, 8)) {
    return fail(
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scope.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    );
  }
  const now = options.nowMs ?? Date.now();
  if (dateMs > now + maxSkewMs) {
    return fail(
      'InvalidSignatureException',
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + maxSkewMs)} (${formatAmzDate(now)} + 15 min.)`,
    );
  }
  if (presignExpires === undefined) {
    if (dateMs < now - maxSkewMs) {
      return fail(
        'InvalidSignatureException',
        `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - maxSkewMs)} (${formatAmzDate(now)} - 15 min.)`,
      );
    }
  } else if (dateMs + presignExpires * 1000 < now) {
    return fail(
      'InvalidSignatureException',
      `Signature expired: ${amzDate} + X-Amz-Expires ${presignExpires} s = ${formatAmzDate(dateMs + presignExpires * 1000)} is now earlier than ${formatAmzDate(now)}.`,
    );
  }
  return undefined;
}

/** The stored token (if any) and the presented one (if any) must be equal. */
function checkSessionToken(presented: string | undefined, stored: string | undefined): SigV4Result | undefined {
  if (presented === undefined && stored === undefined) return undefined;
  if (presented === undefined || stored === undefined) return invalidToken();
  const a = Buffer.from(presented, 'utf8');
  const b = Buffer.from(stored, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b) ? undefined : invalidToken();
}

/** x-amz-content-sha256 when sent (checked against the body unless UNSIGNED-PAYLOAD), else the body's hash. */
function payloadHashOf(headers: HeaderMap, body: Buffer | undefined): string | SigV4Result {
  const declared = headers.get('x-amz-content-sha256');
  const actual = body === undefined || body.length === 0 ? emptyBodySha256 : createHash('sha256').update(body).digest('hex');
  if (declared === undefined) return actual;
  if (declared.length !== 1) return fail('IncompleteSignatureException', "The 'x-amz-content-sha256' header must occur once.");
  const value = declared[0]!;
  if (value === 'UNSIGNED-PAYLOAD') return value;
  if (!/^[0-9a-f]{64}$/.test(value)) {
    return fail('IncompleteSignatureException', `x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256 value, not '${clip(value)}'.`);
  }
  if (value !== actual) return fail('InvalidSignatureException', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  return value;
}

/** `YYYYMMDDTHHMMSSZ` → epoch ms; undefined when malformed or not a real date. */
export function parseAmzDate(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  return ms;
}

export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** encodeURIComponent plus `!'()*` (RFC 3986 unreserved only). Throws URIError on lone surrogates. */
export function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The raw path with dot segments and empty segments removed (RFC 3986 5.2.4, as both SDK families
 * normalize before signing: smithy `getCanonicalPath`, botocore `remove_dot_segments`), then each
 * segment encoded once more (`/things/my%3Athing_1` → `/things/my%253Athing_1`). The server refuses
 * raw paths that this normalization would change (routing.ts), so a signature can never be replayed
 * onto a different route or label.
 */
export function canonicalUri(rawPath: string): string {
  return normalizePath(rawPath).split('/').map(rfc3986).join('/');
}

export function normalizePath(rawPath: string): string {
  const out: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  const trailing = out.length > 0 && rawPath.endsWith('/') ? '/' : '';
  return `/${out.join('/')}${trailing}`;
}

/**
 * Items split on `&` and the first `=`, decoded, re-encoded, sorted by key then value, `drop`ped
 * keys (decoded names) left out. Undefined on a malformed %-escape.
 */
export function canonicalQueryOf(rawQuery: string, drop: (name: string) => boolean): string | undefined {
  const pairs = decodeQuery(rawQuery);
  if (pairs === undefined) return undefined;
  const encoded: Array<[string, string]> = [];
  for (const [k, v] of pairs) if (!drop(k)) encoded.push([rfc3986(k), rfc3986(v)]);
  encoded.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return encoded.map(([k, v]) => `${k}=${v}`).join('&');
}

function canonicalHeadersOf(headers: HeaderMap, names: readonly string[]): string {
  let out = '';
  for (const name of names) {
    const values = headers.get(name) ?? [];
    out += `${name}:${values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',')}\n`;
  }
  return out;
}

function signatureFor(input: {
  method: string;
  path: string;
  canonicalQuery: string;
  headers: HeaderMap;
  signedHeaders: string;
  payloadHash: string;
  amzDate: string;
  scope: Scope;
  secret: string;
}): string | undefined {
  let uri: string;
  try {
    uri = canonicalUri(input.path);
  } catch {
    return undefined;
  }
  const canonicalRequest = [
    input.method.toUpperCase(),
    uri,
    input.canonicalQuery,
    canonicalHeadersOf(input.headers, input.signedHeaders.split(';')),
    input.signedHeaders,
    input.payloadHash,
  ].join('\n');
  const { date, region, service } = input.scope;
  const stringToSign = [
    algorithm,
    input.amzDate,
    `${date}/${region}/${service}/aws4_request`,
    createHash('sha256').update(canonicalRequest, 'utf8').digest('hex'),
  ].join('\n');
  const key = signingKey(input.secret, date, region, service);
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length === 32 && timingSafeEqual(x, y);
}
