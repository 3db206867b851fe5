/**
 * The fastify instance behind the API port. Fastify gives us the request lifecycle, `inject()` for
 * tests and a place for later plugins (console static files, /metrics); it does NOT route the AWS
 * operations or parse bodies, because both must see the request exactly as it came off the wire:
 *
 *   request ─► one catch-all fastify route ─► raw body (Buffer, ≤ maxBodyBytes, any content type)
 *           ─► RouteTable.match(method, RAW path)              (routing.ts)
 *           ─► SigV4 over method, raw URL, rawHeaders, body     (sigv4.ts; skipped for auth:'none')
 *           ─► 404 / 405 / 400 when no route matched
 *           ─► query decoded, JSON body parsed (400 InvalidRequestException when malformed)
 *           ─► handler ─► JSON / empty / RawResponse           (200)
 *   any throw ─► toWireError ─► status + x-amzn-ErrorType + {"message": ...}   (errors.ts)
 *
 * Why not fastify's router: find-my-way decodes the path before splitting it, so `%2F` inside a
 * label would become a separator, and it caps parameters at 100 characters (names go to 128).
 * Why not fastify's body parsers: SigV4 needs the exact bytes, botocore sends blobs with no
 * content type at all, and an unknown content type must not give 415. So the request's
 * content-type is hidden from fastify (onRequest) and the single catch-all parser keeps bytes.
 * Authentication comes before the 404 so that an unsigned caller learns nothing about routes.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { fastify as createFastify } from 'fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AwsErrors, ServiceError } from '../shared/index.js';
import { ApiErrors, errorHeaders, toWireError } from './errors.js';
import type { AccessKeyStore } from './credentials.js';
import { RawResponse, RouteTable, anonymousPrincipal, defineRoutes } from './routing.js';
import type { ApiLogger, ApiPrincipal, HttpMethod, RouteModule, RouteRequest } from './routing.js';
import { verifySigV4 } from './sigv4.js';
import type { SigV4Result, SignedRequestInput } from './sigv4.js';
import { createValueReader, decodeQuery, headerPairs } from './values.js';
import { endpointRoutes } from './routes/endpoint.js';
import type { EndpointSource } from './routes/endpoint.js';

export interface ApiLimits {
  /** Largest request body accepted; larger → 413 RequestEntityTooLargeException. Default 1 MiB. */
  readonly maxBodyBytes?: number;
}

export interface ApiOptions {
  readonly logger: ApiLogger;
  readonly credentials: AccessKeyStore;
  /** Route modules of the rooms (`src/api/routes/<room>.ts`). `GET /health` is always there. */
  readonly routes?: readonly RouteModule[];
  /** Adds DescribeEndpoint (`GET /endpoint`) answering this address. */
  readonly endpoint?: EndpointSource;
  readonly limits?: ApiLimits;
  /** Server time for SigV4's window, epoch ms; default Date.now. */
  readonly clock?: () => number;
  /** Credential-scope services accepted; default iot, execute-api, iotdata, iotdevicegateway. */
  readonly services?: readonly string[];
}

export interface Api {
  /** For the transport's HTTP(S) listeners: `onRequest: api.handle`. */
  readonly handle: (request: IncomingMessage, response: ServerResponse) => void;
  /** The instance itself (plugins, `inject()` in tests, or `listen()` standing alone). */
  readonly fastify: FastifyInstance;
  /** SigV4 against the API's keys (header form or presigned URL), e.g. for the MQTT CONNECT of a WebSocket. */
  verify(request: SignedRequestInput): SigV4Result;
  /**
   * The transport's `verifyUpgrade` for `GET /mqtt?X-Amz-...` (spec 5.2): the presigned URL must
   * verify; refusals carry 403 and the AWS message. Structurally the transport's UpgradeDecision.
   */
  verifyUpgrade(request: IncomingMessage): { readonly ok: true } | { readonly ok: false; readonly statusCode: number; readonly message: string };
  /** Stops fastify; requests still arriving get 503 ServiceUnavailableException. Idempotent. */
  close(): Promise<void>;
}

export const defaultMaxBodyBytes = 1024 * 1024;

const healthRoutes = defineRoutes('health', (r) => {
  r.get('/health', () => ({ status: 'ok' }), { auth: 'none', operation: 'Health' });
});

