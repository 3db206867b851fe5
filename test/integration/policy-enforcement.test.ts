// Proves IoT policies are enforced end to end on the real server with MQTT.js over mutual TLS (certificates, things and policies made through the AWS API): connect, publish, subscribe, receive and retain are allowed or denied per policy with each profile's answer (aws: 3.1.1 closes, MQTT 5 reason codes; mqtt: CONNACK 5 / SUBACK 0x80 / PUBACK 0x87), TestAuthorization agrees with the broker case by case, live changes (detach, new default version, certificate deactivated, thing attributes) take effect on open connections without a message leaking, the anonymous plain-MQTT listener follows --anonymous-policy, and `thingcore device create` yields files that connect under their per-device policy.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateKeysAndCertificateCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateThingCommand,
  DetachPolicyCommand,
  TestAuthorizationCommand,
  UpdateCertificateCommand,
  UpdateThingCommand,
} from '@aws-sdk/client-iot';
import type { ActionType, IoTClient } from '@aws-sdk/client-iot';
import type { MqttClient } from 'mqtt';
import type { Message } from '../../src/mqtt/index.js';
import { adminIotClient } from './helpers/aws.js';
import { connectClient, endClient, nextMessage, startTestServer } from './helpers/server.js';
import type { TestServer } from './helpers/server.js';

const P = 'arn:aws:iot:us-east-1:000000000000';
const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Canonical policy A (spec/policy.md section 13) plus a Deny on Receive for one topic. */
const thingPolicy = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: 'iot:Connect',
      Resource: `${P}:client/\${iot:Connection.Thing.ThingName}`,
      Condition: { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } },
    },
    { Effect: 'Allow', Action: 'iot:Publish', Resource: [`${P}:topic/devices/\${iot:Connection.Thing.ThingName}/*`, `${P}:topic/$aws/things/\${iot:Connection.Thing.ThingName}/shadow/*`] },
    { Effect: 'Allow', Action: 'iot:Subscribe', Resource: [`${P}:topicfilter/devices/\${iot:Connection.Thing.ThingName}/*`, `${P}:topicfilter/$aws/things/\${iot:Connection.Thing.ThingName}/shadow/*`] },
    { Effect: 'Allow', Action: 'iot:Receive', Resource: [`${P}:topic/devices/\${iot:Connection.Thing.ThingName}/*`, `${P}:topic/$aws/things/\${iot:Connection.Thing.ThingName}/shadow/*`] },
    { Effect: 'Deny', Action: 'iot:Receive', Resource: `${P}:topic/devices/\${iot:Connection.Thing.ThingName}/secret` },
  ],
});

