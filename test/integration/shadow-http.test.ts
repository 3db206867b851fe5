// Proves that AWS's own IoTDataPlaneClient (HTTPS, SigV4 with the data dir's admin key, trusting ca.pem) drives device shadows on the real server exactly as spec/http-api.md 4 and spec/shadow.md describe: raw JSON documents for get/update/delete, named shadows and ListNamedShadowsForThing paging, 409 ConflictException on a version mismatch, the spec's InvalidRequestException messages for bad input, an HTTP update or delete seen by MQTT subscribers as the same messages an MQTT request produces (and a refusal publishing nothing), a body with no content type, and the shadow history extension.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import {
  ConflictException,
  DeleteThingShadowCommand,
  GetThingShadowCommand,
  InvalidRequestException,
  ListNamedShadowsForThingCommand,
  RequestEntityTooLargeException,
  ResourceNotFoundException,
  UpdateThingShadowCommand,
  UnsupportedDocumentEncodingException,
} from '@aws-sdk/client-iot-data-plane';
import type { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { SignatureV4 } from '@smithy/signature-v4';
import type { MqttClient } from 'mqtt';
import { NodeSha256 } from '../../src/api/sigv4-test-signer.js';
import { adminCredentials, adminDataPlaneClient, rejectsWith } from './helpers/aws.js';
import { connectClient, endClient, startTestServer } from './helpers/server.js';
import type { TestServer } from './helpers/server.js';

type Doc = Record<string, unknown>;

const prefix = (thing: string, shadow?: string): string => (shadow === undefined ? `$aws/things/${thing}/shadow` : `$aws/things/${thing}/shadow/name/${shadow}`);
const parse = (payload: Uint8Array | undefined): Doc => JSON.parse(Buffer.from(payload ?? new Uint8Array()).toString('utf8')) as Doc;
const json = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value), 'utf8');

function isEpochSeconds(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value - Date.now() / 1000) < 60;
}

