// Proves that MQTT.js clients on the real server use device shadows on the raw reserved topics exactly as spec/shadow.md describes: get 404 then 200, update accepted / delta / documents to every subscriber, named shadows, delete and re-create, and rejections with the spec's codes and messages.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient, nextMessage, startTestServer } from './helpers/server.js';
import type { TestServer } from './helpers/server.js';

type Doc = Record<string, unknown>;

const classic = (thing: string): string => `$aws/things/${thing}/shadow`;
const named = (thing: string, shadow: string): string => `$aws/things/${thing}/shadow/name/${shadow}`;

function parse(payload: Buffer): Doc {
  return JSON.parse(payload.toString('utf8')) as Doc;
}

function tokenOf(payload: Buffer): unknown {
  try {
    return parse(payload)['clientToken'];
  } catch {
    return undefined;
  }
}

/** Waits for the message on `topic` (with `token`, when given); start before publishing. */
function expectOn(client: MqttClient, topic: string, token?: string): Promise<Doc> {
  return nextMessage(client, (t, payload) => t === topic && (token === undefined || tokenOf(payload) === token)).then((m) => parse(m.payload));
}

/** Publishes a request and resolves with the reply on `{prefix}/{op}/{outcome}`. */
async function ask(client: MqttClient, prefix: string, op: 'get' | 'update' | 'delete', body: Doc | string | Buffer, outcome: 'accepted' | 'rejected'): Promise<Doc> {
  const token = typeof body === 'object' && !Buffer.isBuffer(body) && typeof body['clientToken'] === 'string' ? body['clientToken'] : undefined;
  const reply = expectOn(client, `${prefix}/${op}/${outcome}`, token);
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  await client.publishAsync(`${prefix}/${op}`, payload, { qos: 1 });
  return reply;
}

function isEpochSeconds(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value - Date.now() / 1000) < 60;
}