interface Device {
  readonly certificateId: string;
  readonly certificateArn: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

interface Harness {
  readonly ts: TestServer;
  readonly iot: IoTClient;
  /** Every message the broker routed (a consumer on '#'), to prove what did not leak. */
  readonly routed: Message[];
  close(): Promise<void>;
}

async function harness(options: Parameters<typeof startTestServer>[0]): Promise<Harness> {
  const ts = await startTestServer({ ...options, config: { ...options?.config, httpPort: 0 } });
  const iot = await adminIotClient(ts);
  const routed: Message[] = [];
  const stop = ts.server.broker.addConsumer('#', (m) => routed.push(m));
  return {
    ts,
    iot,
    routed,
    async close() {
      stop();
      iot.destroy();
      await ts.close();
    },
  };
}

/** A thing with an ACTIVE certificate attached, and the named policies attached to the certificate. */
async function thingDevice(h: Harness, thingName: string, policyNames: readonly string[]): Promise<Device> {
  const created = await h.iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
  const device: Device = {
    certificateId: created.certificateId ?? '',
    certificateArn: created.certificateArn ?? '',
    certificatePem: created.certificatePem ?? '',
    privateKeyPem: created.keyPair?.PrivateKey ?? '',
  };
  await h.iot.send(new CreateThingCommand({ thingName }));
  await h.iot.send(new AttachThingPrincipalCommand({ thingName, principal: device.certificateArn }));
  for (const policyName of policyNames) await h.iot.send(new AttachPolicyCommand({ policyName, target: device.certificateArn }));
  return device;
}

function connectAs(h: Harness, device: Device, clientId: string, protocolVersion: 4 | 5): Promise<MqttClient> {
  return connectClient(h.ts, 'tls', { certificate: device, clientId, protocolVersion });
}

async function decision(h: Harness, device: Device, clientId: string, actionType: ActionType, resource: string): Promise<string | undefined> {
  const out = await h.iot.send(new TestAuthorizationCommand({ principal: device.certificateArn, clientId, authInfos: [{ actionType, resources: [resource] }] }));
  return out.authResults?.[0]?.authDecision;
}

/** The error a refused operation ended with, its MQTT reason code in `code` (a SUBACK's: its first code). */
async function refusal(call: Promise<unknown>): Promise<{ code?: number; message: string }> {
  try {
    await call;
  } catch (err: unknown) {
    const e = err as { code?: number; message: string; packet?: { granted?: number[] } };
    const code = e.code ?? e.packet?.granted?.[0];
    return { message: e.message, ...(code === undefined ? {} : { code }) };
  }
  assert.fail('expected a refusal');
}

function closed(client: MqttClient, timeoutMs = 5000): Promise<void> {
  if (client.disconnected || !client.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the connection was not closed')), timeoutMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const profile of ['aws', 'mqtt'] as const) {
  describe(`policy enforcement over mutual TLS (${profile} profile)`, () => {
    let h: Harness;
    let device: Device;

    before(async () => {
      h = await harness({ profile, dev: false });
      await h.iot.send(new CreatePolicyCommand({ policyName: 'thing-policy', policyDocument: thingPolicy }));
      device = await thingDevice(h, 'sensor-1', ['thing-policy']);
      // Attached to the certificate as well: the client id decides which thing binds (spec/mqtt.md 16).
      await h.iot.send(new CreateThingCommand({ thingName: 'sensor-3' }));
      await h.iot.send(new AttachThingPrincipalCommand({ thingName: 'sensor-3', principal: device.certificateArn }));
    });
    after(() => h.close());

    it('iot:Connect: the client id of an attached thing connects; another is refused (MQTT 5 0x87; 3.1.1 per profile); TestAuthorization agrees', async () => {
      assert.equal(await decision(h, device, 'sensor-1', 'CONNECT', `${P}:client/sensor-1`), 'ALLOWED');
      for (const v of [5, 4] as const) await endClient(await connectAs(h, device, 'sensor-1', v));
      await endClient(await connectAs(h, device, 'sensor-3', 5));

      assert.equal(await decision(h, device, 'sensor-2', 'CONNECT', `${P}:client/sensor-2`), 'IMPLICIT_DENY');
      const v5 = await refusal(connectAs(h, device, 'sensor-2', 5));
      assert.equal(v5.code, 0x87);
      const v4 = await refusal(connectAs(h, device, 'sensor-2', 4));
      if (profile === 'aws') assert.match(v4.message, /closed before CONNACK/, 'AWS closes a refused 3.1.1 client without a CONNACK');
      else assert.equal(v4.code, 5);
    });

    it('iot:Publish: own topics allowed, others refused (MQTT 5 PUBACK 0x87; 3.1.1: aws closes, mqtt drops) and never routed', async () => {
      assert.equal(await decision(h, device, 'sensor-1', 'PUBLISH', `${P}:topic/devices/sensor-1/temp`), 'ALLOWED');
      assert.equal(await decision(h, device, 'sensor-1', 'PUBLISH', `${P}:topic/devices/sensor-2/temp`), 'IMPLICIT_DENY');
      assert.equal(await decision(h, device, 'sensor-1', 'PUBLISH', `${P}:topic/$aws/things/sensor-1/shadow/name/cfg/update`), 'ALLOWED');
      const v5 = await connectAs(h, device, 'sensor-1', 5);
      try {
        await v5.publishAsync('devices/sensor-1/temp', 'ok', { qos: 1 });
        assert.ok(h.routed.some((m) => m.topic === 'devices/sensor-1/temp'));
        assert.equal((await refusal(v5.publishAsync('devices/sensor-2/temp', 'no', { qos: 1 }))).code, 0x87);
        await v5.publishAsync('devices/sensor-2/temp', 'no', { qos: 0 }); // QoS 0: dropped, connection kept
        await v5.publishAsync('devices/sensor-1/after', 'still connected', { qos: 1 });
      } finally {
        await endClient(v5);
      }
      const v4 = await connectAs(h, device, 'sensor-1', 4);
      try {
        if (profile === 'aws') {
          void v4.publishAsync('devices/sensor-2/temp', 'no', { qos: 1 }).catch(() => undefined);
          await closed(v4);
        } else {
          await v4.publishAsync('devices/sensor-2/temp', 'no', { qos: 1 }); // acknowledged, dropped
          assert.equal(v4.connected, true);
        }
      } finally {
        await endClient(v4, true);
      }
      assert.equal(h.routed.filter((m) => m.topic === 'devices/sensor-2/temp').length, 0, 'a denied publish is never routed');
    });

    it('iot:Subscribe: the literal filter is matched (devices/sensor-1/# allowed, devices/+/temp refused: MQTT 5 SUBACK 0x87; 3.1.1: aws closes, mqtt SUBACK 0x80)', async () => {
      assert.equal(await decision(h, device, 'sensor-1', 'SUBSCRIBE', `${P}:topicfilter/devices/sensor-1/#`), 'ALLOWED');
      assert.equal(await decision(h, device, 'sensor-1', 'SUBSCRIBE', `${P}:topicfilter/devices/+/temp`), 'IMPLICIT_DENY');
      const v5 = await connectAs(h, device, 'sensor-1', 5);
      try {
        const granted = await v5.subscribeAsync('devices/sensor-1/#', { qos: 1 });
        assert.equal(granted[0]?.qos, 1);
        assert.equal((await refusal(v5.subscribeAsync('devices/+/temp', { qos: 1 }))).code, 0x87);
        assert.equal(v5.connected, true);
      } finally {
        await endClient(v5);
      }
      const v4 = await connectAs(h, device, 'sensor-1', 4);
      try {
        if (profile === 'aws') {
          void v4.subscribeAsync('devices/+/temp', { qos: 1 }).catch(() => undefined);
          await closed(v4);
        } else {
          assert.equal((await refusal(v4.subscribeAsync('devices/+/temp', { qos: 1 }))).code, 0x80);
          assert.equal(v4.connected, true);
        }
      } finally {
        await endClient(v4, true);
      }
    });

    it('iot:Receive: a denied topic is not delivered on an allowed subscription; iot:RetainPublish is needed to retain', async () => {
      assert.equal(await decision(h, device, 'sensor-1', 'RECEIVE', `${P}:topic/devices/sensor-1/secret`), 'EXPLICIT_DENY');
      assert.equal(await decision(h, device, 'sensor-1', 'RECEIVE', `${P}:topic/devices/sensor-1/cmd`), 'ALLOWED');
      const v5 = await connectAs(h, device, 'sensor-1', 5);
      try {
        await v5.subscribeAsync('devices/sensor-1/#', { qos: 1 });
        const seen: string[] = [];
        v5.on('message', (topic) => seen.push(topic));
        const arrived = nextMessage(v5, (topic) => topic === 'devices/sensor-1/cmd');
        await h.ts.server.broker.publish({ topic: 'devices/sensor-1/secret', payload: Buffer.from('s'), qos: 1 });
        await h.ts.server.broker.publish({ topic: 'devices/sensor-1/cmd', payload: Buffer.from('c'), qos: 1 });
        await arrived;
        assert.deepEqual(seen, ['devices/sensor-1/cmd'], 'the secret never arrives; the next message does');
        // Publish is allowed but RetainPublish is not: refused as a publish (spec/policy.md section 10).
        assert.equal((await refusal(v5.publishAsync('devices/sensor-1/state', 'r', { qos: 1, retain: true }))).code, 0x87);
      } finally {
        await endClient(v5);
      }
    });
  });
}

describe('policy changes on live connections (aws profile)', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ profile: 'aws', dev: false });
    await h.iot.send(new CreatePolicyCommand({ policyName: 'live-thing', policyDocument: thingPolicy }));
  });
  after(() => h.close());

  /** Publishes numbered QoS 1 messages until stopped; records which were acknowledged without error. */
  interface Publishing {
    readonly acked: Set<number>;
    readonly refused: Set<number>;
    /** Messages whose PUBLISH was sent after mark(). */
    readonly sentAfter: Set<number>;
    mark(): void;
    stop(): Promise<Publishing>;
  }
  function publishing(client: MqttClient, topic: string): Publishing {
    const acked = new Set<number>();
    const refused = new Set<number>();
    const sentAfter = new Set<number>();
    let marked = false;
    let running = true;
    const loop = (async () => {
      for (let n = 0; running && client.connected; n++) {
        if (marked) sentAfter.add(n);
        try {
          await client.publishAsync(topic, String(n), { qos: 1 });
          acked.add(n);
        } catch {
          refused.add(n);
        }
      }
    })();
    const self: Publishing = {
      acked,
      refused,
      sentAfter,
      mark: () => {
        marked = true;
      },
      async stop() {
        running = false;
        await Promise.race([loop, new Promise((r) => setTimeout(r, 1000))]);
        return self;
      },
    };
    return self;
  }

  it('DetachPolicy while a device publishes: the next publish is refused, the connection is closed (0x87), nothing sent after the detach is routed', async () => {
    const device = await thingDevice(h, 'live-1', ['live-thing']);
    const client = await connectAs(h, device, 'live-1', 5);
    const disconnect = new Promise<number | undefined>((resolve) => client.once('disconnect', (p) => resolve(p.reasonCode)));
    const pub = publishing(client, 'devices/live-1/stream');
    await waitFor(() => h.routed.filter((m) => m.topic === 'devices/live-1/stream').length >= 20, '20 messages through');
    await h.iot.send(new DetachPolicyCommand({ policyName: 'live-thing', target: device.certificateArn }));
    pub.mark();
    assert.equal(await disconnect, 0x87);
    const { sentAfter } = await pub.stop();
    const routed = new Set(h.routed.filter((m) => m.topic === 'devices/live-1/stream').map((m) => Number(m.payload.toString())));
    for (const n of sentAfter) assert.equal(routed.has(n), false, `message ${n}, sent after DetachPolicy returned, was routed`);
    client.end(true);
    assert.equal((await refusal(connectAs(h, device, 'live-1', 5))).code, 0x87, 'and it cannot come back');
  });

  it('a new default version that drops Publish: the connection stays, the next publish gets PUBACK 0x87 and is not routed', async () => {
    await h.iot.send(new CreatePolicyCommand({ policyName: 'live-versioned', policyDocument: thingPolicy }));
    const device = await thingDevice(h, 'live-2', ['live-versioned']);
    const client = await connectAs(h, device, 'live-2', 5);
    try {
      const pub = publishing(client, 'devices/live-2/stream');
      await waitFor(() => h.routed.filter((m) => m.topic === 'devices/live-2/stream').length >= 20, '20 messages through');
      const withoutPublish = JSON.parse(thingPolicy) as { Statement: Array<{ Action: string }> };
      withoutPublish.Statement = withoutPublish.Statement.filter((s) => s.Action !== 'iot:Publish');
      await h.iot.send(new CreatePolicyVersionCommand({ policyName: 'live-versioned', policyDocument: JSON.stringify(withoutPublish), setAsDefault: true }));
      pub.mark();
      await waitFor(() => pub.refused.size >= 10, '10 publishes refused');
      const { sentAfter, refused } = await pub.stop();
      assert.ok(sentAfter.size >= 10);
      const routed = new Set(h.routed.filter((m) => m.topic === 'devices/live-2/stream').map((m) => Number(m.payload.toString())));
      for (const n of sentAfter) {
        assert.equal(routed.has(n), false, `message ${n}, sent after the new default version, was routed`);
        assert.ok(refused.has(n), `message ${n} was refused with PUBACK 0x87`);
      }
      assert.equal(client.connected, true, 'Connect is still allowed: the connection stays');
      assert.equal((await refusal(client.publishAsync('devices/live-2/x', 'x', { qos: 1 }))).code, 0x87);
    } finally {
      await endClient(client);
    }
  });

  it('the will is authorized again when it is published: allowed at CONNECT, not sent once a new default version drops Publish', async () => {
    await h.iot.send(new CreatePolicyCommand({ policyName: 'live-will', policyDocument: thingPolicy }));
    const device = await thingDevice(h, 'live-will', ['live-will']);
    const will = (n: string): { topic: string; payload: Buffer; qos: 1; retain: false } => ({ topic: `devices/live-will/${n}`, payload: Buffer.from(n), qos: 1, retain: false });
    // Control: while the policy allows it, an abrupt close publishes the will.
    const first = await connectClient(h.ts, 'tls', { certificate: device, clientId: 'live-will', protocolVersion: 5, will: will('gone-1') });
    first.stream.destroy();
    await waitFor(() => h.routed.some((m) => m.topic === 'devices/live-will/gone-1'), 'the first will');
    const second = await connectClient(h.ts, 'tls', { certificate: device, clientId: 'live-will', protocolVersion: 5, will: will('gone-2') });
    const withoutPublish = JSON.parse(thingPolicy) as { Statement: Array<{ Action: string }> };
    withoutPublish.Statement = withoutPublish.Statement.filter((st) => st.Action !== 'iot:Publish');
    await h.iot.send(new CreatePolicyVersionCommand({ policyName: 'live-will', policyDocument: JSON.stringify(withoutPublish), setAsDefault: true }));
    assert.equal(second.connected, true, 'Connect is still allowed');
    const gone = new Promise<void>((resolve) => {
      const stop = h.ts.server.broker.addConsumer('$aws/events/presence/disconnected/live-will', () => {
        stop();
        resolve();
      });
    });
    second.stream.destroy();
    await gone; // the lifecycle event is published after the will would have been
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.routed.some((m) => m.topic === 'devices/live-will/gone-2'), false, 'the will was not published');
  });

  it('a deactivated certificate: DISCONNECT 0x87 at once, and nothing more is routed', async () => {
    const device = await thingDevice(h, 'live-3', ['live-thing']);
    const client = await connectAs(h, device, 'live-3', 5);
    const disconnect = new Promise<number | undefined>((resolve) => client.once('disconnect', (p) => resolve(p.reasonCode)));
    const pub = publishing(client, 'devices/live-3/stream');
    await waitFor(() => h.routed.filter((m) => m.topic === 'devices/live-3/stream').length >= 10, '10 messages through');
    await h.iot.send(new UpdateCertificateCommand({ certificateId: device.certificateId, newStatus: 'INACTIVE' }));
    pub.mark();
    assert.equal(await disconnect, 0x87);
    const { sentAfter } = await pub.stop();
    const routed = new Set(h.routed.filter((m) => m.topic === 'devices/live-3/stream').map((m) => Number(m.payload.toString())));
    for (const n of sentAfter) assert.equal(routed.has(n), false, `message ${n} was routed after the certificate was deactivated`);
    client.end(true);
  });

  it("thing attributes in a condition: UpdateThing changes an open connection's decisions without a reconnect", async () => {
    const adminTopics = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'iot:Publish', Resource: `${P}:topic/admin/*`, Condition: { StringEquals: { 'iot:Connection.Thing.Attributes[role]': 'admin' } } },
      ],
    });
    await h.iot.send(new CreatePolicyCommand({ policyName: 'live-admin', policyDocument: adminTopics }));
    const device = await thingDevice(h, 'live-4', ['live-thing', 'live-admin']);
    const client = await connectAs(h, device, 'live-4', 5);
    try {
      assert.equal((await refusal(client.publishAsync('admin/reboot', 'x', { qos: 1 }))).code, 0x87);
      await h.iot.send(new UpdateThingCommand({ thingName: 'live-4', attributePayload: { attributes: { role: 'admin' } } }));
      await waitFor(
        () => client.publishAsync('admin/reboot', 'y', { qos: 1 }).then(() => true, () => false),
        'publish to be allowed once the thing is an admin',
        2000,
      );
      await h.iot.send(new UpdateThingCommand({ thingName: 'live-4', attributePayload: { attributes: { role: 'viewer' } } }));
      await waitFor(
        () => client.publishAsync('admin/reboot', 'z', { qos: 1 }).then(() => false, (err: { code?: number }) => err.code === 0x87),
        'publish to be refused again',
        2000,
      );
      assert.equal(client.connected, true);
    } finally {
      await endClient(client);
    }
  });
});

