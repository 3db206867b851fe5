/**
 * What IoT policies cost the broker: fan-in throughput over mutual TLS with a realistic per-device
 * policy on every connection, against the same broker with no authorization hooks at all.
 *
 *   npm run build && node dist/bench/policy-broker.js
 *   node dist/bench/policy-broker.js --seconds 5 --warmup 1 --runs 1 --things 100 --window 8
 *
 * Set-up (once, in this process): a SQLite store in a temporary directory, Thingcore's CA, and —
 * through the services, as the API would — `--things` things (default 100), each with its own
 * registered ACTIVE certificate attached (EC P-256, issued by the CA) and its own policy: the
 * document `thingcore device create` writes (iot:Connect as itself, iot:Publish / iot:Receive on
 * `<thing>/*` and `$aws/things/<thing>/*`, iot:Subscribe on the same filters). One more
 * certificate, the collector, has a policy allowing iot:Subscribe on `topicfilter/+/telemetry`
 * and iot:Receive on `topic/*` + `/telemetry`.
 *
 * Per run, a broker is composed over that store as core/compose.ts composes it (aws profile,
 * mutual TLS on 127.0.0.1, core's authenticator against the registered certificates) in one of two
 * modes, alternating:
 *   policies   core/authorization.ts on every hook: iot:Connect at CONNECT, iot:Publish per
 *              PUBLISH, iot:Receive per delivery (per-connection decision caches);
 *   none       the authenticator only: no authorization hook is installed.
 * The load runs in a child process (so it does not share this process's core), on raw TLS sockets
 * with pre-encoded MQTT 5 packets so that it is cheaper per message than the broker: one client per
 * thing (client id = thing name, its own certificate) publishing QoS 1 to `<thing>/telemetry` with
 * `--window` PUBLISHes unacknowledged each, and the collector subscribed to `+/telemetry` at QoS 0.
 * After `--warmup` seconds, a window of `--seconds`: PUBACKed messages, messages delivered to the
 * collector, and this process's CPU time (the broker's) per accepted message.
 *
 * Printed: per mode the best of `--runs` runs, and the ratio policies / none (target ≥ 0.9).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { openSqliteStore } from '../src/store/index.js';
import { createIdentityService, issueClientCertificate, loadOrCreateCa, loadOrCreateServerCertificate } from '../src/identity/index.js';
import { createRegistryService } from '../src/registry/index.js';
import { createPolicyService } from '../src/policy/index.js';
import { brokerOptionsFor, createBroker } from '../src/mqtt/index.js';
import type { BrokerHooks, Logger } from '../src/mqtt/index.js';
import { listenTls } from '../src/transport/index.js';
import { createAuthenticator } from '../src/core/index.js';
import { createAuthorization } from '../src/core/authorization.js';
import { devicePolicyDocument, devicePolicyName } from '../src/cli/device-files.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const scope = { region: 'us-east-1', accountId: '000000000000' };
const P = `arn:aws:iot:${scope.region}:${scope.accountId}`;

interface Credentials {
  readonly clientId: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

interface LoadRequest {
  readonly port: number;
  readonly caPem: string;
  readonly devices: readonly Credentials[];
  readonly collector: Credentials;
  readonly warmupMs: number;
  readonly windowMs: number;
  readonly window: number;
}

type LoadMessage =
  | { readonly type: 'window-start' }
  | { readonly type: 'window-end'; readonly acked: number; readonly refused: number; readonly delivered: number }
  | { readonly type: 'error'; readonly message: string };

interface RunResult {
  readonly mode: 'policies' | 'none';
  readonly ackedPerSec: number;
  readonly deliveredPerSec: number;
  readonly refused: number;
  readonly brokerCpuUsPerMsg: number;
  readonly dropped: number;
}

// ─── The load (child process) ──────────────────────────────────────────────────────────────────
//
// Raw TLS sockets and pre-encoded MQTT 5 packets (mqtt-packet's generate, once), so the generator
// costs less per message than the broker and the broker is what saturates: a publisher answers each
// read's PUBACKs with as many new PUBLISHes in one write; the collector only finds packet
// boundaries and counts PUBLISHes.

/** Calls `onPacket(type, buf, start, end)` for every whole packet in the stream; keeps a partial one. */
function packetReader(onPacket: (type: number, buf: Buffer, start: number, end: number) => void): (chunk: Buffer) => void {
  let carry: Buffer | undefined;
  return (chunk) => {
    const buf = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
    carry = undefined;
    let i = 0;
    while (i < buf.length) {
      let length = 0;
      let multiplier = 1;
      let j = i + 1;
      let complete = false;
      while (j < buf.length && j < i + 5) {
        const byte = buf[j++]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || j + length > buf.length) {
        carry = buf.subarray(i);
        return;
      }
      onPacket(buf[i]! >> 4, buf, j, j + length);
      i = j + length;
    }
  };
}

