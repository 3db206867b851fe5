// Proves the mutual-TLS rule on the real server with MQTT.js (5.0 and 3.1.1) and Debian's mosquitto_pub / mosquitto_sub: a registered ACTIVE certificate connects (an MQTT user name alongside is ignored); unregistered, INACTIVE, REVOKED, expired, unknown-CA and INACTIVE-CA certificates are refused at CONNACK (0x86 / 0x87; 3.1.1 return codes 4 / 5); and a live connection is closed with DISCONNECT 0x87 when its certificate or its CA is set INACTIVE.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { issueClientCertificate, loadOrCreateCa } from '../../src/identity/index.js';
import type { CertificateAuthority, IssuedCertificate } from '../../src/identity/index.js';
import { allowEverything, connectClient, endClient, nextMessage, startTestServer } from './helpers/server.js';
import type { TestServer } from './helpers/server.js';

const missing = ['mosquitto_pub', 'mosquitto_sub'].filter((bin) => spawnSync(bin, ['--help']).error !== undefined);
const noMosquitto = missing.length > 0 ? `${missing.join(', ')} not installed (apt-get install mosquitto-clients)` : false;

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a binary with a hard timeout; the child is killed by its PID whatever happens. */
function run(bin: string, args: string[], timeoutMs: number): { child: ChildProcess; done: Promise<RunResult> } {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<RunResult>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${bin} ${args.join(' ')} still running after ${timeoutMs} ms\n${stderr}`)), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  }).finally(() => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  return { child, done };
}

type Credentials = Pick<IssuedCertificate, 'certificatePem' | 'privateKeyPem' | 'certificateId'>;

/**
 * The expected refusal, by protocol: the MQTT 5 CONNACK reason code and what mosquitto says; the
 * 3.1.1 return code, or null where the aws profile closes without a CONNACK as AWS IoT does for an
 * unauthorized 3.1.1 client (spec/mqtt.md section 3).
 */
const badCredentials = { v5: 0x86, v4: 4, mosquittoV5: /bad user name or password/i, mosquittoV311: /bad user name or password/i } as const;
const notAuthorized = { v5: 0x87, v4: null, mosquittoV5: /not authori[sz]ed/i, mosquittoV311: /./ } as const;

function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (condition()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

describe('mutual-TLS authentication against registered certificates', () => {
  let ts: TestServer;
  let files: string;
  let customerCa: CertificateAuthority;
  let foreignCa: CertificateAuthority;
  let fileCount = 0;

  before(async () => {
    ts = await startTestServer({ profile: 'aws', dev: false });
    files = join(ts.dataDir, 'client-files');
    await mkdir(files, { recursive: true });
    await writeFile(join(files, 'ca.pem'), ts.ca.certificatePem);
    customerCa = await loadOrCreateCa(join(ts.dataDir, 'customer-ca'));
    foreignCa = await loadOrCreateCa(join(ts.dataDir, 'foreign-ca'));
  });
  after(() => ts.close());

  const identity = () => ts.server.identity;

  async function issue(ca: CertificateAuthority, commonName: string, options: { notBefore?: Date; notAfter?: Date } = {}): Promise<IssuedCertificate> {
    return issueClientCertificate(ca, { commonName, ...options });
  }

  async function active(commonName: string): Promise<IssuedCertificate> {
    const issued = await issue(ts.ca, commonName);
    const { certificateArn } = await identity().registerCertificate({ certificatePem: issued.certificatePem, setAsActive: true });
    await allowEverything(ts, certificateArn); // IoT policies govern what it may do once in
    return issued;
  }

  /** Writes the certificate and key for mosquitto's --cert / --key. */
  async function writeCredentials(c: Credentials): Promise<string[]> {
    const n = ++fileCount;
    const cert = join(files, `cert-${n}.pem`);
    const key = join(files, `key-${n}.pem`);
    await writeFile(cert, c.certificatePem);
    await writeFile(key, c.privateKeyPem, { mode: 0o600 });
    return ['-h', 'localhost', '-p', String(ts.endpoints.mqtts.port), '--cafile', join(files, 'ca.pem'), '--cert', cert, '--key', key];
  }

  const connect = (c: Credentials, protocolVersion: 4 | 5, clientId: string, extra: { username?: string } = {}): Promise<MqttClient> =>
    connectClient(ts, 'tls', { protocolVersion, clientId, certificate: c, ...extra });

  async function assertRefused(c: Credentials, expected: typeof badCredentials | typeof notAuthorized, label: string): Promise<void> {
    for (const protocolVersion of [5, 4] as const) {
      await assert.rejects(connect(c, protocolVersion, `${label}-v${protocolVersion}`), (err: unknown) => {
        const code = protocolVersion === 5 ? expected.v5 : expected.v4;
        if (code === null) assert.match(String(err), /closed before CONNACK/, `${label}, MQTT ${protocolVersion}`);
        else assert.equal((err as { code?: number }).code, code, `${label}, MQTT ${protocolVersion}`);
        return true;
      });
    }
    if (noMosquitto === false) {
      const args = await writeCredentials(c);
      for (const version of ['mqttv5', 'mqttv311']) {
        const res = await run('mosquitto_pub', [...args, '-V', version, '-i', `${label}-mosq`, '-t', 'mtls/refused', '-m', 'x'], 10_000).done;
        assert.notEqual(res.code, 0, `${label}: mosquitto_pub ${version} must fail`);
        assert.match(res.stderr, version === 'mqttv5' ? expected.mosquittoV5 : expected.mosquittoV311, `${label}: mosquitto_pub ${version}: ${res.stderr}`);
      }
    }
  }

  it('accepts a registered ACTIVE certificate with MQTT.js 5.0 and 3.1.1, a user name on the side ignored', async () => {
    const device = await active('accepted');
    const subscriber = await connect(device, 5, 'accepted-sub');
    const publisher = await connect(device, 4, 'accepted-pub', { username: '?SDK=JavaScriptV2&Version=1.21.0&Platform=linux' });
    try {
      await subscriber.subscribeAsync('mtls/ok', { qos: 1 });
      const arrived = nextMessage(subscriber, (topic) => topic === 'mtls/ok');
      await publisher.publishAsync('mtls/ok', 'hello', { qos: 1 });
      assert.equal((await arrived).payload.toString(), 'hello');
    } finally {
      await Promise.all([endClient(subscriber), endClient(publisher)]);
    }
  });

  it('accepts a certificate registered without a CA, and one registered with an ACTIVE customer CA', async () => {
    const loner = await issue(foreignCa, 'loner');
    await allowEverything(ts, (await identity().registerCertificateWithoutCA({ certificatePem: loner.certificatePem, status: 'ACTIVE' })).certificateArn);
    await endClient(await connect(loner, 5, 'loner'));
    const { certificateId: caId } = await identity().registerCACertificate({ caCertificate: customerCa.certificatePem, setAsActive: true });
    const member = await issue(customerCa, 'member');
    await allowEverything(ts, (await identity().registerCertificate({ certificatePem: member.certificatePem, setAsActive: true })).certificateArn);
    await endClient(await connect(member, 4, 'member'));
    await identity().updateCACertificate({ certificateId: caId, newStatus: 'INACTIVE' });
    await assertRefused(member, notAuthorized, 'member-ca-inactive');
    await identity().updateCACertificate({ certificateId: caId, newStatus: 'ACTIVE' });
    await endClient(await connect(member, 5, 'member-again'));
  });

  it('mosquitto_pub and mosquitto_sub (3.1.1 and 5) connect with a registered ACTIVE certificate', { skip: noMosquitto }, async () => {
    const device = await active('mosquitto');
    const args = await writeCredentials(device);
    for (const version of ['mqttv5', 'mqttv311']) {
      const topic = `mtls/mosquitto/${version}`;
      const before = ts.server.broker.stats.subscriptions;
      const sub = run('mosquitto_sub', [...args, '-V', version, '-i', `msub-${version}`, '-t', topic, '-q', '1', '-C', '1', '-W', '10'], 15_000);
      await waitFor(() => ts.server.broker.stats.subscriptions > before, 5000, 'mosquitto_sub to subscribe');
      const pub = await run('mosquitto_pub', [...args, '-V', version, '-i', `mpub-${version}`, '-t', topic, '-m', `via ${version}`, '-q', '1'], 10_000).done;
      assert.equal(pub.code, 0, pub.stderr);
      const received = await sub.done;
      assert.equal(received.code, 0, received.stderr);
      assert.equal(received.stdout.trim(), `via ${version}`);
    }
  });

  it('refuses an unregistered certificate (0x86 / 4)', async () => {
    await assertRefused(await issue(ts.ca, 'unregistered'), badCredentials, 'unregistered');
  });

  it('refuses an INACTIVE certificate (0x87 / 5)', async () => {
    const c = await issue(ts.ca, 'inactive');
    await identity().registerCertificate({ certificatePem: c.certificatePem });
    await assertRefused(c, notAuthorized, 'inactive');
  });

  it('refuses a REVOKED certificate (0x87 / 5)', async () => {
    const c = await active('revoked');
    await identity().updateCertificate({ certificateId: c.certificateId, newStatus: 'REVOKED' });
    await assertRefused(c, notAuthorized, 'revoked');
  });

  it('refuses an expired certificate (0x86 / 4), registered ACTIVE', async () => {
    const c = await issue(ts.ca, 'expired', { notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
    await identity().registerCertificate({ certificatePem: c.certificatePem, setAsActive: true });
    await assertRefused(c, badCredentials, 'expired');
  });

  it('refuses a certificate signed by an unknown CA (0x86 / 4)', async () => {
    await assertRefused(await issue(foreignCa, 'stranger'), badCredentials, 'unknown-ca');
  });

  it('refuses a certificate whose registered CA is INACTIVE (0x87 / 5)', async () => {
    const otherCa = await loadOrCreateCa(join(ts.dataDir, 'inactive-ca'));
    const { certificateId: caId } = await identity().registerCACertificate({ caCertificate: otherCa.certificatePem, setAsActive: true });
    const c = await issue(otherCa, 'under-inactive-ca');
    await identity().registerCertificate({ certificatePem: c.certificatePem, setAsActive: true });
    await identity().updateCACertificate({ certificateId: caId, newStatus: 'INACTIVE' });
    await assertRefused(c, notAuthorized, 'ca-inactive');
  });

  it('closes live MQTT.js connections (DISCONNECT 0x87 under 5.0) when their certificate is set INACTIVE; others stay', async () => {
    const doomed = await active('doomed');
    const bystander = await active('bystander');
    const v5 = await connect(doomed, 5, 'doomed-v5');
    const v4 = await connect(doomed, 4, 'doomed-v4');
    const other = await connect(bystander, 5, 'bystander');
    try {
      const disconnected = new Promise<number | undefined>((resolve) => v5.once('disconnect', (packet) => resolve(packet.reasonCode)));
      const closedV5 = new Promise<void>((resolve) => v5.once('close', () => resolve()));
      const closedV4 = new Promise<void>((resolve) => v4.once('close', () => resolve()));
      await identity().updateCertificate({ certificateId: doomed.certificateId, newStatus: 'INACTIVE' });
      assert.equal(await disconnected, 0x87);
      await Promise.all([closedV5, closedV4]);
      assert.equal(other.connected, true);
      await other.subscribeAsync('mtls/still', { qos: 1 });
      const arrived = nextMessage(other, (topic) => topic === 'mtls/still');
      await other.publishAsync('mtls/still', 'here', { qos: 1 });
      assert.equal((await arrived).payload.toString(), 'here');
      await assert.rejects(connect(doomed, 5, 'doomed-again'), (err: unknown) => (err as { code?: number }).code === 0x87);
    } finally {
      v5.end(true);
      v4.end(true);
      await endClient(other);
    }
  });

  it('closes a live connection when its CA is set INACTIVE', async () => {
    const ca = await loadOrCreateCa(join(ts.dataDir, 'live-ca'));
    const { certificateId: caId } = await identity().registerCACertificate({ caCertificate: ca.certificatePem, setAsActive: true });
    const device = await issue(ca, 'live-ca-device');
    await allowEverything(ts, (await identity().registerCertificate({ certificatePem: device.certificatePem, setAsActive: true })).certificateArn);
    const client = await connect(device, 5, 'live-ca-device');
    const disconnected = new Promise<number | undefined>((resolve) => client.once('disconnect', (packet) => resolve(packet.reasonCode)));
    await identity().updateCACertificate({ certificateId: caId, newStatus: 'INACTIVE' });
    assert.equal(await disconnected, 0x87);
    client.end(true);
  });

  it('closes a live mosquitto_sub connection when its certificate is REVOKED', { skip: noMosquitto }, async () => {
    const device = await active('mosquitto-live');
    const args = await writeCredentials(device);
    const before = ts.server.broker.stats.subscriptions;
    const sub = run('mosquitto_sub', [...args, '-V', 'mqttv5', '-i', 'msub-live', '-t', 'mtls/live', '-q', '1', '-d'], 15_000);
    await waitFor(() => ts.server.broker.stats.subscriptions > before, 5000, 'mosquitto_sub to subscribe');
    await identity().updateCertificate({ certificateId: device.certificateId, newStatus: 'REVOKED' });
    // mosquitto_sub (-d prints packets) ends on its own once the server sends DISCONNECT 0x87 (135).
    const result = await sub.done;
    assert.match(result.stdout, /Received DISCONNECT \(135\)/, result.stdout + result.stderr);
    assert.equal([...ts.server.broker.clients()].some((c) => c.clientId === 'msub-live'), false);
  });
});