describe('the plain listener under --anonymous-policy (no --dev)', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ profile: 'aws', dev: false, config: { mqttPort: 0, anonymousPolicy: 'anonymous-clients' } });
  });
  after(() => h.close());

  it('refuses anonymous clients until the policy exists, then allows what it allows, looked up live', async () => {
    assert.equal((await refusal(connectClient(h.ts, 'tcp', { clientId: 'anon-1', protocolVersion: 5 }))).code, 0x87);
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'iot:Connect', Resource: `${P}:client/anon-*` },
        { Effect: 'Allow', Action: ['iot:Publish', 'iot:Subscribe', 'iot:Receive'], Resource: [`${P}:topic/public/*`, `${P}:topicfilter/public/*`] },
      ],
    });
    await h.iot.send(new CreatePolicyCommand({ policyName: 'anonymous-clients', policyDocument: policy }));
    assert.equal((await refusal(connectClient(h.ts, 'tcp', { clientId: 'intruder', protocolVersion: 5 }))).code, 0x87);
    const client = await connectClient(h.ts, 'tcp', { clientId: 'anon-1', protocolVersion: 5 });
    try {
      await client.subscribeAsync('public/#', { qos: 1 });
      const arrived = nextMessage(client, (topic) => topic === 'public/news');
      await client.publishAsync('public/news', 'hi', { qos: 1 });
      await arrived;
      assert.equal((await refusal(client.publishAsync('private/x', 'no', { qos: 1 }))).code, 0x87);
      const tighter = JSON.parse(policy) as { Statement: unknown[] };
      tighter.Statement = tighter.Statement.slice(0, 1);
      await h.iot.send(new CreatePolicyVersionCommand({ policyName: 'anonymous-clients', policyDocument: JSON.stringify(tighter), setAsDefault: true }));
      assert.equal((await refusal(client.publishAsync('public/news', 'no longer', { qos: 1 }))).code, 0x87);
    } finally {
      await endClient(client);
    }
  });
});

