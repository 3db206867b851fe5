// Proves that MQTT.js clients (3.1.1 and 5.0) reach each other across plain TCP, mutual TLS and
// WSS on the real server, that TLS without a certificate from our CA is refused, that anonymous
// clients need --dev, and that endpoints.json holds the real ports.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'node:https';
import type { MqttClient } from 'mqtt';
import { issueClientCertificate, loadOrCreateCa } from '../../src/identity/index.js';
import { connectClient, endClient, nextMessage, startTestServer } from './helpers/server.js';
import type { TestServer, Transport } from './helpers/server.js';

const transports: readonly Transport[] = ['tcp', 'tls', 'wss'];

describe('transports (dev server, aws profile)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ profile: 'aws', dev: true });
  });
  after(() => ts.close());

  it('writes endpoints.json with the ports actually bound', async () => {
    const written = JSON.parse(await readFile(join(ts.dataDir, 'endpoints.json'), 'utf8')) as typeof ts.endpoints;
    assert.deepEqual(written, ts.endpoints);
    for (const endpoint of [written.mqtts, written.https, written.mqtt]) {
      assert.equal(endpoint?.host, '127.0.0.1');
      assert.ok((endpoint?.port ?? 0) > 0);
    }
    assert.equal(written.http, undefined);
    assert.equal(written.ws, `wss://127.0.0.1:${written.https.port}/mqtt`);
  });

  for (const protocolVersion of [4, 5] as const) {
    it(`MQTT ${protocolVersion === 4 ? '3.1.1' : '5.0'}: every transport's publish reaches every transport's subscriber`, async () => {
      const clients = new Map<Transport, MqttClient>();
      try {
        for (const transport of transports) {
          clients.set(transport, await connectClient(ts, transport, { protocolVersion, clientId: `x-${transport}-v${protocolVersion}` }));
        }
        const prefix = `cross/v${protocolVersion}`;
        for (const client of clients.values()) await client.subscribeAsync(`${prefix}/+`, { qos: 1 });
        const received = new Map<Transport, string[]>();
        const allArrived = Promise.all(
          [...clients].map(([transport, client]) => {
            const got: string[] = [];
            received.set(transport, got);
            return new Promise<void>((resolve) => {
              client.on('message', (topic, payload) => {
                if (!topic.startsWith(prefix)) return;
                got.push(`${topic}=${payload.toString()}`);
                if (got.length === transports.length) resolve();
              });
            });
          }),
        );
        for (const [transport, client] of clients) {
          await client.publishAsync(`${prefix}/from-${transport}`, `hello from ${transport}`, { qos: 1 });
        }
        await withTimeout(allArrived, 5000, () => `received: ${JSON.stringify(Object.fromEntries(received))}`);
        const expected = transports.map((t) => `${prefix}/from-${t}=hello from ${t}`).sort();
        for (const transport of transports) assert.deepEqual(received.get(transport)?.sort(), expected, `subscriber over ${transport}`);
      } finally {
        await Promise.all([...clients.values()].map((c) => endClient(c)));
      }
    });
  }

  it('a TLS publisher reaches a WSS subscriber with QoS 1 and the MQTT 5 properties intact', async () => {
    const subscriber = await connectClient(ts, 'wss', { clientId: 'wss-sub' });
    const publisher = await connectClient(ts, 'tls', { clientId: 'tls-pub' });
    try {
      await subscriber.subscribeAsync('telemetry/device-1', { qos: 1 });
      const arrived = new Promise<{ topic: string; payload: Buffer; contentType?: string; qos: number }>((resolve) => {
        subscriber.on('message', (topic, payload, packet) =>
          resolve({ topic, payload, qos: packet.qos, ...(packet.properties?.contentType !== undefined && { contentType: packet.properties.contentType }) }),
        );
      });
      await publisher.publishAsync('telemetry/device-1', Buffer.from('{"t":21.5}'), {
        qos: 1,
        properties: { contentType: 'application/json' },
      });
      const message = await withTimeout(arrived, 5000, () => 'no message');
      assert.equal(message.topic, 'telemetry/device-1');
      assert.equal(message.payload.toString(), '{"t":21.5}');
      assert.equal(message.qos, 1);
      assert.equal(message.contentType, 'application/json');
    } finally {
      await Promise.all([endClient(subscriber), endClient(publisher)]);
    }
  });

  it('carries a large payload over WSS (split across frames and TCP segments)', async () => {
    const subscriber = await connectClient(ts, 'tcp', { clientId: 'big-sub' });
    const publisher = await connectClient(ts, 'wss', { clientId: 'big-pub' });
    try {
      await subscriber.subscribeAsync('big/one', { qos: 1 });
      const payload = Buffer.alloc(100 * 1024, 7);
      const arrived = nextMessage(subscriber, (topic) => topic === 'big/one');
      await publisher.publishAsync('big/one', payload, { qos: 1 });
      assert.deepEqual((await arrived).payload, payload);
    } finally {
      await Promise.all([endClient(subscriber), endClient(publisher)]);
    }
  });

  for (const protocolVersion of [4, 5] as const) {
    it(`MQTT ${protocolVersion === 4 ? '3.1.1' : '5.0'}: TLS without a client certificate is refused`, async () => {
      await assert.rejects(connectClient(ts, 'tls', { protocolVersion, certificate: null, clientId: `nocert-v${protocolVersion}` }));
    });

    it(`MQTT ${protocolVersion === 4 ? '3.1.1' : '5.0'}: TLS with a certificate from a foreign CA is refused`, async () => {
      const foreignCa = await loadOrCreateCa(join(ts.dataDir, 'foreign-ca'));
      const stranger = await issueClientCertificate(foreignCa, { commonName: 'stranger' });
      await assert.rejects(connectClient(ts, 'tls', { protocolVersion, certificate: stranger, clientId: `foreign-v${protocolVersion}` }));
    });
  }

  it('MQTT 5: the refusal of a foreign certificate is CONNACK 0x86', async () => {
    const foreignCa = await loadOrCreateCa(join(ts.dataDir, 'foreign-ca'));
    const stranger = await issueClientCertificate(foreignCa, { commonName: 'stranger' });
    await assert.rejects(connectClient(ts, 'tls', { protocolVersion: 5, certificate: stranger }), (err: unknown) => {
      assert.equal((err as { code?: number }).code, 0x86);
      return true;
    });
  });

  it('answers GET /health on the HTTPS port', async () => {
    const { status, body } = await httpsGet(ts, '/health');
    assert.equal(status, 200);
    assert.deepEqual(JSON.parse(body), { status: 'ok' });
    // Every other path is the AWS-shaped API: an unsigned request is refused before routing.
    assert.equal((await httpsGet(ts, '/nowhere')).status, 403);
  });
});