function openRaw(request: LoadRequest, c: Credentials): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: request.port, servername: 'localhost', ca: request.caPem, cert: c.certificatePem, key: c.privateKeyPem });
    socket.setNoDelay(true);
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once('secureConnect', () => socket.write(mqttPacket.generate({ cmd: 'connect', protocolVersion: 5, clientId: c.clientId, clean: true, keepalive: 60 }, { protocolVersion: 5 })));
    socket.once('data', (chunk: Buffer) => {
      // CONNACK: 0x20, length, flags, reason code
      if (chunk[0] !== 0x20 || chunk[3] !== 0) return fail(new Error(`${c.clientId}: refused (CONNACK reason ${String(chunk[3])})`));
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

async function runLoad(request: LoadRequest, send: (m: LoadMessage) => void): Promise<void> {
  const collector = await openRaw(request, request.collector);
  let delivered = 0;
  let subscribed: () => void = () => undefined;
  const whenSubscribed = new Promise<void>((r) => (subscribed = r));
  collector.on(
    'data',
    packetReader((type) => {
      if (type === 3) delivered++;
      else if (type === 9) subscribed();
    }),
  );
  collector.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '+/telemetry', qos: 0 }], properties: {} }, { protocolVersion: 5 }));
  await whenSubscribed;

  const publishers: TLSSocket[] = [];
  for (let i = 0; i < request.devices.length; i += 20) publishers.push(...(await Promise.all(request.devices.slice(i, i + 20).map((d) => openRaw(request, d)))));

  let acked = 0;
  let refused = 0;
  let running = true;
  const payload = Buffer.from(JSON.stringify({ temperature: 21.5, humidity: 40, battery: 97, ts: 0 }));
  publishers.forEach((socket, i) => {
    const template = mqttPacket.generate(
      { cmd: 'publish', topic: `${request.devices[i]!.clientId}/telemetry`, payload, qos: 1, dup: false, retain: false, messageId: 1, properties: {} },
      { protocolVersion: 5 },
    );
    // Fixed header (1 byte + 1 length byte for these sizes), then topic length and topic, then the packet id.
    const idAt = 2 + 2 + template.readUInt16BE(2);
    let nextId = 1;
    const publishes = (n: number): Buffer => {
      const out = Buffer.allocUnsafe(template.length * n);
      for (let k = 0; k < n; k++) {
        template.copy(out, k * template.length);
        out.writeUInt16BE(nextId, k * template.length + idAt);
        nextId = nextId === 65535 ? 1 : nextId + 1;
      }
      return out;
    };
    let answered = 0;
    socket.on(
      'data',
      packetReader((type, buf, start, end) => {
        if (type !== 4) return; // PUBACK: id, then (MQTT 5) an optional reason code
        if (end - start > 2 && buf[start + 2]! >= 0x80) refused++;
        else acked++;
        answered++;
      }),
    );
    socket.on('data', () => {
      if (answered > 0 && running) socket.write(publishes(answered));
      answered = 0;
    });
    socket.write(publishes(request.window));
  });

  await new Promise((r) => setTimeout(r, request.warmupMs));
  const start = { acked, refused, delivered };
  send({ type: 'window-start' });
  await new Promise((r) => setTimeout(r, request.windowMs));
  send({ type: 'window-end', acked: acked - start.acked, refused: refused - start.refused, delivered: delivered - start.delivered });
  running = false;
  for (const socket of [collector, ...publishers]) socket.destroy();
}