/** Runs the built CLI against a data dir; killed by PID after 30 s. */
async function thingcore(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [mainJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, THINGCORE_DATA_DIR: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 30_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

describe('`thingcore device create`, then a device connects with the files it wrote; `thingcore policy …`', () => {
  let h: Harness;
  let work: string;
  let deviceCertificateId = '';
  before(async () => {
    h = await harness({ profile: 'aws', dev: false });
    work = await mkdtemp(join(tmpdir(), 'thingcore-policy-device-'));
  });
  after(async () => {
    await h.close();
    await rm(work, { recursive: true, force: true });
  });

  it('connects as the thing under its per-device policy, and only as that', async () => {
    const { code, stdout, stderr } = await thingcore(['device', 'create', 'lamp-7', '--out', join(work, 'lamp-7'), '--data-dir', h.ts.dataDir, '--json']);
    assert.equal(code, 0, stderr);
    const created = JSON.parse(stdout) as { policyName: string | null; certificateArn: string; certificateId: string };
    deviceCertificateId = created.certificateId;
    assert.equal(created.policyName, 'lamp-7-policy');

    const dir = join(work, 'lamp-7');
    const certificate = {
      certificatePem: await readFile(join(dir, 'cert.pem'), 'utf8'),
      privateKeyPem: await readFile(join(dir, 'key.pem'), 'utf8'),
      certificateId: '',
      certificateArn: created.certificateArn,
    };
    const client = await connectAs(h, certificate, 'lamp-7', 5);
    try {
      await client.subscribeAsync('lamp-7/hello', { qos: 1 });
      const arrived = nextMessage(client, (topic) => topic === 'lamp-7/hello');
      await client.publishAsync('lamp-7/hello', 'hi', { qos: 1 });
      await arrived;
      assert.equal((await refusal(client.publishAsync('lamp-8/hello', 'no', { qos: 1 }))).code, 0x87);
    } finally {
      await endClient(client);
    }
    assert.equal((await refusal(connectAs(h, certificate, 'someone-else', 5))).code, 0x87);
  });
  it('`thingcore policy explain` names the deciding statement or says no statement allowed it; list, get, create, attach, detach', async () => {
    const dataDir = ['--data-dir', h.ts.dataDir];
    const allowed = await thingcore(['policy', 'explain', '--cert', deviceCertificateId, '--client-id', 'lamp-7', '--action', 'iot:Publish', '--resource', 'lamp-7/hello', ...dataDir]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /ALLOWED \(ALLOWED\): iot:Publish on arn:aws:iot:us-east-1:000000000000:topic\/lamp-7\/hello allowed by policy "lamp-7-policy" version 1 Statement\[1\], Resource arn:aws:iot:us-east-1:000000000000:topic\/lamp-7\/\*/);
    const denied = await thingcore(['policy', 'explain', '--cert', deviceCertificateId, '--client-id', 'lamp-7', '--action', 'iot:Subscribe', '--resource', 'lamp-8/#', ...dataDir]);
    assert.equal(denied.code, 0, denied.stderr);
    assert.match(denied.stdout, /DENIED \(IMPLICIT_DENY\): iot:Subscribe on .*topicfilter\/lamp-8\/# denied: no statement allows it/);
    assert.match(denied.stdout, /lamp-7-policy\s+1\s+2\s+Allow\s+resource-not-matched/);

    const document = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iot:Publish', Resource: 'arn:aws:iot:us-east-1:000000000000:topic/lamp-8/*' }] });
    const create = await thingcore(['policy', 'create', 'lamp-extra', '--document', document, ...dataDir]);
    assert.equal(create.code, 0, create.stderr);
    assert.match(create.stdout, /created policy lamp-extra \(version 1\)/);
    const bad = await thingcore(['policy', 'create', 'lamp-bad', '--document', '{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}', ...dataDir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /MalformedPolicyException: .*Statement\[0\]/);
    assert.equal((await thingcore(['policy', 'attach', 'lamp-extra', '--cert', deviceCertificateId, ...dataDir])).code, 0);
    const now = await thingcore(['policy', 'explain', '--cert', deviceCertificateId, '--client-id', 'lamp-7', '--action', 'iot:Publish', '--resource', 'lamp-8/hello', '--json', ...dataDir]);
    assert.equal((JSON.parse(now.stdout) as { results: Array<{ authDecision: string }> }).results[0]?.authDecision, 'ALLOWED');
    assert.equal((await thingcore(['policy', 'detach', 'lamp-extra', '--cert', deviceCertificateId, ...dataDir])).code, 0);

    const list = await thingcore(['policy', 'list', ...dataDir]);
    assert.match(list.stdout, /^NAME\s+ARN\n/);
    assert.match(list.stdout, /lamp-7-policy\s+arn:aws:iot:us-east-1:000000000000:policy\/lamp-7-policy/);
    const get = await thingcore(['policy', 'get', 'lamp-7-policy', ...dataDir]);
    assert.match(get.stdout, /Default version\s+1/);
    assert.match(get.stdout, /"iot:Connect"/);
    const usage = await thingcore(['policy', 'explain', '--client-id', 'x', '--action', 'iot:Publish', '--resource', 'x', ...dataDir]);
    assert.equal(usage.code, 2);
  });
});
