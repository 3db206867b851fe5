// Proves that an independent MQTT implementation (Debian's mosquitto_pub / mosquitto_sub) interoperates
// with the broker: QoS 0/1 (and 2 in the mqtt profile), MQTT 3.1.1 and 5, retained messages.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { startBroker, uid, sleep, type TestBroker } from './helpers/broker.js';

const missing = ['mosquitto_pub', 'mosquitto_sub'].filter((bin) => spawnSync(bin, ['--help']).error !== undefined);
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (apt-get install mosquitto-clients)` : false;

interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a binary with a hard timeout; the child is killed by PID in `finally` whatever happens. */
function run(bin: string, args: string[], timeoutMs: number): { done: Promise<RunResult>; pid: number | undefined } {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<RunResult>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${bin} ${args.join(' ')} still running after ${timeoutMs} ms\n${stderr}`)), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
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
  return { done, pid: child.pid };
}

type Version = 'mqttv311' | 'mqttv5';

/** Starts mosquitto_sub and resolves once the broker holds its subscription. */
async function subscribe(b: TestBroker, topic: string, qos: number, version: Version, extra: string[] = []): Promise<{ done: Promise<RunResult> }> {
  const before = b.broker.stats.subscriptions;
  const sub = run(
    'mosquitto_sub',
    ['-h', '127.0.0.1', '-p', String(b.port), '-i', uid('msub'), '-t', topic, '-q', String(qos), '-V', version, '-C', '1', '-W', '5', ...extra],
    8000,
  );
  const deadline = Date.now() + 5000;
  while (b.broker.stats.subscriptions <= before) {
    if (Date.now() > deadline) throw new Error('mosquitto_sub did not subscribe within 5 s');
    await sleep(20);
  }
  return { done: sub.done }; // wrapped: an async function would otherwise wait for the Promise
}

/** mosquitto_pub; `message` null sends a zero-length message (-n). */
async function publish(b: TestBroker, topic: string, message: string | null, qos: number, version: Version, extra: string[] = []): Promise<RunResult> {
  const body = message === null ? ['-n'] : ['-m', message];
  const res = await run(
    'mosquitto_pub',
    ['-h', '127.0.0.1', '-p', String(b.port), '-i', uid('mpub'), '-t', topic, ...body, '-q', String(qos), '-V', version, ...extra],
    8000,
  ).done;
  assert.equal(res.code, 0, `mosquitto_pub failed: ${res.stderr}`);
  return res;
}

for (const profile of ['mqtt', 'aws'] as const) {
  describe(`mosquitto clients against the ${profile} profile`, { skip }, () => {
    let b: TestBroker;
    before(async () => {
      b = await startBroker(profile);
    });
    after(async () => {
      await b.close();
    });

    const qosLevels = profile === 'mqtt' ? [0, 1, 2] : [0, 1];
    for (const version of ['mqttv311', 'mqttv5'] as const) {
      for (const qos of qosLevels) {
        it(`${version}: mosquitto_pub QoS ${qos} → mosquitto_sub QoS ${qos} (-C 1 -W 5)`, async () => {
          const topic = `mosq/${uid('t')}`;
          const received = await subscribe(b, topic, qos, version);
          const text = `hello ${version} q${qos}`;
          await publish(b, topic, text, qos, version);
          const res = await received.done;
          assert.equal(res.code, 0, `mosquitto_sub exited ${res.code}: ${res.stderr}`);
          assert.equal(res.stdout, `${text}\n`);
        });
      }

      it(`${version}: a retained message (-r) is delivered to a later mosquitto_sub, and cleared with -r -n`, async () => {
        const topic = `mosq/retained/${uid('t')}`;
        await publish(b, topic, 'kept', 1, version, ['-r']);
        const res = await run(
          'mosquitto_sub',
          ['-h', '127.0.0.1', '-p', String(b.port), '-i', uid('msub'), '-t', topic, '-q', '1', '-V', version, '-C', '1', '-W', '5', '-v', '-F', '%r %t %p'],
          8000,
        ).done;
        assert.equal(res.code, 0, res.stderr);
        assert.equal(res.stdout, `1 ${topic} kept\n`, 'RETAIN=1 on the stored message');
        await publish(b, topic, null, 1, version, ['-r']);
        const none = await run(
          'mosquitto_sub',
          ['-h', '127.0.0.1', '-p', String(b.port), '-i', uid('msub'), '-t', topic, '-q', '1', '-V', version, '-C', '1', '-W', '1'],
          5000,
        ).done;
        assert.equal(none.stdout, '', 'the retained message was deleted');
        assert.notEqual(none.code, 0, 'mosquitto_sub timed out without a message');
      });
    }

    it('mqttv311 publisher → mqttv5 subscriber and back (cross-version delivery)', async () => {
      const topic = `mosq/x/${uid('t')}`;
      let received = await subscribe(b, topic, 1, 'mqttv5');
      await publish(b, topic, 'from 311', 1, 'mqttv311');
      assert.equal((await received.done).stdout, 'from 311\n');
      received = await subscribe(b, topic, 1, 'mqttv311');
      await publish(b, topic, 'from 5', 1, 'mqttv5');
      assert.equal((await received.done).stdout, 'from 5\n');
    });
  });
}
