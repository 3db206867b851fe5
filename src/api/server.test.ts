// Proves, through fastify.inject, that every response carries x-amzn-RequestId, that every error in
// the shared catalogue goes out with its status, x-amzn-ErrorType and {"message"} (+ modeled members),
// that SigV4 guards every route but GET /health, and that bodies, blobs, JSON errors, 404/405, 413
// and unexpected exceptions are answered as spec/http-api.md 1.3-1.4 says.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { AwsErrors, ServiceError } from '../shared/index.js';
import { createApi, readBody } from './server.js';
import type { Api } from './server.js';
import { staticAccessKeys } from './credentials.js';
import { defineRoutes, rawResponse } from './routing.js';
import type { ApiLogger } from './routing.js';
import { toWireError } from './errors.js';
import { jsonBody } from './body.js';
import { smithySign } from './sigv4-test-signer.js';
import type { SignOptions } from './sigv4-test-signer.js';
import { Readable } from 'node:stream';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const key = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const catalogue = Object.entries(AwsErrors);

interface Logged {
  level: string;
  obj: object;
  msg: string | undefined;
}
const logged: Logged[] = [];
const logger: ApiLogger = {
  debug: () => undefined,
  info: (obj, msg) => logged.push({ level: 'info', obj, msg }),
  warn: (obj, msg) => logged.push({ level: 'warn', obj, msg }),
  error: (obj, msg) => logged.push({ level: 'error', obj, msg }),
};

const testRoutes = defineRoutes('test', (r) => {
  r.post('/things/:thingName', (req) => {
    const body = jsonBody(req);
    return { thingName: req.params.thingName, thingTypeName: body.string('thingTypeName'), principal: req.principal.accessKeyId, unset: undefined };
  });
  r.get('/things/:thingName', (req) => ({ thingName: req.params.thingName, maxResults: req.query.int('maxResults', { min: 1, max: 250 }) }));
  r.delete('/things/:thingName', () => undefined);
  r.post('/topics/:topic+', (req) => ({ topic: req.params.topic, bytes: req.rawBody.toString('hex'), body: req.body ?? null }), { body: 'raw' });
  r.get('/things/:thingName/shadow', () => rawResponse(Buffer.from('{"state":{}}'), { contentType: 'application/json' }));
  r.get('/boom', () => {
    throw new Error('secret internals');
  });
  r.get('/errors/:name', (req) => {
    const make = (AwsErrors as Record<string, (m: string, members?: Record<string, string>) => ServiceError>)[req.params.name];
    if (make === undefined) throw new Error('no such error');
    throw make(`message for ${req.params.name}`, req.params.name === 'resourceAlreadyExists' ? { resourceId: 't1', resourceArn: 'arn:aws:iot:us-east-1:000000000000:thing/t1' } : undefined);
  });
  r.get('/principal', (req) => ({ principal: req.headers.string('x-amzn-principal') }));
});

async function signed(
  api: Api,
  options: Omit<SignOptions, 'key' | 'date'> & { key?: SignOptions['key']; extraHeaders?: Record<string, string> },
) {
  const request = await smithySign({
    key,
    date: new Date(),
    applyChecksum: true,
    ...options,
    headers: { host: 'localhost:80', ...options.headers },
  });
  const headers: Record<string, string> = { ...options.extraHeaders };
  for (let i = 0; i < request.rawHeaders.length; i += 2) headers[request.rawHeaders[i]!] = request.rawHeaders[i + 1]!;
  return api.fastify.inject({ method: options.method as 'GET', url: request.url, headers, ...(request.body !== undefined && request.body.length > 0 && { payload: request.body }) });
}

