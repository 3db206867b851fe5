// Proves that each listener hands over a working byte stream with the right peer facts: TCP, mutual
// TLS (peer certificate DER), and WebSocket at /mqtt on HTTP/HTTPS (subprotocols, 404s, health).
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { listenHttp, listenHttps, listenTcp, listenTls } from './index.js';
import type { ListenerHandle, PeerFacts } from './index.js';
import { issueClientCertificate, loadOrCreateCa, loadOrCreateServerCertificate } from '../identity/index.js';
import type { CertificateAuthority, ServerCertificate } from '../identity/index.js';

/** Echoes every byte back, and records what it was given. */
function echo(accepted: PeerFacts[]) {
  return (stream: Duplex, peer: PeerFacts): void => {
    accepted.push(peer);
    stream.on('error', () => {});
    stream.pipe(stream);
  };
}

async function wsRoundTrip(url: string, protocols: string[], ca?: string): Promise<{ protocol: string; echoed: Buffer }> {
  const ws = new WebSocket(url, protocols, ca === undefined ? {} : { ca });
  await once(ws, 'open');
  const reply = once(ws, 'message');
  ws.send(Buffer.from([0xc0, 0x00]));
  const [data] = (await reply) as [Buffer];
  const protocol = ws.protocol;
  ws.close();
  await once(ws, 'close');
  return { protocol, echoed: data };
}

async function upgradeStatus(url: string, protocols: string[] = ['mqtt']): Promise<number> {
  const ws = new WebSocket(url, protocols);
  ws.on('error', () => {});
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number; resume(): void }];
  response.resume();
  ws.terminate();
  return response.statusCode;
}

describe('transport', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let server: ServerCertificate;
  const handles: ListenerHandle[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'thingcore-transport-'));
    ca = await loadOrCreateCa(dir);
    server = await loadOrCreateServerCertificate(dir, ca, ['localhost', '127.0.0.1']);
  });
  after(async () => {
    await Promise.all(handles.map((h) => h.close({ graceMs: 100 })));
    await rm(dir, { recursive: true, force: true });
  });

  it('TCP: hands over the socket with address and port, bound on port 0', async () => {
    const accepted: PeerFacts[] = [];
    const handle = await listenTcp({ host: '127.0.0.1', port: 0, onConnection: echo(accepted) });
    handles.push(handle);
    assert.ok(handle.port > 0);
    const socket = connectTcp(handle.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('ping');
    const [data] = (await once(socket, 'data')) as [Buffer];
    assert.equal(data.toString(), 'ping');
    assert.equal(accepted[0]?.transport, 'tcp');
    assert.equal(accepted[0]?.remoteAddress, '127.0.0.1');
    assert.equal(accepted[0]?.remotePort, socket.localPort);
    assert.equal(handle.connections, 1);
    socket.destroy();
  });

  it('TLS: gives the client certificate DER, and hands over connections without one too', async () => {
    const accepted: PeerFacts[] = [];
    const handle = await listenTls({
      host: '127.0.0.1',
      port: 0,
      key: server.privateKeyPem,
      cert: server.certificatePem,
      ca: ca.certificatePem,
      onConnection: echo(accepted),
    });
    handles.push(handle);
    const client = await issueClientCertificate(ca, { commonName: 'device-1' });
    for (const withCert of [true, false]) {
      const socket = connectTls({
        host: '127.0.0.1',
        port: handle.port,
        servername: 'localhost',
        ca: ca.certificatePem,
        ...(withCert && { key: client.privateKeyPem, cert: client.certificatePem }),
      });
      await once(socket, 'secureConnect');
      socket.write('x');
      await once(socket, 'data');
      socket.destroy();
    }
    assert.equal(accepted.length, 2);
    assert.equal(accepted[0]?.transport, 'tls');
    assert.deepEqual(accepted[0]?.peerCertificateDer, new X509Certificate(client.certificatePem).raw);
    assert.equal(accepted[1]?.peerCertificateDer, undefined);
  });

  it('HTTP: /health answers 200, other requests 404 JSON', async () => {
    const handle = await listenHttp({ host: '127.0.0.1', port: 0, onConnection: echo([]) });
    handles.push(handle);
    const health = await fetch(`http://127.0.0.1:${handle.port}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const missing = await fetch(`http://127.0.0.1:${handle.port}/things`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { message: 'Not Found' });
  });

  it('HTTP: upgrades /mqtt to MQTT over WebSocket, choosing the subprotocol offered', async () => {
    const accepted: PeerFacts[] = [];
    const handle = await listenHttp({ host: '127.0.0.1', port: 0, onConnection: echo(accepted) });
    handles.push(handle);
    const url = `ws://127.0.0.1:${handle.port}/mqtt?X-Amz-Signature=abc`;
    assert.deepEqual(await wsRoundTrip(url, ['mqtt']), { protocol: 'mqtt', echoed: Buffer.from([0xc0, 0x00]) });
    assert.equal((await wsRoundTrip(url, ['mqttv3.1'])).protocol, 'mqttv3.1');
    assert.equal((await wsRoundTrip(url, ['foo', 'mqttv3.1', 'mqtt'])).protocol, 'mqtt');
    assert.equal(accepted[0]?.transport, 'ws');
    assert.equal(accepted[0]?.remoteAddress, '127.0.0.1');
    assert.equal(accepted[0]?.request?.url, '/mqtt?X-Amz-Signature=abc');
    assert.equal(typeof accepted[0]?.request?.headers['sec-websocket-key'], 'string');
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${handle.port}/other`), 404);
    assert.equal(await upgradeStatus(url, ['chat']), 400);
  });

  it('HTTPS: upgrades /mqtt to wss, trusting our CA', async () => {
    const accepted: PeerFacts[] = [];
    const handle = await listenHttps({
      host: '127.0.0.1',
      port: 0,
      key: server.privateKeyPem,
      cert: server.certificatePem,
      onConnection: echo(accepted),
    });
    handles.push(handle);
    const { protocol } = await wsRoundTrip(`wss://localhost:${handle.port}/mqtt`, ['mqtt'], ca.certificatePem);
    assert.equal(protocol, 'mqtt');
    assert.equal(accepted[0]?.transport, 'wss');
  });

  it('close() stops accepting and destroys connections still open after the grace period', async () => {
    const handle = await listenTcp({ host: '127.0.0.1', port: 0, onConnection: echo([]) });
    const socket = connectTcp(handle.port, '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    await new Promise((resolve) => setImmediate(resolve));
    const closed = once(socket, 'close');
    await handle.close({ graceMs: 50 });
    await closed;
    assert.equal(handle.close(), handle.close());
    const refused = connectTcp(handle.port, '127.0.0.1');
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED');
  });
});
