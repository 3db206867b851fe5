// Proves that the admin commands, run as child processes against a real `thingcore serve`, manage
// devices end to end over the public API: `device create` yields files a device connects with over
// mutual TLS, things and certificates can be listed, described and deleted, and wrong credentials or
// a stopped server end with exit code 1 and a clear message.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'mqtt';
import type { MqttClient } from 'mqtt';

const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** The repository's node_modules, so the generated connect.mjs can import mqtt. */
const nodeModules = fileURLToPath(new URL('../../../node_modules', import.meta.url));

interface Endpoints {
  readonly mqtts: { readonly host: string; readonly port: number };
  readonly https: { readonly host: string; readonly port: number };
}

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (killed by PID after `timeoutMs`). */
async function runProcess(command: string, args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, THINGCORE_DATA_DIR: '' },
    ...(options.cwd !== undefined && { cwd: options.cwd }),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => kill(child), options.timeoutMs ?? 30_000);
  try {
    const [code] = (await once(child, 'close')) as [number | null];
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
    kill(child);
  }
}

function thingcore(...args: string[]): Promise<CliResult> {
  return runProcess(process.execPath, [mainJs, ...args]);
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

async function waitForFile(path: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await readFile(path, 'utf8');
    } catch {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before writing ${path}:\n${output()}`);
      if (Date.now() > deadline) throw new Error(`${path} not written within ${timeoutMs} ms:\n${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function connectAndWait(url: string, options: Parameters<typeof connect>[1]): Promise<MqttClient> {
  const client = connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const missingMosquitto = ['mosquitto_pub', 'mosquitto_sub'].filter((bin) => spawnSync(bin, ['--help']).error !== undefined);

describe('thingcore admin commands against a running server', () => {
  let work: string;
  let dataDir: string;
  let server: ChildProcess | undefined;
  let serverOutput = '';
  let endpoints: Endpoints;
  /** From `device create sensor-1`. */
  let device: { certificateId: string; certificateArn: string; policyName: string | null; files: Record<string, string> };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'thingcore-cli-admin-'));
    dataDir = join(work, 'data');
    server = spawn(
      process.execPath,
      [mainJs, 'serve', '--data-dir', dataDir, '--mqtts-port', '0', '--https-port', '0', '--mqtt-port', '0', '--dev', '--log-level', 'warn'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, THINGCORE_DATA_DIR: '' } },
    );
    server.stdout?.setEncoding('utf8').on('data', (s: string) => (serverOutput += s));
    server.stderr?.setEncoding('utf8').on('data', (s: string) => (serverOutput += s));
    endpoints = JSON.parse(await waitForFile(join(dataDir, 'endpoints.json'), server, () => serverOutput, 20_000)) as Endpoints;
  });

  after(async () => {
    if (server !== undefined) kill(server);
    await rm(work, { recursive: true, force: true });
  });

  it('device create makes a thing, an active attached certificate and files a device connects with', async () => {
    const out = join(work, 'devices', 'sensor-1');
    const created = await thingcore('device', 'create', 'sensor-1', '--out', out, '--data-dir', dataDir, '--json');
    assert.equal(created.code, 0, created.stderr + serverOutput);
    device = JSON.parse(created.stdout) as typeof device;
    assert.match(device.certificateId, /^[0-9a-f]{64}$/);
    if (device.policyName === null) assert.match(created.stderr, /notice: the server does not offer policies yet/);
    else assert.equal(device.policyName, 'sensor-1-policy');
    assert.equal((await stat(join(out, 'key.pem'))).mode & 0o777, 0o600);
    assert.equal(await readFile(join(out, 'ca.pem'), 'utf8'), await readFile(join(dataDir, 'ca.pem'), 'utf8'));

    // mqtt.js over mutual TLS with the generated files: a publish/subscribe round trip on the device's topic.
    const client = await connectAndWait(`mqtts://localhost:${endpoints.mqtts.port}`, {
      clientId: 'sensor-1',
      ca: await readFile(join(out, 'ca.pem')),
      cert: await readFile(join(out, 'cert.pem')),
      key: await readFile(join(out, 'key.pem')),
    });
    try {
      await client.subscribeAsync('sensor-1/hello', { qos: 1 });
      const arrived = new Promise<string>((resolve) => client.once('message', (_topic, payload) => resolve(payload.toString())));
      await client.publishAsync('sensor-1/hello', 'round trip', { qos: 1 });
      assert.equal(await arrived, 'round trip');
    } finally {
      client.end(true);
    }

    // The generated snippet itself (it imports mqtt: give it the repository's node_modules).
    await symlink(nodeModules, join(work, 'devices', 'node_modules'), 'dir');
    const snippet = await runProcess(process.execPath, ['connect.mjs'], { cwd: out, timeoutMs: 20_000 });
    assert.equal(snippet.code, 0, snippet.stderr);
    assert.equal(snippet.stdout, 'received on sensor-1/hello: {"message":"hello from sensor-1"}\n');

    const again = await thingcore('device', 'create', 'sensor-1', '--out', join(work, 'devices', 'again'), '--data-dir', dataDir);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^thingcore: thing sensor-1 already exists/);
  });

  it(
    "README.txt's mosquitto_sub / mosquitto_pub lines work as written",
    { skip: missingMosquitto.length > 0 ? `${missingMosquitto.join(', ')} not installed (apt-get install mosquitto-clients)` : false },
    async () => {
      const out = join(work, 'devices', 'sensor-1');
      const readme = await readFile(join(out, 'README.txt'), 'utf8');
      const line = (program: string): string => {
        const found = readme.split('\n').find((l) => l.trim().startsWith(program));
        assert.ok(found !== undefined, `README.txt has a ${program} line`);
        return found.trim();
      };
      const sub = spawn('sh', ['-c', `exec ${line('mosquitto_sub')} -C 1 -W 15`], { cwd: out, stdio: ['ignore', 'pipe', 'pipe'] });
      let received = '';
      let subErr = '';
      sub.stdout.setEncoding('utf8').on('data', (s: string) => (received += s));
      sub.stderr.setEncoding('utf8').on('data', (s: string) => (subErr += s));
      try {
        // Publish until the subscriber (connecting in parallel) has one message.
        const closed = once(sub, 'close');
        for (let i = 0; i < 20 && sub.exitCode === null; i++) {
          const pub = await runProcess('sh', ['-c', `exec ${line('mosquitto_pub')}`], { cwd: out });
          assert.equal(pub.code, 0, pub.stderr);
          await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 300))]);
        }
        await closed;
        assert.equal(sub.exitCode, 0, subErr);
        assert.equal(received, 'sensor-1/hello {"message":"hello from sensor-1"}\n');
      } finally {
        kill(sub);
      }
    },
  );

  it('thing list / describe / delete', async () => {
    const list = await thingcore('thing', 'list', '--data-dir', dataDir);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAME +TYPE +VERSION +ATTRIBUTES\n/);
    assert.match(list.stdout, /^sensor-1 +- +1 +-$/m);
    const listJson = JSON.parse((await thingcore('thing', 'list', '--data-dir', dataDir, '--json')).stdout) as { things: Array<{ thingName: string }> };
    assert.ok(listJson.things.some((t) => t.thingName === 'sensor-1'));

    const described = await thingcore('thing', 'describe', 'sensor-1', '--data-dir', dataDir);
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /^ARN +arn:aws:iot:us-east-1:000000000000:thing\/sensor-1$/m);
    assert.ok(described.stdout.includes(device.certificateArn), described.stdout);

    // A second device to delete: its certificate first (detached by --force), then the thing.
    const second = await thingcore('device', 'create', 'sensor-2', '--out', join(work, 'devices', 'sensor-2'), '--data-dir', dataDir, '--json');
    assert.equal(second.code, 0, second.stderr);
    const { certificateId } = JSON.parse(second.stdout) as { certificateId: string };
    const certDeleted = await thingcore('cert', 'delete', certificateId, '--force', '--data-dir', dataDir);
    assert.equal(certDeleted.code, 0, certDeleted.stderr);
    const deleted = await thingcore('thing', 'delete', 'sensor-2', '--data-dir', dataDir);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, 'deleted thing sensor-2\n');
    const gone = await thingcore('thing', 'describe', 'sensor-2', '--data-dir', dataDir);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^thingcore: ResourceNotFoundException: /);
  });

  it('cert list / describe / delete', async () => {
    const list = await thingcore('cert', 'list', '--data-dir', dataDir);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${device.certificateId} +ACTIVE +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`, 'm'));

    const described = await thingcore('cert', 'describe', device.certificateId.slice(0, 12), '--data-dir', dataDir);
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, new RegExp(`^ID +${device.certificateId}$`, 'm'));
    assert.match(described.stdout, /^Status +ACTIVE$/m);
    assert.match(described.stdout, /^Things +sensor-1$/m);

    const refused = await thingcore('cert', 'delete', device.certificateId, '--data-dir', dataDir);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /is attached to sensor-1: detach it first, or use --force/);

    const deleted = await thingcore('cert', 'delete', device.certificateId, '--force', '--data-dir', dataDir, '--json');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(JSON.parse(deleted.stdout), { certificateId: device.certificateId, deactivated: true, detachedFrom: ['sensor-1'], deleted: true });
    const remaining = JSON.parse((await thingcore('cert', 'list', '--data-dir', dataDir, '--json')).stdout) as { certificates: Array<{ certificateId: string }> };
    assert.ok(!remaining.certificates.some((c) => c.certificateId === device.certificateId));
  });

  it('endpoint prints the address devices connect to', async () => {
    const result = await thingcore('endpoint', '--data-dir', dataDir);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${endpoints.mqtts.host}:${endpoints.mqtts.port}\n`);
  });

  it('wrong credentials: exit 1 naming the credentials file', async () => {
    const wrong = join(work, 'wrong-credentials');
    await mkdir(wrong);
    await copyFile(join(dataDir, 'endpoints.json'), join(wrong, 'endpoints.json'));
    await copyFile(join(dataDir, 'ca.pem'), join(wrong, 'ca.pem'));
    await writeFile(join(wrong, 'credentials'), '[default]\naws_access_key_id = AKIAWRONGWRONGWRONG0\naws_secret_access_key = not-the-secret\n');
    const result = await thingcore('thing', 'list', '--data-dir', wrong);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`^thingcore: the credentials in ${join(wrong, 'credentials')} were not accepted`));
  });

  it('server not running: exit 1 telling how to start it', async () => {
    const never = join(work, 'never-started');
    const missing = await thingcore('thing', 'list', '--data-dir', never);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `thingcore: Thingcore is not running for data dir ${never}: start it with \`thingcore serve\`\n`);

    // Killed without a clean stop: endpoints.json is still there but nothing listens.
    const stale = join(work, 'stale');
    await mkdir(stale);
    await copyFile(join(dataDir, 'ca.pem'), join(stale, 'ca.pem'));
    await writeFile(join(stale, 'credentials'), '[default]\naws_access_key_id = AKIASTALE\naws_secret_access_key = stale\n');
    const port = await freePort();
    await writeFile(join(stale, 'endpoints.json'), JSON.stringify({ ...endpoints, https: { host: '127.0.0.1', port } }));
    const refused = await thingcore('cert', 'list', '--data-dir', stale);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `thingcore: Thingcore is not running for data dir ${stale}: start it with \`thingcore serve\`\n`);
  });
});