// ─── The broker and the orchestration (this process) ───────────────────────────────────────────

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      runs: { type: 'string', default: '2' },
      things: { type: 'string', default: '100' },
      window: { type: 'string', default: '8' },
    },
  });
  const settings = {
    windowMs: Number(values.seconds) * 1000,
    warmupMs: Number(values.warmup) * 1000,
    runs: Number(values.runs),
    things: Number(values.things),
    window: Number(values.window),
  };

  const dir = mkdtempSync(join(tmpdir(), 'thingcore-bench-policy-'));
  try {
    const store = openSqliteStore({ path: join(dir, 'thingcore.db') });
    const ca = await loadOrCreateCa(dir);
    const serverCertificate = await loadOrCreateServerCertificate(dir, ca, ['localhost', '127.0.0.1']);
    const policies = createPolicyService({ store, scope, logger: silent });
    const identity = createIdentityService({ store, ca, scope, logger: silent });
    const registry = createRegistryService({ store, scope, logger: silent });

    process.stdout.write(`setting up ${settings.things} things with their certificates and per-device policies…\n`);
    const devices: Credentials[] = [];
    for (let i = 0; i < settings.things; i++) {
      const thingName = `bench-thing-${String(i).padStart(3, '0')}`;
      const issued = await issueClientCertificate(ca, { commonName: thingName });
      const { certificateArn } = await identity.registerCertificate({ certificatePem: issued.certificatePem, setAsActive: true });
      const { thingArn } = await registry.createThing({ thingName });
      await registry.attachThingPrincipal({ thingName, principal: certificateArn });
      const policyName = devicePolicyName(thingName);
      await policies.createPolicy({ policyName, policyDocument: devicePolicyDocument(thingArn, thingName) });
      await policies.attachPolicy({ policyName, target: certificateArn });
      devices.push({ clientId: thingName, certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem });
    }
    const collectorCert = await issueClientCertificate(ca, { commonName: 'collector' });
    const { certificateArn: collectorArn } = await identity.registerCertificate({ certificatePem: collectorCert.certificatePem, setAsActive: true });
    await policies.createPolicy({
      policyName: 'collector',
      policyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 'iot:Connect', Resource: `${P}:client/collector` },
          { Effect: 'Allow', Action: 'iot:Subscribe', Resource: `${P}:topicfilter/+/telemetry` },
          { Effect: 'Allow', Action: 'iot:Receive', Resource: `${P}:topic/*/telemetry` },
        ],
      }),
    });
    await policies.attachPolicy({ policyName: 'collector', target: collectorArn });
    const collector: Credentials = { clientId: 'collector', certificatePem: collectorCert.certificatePem, privateKeyPem: collectorCert.privateKeyPem };

    const results: RunResult[] = [];
    for (let run = 0; run < settings.runs; run++) {
      for (const mode of ['none', 'policies'] as const) {
        const authorization = createAuthorization({ policies, registry, identity, scope, dev: false, isAdminAccessKey: () => false, logger: silent });
        const authenticate = createAuthenticator({ identity, dev: false, logger: silent });
        const hooks: BrokerHooks =
          mode === 'policies'
            ? { ...authorization.hooks, authenticate: authorization.authenticate(authenticate), onEvent: (e) => authorization.onEvent(e) }
            : { authenticate };
        const broker = await createBroker({ options: brokerOptionsFor('aws'), hooks, store: { sessions: store.sessions, retained: store.retained }, logger: silent });
        const stop = authorization.start(broker);
        const listener = await listenTls({
          host: '127.0.0.1',
          port: 0,
          key: serverCertificate.privateKeyPem,
          cert: serverCertificate.certificatePem,
          ca: ca.certificatePem,
          requestCert: true,
          rejectUnauthorized: false,
          onConnection: (stream, peer) => broker.accept(stream, peer),
          logger: silent,
        });
        const result = await measure(mode, listener.port, ca.certificatePem, devices, collector, settings, () => broker.stats);
        results.push(result);
        process.stdout.write(
          `run ${run + 1} ${mode.padEnd(8)}  acked ${fmt(result.ackedPerSec)} msg/s  delivered ${fmt(result.deliveredPerSec)} msg/s  ` +
            `broker CPU ${result.brokerCpuUsPerMsg.toFixed(1)} µs/msg  refused ${result.refused}  dropped ${result.dropped}\n`,
        );
        stop();
        await broker.close();
        await listener.close({ graceMs: 200 });
      }
    }
    await store.close();

    const best = (mode: 'policies' | 'none'): RunResult => results.filter((r) => r.mode === mode).reduce((a, b) => (b.ackedPerSec > a.ackedPerSec ? b : a));
    const withPolicies = best('policies');
    const without = best('none');
    process.stdout.write(
      `\nnode ${process.version}, ${settings.things} things over mutual TLS, window ${settings.window}, ${settings.windowMs / 1000} s per run, best of ${settings.runs}\n` +
        `| mode | acked msg/s | delivered msg/s | broker CPU µs/msg |\n| --- | ---: | ---: | ---: |\n` +
        `| per-device policies | ${fmt(withPolicies.ackedPerSec)} | ${fmt(withPolicies.deliveredPerSec)} | ${withPolicies.brokerCpuUsPerMsg.toFixed(1)} |\n` +
        `| no authorization | ${fmt(without.ackedPerSec)} | ${fmt(without.deliveredPerSec)} | ${without.brokerCpuUsPerMsg.toFixed(1)} |\n` +
        `ratio policies / none: throughput ${(withPolicies.ackedPerSec / without.ackedPerSec).toFixed(3)}, ` +
        `CPU per message ${(withPolicies.brokerCpuUsPerMsg / without.brokerCpuUsPerMsg).toFixed(3)} (target: throughput ≥ 0.9)\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One window of load against the broker on `port`, the load in a child process (killed by PID after). */
function measure(
  mode: 'policies' | 'none',
  port: number,
  caPem: string,
  devices: readonly Credentials[],
  collector: Credentials,
  settings: { windowMs: number; warmupMs: number; window: number },
  stats: () => { messagesIn: number; messagesDropped: number },
): Promise<RunResult> {
  const child = fork(fileURLToPath(import.meta.url), ['--load'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const request: LoadRequest = { port, caPem, devices, collector, warmupMs: settings.warmupMs, windowMs: settings.windowMs, window: settings.window };
  return new Promise<RunResult>((resolve, reject) => {
    let cpuStart = process.cpuUsage();
    let dropStart = 0;
    let timeStart = 0;
    const timer = setTimeout(() => reject(new Error('the load did not finish in time')), settings.warmupMs + settings.windowMs + 120_000);
    child.on('message', (m: LoadMessage) => {
      if (m.type === 'window-start') {
        cpuStart = process.cpuUsage();
        dropStart = stats().messagesDropped;
        timeStart = performance.now();
      } else if (m.type === 'window-end') {
        const cpu = process.cpuUsage(cpuStart);
        const seconds = (performance.now() - timeStart) / 1000;
        clearTimeout(timer);
        resolve({
          mode,
          ackedPerSec: m.acked / seconds,
          deliveredPerSec: m.delivered / seconds,
          refused: m.refused,
          brokerCpuUsPerMsg: (cpu.user + cpu.system) / Math.max(1, m.acked),
          dropped: stats().messagesDropped - dropStart,
        });
      } else {
        clearTimeout(timer);
        reject(new Error(`load: ${m.message}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`the load process exited with ${String(code)}`));
    });
    child.send(request);
  }).finally(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      }, 5000).unref();
    }
  });
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

if (process.argv.includes('--load')) {
  process.once('message', (request: LoadRequest) => {
    const send = (m: LoadMessage): void => void process.send?.(m);
    runLoad(request, send).then(
      () => process.exit(0),
      (err: unknown) => {
        send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      },
    );
  });
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