/** Builds the API (ready to serve when the promise resolves). */
export async function createApi(options: ApiOptions): Promise<Api> {
  const { logger, credentials } = options;
  const maxBodyBytes = options.limits?.maxBodyBytes ?? defaultMaxBodyBytes;
  const clock = options.clock ?? Date.now;
  const modules = [healthRoutes, ...(options.endpoint !== undefined ? [endpointRoutes(options.endpoint)] : []), ...(options.routes ?? [])];
  const table = new RouteTable(modules);
  const verify = (request: SignedRequestInput): SigV4Result =>
    verifySigV4(request, credentials, { nowMs: clock(), ...(options.services !== undefined && { services: options.services }) });

  const app = createFastify({
    logger: false,
    genReqId: () => randomUUID(),
    bodyLimit: maxBodyBytes,
    // Our own 503 in AWS's shape instead (see handle below).
    return503OnClosing: false,
    // A malformed %-escape in the path: not fastify's business, our route table reports it (after SigV4).
    frameworkErrors: (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      if (err.code === 'FST_ERR_BAD_URL') {
        void dispatch(request, reply);
        return;
      }
      sendError(request, reply, err);
    },
  });

  // Hide the content type from fastify: one parser for everything, keeping bytes (see header).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request: FastifyRequest, payload: IncomingMessage, done: (err: Error | null, body?: Buffer) => void) => {
    readBody(payload, request.headers['content-length'], maxBodyBytes).then(
      (body) => done(null, body),
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
    );
  });
  app.addHook('onRequest', (request, reply, done) => {
    delete request.raw.headers['content-type'];
    reply.header('x-amzn-RequestId', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    logger.debug({ requestId: request.id, method: request.method, url: request.raw.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'api request');
    done();
  });
  app.setErrorHandler((err: unknown, request, reply) => sendError(request, reply, err));
  app.setNotFoundHandler((request, reply) => dispatch(request, reply));
  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url: '/*',
    exposeHeadRoute: false,
    handler: (request, reply) => dispatch(request, reply),
  });

  async function dispatch(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      await answer(request, reply);
    } catch (err: unknown) {
      sendError(request, reply, err);
    }
  }

  async function answer(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const raw = request.raw;
    const url = raw.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    const method = (raw.method ?? 'GET').toUpperCase();
    const rawBody = Buffer.isBuffer(request.body) ? request.body : await readBody(raw, raw.headers['content-length'], maxBodyBytes);
    const match = table.match(method, rawPath);

    let principal: ApiPrincipal = anonymousPrincipal;
    if (match.kind !== 'found' || match.route.options.auth !== 'none') {
      const auth = verify({ method, url, rawHeaders: raw.rawHeaders, body: rawBody });
      if (!auth.ok) throw new ServiceError(auth.errorType, 403, auth.message);
      principal = { accessKeyId: auth.accessKeyId };
    }
    switch (match.kind) {
      case 'not-found':
        throw ApiErrors.unknownOperation(`No operation matches ${method} ${clip(rawPath)}`);
      case 'method-not-allowed':
        reply.header('allow', match.allowed.join(', '));
        throw AwsErrors.methodNotAllowed(`Method ${method} is not allowed on ${clip(rawPath)}; allowed: ${match.allowed.join(', ')}`);
      case 'bad-encoding':
        throw AwsErrors.invalidRequest('The request path has a malformed percent-encoding');
      case 'bad-path':
        throw AwsErrors.invalidRequest("The request path must not contain empty, '.' or '..' segments; percent-encode path labels");
      case 'found':
        break;
    }

    const queryPairs = decodeQuery(rawQuery);
    if (queryPairs === undefined) throw AwsErrors.invalidRequest('The query string has a malformed percent-encoding');
    const route = match.route;
    const body = route.options.body === 'raw' || rawBody.length === 0 ? undefined : parseJson(rawBody);
    const operation = route.options.operation;
    const routeRequest: RouteRequest<Record<string, string>> = {
      requestId: request.id,
      method: method === 'HEAD' ? 'GET' : (method as HttpMethod),
      rawPath,
      params: match.params,
      query: createValueReader(queryPairs),
      headers: createValueReader(joinRepeated(headerPairs(raw.rawHeaders)), true),
      body,
      rawBody,
      principal,
      log: childLogger(logger, { requestId: request.id, ...(operation !== undefined && { operation }) }),
    };
    const result = await route.handler(routeRequest);
    if (reply.sent) return;
    if (result instanceof RawResponse) {
      reply.code(result.status).headers({ ...result.headers, 'content-type': result.contentType });
      await reply.send(result.body);
      return;
    }
    // Buffers, not strings: fastify would append `; charset=utf-8` to the content type of a string.
    reply.code(200).header('content-type', 'application/json');
    await reply.send(result === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(result), 'utf8'));
  }

  function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): void {
    if (reply.sent) {
      logger.error({ err, requestId: request.id }, 'error after the response was sent');
      return;
    }
    const wire = toWireError(fromFramework(err));
    if (wire.unexpected) {
      logger.error({ err, requestId: request.id, method: request.method, url: request.raw.url }, 'unexpected error in API request');
    }
    void reply
      .code(wire.status)
      .headers({ ...errorHeaders(wire), 'x-amzn-RequestId': request.id })
      .send(Buffer.from(JSON.stringify(wire.body), 'utf8'));
  }

  await app.ready();
  let closed: Promise<void> | undefined;
  return {
    fastify: app,
    handle: (request, response) => {
      if (closed === undefined) app.routing(request, response);
      else sendServiceUnavailable(response);
    },
    verify,
    verifyUpgrade(request) {
      const result = verify({ method: request.method ?? 'GET', url: request.url ?? '/', rawHeaders: request.rawHeaders });
      return result.ok ? { ok: true } : { ok: false, statusCode: 403, message: result.message };
    },
    close(): Promise<void> {
      closed ??= app.close();
      return closed;
    },
  };
}