describe('device shadows over MQTT (dev server, aws profile)', () => {
  let ts: TestServer;
  let device: MqttClient;
  let app: MqttClient;

  before(async () => {
    ts = await startTestServer({ profile: 'aws', dev: true });
    device = await connectClient(ts, 'tcp', { clientId: 'shadow-device' });
    app = await connectClient(ts, 'tcp', { clientId: 'shadow-app', protocolVersion: 4 });
    // The device subscribes as the v1 SDK does; the app as the v2 SDK's request/response client.
    await device.subscribeAsync(
      ['delta', 'get/accepted', 'get/rejected', 'update/accepted', 'update/rejected', 'delete/accepted', 'delete/rejected'].map(
        (s) => `${classic('dev1')}/${s === 'delta' ? 'update/delta' : s}`,
      ),
      { qos: 1 },
    );
    await app.subscribeAsync([`${classic('dev1')}/get/+`, `${classic('dev1')}/update/accepted`, `${classic('dev1')}/update/rejected`, `${classic('dev1')}/update/documents`], {
      qos: 1,
    });
  });
  after(async () => {
    await endClient(device);
    await endClient(app);
    await ts.close();
  });

  it('get of a shadow that does not exist: 404 with the thing name and the clientToken', async () => {
    const reply = await ask(device, classic('dev1'), 'get', { clientToken: 'g-404' }, 'rejected');
    assert.deepEqual(Object.keys(reply), ['code', 'message', 'timestamp', 'clientToken']);
    assert.equal(reply['code'], 404);
    assert.equal(reply['message'], "No shadow exists with name: 'dev1'");
    assert.equal(reply['clientToken'], 'g-404');
    assert.ok(isEpochSeconds(reply['timestamp']));
  });

  it('update reported then desired: accepted echoes, delta goes to the device, documents to the app; get returns it all', async () => {
    const reported = await ask(device, classic('dev1'), 'update', { state: { reported: { color: 'red', temp: 20 } }, clientToken: 'u1' }, 'accepted');
    assert.deepEqual(Object.keys(reported), ['state', 'metadata', 'version', 'timestamp', 'clientToken']);
    assert.deepEqual(reported['state'], { reported: { color: 'red', temp: 20 } });
    assert.equal(reported['version'], 1);
    const t1 = reported['timestamp'];
    assert.ok(isEpochSeconds(t1));
    assert.deepEqual(reported['metadata'], { reported: { color: { timestamp: t1 }, temp: { timestamp: t1 } } });

    // The app changes desired: the device gets the delta, the app the documents; both see accepted.
    const delta = expectOn(device, `${classic('dev1')}/update/delta`, 'u2');
    const documents = expectOn(app, `${classic('dev1')}/update/documents`, 'u2');
    const deviceSeesAccepted = expectOn(device, `${classic('dev1')}/update/accepted`, 'u2');
    const accepted = await ask(app, classic('dev1'), 'update', { state: { desired: { color: 'green', temp: 20 } }, clientToken: 'u2', version: 1 }, 'accepted');
    assert.equal(accepted['version'], 2);
    assert.deepEqual(await deviceSeesAccepted, accepted, 'replies go to every subscriber, not only the requester');
    const d = await delta;
    assert.deepEqual(Object.keys(d), ['version', 'timestamp', 'state', 'metadata', 'clientToken']);
    assert.deepEqual(d['state'], { color: 'green' });
    assert.equal(d['version'], 2);
    const docs = await documents;
    assert.deepEqual(Object.keys(docs), ['previous', 'current', 'timestamp', 'clientToken']);
    assert.deepEqual((docs['previous'] as Doc)['state'], { reported: { color: 'red', temp: 20 } });
    assert.equal((docs['previous'] as Doc)['version'], 1);
    assert.deepEqual((docs['current'] as Doc)['state'], { desired: { color: 'green', temp: 20 }, reported: { color: 'red', temp: 20 } });
    assert.equal((docs['current'] as Doc)['version'], 2);

    const got = await ask(app, classic('dev1'), 'get', { clientToken: 'g-200' }, 'accepted');
    assert.deepEqual(Object.keys(got), ['state', 'metadata', 'version', 'timestamp', 'clientToken']);
    assert.deepEqual(got['state'], {
      desired: { color: 'green', temp: 20 },
      reported: { color: 'red', temp: 20 },
      delta: { color: 'green' },
    });
    assert.deepEqual(Object.keys(got['metadata'] as Doc), ['desired', 'reported']);
    assert.equal(got['version'], 2);

    // The device catches up: accepted, no delta.
    let sawDelta = false;
    const onDelta = (topic: string): void => void (topic.endsWith('/update/delta') && (sawDelta = true));
    device.on('message', onDelta);
    await ask(device, classic('dev1'), 'update', { state: { reported: { color: 'green' } }, clientToken: 'u3' }, 'accepted');
    const after = await ask(device, classic('dev1'), 'get', { clientToken: 'g-sync' }, 'accepted');
    device.off('message', onDelta);
    assert.equal(sawDelta, false, 'no delta when desired and reported agree');
    assert.equal((after['state'] as Doc)['delta'], undefined);
    assert.equal(after['version'], 3);
  });

  it('a version conflict is 409 on update/rejected', async () => {
    const reply = await ask(app, classic('dev1'), 'update', { state: { desired: { x: 1 } }, version: 1, clientToken: 'stale' }, 'rejected');
    assert.deepEqual([reply['code'], reply['message'], reply['clientToken']], [409, 'Version conflict', 'stale']);
  });

  it('named shadows are separate documents on their own topics', async () => {
    const client = await connectClient(ts, 'tcp', { clientId: 'named-client' });
    try {
      await client.subscribeAsync([`${named('dev1', 'cfg')}/+/+`, `${classic('dev1')}/get/accepted`], { qos: 1 });
      const notFound = await ask(client, named('dev1', 'cfg'), 'get', { clientToken: 'n0' }, 'rejected');
      assert.equal(notFound['message'], "No shadow exists with name: 'cfg'");
      const accepted = await ask(client, named('dev1', 'cfg'), 'update', { state: { desired: { rate: 5 } }, clientToken: 'n1' }, 'accepted');
      assert.equal(accepted['version'], 1);
      const got = await ask(client, named('dev1', 'cfg'), 'get', { clientToken: 'n2' }, 'accepted');
      assert.deepEqual(got['state'], { desired: { rate: 5 }, delta: { rate: 5 } });
      const classicDoc = await ask(client, classic('dev1'), 'get', { clientToken: 'n3' }, 'accepted');
      assert.equal(classicDoc['version'], 3, 'the classic shadow is untouched');
    } finally {
      await endClient(client);
    }
  });

  it('delete answers the deleted version; get is then 404; an update re-creates it with the next version', async () => {
    const client = await connectClient(ts, 'tcp', { clientId: 'deleter' });
    try {
      const prefix = classic('dev2');
      await client.subscribeAsync([`${prefix}/+/+`], { qos: 1 });
      await ask(client, prefix, 'update', { state: { reported: { a: 1 } }, clientToken: 'c1' }, 'accepted');
      await ask(client, prefix, 'update', { state: { reported: { a: 2 } }, clientToken: 'c2' }, 'accepted');
      // The v1 SDK sends a version with delete; it is ignored.
      const deleted = await ask(client, prefix, 'delete', { clientToken: 'del', version: 7 }, 'accepted');
      assert.deepEqual(Object.keys(deleted), ['version', 'timestamp', 'clientToken']);
      assert.equal(deleted['version'], 2);
      const gone = await ask(client, prefix, 'get', { clientToken: 'gone' }, 'rejected');
      assert.equal(gone['code'], 404);
      const again = await ask(client, prefix, 'delete', '', 'rejected');
      assert.equal(again['message'], "No shadow exists with name: 'dev2'");
      const documents = expectOn(client, `${prefix}/update/documents`, 're');
      const recreated = await ask(client, prefix, 'update', { state: { reported: { b: 1 } }, clientToken: 're' }, 'accepted');
      assert.equal(recreated['version'], 3, 'the version continues after a recent delete');
      assert.equal((await documents)['previous'], null);
    } finally {
      await endClient(client);
    }
  });

  it('bad requests are rejected with the spec code and message', async () => {
    const client = await connectClient(ts, 'tcp', { clientId: 'bad-input' });
    try {
      const prefix = classic('dev3');
      await client.subscribeAsync([`${prefix}/update/rejected`, `${prefix}/get/rejected`], { qos: 1 });
      const cases: Array<[string, string | Buffer, number, string]> = [
        ['not JSON', '{"state":', 400, 'Invalid JSON'],
        ['not an object', '[1,2]', 400, 'Invalid JSON'],
        ['no state', '{"clientToken":"x"}', 400, 'Missing required node: state'],
        ['state not an object', '{"state":5}', 400, 'State node must be an object'],
        ['desired not an object', '{"state":{"desired":"on"}}', 400, 'Desired node must be an object'],
        ['reported not an object', '{"state":{"reported":[1]}}', 400, 'Reported node must be an object'],
        ['delta written', '{"state":{"delta":{}}}', 400, "State contains an invalid node: 'delta'"],
        ['bad version', '{"state":{},"version":"1"}', 400, 'Invalid version'],
        ['long clientToken', JSON.stringify({ state: {}, clientToken: 'x'.repeat(65) }), 400, 'Invalid clientToken'],
        ['too deep', '{"state":{"reported":{"a":{"b":{"c":{"d":{"e":{"f":1}}}}}}}}', 400, 'JSON contains too many levels of nesting; maximum is 6'],
        ['null in an array', '{"state":{"reported":{"a":[null]}}}', 400, 'Invalid JSON'],
        ['oversized', JSON.stringify({ state: { reported: { blob: 'x'.repeat(8200) } } }), 413, 'The payload exceeds the maximum size allowed'],
        ['not UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), 415, 'Unsupported documented encoding; supported encoding is UTF-8'],
      ];
      for (const [name, payload, code, message] of cases) {
        const reply = await ask(client, prefix, 'update', payload, 'rejected');
        assert.deepEqual([reply['code'], reply['message']], [code, message], name);
      }
      const withToken = await ask(client, prefix, 'update', { state: 'x', clientToken: 'tok' }, 'rejected');
      assert.deepEqual(withToken, { code: 400, message: 'State node must be an object', timestamp: withToken['timestamp'], clientToken: 'tok' });
      const badGet = await ask(client, prefix, 'get', 'hello', 'rejected');
      assert.deepEqual([badGet['code'], badGet['message']], [400, 'Invalid JSON']);
      // Nothing was stored by any of them.
      const missing = await ask(client, prefix, 'get', { clientToken: 'm' }, 'rejected');
      assert.equal(missing['code'], 404);
    } finally {
      await endClient(client);
    }
  });

  it('bad thing and shadow names are rejected on their own reply topics', async () => {
    const client = await connectClient(ts, 'tcp', { clientId: 'bad-names' });
    try {
      await client.subscribeAsync(['$aws/things/bad.thing/shadow/update/rejected', `${named('dev1', 'bad.shadow')}/update/rejected`], { qos: 1 });
      const thing = await ask(client, '$aws/things/bad.thing/shadow', 'update', { state: {}, clientToken: 'bt' }, 'rejected');
      assert.equal(thing['code'], 400);
      assert.equal(
        thing['message'],
        "1 validation error detected: Value 'bad.thing' at 'thingName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+",
      );
      const shadow = await ask(client, named('dev1', 'bad.shadow'), 'update', { state: {} }, 'rejected');
      assert.match(String(shadow['message']), /at 'shadowName' failed to satisfy constraint: Member must satisfy regular expression pattern: \[\$a-zA-Z0-9:_-\]\+$/);
    } finally {
      await endClient(client);
    }
  });
});