describe('api server (fastify.inject)', () => {
  let api: Api;
  before(async () => {
    api = await createApi({
      logger,
      credentials: staticAccessKeys([key]),
      routes: [testRoutes],
      endpoint: { host: 'iot.example.test', port: 8883 },
      limits: { maxBodyBytes: 1024 },
    });
  });
  after(() => api.close());

  it('GET /health needs no signature and carries a request id', async () => {
    const res = await api.fastify.inject({ method: 'GET', url: '/health' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
    assert.match(String(res.headers['x-amzn-requestid']), /^[0-9a-f-]{36}$/);
  });

  it('an unsigned request gets 403 MissingAuthenticationTokenException, before any 404', async () => {
    for (const url of ['/things/t1', '/no/such/route']) {
      const res = await api.fastify.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 403);
      assert.equal(res.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
      assert.deepEqual(res.json(), { message: 'Missing Authentication Token' });
      assert.ok(res.headers['x-amzn-requestid']);
    }
  });

  it('signed requests reach handlers with decoded params, parsed JSON and the principal', async () => {
    const res = await signed(api, {
      method: 'POST',
      path: '/things/my%3Athing_1',
      body: Buffer.from('{"thingTypeName":"tt"}'),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(res.json(), { thingName: 'my:thing_1', thingTypeName: 'tt', principal: key.accessKeyId });
  });

  it('DescribeEndpoint answers the configured address', async () => {
    const res = await signed(api, { method: 'GET', path: '/endpoint', query: [['endpointType', 'iot:Data-ATS']] });
    assert.deepEqual(res.json(), { endpointAddress: 'iot.example.test:8883' });
    const bad = await signed(api, { method: 'GET', path: '/endpoint', query: [['endpointType', 'iot:Nope']] });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.headers['x-amzn-errortype'], 'InvalidRequestException');
  });

  it('raw-body routes get the bytes whatever the content type (none, octet-stream, invalid)', async () => {
    for (const contentType of [undefined, 'application/octet-stream', 'garbage', 'application/json']) {
      const res = await signed(api, {
        method: 'POST',
        path: '/topics/dt%2Fsensor%201%2F%24aws%2B%23',
        body: Buffer.from([0, 1, 0xfe, 0xff]),
        ...(contentType !== undefined && { headers: { 'content-type': contentType } }),
      });
      assert.equal(res.statusCode, 200, `${contentType}: ${res.body}`);
      assert.deepEqual(res.json(), { topic: 'dt/sensor 1/$aws+#', bytes: '0001feff', body: null });
    }
  });

  it('undefined → empty 200; RawResponse → its bytes and content type', async () => {
    const empty = await signed(api, { method: 'DELETE', path: '/things/t1' });
    assert.equal(empty.statusCode, 200);
    assert.equal(empty.body, '');
    const shadow = await signed(api, { method: 'GET', path: '/things/t1/shadow' });
    assert.equal(shadow.body, '{"state":{}}');
    assert.equal(shadow.headers['content-type'], 'application/json');
  });

  it('malformed JSON → 400 InvalidRequestException', async () => {
    const res = await signed(api, { method: 'POST', path: '/things/t1', body: Buffer.from('{"a":'), headers: { 'content-type': 'application/json' } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['x-amzn-errortype'], 'InvalidRequestException');
    assert.match(res.json<{ message: string }>().message, /not valid JSON/);
  });

  it('bad query values → 400 with AWS validation wording', async () => {
    const res = await signed(api, { method: 'GET', path: '/things/t1', query: [['maxResults', '999']] });
    assert.equal(res.statusCode, 400);
    assert.match(res.json<{ message: string }>().message, /Value '999' at 'maxResults' failed to satisfy constraint/);
  });

  it('a body over the limit → 413 RequestEntityTooLargeException', async () => {
    const res = await signed(api, { method: 'POST', path: '/topics/a', body: Buffer.alloc(2048, 1) });
    assert.equal(res.statusCode, 413);
    assert.equal(res.headers['x-amzn-errortype'], 'RequestEntityTooLargeException');
    assert.ok(res.headers['x-amzn-requestid']);
  });

  it('unknown route → 404 UnknownOperationException; other method → 405; bad escapes → 400 after SigV4', async () => {
    const unknown = await signed(api, { method: 'GET', path: '/no/such/route' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.headers['x-amzn-errortype'], 'UnknownOperationException');
    const method = await signed(api, { method: 'PATCH', path: '/things/t1' });
    assert.equal(method.statusCode, 405);
    assert.equal(method.headers['x-amzn-errortype'], 'MethodNotAllowedException');
    const badEscape = await api.fastify.inject({ method: 'GET', url: '/things/%zz' });
    assert.equal(badEscape.statusCode, 403, 'authentication comes first');
    const badEscapeSigned = await signed(api, { method: 'GET', path: '/things/%zz' });
    assert.equal(badEscapeSigned.statusCode, 400);
    assert.equal(badEscapeSigned.headers['x-amzn-errortype'], 'InvalidRequestException');
  });

  it('an unexpected exception → 500 InternalFailureException, logged, internals not leaked', async () => {
    logged.length = 0;
    const res = await signed(api, { method: 'GET', path: '/boom' });
    assert.equal(res.statusCode, 500);
    assert.equal(res.headers['x-amzn-errortype'], 'InternalFailureException');
    assert.doesNotMatch(res.body, /secret internals/);
    const entry = logged.find((l) => l.level === 'error');
    assert.ok(entry);
    assert.equal((entry.obj as { requestId?: string }).requestId, res.headers['x-amzn-requestid']);
  });

  it('every error of the shared catalogue goes out with its status, x-amzn-ErrorType and message', async () => {
    for (const [name, make] of catalogue) {
      const expected = make('m');
      const res = await signed(api, { method: 'GET', path: `/errors/${name}` });
      assert.equal(res.statusCode, expected.httpStatus, name);
      assert.equal(res.headers['x-amzn-errortype'], expected.code, name);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.ok(res.headers['x-amzn-requestid']);
      const body = res.json<Record<string, string>>();
      assert.equal(body.message, `message for ${name}`);
      if (name === 'resourceAlreadyExists') {
        assert.deepEqual(body, { message: 'message for resourceAlreadyExists', resourceId: 't1', resourceArn: 'arn:aws:iot:us-east-1:000000000000:thing/t1' });
      } else {
        assert.deepEqual(Object.keys(body), ['message']);
      }
    }
  });

  it('an operation header must be signed', async () => {
    const ok = await signed(api, { method: 'GET', path: '/principal', headers: { 'x-amzn-principal': 'arn:aws:iot:us-east-1:0:cert/abc' } });
    assert.deepEqual(ok.json(), { principal: 'arn:aws:iot:us-east-1:0:cert/abc' });
    const unsigned = await signed(api, { method: 'GET', path: '/principal', extraHeaders: { 'x-amzn-principal': 'arn:x' } });
    assert.equal(unsigned.statusCode, 403);
    assert.equal(unsigned.headers['x-amzn-errortype'], 'InvalidSignatureException');
  });
});

describe('api lifecycle', () => {
  it('after close(), handle answers 503 ServiceUnavailableException in AWS shape', async () => {
    const api = await createApi({ logger, credentials: staticAccessKeys([key]) });
    const server = createServer(api.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
      await api.close();
      await api.close();
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('x-amzn-errortype'), 'ServiceUnavailableException');
      assert.ok(res.headers.get('x-amzn-requestid'));
      assert.deepEqual(await res.json(), { message: 'The server is shutting down' });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('errors: toWireError', () => {
  it('maps every catalogue entry to its status and name', () => {
    assert.ok(catalogue.length >= 25);
    for (const [name, make] of catalogue) {
      const err = make('x');
      const wire = toWireError(err);
      assert.equal(wire.status, err.httpStatus, name);
      assert.equal(wire.errorType, err.code, name);
      assert.equal(wire.unexpected, false);
      assert.match(err.code, /^[A-Z][A-Za-z]+Exception$/);
    }
    assert.equal(AwsErrors.throttling('x').httpStatus, 400);
    assert.equal(AwsErrors.throttlingDataPlane('x').httpStatus, 429);
  });
  it('anything else is a 500 InternalFailureException', () => {
    for (const err of [new Error('x'), 'string', undefined, { code: 'ResourceNotFoundException' }]) {
      const wire = toWireError(err);
      assert.equal(wire.status, 500);
      assert.equal(wire.errorType, 'InternalFailureException');
      assert.equal(wire.unexpected, true);
    }
  });
  it('a message member cannot be overridden by modeled members', () => {
    const wire = toWireError(new ServiceError('ConflictException', 409, 'real', { message: 'fake', resourceId: 'r' }));
    assert.deepEqual(wire.body, { message: 'real', resourceId: 'r' });
  });
});

describe('readBody', () => {
  it('reads a stream and refuses one over the limit', async () => {
    assert.equal((await readBody(Readable.from([Buffer.from('ab'), Buffer.from('c')]), undefined, 10)).toString(), 'abc');
    const is413 = (err: unknown) => err instanceof ServiceError && err.httpStatus === 413 && err.code === 'RequestEntityTooLargeException';
    // Over the limit: drained to the end, then refused; over the drain limit: refused at once.
    const drained = Readable.from([Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(8)]);
    await assert.rejects(readBody(drained, undefined, 10, 100), is413);
    assert.equal(drained.readableEnded, true);
    const endless = new Readable({ read() { this.push(Buffer.alloc(64)); } });
    await assert.rejects(readBody(endless, undefined, 10, 1000), is413);
    await assert.rejects(readBody(Readable.from([]), '1001', 10, 1000), is413);
  });
});
