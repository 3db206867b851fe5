// Proves that AWS's v1 device SDK (aws-iot-device-sdk `thingShadow`), connected over mutual TLS with a certificate registered through the identity service, works unmodified against the real server: register, update reported, get, a delta and a foreign state change after the cloud sets desired through the data-plane SDK, a version conflict seen by a stale client and resolved by a get, delete, and re-creation from the version the SDK remembers.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { GetThingShadowCommand, UpdateThingShadowCommand } from '@aws-sdk/client-iot-data-plane';
import type { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import type { IssuedCertificate } from '../../src/identity/index.js';
import { adminDataPlaneClient } from './helpers/aws.js';
import { issueDeviceCertificate, startTestServer } from './helpers/server.js';
import type { TestServer } from './helpers/server.js';

type Doc = Record<string, unknown>;

/** The part of the v1 SDK's ThingShadowsClient this test uses (the package ships no types). */
interface ThingShadow extends EventEmitter {
  register(thingName: string, options: Doc, callback?: (err?: Error, failedTopics?: unknown) => void): void;
  update(thingName: string, state: Doc): string | null;
  get(thingName: string, clientToken?: string): string | null;
  delete(thingName: string, clientToken?: string): string | null;
  end(force: boolean, callback?: () => void): void;
}
type ThingShadowFactory = (options: Doc) => ThingShadow;
const { thingShadow } = createRequire(import.meta.url)('aws-iot-device-sdk') as { thingShadow: ThingShadowFactory };

interface Status {
  readonly stat: 'accepted' | 'rejected';
  readonly token: string;
  readonly doc: Doc;
}

/** Resolves with the `status` event answering `token` (the SDK's return value of update/get/delete). */
function statusOf(shadow: ThingShadow, token: string | null, timeoutMs = 5000): Promise<Status> {
  assert.ok(token !== null, 'the SDK accepted the operation (none pending, thing registered)');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      shadow.off('status', onStatus);
      reject(new Error(`no status for ${token} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onStatus = (_thing: string, stat: 'accepted' | 'rejected', clientToken: string, doc: Doc): void => {
      if (clientToken !== token) return;
      clearTimeout(timer);
      shadow.off('status', onStatus);
      resolve({ stat, token: clientToken, doc });
    };
    shadow.on('status', onStatus);
  });
}

/** Resolves with the arguments of the next `event` for which `accept` holds. */
function nextEvent(shadow: ThingShadow, event: string, accept: (...args: unknown[]) => boolean = () => true, timeoutMs = 5000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      shadow.off(event, listener);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (...args: unknown[]): void => {
      if (!accept(...args)) return;
      clearTimeout(timer);
      shadow.off(event, listener);
      resolve(args);
    };
    shadow.on(event, listener);
  });
}

describe('the v1 device SDK thingShadow over mutual TLS', () => {
  let ts: TestServer;
  let cert: IssuedCertificate;
  let caPem: string;
  let cloud: IoTDataPlaneClient;
  const shadows: ThingShadow[] = [];

  const connectShadow = async (clientId: string): Promise<ThingShadow> => {
    const shadow = thingShadow({
      host: 'localhost',
      port: ts.endpoints.mqtts.port,
      protocol: 'mqtts',
      clientId,
      privateKey: Buffer.from(cert.privateKeyPem),
      clientCert: Buffer.from(cert.certificatePem),
      caCert: Buffer.from(caPem),
      keepalive: 30,
      baseReconnectTimeMs: 250,
    });
    shadows.push(shadow);
    await nextEvent(shadow, 'connect');
    return shadow;
  };
  const register = (shadow: ThingShadow, thingName: string, options: Doc): Promise<void> =>
    new Promise((resolve, reject) => shadow.register(thingName, options, (err, failed) => (err !== undefined || failed !== undefined ? reject(err ?? new Error(`subscriptions refused: ${JSON.stringify(failed)}`)) : resolve())));
  const cloudUpdate = async (thingName: string, body: Doc): Promise<Doc> => {
    const out = await cloud.send(new UpdateThingShadowCommand({ thingName, payload: Buffer.from(JSON.stringify(body)) }));
    return JSON.parse(Buffer.from(out.payload ?? new Uint8Array()).toString()) as Doc;
  };

  before(async () => {
    // No plain MQTT, no anonymous clients: the device gets in by its registered certificate only.
    ts = await startTestServer({ profile: 'aws', dev: false });
    cert = await issueDeviceCertificate(ts, 'sdk-lamp');
    caPem = await readFile(join(ts.dataDir, 'ca.pem'), 'utf8');
    cloud = await adminDataPlaneClient(ts);
  });

  after(async () => {
    await Promise.all(shadows.map((s) => new Promise<void>((resolve) => s.end(true, () => resolve()))));
    cloud.destroy();
    await ts.close();
  });

  it('register, update reported, get; then the cloud sets desired: delta and foreignStateChange; the device reports it back', async () => {
    const device = await connectShadow('sdk-lamp');
    await register(device, 'sdk-lamp', { persistentSubscribe: true });

    const updated = await statusOf(device, device.update('sdk-lamp', { state: { reported: { on: false, brightness: 10 } } }));
    assert.equal(updated.stat, 'accepted');
    assert.match(updated.token, /^sdk-lamp-\d+$/);
    assert.deepEqual(updated.doc['state'], { reported: { on: false, brightness: 10 } });
    assert.equal(updated.doc['version'], 1);

    const got = await statusOf(device, device.get('sdk-lamp'));
    assert.equal(got.stat, 'accepted');
    assert.deepEqual(got.doc['state'], { reported: { on: false, brightness: 10 } });
    assert.equal(got.doc['version'], 1);

    const delta = nextEvent(device, 'delta');
    const foreign = nextEvent(device, 'foreignStateChange');
    const cloudAccepted = await cloudUpdate('sdk-lamp', { state: { desired: { on: true, brightness: 10 } } });
    assert.equal(cloudAccepted['version'], 2);
    const [deltaThing, deltaDoc] = (await delta) as [string, Doc];
    assert.equal(deltaThing, 'sdk-lamp');
    assert.deepEqual(deltaDoc['state'], { on: true });
    assert.equal(deltaDoc['version'], 2);
    const [, operation, foreignDoc] = (await foreign) as [string, string, Doc];
    assert.equal(operation, 'update');
    assert.deepEqual(foreignDoc['state'], { desired: { on: true, brightness: 10 } });

    // The device acts on the delta; the SDK sends the version it learnt from it (2).
    const reported = await statusOf(device, device.update('sdk-lamp', { state: { reported: { on: true } } }));
    assert.equal(reported.stat, 'accepted');
    assert.equal(reported.doc['version'], 3);
    const now = JSON.parse(Buffer.from((await cloud.send(new GetThingShadowCommand({ thingName: 'sdk-lamp' }))).payload ?? new Uint8Array()).toString()) as Doc;
    assert.deepEqual(now['state'], { desired: { on: true, brightness: 10 }, reported: { on: true, brightness: 10 } });
  });

  it('a client holding a stale version is rejected with 409 Version conflict; a get refreshes it and the retry is accepted', async () => {
    // Subscribed only while an operation is in flight, and deaf to deltas: it misses other writers.
    const stale = await connectShadow('sdk-lamp-app');
    await register(stale, 'sdk-lamp', { persistentSubscribe: false, ignoreDeltas: true });
    const unsubscribed = nextEvent(stale, 'packetreceive', (packet) => (packet as { cmd?: string }).cmd === 'unsuback');
    const first = await statusOf(stale, stale.get('sdk-lamp'));
    assert.equal(first.doc['version'], 3);
    await unsubscribed;

    assert.equal((await cloudUpdate('sdk-lamp', { state: { desired: { brightness: 80 } } }))['version'], 4);

    const refused = await statusOf(stale, stale.update('sdk-lamp', { state: { desired: { brightness: 20 } } }));
    assert.equal(refused.stat, 'rejected');
    assert.equal(refused.doc['code'], 409);
    assert.equal(refused.doc['message'], 'Version conflict');

    const refreshed = await statusOf(stale, stale.get('sdk-lamp'));
    assert.equal(refreshed.doc['version'], 4);
    const retried = await statusOf(stale, stale.update('sdk-lamp', { state: { desired: { brightness: 20 } } }));
    assert.equal(retried.stat, 'accepted');
    assert.equal(retried.doc['version'], 5);
  });

  it('delete is accepted with the deleted version; get is then rejected 404; the next update (carrying the remembered version) re-creates it', async () => {
    const device = shadows[0];
    assert.ok(device !== undefined);
    // The device saw version 5 as a foreign update; its delete carries it and is accepted.
    const deleted = await statusOf(device, device.delete('sdk-lamp'));
    assert.equal(deleted.stat, 'accepted');
    assert.equal(deleted.doc['version'], 5);

    const missing = await statusOf(device, device.get('sdk-lamp'));
    assert.equal(missing.stat, 'rejected');
    assert.equal(missing.doc['code'], 404);
    assert.equal(missing.doc['message'], "No shadow exists with name: 'sdk-lamp'");

    const again = await statusOf(device, device.update('sdk-lamp', { state: { reported: { on: false } } }));
    assert.equal(again.stat, 'accepted', JSON.stringify(again.doc));
    assert.equal(again.doc['version'], 6);
    assert.deepEqual(again.doc['state'], { reported: { on: false } });
  });
});
