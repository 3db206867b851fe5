// Proves that `thingcore serve` starts from the command line, writes endpoints.json, serves MQTT
// clients, logs JSON, exits 0 on SIGTERM after a clean shutdown, and exits 2 on a bad configuration.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'mqtt';
import type { MqttClient } from 'mqtt';
import { AttachPolicyCommand, CreatePolicyCommand, IoTClient, RegisterCertificateCommand } from '@aws-sdk/client-iot';
import { issueClientCertificate, loadOrCreateCa } from '../../src/identity/index.js';
import type { Endpoints } from '../../src/core/index.js';
import { adminCredentials } from './helpers/aws.js';

const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function runCli(args: string[]): { child: ChildProcess; output: () => { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, [mainJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, THINGCORE_DATA_DIR: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return { child, output: () => ({ stdout, stderr }) };
}

async function waitForFile(path: string, child: ChildProcess, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await readFile(path, 'utf8');
    } catch {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before writing ${path}`);
      if (Date.now() > deadline) throw new Error(`${path} not written within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function connectAndWait(url: string, options: Parameters<typeof connect>[1]): Promise<MqttClient> {
  const client = connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (err) => reject(err));
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

function kill(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

describe('thingcore serve', () => {
  it('starts, serves TCP and mutual-TLS clients, and exits 0 on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'thingcore-cli-'));
    const { child, output } = runCli(['serve', '--data-dir', dataDir, '--mqtts-port', '0', '--https-port', '0', '--mqtt-port', '0', '--http-port', '0', '--dev']);
    const clients: MqttClient[] = [];
    try {
      const endpoints = JSON.parse(await waitForFile(join(dataDir, 'endpoints.json'), child, 20_000)) as Endpoints;
      assert.ok(endpoints.mqtt !== undefined && endpoints.mqtt.port > 0);
      assert.ok(endpoints.mqtts.port > 0 && endpoints.https.port > 0);

      const subscriber = await connectAndWait(`mqtt://127.0.0.1:${endpoints.mqtt.port}`, { protocolVersion: 5, clientId: 'cli-sub' });
      clients.push(subscriber);
      await subscriber.subscribeAsync('cli/test', { qos: 1 });

      const ca = await loadOrCreateCa(dataDir);
      const device = await issueClientCertificate(ca, { commonName: 'cli-device' });
      // Mutual TLS accepts registered ACTIVE certificates only: register it through the API with the generated key.
      const iot = new IoTClient({
        endpoint: `http://127.0.0.1:${endpoints.http?.port ?? 0}`,
        region: 'us-east-1',
        credentials: await adminCredentials(dataDir),
      });
      const registered = await iot.send(new RegisterCertificateCommand({ certificatePem: device.certificatePem, setAsActive: true }));
      // …and IoT policies govern it: allow it what this test does.
      const allow = { Effect: 'Allow', Action: ['iot:Connect', 'iot:Publish'], Resource: '*' };
      await iot.send(new CreatePolicyCommand({ policyName: 'cli-device', policyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [allow] }) }));
      await iot.send(new AttachPolicyCommand({ policyName: 'cli-device', target: registered.certificateArn }));
      iot.destroy();
      const publisher = await connectAndWait(`mqtts://localhost:${endpoints.mqtts.port}`, {
        protocolVersion: 4,
        clientId: 'cli-pub',
        ca: ca.certificatePem,
        cert: device.certificatePem,
        key: device.privateKeyPem,
      });
      clients.push(publisher);
      const arrived = new Promise<string>((resolve) => subscriber.on('message', (_t, payload) => resolve(payload.toString())));
      await publisher.publishAsync('cli/test', 'over the wire', { qos: 1 });
      assert.equal(await arrived, 'over the wire');

      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
      assert.equal(signal, null, output().stderr);
      assert.equal(code, 0, output().stderr);

      const lines = output()
        .stdout.split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as { msg?: string });
      assert.ok(lines.some((l) => l.msg?.startsWith('listening on mqtts://')), 'logs the endpoints as JSON');
      assert.ok(lines.some((l) => l.msg === 'stopped'), 'logs the end of the shutdown');
      await assert.rejects(access(join(dataDir, 'endpoints.json')), 'endpoints.json is removed on a clean stop');
      await access(join(dataDir, 'thingcore.db'));
    } finally {
      for (const client of clients) client.end(true);
      kill(child);
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('exits 2 with a clear message on a bad configuration', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'thingcore-cli-'));
    const configPath = join(dir, 'thingcore.json');
    await writeFile(configPath, JSON.stringify({ mqttsPort: 'eighty', limits: { maxPayloadByte: 1 } }));
    const { child, output } = runCli(['serve', '--data-dir', dir, '--config', configPath]);
    try {
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 2);
      const { stderr } = output();
      assert.match(stderr, /invalid configuration \(.*thingcore\.json\)/);
      assert.match(stderr, /mqttsPort must be an integer/);
      assert.match(stderr, /unknown limit "limits\.maxPayloadByte"/);
    } finally {
      kill(child);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