function sendServiceUnavailable(response: ServerResponse): void {
  const wire = toWireError(AwsErrors.serviceUnavailable('The server is shutting down'));
  const body = Buffer.from(JSON.stringify(wire.body), 'utf8');
  response.writeHead(wire.status, {
    ...errorHeaders(wire),
    'x-amzn-RequestId': randomUUID(),
    'content-length': body.length,
    connection: 'close',
  });
  response.end(body);
}

/** Fastify's own client errors (bad content length, ...) as AWS errors; its 413 as RETL. */
function fromFramework(err: unknown): unknown {
  if (err instanceof ServiceError || typeof err !== 'object' || err === null) return err;
  const { code, statusCode } = err as { code?: unknown; statusCode?: unknown };
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || statusCode === 413) return tooLarge();
  if (typeof code === 'string' && code.startsWith('FST_ERR_') && typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return AwsErrors.invalidRequest((err as { message?: unknown }).message?.toString() ?? 'Bad request');
  }
  return err;
}

function tooLarge(): ServiceError {
  return AwsErrors.requestEntityTooLarge('The request body exceeds the maximum size allowed');
}

/**
 * The whole body as one Buffer; 413 when it exceeds `limit` bytes. An oversized body is still read
 * (and dropped) up to `drainLimit`, so the client finishes sending and then reads the 413 instead of
 * a reset connection; beyond that (or a larger Content-Length) the refusal is immediate.
 */
export function readBody(stream: Readable, contentLength: string | undefined, limit: number, drainLimit = Math.max(limit * 8, 16 * 1024 * 1024)): Promise<Buffer> {
  if (contentLength !== undefined && Number(contentLength) > drainLimit) return Promise.reject(tooLarge());
  if (stream.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise<Buffer>((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onData = (chunk: Buffer | string): void => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buffer.length;
      if (size > drainLimit) {
        cleanup();
        stream.pause();
        reject(tooLarge());
        return;
      }
      if (size > limit) chunks = [];
      else chunks.push(buffer);
    };
    const onEnd = (): void => {
      cleanup();
      if (size > limit) reject(tooLarge());
      else resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(AwsErrors.invalidRequest('The request body ended early'));
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
    stream.resume();
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(body: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw AwsErrors.invalidRequest('The request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err: unknown) {
    throw AwsErrors.invalidRequest(`The request body is not valid JSON: ${err instanceof Error ? err.message : 'parse error'}`);
  }
}

function joinRepeated(pairs: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
  const joined = new Map<string, string>();
  for (const [name, value] of pairs) {
    const previous = joined.get(name);
    joined.set(name, previous === undefined ? value : `${previous}, ${value}`);
  }
  return [...joined];
}

function childLogger(logger: ApiLogger, bindings: Record<string, string>): ApiLogger {
  const withBindings = (obj: object): object => ({ ...bindings, ...obj });
  return {
    debug: (obj, msg) => logger.debug(withBindings(obj), msg),
    info: (obj, msg) => logger.info(withBindings(obj), msg),
    warn: (obj, msg) => logger.warn(withBindings(obj), msg),
    error: (obj, msg) => logger.error(withBindings(obj), msg),
  };
}

function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