describe('server topic aliases (dev server, mqtt profile)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ profile: 'mqtt', dev: true });
  });
  after(() => ts.close());

  for (const transport of ['tcp', 'wss'] as const) {
    it(`${transport}: an MQTT.js 5 client that allows aliases receives them and sees every message under its real topic`, async () => {
      const sub = await connectClient(ts, transport, { protocolVersion: 5, clientId: `alias-sub-${transport}`, properties: { topicAliasMaximum: 4 } });
      const pub = await connectClient(ts, transport, { protocolVersion: 5, clientId: `alias-pub-${transport}` });
      try {
        const prefix = `alias/${transport}`;
        await sub.subscribeAsync(`${prefix}/#`, { qos: 1 });
        const aliases: Array<number | undefined> = [];
        sub.on('packetreceive', (packet) => {
          if (packet.cmd === 'publish') aliases.push(packet.properties?.topicAlias);
        });
        const got: string[] = [];
        const all = new Promise<void>((resolve) => {
          sub.on('message', (topic, payload) => {
            got.push(`${topic}=${payload.toString()}`);
            if (got.length === 6) resolve();
          });
        });
        const sent: string[] = [];
        for (let i = 0; i < 3; i++) {
          for (const leaf of ['a', 'b']) {
            await pub.publishAsync(`${prefix}/${leaf}`, `${leaf}${i}`, { qos: 1 });
            sent.push(`${prefix}/${leaf}=${leaf}${i}`);
          }
        }
        await withTimeout(all, 5000, () => `received: ${JSON.stringify(got)}`);
        assert.deepEqual(got, sent);
        assert.deepEqual(aliases, [1, 2, 1, 2, 1, 2]);
      } finally {
        await endClient(sub);
        await endClient(pub);
      }
    });
  }
});

describe('transports (no --dev)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ profile: 'mqtt', dev: false, config: { mqttPort: 0 } });
  });
  after(() => ts.close());

  it('refuses anonymous plain-MQTT clients with 0x87 (3.1.1: return code 5)', async () => {
    await assert.rejects(connectClient(ts, 'tcp', { protocolVersion: 5 }), (err: unknown) => {
      assert.equal((err as { code?: number }).code, 0x87);
      return true;
    });
    await assert.rejects(connectClient(ts, 'tcp', { protocolVersion: 4 }), (err: unknown) => {
      assert.equal((err as { code?: number }).code, 5);
      return true;
    });
  });

  it('refuses WebSocket clients until SigV4 exists', async () => {
    await assert.rejects(connectClient(ts, 'wss', { protocolVersion: 5 }));
  });

  it('still accepts mutual-TLS clients with a certificate from our CA', async () => {
    const client = await connectClient(ts, 'tls', { protocolVersion: 5 });
    await endClient(client);
  });
});

async function withTimeout<T>(promise: Promise<T>, ms: number, describe: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${describe()}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function httpsGet(ts: TestServer, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: ts.endpoints.https.port,
        path,
        servername: 'localhost',
        ca: ts.ca.certificatePem,
        agent: new Agent({ keepAlive: false }),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
