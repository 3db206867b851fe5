// Proves that AWS's own JS clients (IoTClient signing as `iot`, IoTDataPlaneClient as `iotdata`)
// work against the API served by the transport's HTTP listener with the generated admin key, and
// that bad secrets, unknown keys, malformed JSON, oversized bodies and dot-segment paths get the
// AWS-shaped errors the SDK maps by name, and that the WebSocket upgrade checks presigned URLs.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeEndpointCommand, IoTClient, ListThingsCommand } from '@aws-sdk/client-iot';
import { GetThingShadowCommand, IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { createApi, defineRoutes, loadOrCreateAdminCredentials, rawResponse, staticAccessKeys } from '../../src/api/index.js';
import type { AdminCredentials, Api, ApiLogger } from '../../src/api/index.js';
import { listenHttp } from '../../src/transport/index.js';
import type { ListenerHandle } from '../../src/transport/index.js';
import { WebSocket } from 'ws';
import { smithyPresign, smithySign } from '../../src/api/sigv4-test-signer.js';

const silent: ApiLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

interface Published {
  topic: string;
  payload: Buffer;
  qos: number | undefined;
  retain: boolean | undefined;
  userProperties: string | undefined;
}

describe('API basics with the AWS SDK v3 clients', () => {
  let dataDir: string;
  let admin: AdminCredentials;
  let api: Api;
  let listener: ListenerHandle;
  let endpoint: string;
  const published: Published[] = [];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'thingcore-api-'));
    admin = await loadOrCreateAdminCredentials(dataDir);
    // Stand-in routes (a data-plane pair and CreateThing), registered the way rooms register theirs.
    const stubs = defineRoutes('test-stubs', (r) => {
      r.post(
        '/topics/:topic+',
        (req) => {
          published.push({
            topic: req.params.topic,
            payload: req.rawBody,
            qos: req.query.int('qos', { min: 0, max: 1 }),
            retain: req.query.bool('retain'),
            userProperties: req.headers.string('x-amz-mqtt5-user-properties'),
          });
          return undefined;
        },
        { operation: 'Publish', body: 'raw' },
      );
      r.post('/things/:thingName', (req) => ({ thingName: req.params.thingName, body: req.body }), { operation: 'CreateThing' });
      r.get('/things/:thingName/shadow', (req) => rawResponse(JSON.stringify({ state: { reported: { name: req.params.thingName } }, version: 1, timestamp: 1700000000 })), {
        operation: 'GetThingShadow',
      });
    });
    api = await createApi({
      logger: silent,
      credentials: staticAccessKeys([admin]),
      routes: [stubs],
      endpoint: { host: 'localhost', port: 8883 },
      limits: { maxBodyBytes: 64 * 1024 },
    });
    listener = await listenHttp({
      host: '127.0.0.1',
      port: 0,
      onConnection: (stream) => stream.destroy(),
      onRequest: api.handle,
      verifyUpgrade: (request) => api.verifyUpgrade(request),
    });
    endpoint = `http://127.0.0.1:${listener.port}`;
  });

  after(async () => {
    await listener.close({ graceMs: 200 });
    await api.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const iot = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
    new IoTClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });

  it('DescribeEndpoint answers the MQTT endpoint, with a request id', async () => {
    const out = await iot(admin).send(new DescribeEndpointCommand({ endpointType: 'iot:Data-ATS' }));
    assert.equal(out.endpointAddress, 'localhost:8883');
    assert.match(out.$metadata.requestId ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(out.$metadata.httpStatusCode, 200);
  });

  it('a wrong secret → InvalidSignatureException (403)', async () => {
    await assert.rejects(iot({ accessKeyId: admin.accessKeyId, secretAccessKey: 'x'.repeat(40) }).send(new DescribeEndpointCommand({})), (err: unknown) => {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; message?: string };
      assert.equal(e.name, 'InvalidSignatureException');
      assert.equal(e.$metadata?.httpStatusCode, 403);
      assert.match(e.message ?? '', /signature we calculated does not match/);
      return true;
    });
  });

  it('an unknown access key → UnrecognizedClientException (403)', async () => {
    await assert.rejects(iot({ accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: admin.secretAccessKey }).send(new DescribeEndpointCommand({})), (err: unknown) => {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      assert.equal(e.name, 'UnrecognizedClientException');
      assert.equal(e.$metadata?.httpStatusCode, 403);
      return true;
    });
  });

  it('an operation no room registered → UnknownOperationException (404)', async () => {
    await assert.rejects(iot(admin).send(new ListThingsCommand({})), (err: unknown) => {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      assert.equal(e.name, 'UnknownOperationException');
      assert.equal(e.$metadata?.httpStatusCode, 404);
      return true;
    });
  });

  it('the data-plane client signs as iotdata and reaches a registered route (odd topic, binary payload)', async () => {
    const data = new IoTDataPlaneClient({ endpoint, region: 'us-east-1', credentials: admin, maxAttempts: 1 });
    const payload = Buffer.from([0, 1, 2, 0xff, 0x7b]);
    await data.send(new PublishCommand({ topic: 'dt/sensor 1/$aws+#', payload, qos: 1, retain: true, userProperties: JSON.stringify([{ deviceName: 'alpha' }]) }));
    const got = published.at(-1);
    assert.ok(got);
    assert.equal(got.topic, 'dt/sensor 1/$aws+#');
    assert.deepEqual(got.payload, payload);
    assert.equal(got.qos, 1);
    assert.equal(got.retain, true);
    assert.equal(Buffer.from(got.userProperties ?? '', 'base64').toString(), '[{"deviceName":"alpha"}]');

    const shadow = await data.send(new GetThingShadowCommand({ thingName: 'my:thing_1' }));
    assert.deepEqual(JSON.parse(Buffer.from(shadow.payload ?? new Uint8Array()).toString()), {
      state: { reported: { name: 'my:thing_1' } },
      version: 1,
      timestamp: 1700000000,
    });
  });

  it('a body over the limit → RequestEntityTooLargeException (413)', async () => {
    const data = new IoTDataPlaneClient({ endpoint, region: 'us-east-1', credentials: admin, maxAttempts: 1 });
    await assert.rejects(data.send(new PublishCommand({ topic: 'big', payload: Buffer.alloc(200 * 1024, 7) })), (err: unknown) => {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      assert.equal(e.name, 'RequestEntityTooLargeException');
      assert.equal(e.$metadata?.httpStatusCode, 413);
      return true;
    });
  });

  /** A signed raw request over a real socket (what the SDK cannot be made to send). */
  async function rawSigned(method: string, path: string, body: Buffer, headers: Record<string, string> = {}) {
    const signed = await smithySign({ key: admin, date: new Date(), method, path, body, headers: { host: `127.0.0.1:${listener.port}`, ...headers } });
    return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: listener.port, method, path: signed.url, headers: pairsToObject(signed.rawHeaders) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  it('malformed JSON → InvalidRequestException (400)', async () => {
    const good = await rawSigned('POST', '/things/t1', Buffer.from('{"a":1}'), { 'content-type': 'application/json' });
    assert.equal(good.status, 200, good.body);
    assert.deepEqual(JSON.parse(good.body), { thingName: 't1', body: { a: 1 } });
    const json = await rawSigned('POST', '/things/t1', Buffer.from('{"a":'), { 'content-type': 'application/json' });
    assert.equal(json.status, 400);
    assert.equal(json.headers['x-amzn-errortype'], 'InvalidRequestException');
    assert.match(JSON.parse(json.body).message, /not valid JSON/);
    assert.ok(json.headers['x-amzn-requestid']);
  });

  it('dot segments in a path are refused after authentication (no signature replay onto another label)', async () => {
    const res = await rawSigned('POST', '/topics/x/../a', Buffer.from('p'));
    assert.equal(res.status, 400);
    assert.equal(res.headers['x-amzn-errortype'], 'InvalidRequestException');
    assert.equal(published.some((p) => p.topic.includes('..')), false);
  });

  it('a WebSocket upgrade needs a valid presigned URL (spec 5.2)', async () => {
    const presigned = await smithyPresign({ key: admin, date: new Date(), expiresIn: 300 });
    const url = (query: string) => `ws://127.0.0.1:${listener.port}${query}`;
    const attempt = (target: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(target, 'mqtt', { headers: { host: '127.0.0.1:8443' } });
        ws.on('open', () => {
          ws.terminate();
          resolve(101);
        });
        ws.on('unexpected-response', (_req, res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        ws.on('error', reject);
      });
    assert.equal(await attempt(url(presigned.url)), 101);
    assert.equal(await attempt(url(presigned.url.replace('X-Amz-Expires=300', 'X-Amz-Expires=301'))), 403);
    assert.equal(await attempt(url('/mqtt')), 403);
  });

  it('GET /health is open', async () => {
    const res = await fetch(`${endpoint}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
    assert.ok(res.headers.get('x-amzn-requestid'));
  });
});

function pairsToObject(rawHeaders: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) out[rawHeaders[i]!] = rawHeaders[i + 1]!;
  return out;
}
