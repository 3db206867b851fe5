/**
 * Shadow update benchmark (standalone; not part of bench/run.ts):
 *
 *   npm run build && node dist/bench/shadow-updates.js [--devices 100] [--window 1] [--seconds 10]
 *                                                      [--warmup 2] [--qos 1] [--json out.json]
 *
 * Starts `thingcore serve --dev` as a child process on a fresh data dir (plain MQTT on 127.0.0.1),
 * connects `--devices` MQTT 3.1.1 clients, one thing each, subscribed to their own
 * `$aws/things/{thing}/shadow/update/accepted|rejected`, and has every device publish reported
 * updates (`{"state":{"reported":{"seq":n,"temp":…}}}`, QoS `--qos`) keeping `--window` of them
 * unanswered at a time (1: each waits for its update/accepted before the next). Over `--seconds`
 * after `--warmup` it measures accepted updates per second and the time from handing an update to
 * the socket to reading its update/accepted (p50, p99, max), and prints them with the server's CPU.
 *
 * Every accepted update is durable (one SQLite transaction per event-loop turn, group commit) and
 * also publishes update/documents (nobody subscribes here). The load generator is deliberately
 * lean (mqtt-packet over net sockets, no mqtt.js) so that on a 2-core machine most of the CPU is
 * left to the server; it still shares the machine with it.
 *
 * The server child is killed by its PID on exit, error or Ctrl-C; its data dir is removed.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, parser } from 'mqtt-packet';
import type { Packet } from 'mqtt-packet';

interface Options {
  readonly devices: number;
  readonly window: number;
  readonly seconds: number;
  readonly warmup: number;
  readonly qos: 0 | 1;
  readonly json: string | undefined;
}

function parseArgs(argv: readonly string[]): Options {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i < 0 ? undefined : argv[i + 1];
  };
  const num = (name: string, fallback: number): number => {
    const text = get(name);
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
    return value;
  };
  const qos = num('qos', 1) === 0 ? 0 : 1;
  const window = num('window', 1);
  // The shadow service allows 10 operations in flight per thing (429 beyond).
  if (window > 10) throw new Error('--window must be at most 10 (the per-thing in-flight limit)');
  return { devices: num('devices', 100), window, seconds: num('seconds', 10), warmup: num('warmup', 2), qos, json: get('json') };
}

const mainJs = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

let server: ChildProcess | undefined;
let dataDir: string | undefined;

function cleanUp(): void {
  if (server?.pid !== undefined && server.exitCode === null && server.signalCode === null) {
    try {
      process.kill(server.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
}
process.on('exit', cleanUp);
process.on('SIGINT', () => {
  cleanUp();
  process.exit(130);
});

async function startServer(): Promise<{ port: number; pid: number }> {
  dataDir = mkdtempSync(join(tmpdir(), 'thingcore-shadow-bench-'));
  const child = spawn(
    process.execPath,
    [mainJs, 'serve', '--dev', '--data-dir', dataDir, '--host', '127.0.0.1', '--mqtt-port', '0', '--mqtts-port', '0', '--https-port', '0', '--log-level', 'error'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, THINGCORE_DATA_DIR: '' } },
  );
  server = child;
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-4000)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`thingcore serve exited:\n${stderr}`);
    try {
      const endpoints = JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8')) as { mqtt?: { port: number } };
      if (endpoints.mqtt === undefined) throw new Error('no plain MQTT endpoint');
      return { port: endpoints.mqtt.port, pid: child.pid ?? 0 };
    } catch (err: unknown) {
      if (err instanceof Error && err.message === 'no plain MQTT endpoint') throw err;
      if (Date.now() > deadline) throw new Error('thingcore serve did not start in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** CPU seconds (user + system) of a process so far, from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
  } catch {
    return Number.NaN;
  }
}

interface Device {
  readonly thing: string;
  readonly socket: net.Socket;
  readonly topic: string;
  seq: number;
  nextId: number;
  /** seq → hrtime (ns) the update was written. */
  readonly sentAt: Map<number, bigint>;
}

const latencies: number[] = [];
let measuring = false;
let stopped = false;
let accepted = 0;
let rejected = 0;
let firstRejection: string | undefined;

function send(device: Device, qos: 0 | 1): void {
  const seq = ++device.seq;
  const payload = Buffer.from(`{"state":{"reported":{"seq":${seq},"temp":${20 + (seq % 10)},"online":true}}}`);
  const packet: Packet = { cmd: 'publish', topic: device.topic, payload, qos, retain: false, dup: false, ...(qos === 1 ? { messageId: nextMessageId(device) } : {}) };
  device.sentAt.set(seq, process.hrtime.bigint());
  device.socket.write(generate(packet));
}

