// Proves that the shadow service does not act on a will (spec/shadow.md 2.1): a will published on a shadow update topic when its client drops still reaches subscribers, but no update/accepted follows and the shadow is not created, while the same payload published live is served.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient, nextMessage, startTestServer } from './helpers/server.js';
import type { TestServer } from './helpers/server.js';

describe('wills on shadow request topics', () => {
  let ts: TestServer;
  let watcher: MqttClient;

  before(async () => {
    ts = await startTestServer({ profile: 'aws', dev: true });
    watcher = await connectClient(ts, 'tcp', { clientId: 'will-watcher' });
    await watcher.subscribeAsync(['$aws/things/+/shadow/update', '$aws/things/+/shadow/update/accepted'], { qos: 1 });
  });
  after(async () => {
    await endClient(watcher);
    await ts.close();
  });

  it('a will on $aws/things/w1/shadow/update is delivered but not served; a live publish of the same payload is', async () => {
    const payload = JSON.stringify({ state: { reported: { online: false } } });
    const topics: string[] = [];
    watcher.on('message', (topic) => topics.push(topic));

    const device = await connectClient(ts, 'tcp', {
      clientId: 'will-device',
      will: { topic: '$aws/things/w1/shadow/update', payload: Buffer.from(payload), qos: 1, retain: false },
    });
    const will = nextMessage(watcher, (topic) => topic === '$aws/things/w1/shadow/update');
    device.stream.destroy(); // an abrupt end: the will goes out
    assert.equal((await will).payload.toString(), payload);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(topics, ['$aws/things/w1/shadow/update'], 'no update/accepted for the will');
    const stored = await ts.server.shadows.get('w1', undefined, Buffer.alloc(0));
    assert.equal(stored.ok, false, 'the will created no shadow');
    device.end(true);

    const live = await connectClient(ts, 'tcp', { clientId: 'live-device' });
    const accepted = nextMessage(watcher, (topic) => topic === '$aws/things/w1/shadow/update/accepted');
    await live.publishAsync('$aws/things/w1/shadow/update', payload, { qos: 1 });
    assert.equal(JSON.parse((await accepted).payload.toString())['version'], 1);
    await endClient(live);
  });
});
