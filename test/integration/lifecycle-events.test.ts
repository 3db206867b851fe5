// Proves that the running server publishes AWS lifecycle events (presence and subscriptions) with
// AWS's fields when real clients connect, subscribe, unsubscribe, fail to connect and disconnect.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { issueClientCertificate, loadOrCreateCa } from '../../src/identity/index.js';
import { connectClient, endClient, issueDeviceCertificate, nextMessage, startTestServer } from './helpers/server.js';
import type { TestServer } from './helpers/server.js';

type Event = Record<string, unknown>;

for (const profile of ['aws', 'mqtt'] as const) {
  describe(`lifecycle events (${profile} profile)`, () => {
    let ts: TestServer;
    let watcher: MqttClient;

    /** Next event for `clientId` of `eventType`. */
    function nextEvent(eventType: string, clientId: string): Promise<Event> {
      return nextMessage(watcher, (topic) => topic.endsWith(`/${eventType}/${clientId}`)).then(
        (m) => JSON.parse(m.payload.toString()) as Event,
      );
    }

    before(async () => {
      ts = await startTestServer({ profile, dev: true });
      watcher = await connectClient(ts, 'tcp', { clientId: 'watcher' });
      // `#` does not match `$` topics, so the event topics are subscribed explicitly.
      await watcher.subscribeAsync(['$aws/events/presence/+/+', '$aws/events/subscriptions/+/+'], { qos: 1 });
    });
    after(async () => {
      await endClient(watcher);
      await ts.close();
    });

    it('connected → subscribed → unsubscribed → disconnected for a mutual-TLS client', async () => {
      const certificate = await issueDeviceCertificate(ts, 'sensor-1');
      const connected = nextEvent('connected', 'sensor-1');
      const client = await connectClient(ts, 'tls', { clientId: 'sensor-1', certificate });
      const c = await connected;
      assert.deepEqual(Object.keys(c), [
        'clientId', 'timestamp', 'eventType', 'sessionIdentifier', 'principalIdentifier', 'ipAddress', 'versionNumber',
      ]);
      assert.equal(c['clientId'], 'sensor-1');
      assert.equal(c['eventType'], 'connected');
      assert.equal(c['principalIdentifier'], certificate.certificateId);
      assert.equal(c['ipAddress'], '127.0.0.1');
      assert.equal(typeof c['versionNumber'], 'number');
      assert.equal(typeof c['sessionIdentifier'], 'string');
      assert.ok(Math.abs(Number(c['timestamp']) - Date.now()) < 10_000, 'timestamp is epoch ms');

      const subscribed = nextEvent('subscribed', 'sensor-1');
      await client.subscribeAsync(['foo/bar', 'device/+/data'], { qos: 1 });
      const s = await subscribed;
      assert.deepEqual(Object.keys(s), ['clientId', 'timestamp', 'eventType', 'sessionIdentifier', 'principalIdentifier', 'topics']);
      assert.deepEqual(s['topics'], ['foo/bar', 'device/+/data']);
      assert.equal(s['sessionIdentifier'], c['sessionIdentifier']);

      const unsubscribed = nextEvent('unsubscribed', 'sensor-1');
      await client.unsubscribeAsync('foo/bar');
      const u = await unsubscribed;
      assert.equal(u['eventType'], 'unsubscribed');
      assert.deepEqual(u['topics'], ['foo/bar']);

      const disconnected = nextEvent('disconnected', 'sensor-1');
      await endClient(client);
      const d = await disconnected;
      assert.deepEqual(Object.keys(d), [
        'clientId', 'timestamp', 'eventType', 'sessionIdentifier', 'principalIdentifier',
        'clientInitiatedDisconnect', 'disconnectReason', 'versionNumber',
      ]);
      assert.equal(d['clientInitiatedDisconnect'], true);
      assert.equal(d['disconnectReason'], 'CLIENT_INITIATED_DISCONNECT');
      assert.equal(d['versionNumber'], c['versionNumber']);
      assert.equal(d['sessionIdentifier'], c['sessionIdentifier']);
      assert.equal(d['principalIdentifier'], certificate.certificateId);
    });

    it('a dropped connection is CONNECTION_LOST, and version numbers only increase per client id', async () => {
      const first = nextEvent('connected', 'flaky');
      const a = await connectClient(ts, 'tcp', { clientId: 'flaky' });
      const v0 = Number((await first)['versionNumber']);
      const lost = nextEvent('disconnected', 'flaky');
      a.stream.destroy();
      const l = await lost;
      assert.equal(l['disconnectReason'], 'CONNECTION_LOST');
      assert.equal(l['clientInitiatedDisconnect'], false);
      assert.equal(l['principalIdentifier'], 'anonymous');
      a.end(true);

      const second = nextEvent('connected', 'flaky');
      const b = await connectClient(ts, 'wss', { clientId: 'flaky', protocolVersion: 4 });
      assert.ok(Number((await second)['versionNumber']) > v0);
      await endClient(b);
    });

    it('a takeover disconnects the old connection with DUPLICATE_CLIENTID', async () => {
      const old = await connectClient(ts, 'tcp', { clientId: 'twin' });
      old.on('error', () => {});
      const takenOver = nextEvent('disconnected', 'twin');
      const fresh = await connectClient(ts, 'tcp', { clientId: 'twin' });
      const t = await takenOver;
      assert.equal(t['disconnectReason'], 'DUPLICATE_CLIENTID');
      assert.equal(t['clientInitiatedDisconnect'], false);
      old.end(true);
      await endClient(fresh);
    });

    it('a refused connection publishes connect_failed', async () => {
      const foreignCa = await loadOrCreateCa(join(ts.dataDir, 'foreign-ca'));
      const stranger = await issueClientCertificate(foreignCa, { commonName: 'stranger' });
      const failed = nextEvent('connect_failed', 'intruder');
      await assert.rejects(connectClient(ts, 'tls', { clientId: 'intruder', certificate: stranger }));
      const f = await failed;
      assert.equal(f['eventType'], 'connect_failed');
      assert.equal(f['connectFailureReason'], 'AUTHORIZATION_FAILED');
      assert.equal(f['principalIdentifier'], stranger.certificateId);
      assert.equal(f['ipAddress'], '127.0.0.1');
      assert.equal(f['clientInitiatedDisconnect'], undefined);
      assert.equal(f['versionNumber'], undefined);
    });

    it('publishes nothing for a client id containing + or #', async () => {
      const seen: string[] = [];
      const onMessage = (topic: string): void => {
        if (topic.includes('odd')) seen.push(topic);
      };
      watcher.on('message', onMessage);
      try {
        const odd = await connectClient(ts, 'tcp', { clientId: 'odd+id' });
        await odd.subscribeAsync('x/y');
        await endClient(odd);
        // A later event on the same watcher proves the earlier ones would have arrived by now.
        const marker = nextEvent('connected', 'marker');
        const m = await connectClient(ts, 'tcp', { clientId: 'marker' });
        await marker;
        await endClient(m);
        assert.deepEqual(seen, []);
      } finally {
        watcher.off('message', onMessage);
      }
    });
  });
}