function nextMessageId(device: Device): number {
  device.nextId = (device.nextId % 65535) + 1;
  return device.nextId;
}

function connectDevice(port: number, index: number, options: Options): Promise<Device> {
  const thing = `bench-device-${index}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    const device: Device = { thing, socket, topic: `$aws/things/${thing}/shadow/update`, seq: 0, nextId: 0, sentAt: new Map() };
    const parse = parser({ protocolVersion: 4 });
    socket.on('data', (chunk: Buffer) => parse.parse(chunk));
    socket.on('error', reject);
    parse.on('error', reject);
    parse.on('packet', (packet: Packet) => {
      switch (packet.cmd) {
        case 'connack':
          if (packet.returnCode !== 0) return reject(new Error(`CONNACK ${packet.returnCode}`));
          socket.write(
            generate({
              cmd: 'subscribe',
              messageId: 1,
              subscriptions: [
                { topic: `${device.topic}/accepted`, qos: 0 },
                { topic: `${device.topic}/rejected`, qos: 0 },
              ],
            }),
          );
          return;
        case 'suback':
          return resolve(device);
        case 'publish': {
          if (packet.qos === 1 && packet.messageId !== undefined) socket.write(generate({ cmd: 'puback', messageId: packet.messageId }));
          const now = process.hrtime.bigint();
          const doc = JSON.parse(packet.payload.toString()) as { state?: { reported?: { seq?: number } }; message?: string };
          if (packet.topic.endsWith('/rejected')) {
            rejected++;
            firstRejection ??= packet.payload.toString();
            // A rejection echoes no state: count it against the oldest outstanding update.
            const oldest = device.sentAt.keys().next();
            if (!oldest.done) device.sentAt.delete(oldest.value);
          } else {
            const seq = doc.state?.reported?.seq ?? -1;
            const sentAt = device.sentAt.get(seq);
            device.sentAt.delete(seq);
            if (measuring) {
              accepted++;
              if (sentAt !== undefined) latencies.push(Number(now - sentAt) / 1e6);
            }
          }
          if (!stopped) send(device, options.qos);
          return;
        }
        default:
          return; // puback, pingresp
      }
    });
    socket.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: thing, clean: true, keepalive: 300 }));
  });
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const { port, pid } = await startServer();
  const devices: Device[] = [];
  for (let i = 0; i < options.devices; i++) devices.push(await connectDevice(port, i, options));
  for (const device of devices) for (let w = 0; w < options.window; w++) send(device, options.qos);

  await new Promise((r) => setTimeout(r, options.warmup * 1000));
  const cpuStart = cpuSeconds(pid);
  const start = process.hrtime.bigint();
  measuring = true;
  await new Promise((r) => setTimeout(r, options.seconds * 1000));
  measuring = false;
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = cpuSeconds(pid) - cpuStart;
  stopped = true;
  for (const device of devices) device.socket.destroy();

  const sorted = [...latencies].sort((a, b) => a - b);
  const result = {
    devices: options.devices,
    window: options.window,
    qos: options.qos,
    seconds: Number(elapsed.toFixed(2)),
    acceptedPerSecond: Math.round(accepted / elapsed),
    latencyMs: {
      p50: Number(percentile(sorted, 50).toFixed(2)),
      p99: Number(percentile(sorted, 99).toFixed(2)),
      max: Number(percentile(sorted, 100).toFixed(2)),
    },
    rejected,
    serverCpuCores: Number((cpu / elapsed).toFixed(2)),
  };
  const target = { acceptedPerSecond: 10_000, p99Ms: 20 };
  const meets = result.acceptedPerSecond >= target.acceptedPerSecond && result.latencyMs.p99 < target.p99Ms;
  process.stdout.write(
    [
      `shadow updates: ${options.devices} devices, window ${options.window}, QoS ${options.qos}, ${result.seconds} s measured`,
      `  accepted updates/s   ${result.acceptedPerSecond}`,
      `  update → accepted    p50 ${result.latencyMs.p50} ms   p99 ${result.latencyMs.p99} ms   max ${result.latencyMs.max} ms`,
      `  rejected             ${rejected}${firstRejection === undefined ? '' : ` (first: ${firstRejection})`}`,
      `  server CPU           ${result.serverCpuCores} cores`,
      `  target ≥ ${target.acceptedPerSecond}/s with p99 < ${target.p99Ms} ms: ${meets ? 'met' : 'NOT met'}`,
      '',
    ].join('\n'),
  );
  if (options.json !== undefined) writeFileSync(options.json, JSON.stringify({ ...result, target, meets }, null, 2) + '\n');
  cleanUp();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  cleanUp();
  process.exit(1);
});
