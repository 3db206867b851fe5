/**
 * Test support (imported only by *.test.ts): signs requests with `@smithy/signature-v4`, the signer
 * the AWS JS SDK uses, and hands back what the server would see (raw URL, rawHeaders, body), so
 * the verifier is checked against AWS's own implementation rather than against itself.
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SignedRequestInput } from './sigv4.js';
import { rfc3986 } from './sigv4.js';

/** The hash class smithy wants, over node:crypto. */
export class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash =
      secret === undefined
        ? createHash('sha256')
        : createHmac('sha256', typeof secret === 'string' ? secret : Buffer.from(secret as ArrayBuffer));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === 'string' ? data : new Uint8Array(ArrayBuffer.isView(data) ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

export interface TestKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SignOptions {
  readonly method: string;
  /** Raw path as the client sends it (already %-encoded). */
  readonly path: string;
  /** Decoded query values, in wire order. */
  readonly query?: ReadonlyArray<readonly [string, string]>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  readonly key: TestKey;
  readonly service?: string;
  readonly region?: string;
  readonly date: Date;
  /** Add x-amz-content-sha256 (as the JS SDK does); default false (as botocore does). */
  readonly applyChecksum?: boolean;
  /** Send these headers as several raw lines (their signed value is the lines joined with ','). */
  readonly splitHeaders?: Readonly<Record<string, readonly string[]>>;
}

export function queryString(query: ReadonlyArray<readonly [string, string]>): string {
  return query.map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).join('&');
}

function queryObject(query: ReadonlyArray<readonly [string, string]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of query) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

export async function smithySign(options: SignOptions): Promise<SignedRequestInput & { rawHeaders: string[] }> {
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: options.key.accessKeyId,
      secretAccessKey: options.key.secretAccessKey,
      ...(options.key.sessionToken !== undefined && { sessionToken: options.key.sessionToken }),
    },
    region: options.region ?? 'us-east-1',
    service: options.service ?? 'iot',
    sha256: NodeSha256,
    applyChecksum: options.applyChecksum ?? false,
  });
  const headers: Record<string, string> = { host: '127.0.0.1:4566', ...options.headers };
  for (const [name, lines] of Object.entries(options.splitHeaders ?? {})) headers[name] = lines.join(',');
  const query = options.query ?? [];
  const signed = await signer.sign(
    {
      method: options.method,
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 4566,
      path: options.path,
      query: queryObject(query),
      headers,
      ...(options.body !== undefined && options.body.length > 0 && { body: options.body }),
    },
    { signingDate: options.date },
  );
  const rawHeaders: string[] = [];
  for (const [name, value] of Object.entries(signed.headers)) {
    const lines = options.splitHeaders?.[name];
    if (lines !== undefined) for (const line of lines) rawHeaders.push(name, line);
    else rawHeaders.push(name, value);
  }
  const qs = queryString(query);
  return {
    method: options.method,
    url: qs === '' ? options.path : `${options.path}?${qs}`,
    rawHeaders,
    body: options.body ?? Buffer.alloc(0),
  };
}

export interface PresignOptions {
  readonly path?: string;
  readonly key: TestKey;
  readonly date: Date;
  readonly expiresIn?: number;
  readonly service?: string;
}

/** A generic presigned URL (`signer.presign`): the session token, if any, is signed in. */
export async function smithyPresign(options: PresignOptions): Promise<SignedRequestInput> {
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: options.key.accessKeyId,
      secretAccessKey: options.key.secretAccessKey,
      ...(options.key.sessionToken !== undefined && { sessionToken: options.key.sessionToken }),
    },
    region: 'us-east-1',
    service: options.service ?? 'iotdevicegateway',
    sha256: NodeSha256,
  });
  const presigned = await signer.presign(
    { method: 'GET', protocol: 'https:', hostname: '127.0.0.1', port: 8443, path: options.path ?? '/mqtt', query: {}, headers: { host: '127.0.0.1:8443' } },
    { signingDate: options.date, ...(options.expiresIn !== undefined && { expiresIn: options.expiresIn }) },
  );
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(presigned.query ?? {})) {
    if (typeof v === 'string') pairs.push([k, v]);
    else if (Array.isArray(v)) for (const x of v as string[]) pairs.push([k, x]);
  }
  return { method: 'GET', url: `${options.path ?? '/mqtt'}?${queryString(pairs)}`, rawHeaders: ['Host', '127.0.0.1:8443'] };
}