/** Every message an MQTT client receives, in order. */
class Recorder {
  readonly messages: Array<{ topic: string; doc: Doc; raw: Buffer }> = [];
  constructor(client: MqttClient) {
    client.on('message', (topic, payload) => this.messages.push({ topic, doc: JSON.parse(payload.toString('utf8')) as Doc, raw: payload }));
  }
  /** Waits until `count` messages whose topic starts with `topicPrefix` arrived; answers them. */
  async waitFor(topicPrefix: string, count: number, timeoutMs = 5000): Promise<Array<{ topic: string; doc: Doc; raw: Buffer }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.filter((m) => m.topic.startsWith(topicPrefix));
      if (found.length >= count) return found;
      if (Date.now() > deadline) throw new Error(`expected ${count} messages under ${topicPrefix}, got ${found.map((m) => m.topic).join(', ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

describe('device shadows over the HTTP data plane with the AWS SDK v3 IoTDataPlaneClient', () => {
  let ts: TestServer;
  let data: IoTDataPlaneClient;
  let credentials: { accessKeyId: string; secretAccessKey: string };
  let caPem: string;
  let watcher: MqttClient;
  let seen: Recorder;

  before(async () => {
    ts = await startTestServer({ profile: 'aws', dev: true });
    credentials = await adminCredentials(ts.dataDir);
    caPem = await readFile(join(ts.dataDir, 'ca.pem'), 'utf8');
    data = await adminDataPlaneClient(ts);
    watcher = await connectClient(ts, 'tcp', { clientId: 'shadow-http-watcher' });
    seen = new Recorder(watcher);
    await watcher.subscribeAsync('$aws/things/+/shadow/#', { qos: 1 });
    await watcher.subscribeAsync('$aws/things/+/shadow/name/+/#', { qos: 1 });
  });

  after(async () => {
    data.destroy();
    await endClient(watcher);
    await ts.close();
  });

  it('UpdateThingShadow answers the accepted document, and MQTT subscribers get update/accepted, update/delta and update/documents', async () => {
    const out = await data.send(new UpdateThingShadowCommand({ thingName: 'lamp', payload: json({ state: { desired: { on: true, level: 3 } }, clientToken: 'h1' }) }));
    const accepted = parse(out.payload);
    assert.deepEqual(Object.keys(accepted), ['state', 'metadata', 'version', 'timestamp', 'clientToken']);
    assert.deepEqual(accepted['state'], { desired: { on: true, level: 3 } });
    assert.equal(accepted['version'], 1);
    assert.equal(accepted['clientToken'], 'h1');
    assert.ok(isEpochSeconds(accepted['timestamp']));

    const messages = await seen.waitFor(prefix('lamp') + '/', 3);
    // Only the request's own replies, in the order the MQTT path publishes them; no request topic, no get.
    assert.deepEqual(
      messages.map((m) => m.topic),
      ['update/accepted', 'update/delta', 'update/documents'].map((s) => `${prefix('lamp')}/${s}`),
    );
    assert.deepEqual(messages[0]?.raw, Buffer.from(out.payload ?? new Uint8Array()), 'update/accepted carries the HTTP body byte for byte');
    assert.deepEqual(messages[1]?.doc['state'], { on: true, level: 3 });
    assert.equal(messages[1]?.doc['version'], 1);
    assert.equal(messages[1]?.doc['clientToken'], 'h1');
    const documents = messages[2]?.doc ?? {};
    assert.equal(documents['previous'], null);
    assert.deepEqual((documents['current'] as Doc)['state'], { desired: { on: true, level: 3 } });
    assert.equal((documents['current'] as Doc)['version'], 1);
  });

  it('GetThingShadow answers the full document with its delta; a reported update that leaves no delta publishes none', async () => {
    await data.send(new UpdateThingShadowCommand({ thingName: 'lamp', payload: json({ state: { reported: { on: false, level: 3 } } }) }));
    const got = parse((await data.send(new GetThingShadowCommand({ thingName: 'lamp' }))).payload);
    assert.deepEqual(got['state'], { desired: { on: true, level: 3 }, reported: { on: false, level: 3 }, delta: { on: true } });
    assert.equal(got['version'], 2);
    assert.ok(isEpochSeconds(((got['metadata'] as Doc)['reported'] as Record<string, Doc>)['on']?.['timestamp']));
    assert.equal('clientToken' in got, false);

    const before = seen.messages.length;
    await data.send(new UpdateThingShadowCommand({ thingName: 'lamp', payload: json({ state: { reported: { on: true } } }) }));
    // The third update/documents of 'lamp' (two came before `before`).
    const messages = await seen.waitFor(prefix('lamp') + '/update/documents', 3);
    const after = seen.messages.slice(before).map((m) => m.topic);
    assert.deepEqual(after, [`${prefix('lamp')}/update/accepted`, `${prefix('lamp')}/update/documents`]);
    assert.equal((messages[2]?.doc['current'] as Doc)['version'], 3);
    const now = parse((await data.send(new GetThingShadowCommand({ thingName: 'lamp' }))).payload);
    assert.equal('delta' in (now['state'] as Doc), false);
  });

  it('a version conflict is 409 ConflictException and changes nothing; the current version is accepted', async () => {
    await rejectsWith(
      data.send(new UpdateThingShadowCommand({ thingName: 'lamp', payload: json({ state: { desired: { level: 9 } }, version: 1 }) })),
      ConflictException,
      409,
      'Version conflict',
    );
    const unchanged = parse((await data.send(new GetThingShadowCommand({ thingName: 'lamp' }))).payload);
    assert.equal(unchanged['version'], 3);
    assert.equal((unchanged['state'] as Record<string, Doc>)['desired']?.['level'], 3);
    const ok = parse((await data.send(new UpdateThingShadowCommand({ thingName: 'lamp', payload: json({ state: { desired: { level: 9 } }, version: 3 }) }))).payload);
    assert.equal(ok['version'], 4);
  });

  it('named shadows are separate documents; ListNamedShadowsForThing pages through them in name order, never listing the classic shadow', async () => {
    const names = ['s5', 's1', 'cfg', 's3', 'a$b', 's2', 's4'];
    for (const shadowName of names) {
      const out = parse((await data.send(new UpdateThingShadowCommand({ thingName: 'multi', shadowName, payload: json({ state: { reported: { name: shadowName } } }) }))).payload);
      assert.equal(out['version'], 1);
    }
    await data.send(new UpdateThingShadowCommand({ thingName: 'multi', payload: json({ state: { reported: { classic: true } } }) }));
    const named = parse((await data.send(new GetThingShadowCommand({ thingName: 'multi', shadowName: 'cfg' }))).payload);
    assert.deepEqual(named['state'], { reported: { name: 'cfg' } });
    const published = await seen.waitFor(prefix('multi', 'a$b') + '/update/accepted', 1);
    assert.equal(published.length, 1);

    const pages: string[][] = [];
    let nextToken: string | undefined;
    do {
      const page = await data.send(new ListNamedShadowsForThingCommand({ thingName: 'multi', pageSize: 3, ...(nextToken === undefined ? {} : { nextToken }) }));
      pages.push(page.results ?? []);
      assert.ok(isEpochSeconds(page.timestamp));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    assert.deepEqual(pages, [
      ['a$b', 'cfg', 's1'],
      ['s2', 's3', 's4'],
      ['s5'],
    ]);
    const all = await data.send(new ListNamedShadowsForThingCommand({ thingName: 'multi' }));
    assert.deepEqual(all.results, [...names].sort());
    assert.equal(all.nextToken, undefined);

    const none = await data.send(new ListNamedShadowsForThingCommand({ thingName: 'nobody' }));
    assert.deepEqual(none.results, []);
    await rejectsWith(data.send(new ListNamedShadowsForThingCommand({ thingName: 'multi', nextToken: 'bm90IGEgdG9rZW4=' })), InvalidRequestException, 400, /^The nextToken is invalid/);
    await rejectsWith(
      data.send(new ListNamedShadowsForThingCommand({ thingName: 'multi', pageSize: 101 })),
      InvalidRequestException,
      400,
      "1 validation error detected: Value '101' at 'pageSize' failed to satisfy constraint: Member must have value less than or equal to 100",
    );
    await rejectsWith(
      data.send(new ListNamedShadowsForThingCommand({ thingName: 'multi', pageSize: 0 })),
      InvalidRequestException,
      400,
      "1 validation error detected: Value '0' at 'pageSize' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
  });

  it('DeleteThingShadow answers {version, timestamp}, publishes delete/accepted; then get is 404 and a re-create continues the version', async () => {
    await data.send(new UpdateThingShadowCommand({ thingName: 'gone', payload: json({ state: { reported: { x: 1 } } }) }));
    await data.send(new UpdateThingShadowCommand({ thingName: 'gone', payload: json({ state: { reported: { x: 2 } } }) }));
    const deleted = parse((await data.send(new DeleteThingShadowCommand({ thingName: 'gone' }))).payload);
    assert.deepEqual(Object.keys(deleted), ['version', 'timestamp']);
    assert.equal(deleted['version'], 2);
    const [message] = await seen.waitFor(prefix('gone') + '/delete/', 1);
    assert.equal(message?.topic, `${prefix('gone')}/delete/accepted`);
    assert.equal(message?.doc['version'], 2);

    await rejectsWith(data.send(new GetThingShadowCommand({ thingName: 'gone' })), ResourceNotFoundException, 404, "No shadow exists with name: 'gone'");
    await rejectsWith(data.send(new DeleteThingShadowCommand({ thingName: 'gone' })), ResourceNotFoundException, 404, "No shadow exists with name: 'gone'");
    await rejectsWith(
      data.send(new GetThingShadowCommand({ thingName: 'gone', shadowName: 'never' })),
      ResourceNotFoundException,
      404,
      "No shadow exists with name: 'never'",
    );
    const again = parse((await data.send(new UpdateThingShadowCommand({ thingName: 'gone', payload: json({ state: { reported: { x: 3 } } }) }))).payload);
    assert.equal(again['version'], 3);
    // Named: delete one, the others stay listed.
    await data.send(new DeleteThingShadowCommand({ thingName: 'multi', shadowName: 's3' }));
    assert.deepEqual((await data.send(new ListNamedShadowsForThingCommand({ thingName: 'multi' }))).results, ['a$b', 'cfg', 's1', 's2', 's4', 's5']);
  });

  it('bad input is InvalidRequestException (or 413 / 415) with the spec messages, and publishes nothing', async () => {
    const before = seen.messages.length;
    const bad = async (payload: string | Uint8Array, type: abstract new (...args: never[]) => Error, status: number, message: string): Promise<void> => {
      const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
      await rejectsWith(data.send(new UpdateThingShadowCommand({ thingName: 'badin', payload: bytes })), type, status, message);
    };
    await bad('{"state":', InvalidRequestException, 400, 'Invalid JSON');
    await bad('', InvalidRequestException, 400, 'Invalid JSON');
    await bad('[1,2]', InvalidRequestException, 400, 'Invalid JSON');
    await bad('{"clientToken":"x"}', InvalidRequestException, 400, 'Missing required node: state');
    await bad('{"state":"on"}', InvalidRequestException, 400, 'State node must be an object');
    await bad('{"state":{"desired":5}}', InvalidRequestException, 400, 'Desired node must be an object');
    await bad('{"state":{"reported":[1]}}', InvalidRequestException, 400, 'Reported node must be an object');
    await bad('{"state":{"delta":{"a":1}}}', InvalidRequestException, 400, "State contains an invalid node: 'delta'");
    await bad('{"state":{"desired":{"a":1}},"version":-1}', InvalidRequestException, 400, 'Invalid version');
    await bad(JSON.stringify({ state: { desired: { a: 1 } }, clientToken: 'x'.repeat(65) }), InvalidRequestException, 400, 'Invalid clientToken');
    await bad(
      JSON.stringify({ state: { desired: { a: { b: { c: { d: { e: { f: 1 } } } } } } } }),
      InvalidRequestException,
      400,
      'JSON contains too many levels of nesting; maximum is 6',
    );
    await bad(JSON.stringify({ state: { reported: { blob: 'x'.repeat(9000) } } }), RequestEntityTooLargeException, 413, 'The payload exceeds the maximum size allowed');
    await bad(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), UnsupportedDocumentEncodingException, 415, 'Unsupported documented encoding; supported encoding is UTF-8');
    await rejectsWith(
      data.send(new GetThingShadowCommand({ thingName: 'bad thing' })),
      InvalidRequestException,
      400,
      "1 validation error detected: Value 'bad thing' at 'thingName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+",
    );
    await rejectsWith(
      data.send(new UpdateThingShadowCommand({ thingName: 't', shadowName: 'x'.repeat(65), payload: json({ state: {} }) })),
      InvalidRequestException,
      400,
      `1 validation error detected: Value '${'x'.repeat(65)}' at 'shadowName' failed to satisfy constraint: Member must have length less than or equal to 64`,
    );
    // The nesting one just fits at 6 levels.
    await data.send(new UpdateThingShadowCommand({ thingName: 'badin', payload: json({ state: { desired: { a: { b: { c: { d: { e: 1 } } } } } } }) }));
    await seen.waitFor(prefix('badin') + '/update/documents', 1);
    const after = seen.messages.slice(before).map((m) => m.topic);
    assert.deepEqual(after.filter((t) => t.endsWith('/rejected')), [], 'no /rejected for HTTP requests');
    assert.deepEqual(after, ['update/accepted', 'update/delta', 'update/documents'].map((s) => `${prefix('badin')}/${s}`));
  });

  it('an update with no content type at all (as botocore sends it) is accepted; the history extension pages newest first', async () => {
    const signer = new SignatureV4({ service: 'iotdata', region: 'us-east-1', credentials, sha256: NodeSha256 });
    const send = async (method: string, path: string, query: Record<string, string>, body?: string): Promise<{ status: number; doc: Doc; headers: Record<string, unknown> }> => {
      const host = `localhost:${ts.endpoints.https.port}`;
      const signed = await signer.sign({
        method,
        protocol: 'https:',
        hostname: 'localhost',
        port: ts.endpoints.https.port,
        path,
        query,
        headers: { host, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) },
        ...(body === undefined ? {} : { body }),
      });
      const qs = new URLSearchParams(query).toString();
      return new Promise((resolve, reject) => {
        const req = httpsRequest(
          { host: '127.0.0.1', servername: 'localhost', port: ts.endpoints.https.port, method, path: qs === '' ? path : `${path}?${qs}`, headers: signed.headers, ca: caPem },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, doc: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Doc, headers: res.headers }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    };
    for (let i = 1; i <= 5; i++) {
      const res = await send('POST', '/things/hist/shadow', { name: 'cfg' }, JSON.stringify({ state: { reported: { step: i } } }));
      assert.equal(res.status, 200);
      assert.equal(res.doc['version'], i);
    }
    const first = await send('GET', '/things/hist/shadow/history', { name: 'cfg', limit: '2' });
    assert.equal(first.status, 200);
    assert.equal(first.headers['content-type'], 'application/json');
    const versions = first.doc['versions'] as Doc[];
    assert.deepEqual(versions.map((v) => v['version']), [5, 4]);
    assert.deepEqual(Object.keys(versions[0] ?? {}), ['version', 'timestamp', 'state', 'metadata']);
    assert.deepEqual(versions[0]?.['state'], { reported: { step: 5 } });
    assert.ok(isEpochSeconds(versions[0]?.['timestamp']));
    assert.equal(first.doc['nextBefore'], 4);
    const second = await send('GET', '/things/hist/shadow/history', { name: 'cfg', limit: '10', before: '4' });
    assert.deepEqual((second.doc['versions'] as Doc[]).map((v) => v['version']), [3, 2, 1]);
    assert.equal('nextBefore' in second.doc, false);
    const classic = await send('GET', '/things/hist/shadow/history', {});
    assert.deepEqual(classic.doc, { versions: [] });
    const badLimit = await send('GET', '/things/hist/shadow/history', { limit: '0' });
    assert.equal(badLimit.status, 400);
    assert.equal(badLimit.headers['x-amzn-errortype'], 'InvalidRequestException');
    assert.equal(badLimit.doc['message'], 'limit must be an integer from 1 to 100');
  });
});
