// Proves MQTT over WebSocket is authenticated the way AWS IoT does it: a SigV4-presigned URL
// (service iotdevicegateway, session token appended after signing) connects as the access key,
// while an unsigned, tampered or wrongly keyed URL is refused (without --dev).
import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { startTestServer, type TestServer } from './helpers/server.js';

const rfc3986 = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** The presigned URL as AWS IoT's own signing samples (and the v1 device SDK) build it. */
function presignedUrl(host: string, accessKeyId: string, secret: string, now: Date, sessionToken?: string): string {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const scope = `${date}/us-east-1/iotdevicegateway/aws4_request`;
  const query = [
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-SignedHeaders', 'host'],
  ]
    .map(([k, v]) => `${rfc3986(k!)}=${rfc3986(v!)}`)
    .sort()
    .join('&');
  const canonical = ['GET', '/mqtt', query, `host:${host}\n`, 'host', createHash('sha256').update('').digest('hex')].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), 'us-east-1'), 'iotdevicegateway'), 'aws4_request');
  let url = `wss://${host}/mqtt?${query}&X-Amz-Signature=${createHmac('sha256', key).update(toSign).digest('hex')}`;
  if (sessionToken !== undefined) url += `&X-Amz-Security-Token=${rfc3986(sessionToken)}`;
  return url;
}

async function adminKey(dataDir: string): Promise<{ id: string; secret: string }> {
  const text = await readFile(join(dataDir, 'credentials'), 'utf8');
  const id = /aws_access_key_id\s*=\s*(\S+)/.exec(text)?.[1];
  const secret = /aws_secret_access_key\s*=\s*(\S+)/.exec(text)?.[1];
  assert.ok(id && secret, 'credentials file has the admin key');
  return { id, secret };
}

function tryConnect(url: string, ca: string, protocolVersion: 4 | 5): Promise<mqtt.MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { ca, protocolVersion, reconnectPeriod: 0, connectTimeout: 5000, clientId: `ws-${Math.random().toString(36).slice(2)}` });
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

describe('MQTT over WebSocket with SigV4 presigned URLs (no --dev)', () => {
  let ts: TestServer;
  let ca: string;
  let host: string;
  before(async () => {
    ts = await startTestServer({ dev: false });
    ca = await readFile(join(ts.dataDir, 'ca.pem'), 'utf8');
    host = `127.0.0.1:${ts.endpoints.https.port}`;
  });
  after(async () => {
    await ts?.close();
  });

  for (const protocolVersion of [4, 5] as const) {
    it(`MQTT ${protocolVersion === 4 ? '3.1.1' : '5.0'}: a presigned URL connects as the access key and can publish and receive`, async () => {
      const { id, secret } = await adminKey(ts.dataDir);
      const client = await tryConnect(presignedUrl(host, id, secret, new Date()), ca, protocolVersion);
      try {
        const principals = [...ts.server.broker.clients()].map((c) => c.principal);
        assert.ok(principals.some((p) => p.kind === 'accessKey' && p.id === id));
        await client.subscribeAsync('ws/sigv4/test', { qos: 1 });
        const got = new Promise<string>((resolve) => client.once('message', (_t, payload) => resolve(payload.toString())));
        await client.publishAsync('ws/sigv4/test', 'hello over wss', { qos: 1 });
        assert.equal(await got, 'hello over wss');
      } finally {
        await client.endAsync();
      }
    });
  }

  it('a session token that does not belong to the key is refused (the admin key is long-term: it has none)', async () => {
    const { id, secret } = await adminKey(ts.dataDir);
    await assert.rejects(tryConnect(presignedUrl(host, id, secret, new Date(), 'TOKEN/with+special='), ca, 4));
  });

  it('an unsigned URL is refused', async () => {
    await assert.rejects(tryConnect(`wss://${host}/mqtt`, ca, 4));
  });

  it('a tampered signature is refused', async () => {
    const { id, secret } = await adminKey(ts.dataDir);
    const url = presignedUrl(host, id, secret, new Date()).replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`);
    await assert.rejects(tryConnect(url, ca, 4));
  });

  it('a wrong secret or an unknown key is refused', async () => {
    const { id } = await adminKey(ts.dataDir);
    await assert.rejects(tryConnect(presignedUrl(host, id, 'not-the-secret', new Date()), ca, 4));
    await assert.rejects(tryConnect(presignedUrl(host, 'AKIAUNKNOWNKEY000000', 'x', new Date()), ca, 4));
  });

  it('a URL signed more than 15 minutes ago is refused', async () => {
    const { id, secret } = await adminKey(ts.dataDir);
    await assert.rejects(tryConnect(presignedUrl(host, id, secret, new Date(Date.now() - 20 * 60_000)), ca, 4));
  });
});
