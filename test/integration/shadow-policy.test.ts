// Proves a device's policy walls it off from other devices' shadows: with the canonical per-thing
// policy, a device updates and reads its own shadow, while a request on another thing's shadow is
// refused, gets no reply, and changes nothing; and it cannot subscribe to another thing's replies.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateKeysAndCertificateCommand,
  CreatePolicyCommand,
  CreateThingCommand,
} from '@aws-sdk/client-iot';
import type { IoTClient } from '@aws-sdk/client-iot';
import type { MqttClient } from 'mqtt';
import { adminIotClient } from './helpers/aws.js';
import { connectClient, endClient, startTestServer, type TestServer } from './helpers/server.js';

const P = 'arn:aws:iot:us-east-1:000000000000';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connect as the thing; publish, subscribe and receive only on the thing's own shadow topics. */
const ownShadowOnly = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: 'iot:Connect', Resource: `${P}:client/\${iot:Connection.Thing.ThingName}` },
    { Effect: 'Allow', Action: 'iot:Publish', Resource: `${P}:topic/$aws/things/\${iot:Connection.Thing.ThingName}/shadow/*` },
    { Effect: 'Allow', Action: 'iot:Subscribe', Resource: `${P}:topicfilter/$aws/things/\${iot:Connection.Thing.ThingName}/shadow/*` },
    { Effect: 'Allow', Action: 'iot:Receive', Resource: `${P}:topic/$aws/things/\${iot:Connection.Thing.ThingName}/shadow/*` },
  ],
});

describe('shadows under IoT policies (mutual TLS, aws profile, no --dev)', () => {
  let ts: TestServer;
  let iot: IoTClient;
  let device: MqttClient;

  before(async () => {
    ts = await startTestServer({ profile: 'aws', dev: false, config: { httpPort: 0 } });
    iot = await adminIotClient(ts);
    await iot.send(new CreatePolicyCommand({ policyName: 'own-shadow-only', policyDocument: ownShadowOnly }));
    const cert = await iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
    await iot.send(new CreateThingCommand({ thingName: 'lamp-1' }));
    await iot.send(new CreateThingCommand({ thingName: 'lamp-2' }));
    await iot.send(new AttachThingPrincipalCommand({ thingName: 'lamp-1', principal: cert.certificateArn }));
    await iot.send(new AttachPolicyCommand({ policyName: 'own-shadow-only', target: cert.certificateArn }));
    device = await connectClient(ts, 'tls', {
      protocolVersion: 5,
      clientId: 'lamp-1',
      certificate: { certificatePem: cert.certificatePem ?? '', privateKeyPem: cert.keyPair?.PrivateKey ?? '' },
    });
  });

  after(async () => {
    if (device) await endClient(device);
    iot?.destroy();
    await ts?.close();
  });

  it("updates and reads its own shadow", async () => {
    const accepted = new Promise<string>((resolve) => device.once('message', (_t, p) => resolve(p.toString())));
    await device.subscribeAsync('$aws/things/lamp-1/shadow/update/accepted', { qos: 1 });
    await device.publishAsync('$aws/things/lamp-1/shadow/update', JSON.stringify({ state: { reported: { on: true } } }), { qos: 1 });
    const doc = JSON.parse(await accepted) as { state: { reported: { on: boolean } }; version: number };
    assert.equal(doc.state.reported.on, true);
    assert.equal(doc.version, 1);
  });

  it("a request on another thing's shadow is refused, answered nowhere, and changes nothing", async () => {
    const seen: string[] = [];
    const onMessage = (topic: string): void => {
      seen.push(topic);
    };
    device.on('message', onMessage);
    try {
      await assert.rejects(
        device.publishAsync('$aws/things/lamp-2/shadow/update', JSON.stringify({ state: { desired: { on: false } } }), { qos: 1 }),
        /Not authorized/,
      );
      await sleep(300);
      assert.deepEqual(seen, [], 'no reply of any kind reached the device');
      const other = await ts.server.shadows.get('lamp-2', undefined, Buffer.from('{}'));
      assert.equal(other.ok, false, "lamp-2's shadow still does not exist");
    } finally {
      device.off('message', onMessage);
    }
  });

  it("cannot subscribe to another thing's shadow replies", async () => {
    // MQTT 5: SUBACK 0x87, which mqtt.js reports as a rejected subscribe
    await assert.rejects(device.subscribeAsync('$aws/things/lamp-2/shadow/update/accepted', { qos: 1 }), /Not authorized/);
  });
});
