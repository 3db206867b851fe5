/**
 * Shared by bench/mtls-connect.ts and bench/api-throughput.ts: starting Thingcore (its production
 * profile, mutual TLS and the HTTPS API, no --dev) and Mosquitto with TLS on the same CA, the admin
 * IoTClient, machine facts, idle-machine waiting, percentiles, markdown tables and RESULTS.md.
 *
 * Every child is started through bench/procs.ts (registered by PID, killed by PID on stop, on
 * error and on exit of the runner).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { IoTClient } from '@aws-sdk/client-iot';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { freePort, MOSQUITTO_BIN, REPO_ROOT, THINGCORE_CLI } from '../brokers.js';
import { cpuSecondsOfTree, ownCpuSeconds, rssBytesOfTree, systemBusySeconds } from '../load/procstat.js';
import { hasExited, registerTempDir, removeTempDir, spawnTracked, stopChild } from '../procs.js';
import { loadOrCreateCa, loadOrCreateServerCertificate } from '../../src/identity/index.js';

export { REPO_ROOT };

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const START_TIMEOUT_MS = 30_000;

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n').trim();
  } catch {
    return '';
  }
}

function tryConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => {
      s.destroy();
      res(false);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Thingcore

export interface ThingcoreEndpoints {
  mqtts: number;
  https: number;
}

export interface RunningServer {
  pid: number;
  stop(): Promise<void>;
}

export interface RunningThingcore extends RunningServer {
  dataDir: string;
  ports: ThingcoreEndpoints;
}

/** A temporary directory removed by `removeTempDir` (or the exit handler). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  registerTempDir(dir);
  return dir;
}

export function removeDir(dir: string): void {
  removeTempDir(dir);
}

function readEndpoints(dataDir: string): ThingcoreEndpoints | null {
  const file = join(dataDir, 'endpoints.json');
  if (!existsSync(file)) return null;
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { mqtts?: { port?: unknown }; https?: { port?: unknown } };
    const mqtts = j.mqtts?.port;
    const https = j.https?.port;
    if (typeof mqtts === 'number' && typeof https === 'number') return { mqtts, https };
  } catch {
    // being written: retry
  }
  return null;
}

/**
 * `thingcore serve --data-dir <dataDir> --mqtts-port 0 --https-port 0 --log-level warn`: the
 * default (aws) profile, no plain MQTT, no --dev. The data dir is kept on stop (certificates and
 * things created through the API survive a restart); the log goes to `<logDir>/thingcore-N.log`.
 */
let thingcoreStarts = 0;
export async function startThingcore(dataDir: string, logDir: string): Promise<RunningThingcore> {
  if (!existsSync(THINGCORE_CLI)) throw new Error(`${THINGCORE_CLI} not built yet (npm run build)`);
  rmSync(join(dataDir, 'endpoints.json'), { force: true });
  const logFile = join(logDir, `thingcore-${++thingcoreStarts}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawnTracked(
    process.execPath,
    [THINGCORE_CLI, 'serve', '--data-dir', dataDir, '--mqtts-port', '0', '--https-port', '0', '--log-level', 'warn'],
    { stdio: ['ignore', fd, fd], cwd: REPO_ROOT, env: { ...process.env, NODE_NO_WARNINGS: '1' } },
  );
  closeSync(fd);
  const stop = (): Promise<void> => stopChild(child);
  try {
    if (child.pid === undefined) throw new Error('thingcore: could not spawn');
    const end = Date.now() + START_TIMEOUT_MS;
    let ports: ThingcoreEndpoints | null = null;
    for (;;) {
      ports = readEndpoints(dataDir);
      if (ports !== null && (await tryConnect(ports.mqtts)) && (await tryConnect(ports.https))) break;
      if (hasExited(child)) throw new Error(`thingcore exited (code ${child.exitCode ?? child.signalCode})\n${tail(logFile)}`);
      if (Date.now() > end) throw new Error(`thingcore not ready after ${START_TIMEOUT_MS} ms\n${tail(logFile)}`);
      await sleep(50);
    }
    return { pid: child.pid, dataDir, ports, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface AdminKey {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The admin key from `<data-dir>/credentials` (AWS shared-credentials file, profile default). */
export function readAdminKey(dataDir: string): AdminKey {
  const text = readFileSync(join(dataDir, 'credentials'), 'utf8');
  let inDefault = false;
  const kv = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line);
    if (section !== null) {
      inDefault = section[1] === 'default';
      continue;
    }
    const eq = line.indexOf('=');
    if (inDefault && eq > 0) kv.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  const accessKeyId = kv.get('aws_access_key_id');
  const secretAccessKey = kv.get('aws_secret_access_key');
  if (!accessKeyId || !secretAccessKey) throw new Error(`no admin key in ${join(dataDir, 'credentials')}`);
  return { accessKeyId, secretAccessKey };
}

/** The official IoT client against Thingcore's HTTPS API, trusting `<data-dir>/ca.pem` (as src/cli/connection.ts). */
export function iotClient(server: RunningThingcore, maxSockets = 16): { client: IoTClient; agent: Agent } {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const ca = readFileSync(join(server.dataDir, 'ca.pem'), 'utf8');
  const agent = new Agent({ ca, keepAlive: true, maxSockets });
  const client = new IoTClient({
    endpoint: `https://127.0.0.1:${server.ports.https}`,
    region: 'us-east-1',
    credentials: readAdminKey(server.dataDir),
    requestHandler: new NodeHttpHandler({ httpsAgent: agent, connectionTimeout: 5000, requestTimeout: 30_000 }),
  });
  return { client, agent };
}

// ---------------------------------------------------------------------------------------------
// Mosquitto with mutual TLS on Thingcore's CA

export function mosquittoVersion(): string {
  const r = spawnSync(MOSQUITTO_BIN, ['-h'], { encoding: 'utf8' });
  if (r.error) return 'unavailable';
  return /version\s+(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
}

/** uid/gid of the `mosquitto` user (Mosquitto drops to it when started as root), if there is one. */
function mosquittoUser(): { uid: number; gid: number } | null {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === 'mosquitto') return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {
    // no passwd file
  }
  return null;
}

/**
 * Mosquitto with one TLS listener on 127.0.0.1, client certificates required and verified against
 * Thingcore's root CA (`<caDataDir>/ca.pem`); its server certificate (EC P-256, SAN 127.0.0.1, as
 * Thingcore's) is issued by the same CA with src/identity. Everything else is Mosquitto's default.
 * Started as root, Mosquitto drops to the `mosquitto` user before it reads the certificate files,
 * so its directory is world-traversable and the key file belongs to that user.
 */
export async function startMosquittoTls(caDataDir: string): Promise<RunningServer & { port: number; dir: string }> {
  const dir = tempDir('bench-mosq-tls-');
  const logFile = join(dir, 'mosquitto.log');
  let child: ReturnType<typeof spawnTracked> | null = null;
  const stop = async (): Promise<void> => {
    if (child !== null) await stopChild(child);
    removeTempDir(dir);
  };
  try {
    const ca = await loadOrCreateCa(caDataDir);
    await loadOrCreateServerCertificate(dir, ca, ['127.0.0.1']);
    copyFileSync(join(caDataDir, 'ca.pem'), join(dir, 'ca.pem'));
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'ca.pem'), 0o644);
    chmodSync(join(dir, 'server.pem'), 0o644);
    const user = process.getuid?.() === 0 ? mosquittoUser() : null;
    if (user !== null) chownSync(join(dir, 'server.key.pem'), user.uid, user.gid);
    const port = await freePort();
    writeFileSync(
      join(dir, 'mosquitto.conf'),
      [
        `listener ${port} 127.0.0.1`,
        `cafile ${join(dir, 'ca.pem')}`,
        `certfile ${join(dir, 'server.pem')}`,
        `keyfile ${join(dir, 'server.key.pem')}`,
        'require_certificate true',
        'use_identity_as_username false',
        'allow_anonymous true',
        '',
      ].join('\n'),
    );
    const fd = openSync(logFile, 'a');
    child = spawnTracked(MOSQUITTO_BIN, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', fd, fd], cwd: dir });
    closeSync(fd);
    const c = child;
    if (c.pid === undefined) throw new Error(`could not spawn ${MOSQUITTO_BIN}`);
    const end = Date.now() + START_TIMEOUT_MS;
    while (!(await tryConnect(port))) {
      if (hasExited(c)) throw new Error(`mosquitto exited (code ${c.exitCode ?? c.signalCode})\n${tail(logFile)}`);
      if (Date.now() > end) throw new Error(`mosquitto not ready after ${START_TIMEOUT_MS} ms\n${tail(logFile)}`);
      await sleep(50);
    }
    return { pid: c.pid, port, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Measurement

export interface CpuSnapshot {
  t: number;
  gen: number;
  server: number;
  machine: number;
}

export function cpuSnapshot(serverPid: number): CpuSnapshot {
  return { t: performance.now(), gen: ownCpuSeconds(), server: cpuSecondsOfTree(serverPid), machine: systemBusySeconds() };
}

export interface CpuWindow {
  wallSeconds: number;
  generatorCpuSeconds: number;
  serverCpuSeconds: number;
  /** busy CPU seconds of everything else on the machine (other people's builds and tests) */
  otherCpuSeconds: number;
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): CpuWindow {
  const gen = b.gen - a.gen;
  const server = b.server - a.server;
  return {
    wallSeconds: (b.t - a.t) / 1000,
    generatorCpuSeconds: gen,
    serverCpuSeconds: server,
    otherCpuSeconds: Math.max(0, b.machine - a.machine - gen - server),
  };
}

export function rssMiB(pid: number): number {
  return rssBytesOfTree(pid) / 2 ** 20;
}

/** Other processes above this many cores on average during a window: the figure is flagged. */
export const NOISY_CORES = 0.25;

export function otherCores(c: CpuWindow): number {
  return c.wallSeconds > 0 ? c.otherCpuSeconds / c.wallSeconds : 0;
}

async function busyCores(ms: number): Promise<number> {
  const a = systemBusySeconds();
  const t = performance.now();
  await sleep(ms);
  return (systemBusySeconds() - a) / ((performance.now() - t) / 1000);
}

/**
 * This machine may be shared: wait until it has been idle for a second (two 500 ms samples below
 * 0.2 cores), at most `maxSeconds`. Returns the last reading.
 */
export async function waitForQuiet(maxSeconds: number): Promise<{ quiet: boolean; cores: number; waited: number }> {
  const start = performance.now();
  let calm = 0;
  let cores = 0;
  for (;;) {
    if (maxSeconds <= 0) return { quiet: true, cores: 0, waited: 0 };
    cores = await busyCores(500);
    calm = cores < 0.2 ? calm + 1 : 0;
    const waited = (performance.now() - start) / 1000;
    if (calm >= 2) return { quiet: true, cores, waited };
    if (waited >= maxSeconds) return { quiet: false, cores, waited };
  }
}

/** Percentile (nearest rank) of an ascending sorted array. */
export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function sortedCopy(values: Float64Array, n: number): Float64Array {
  return values.slice(0, n).sort();
}

/** A growable Float64Array of samples (latencies in ms). */
export class Samples {
  private buf = new Float64Array(1 << 14);
  n = 0;
  push(v: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = v;
  }
  sorted(): Float64Array {
    return sortedCopy(this.buf, this.n);
  }
  values(): Float64Array {
    return this.buf.slice(0, this.n);
  }
}

// ---------------------------------------------------------------------------------------------
// Output

export function fmtNum(v: number, digits = 0): string {
  if (!Number.isFinite(v)) return 'n/a';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtMs(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  return v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** A markdown table (also readable on a terminal). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function gitCommit(): string {
  const rev = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' });
  const commit = rev.status === 0 ? rev.stdout.trim() : 'no commit';
  const st = spawnSync('git', ['status', '--porcelain'], { cwd: REPO_ROOT, encoding: 'utf8' });
  return st.status === 0 && st.stdout.trim() !== '' ? `${commit} (+ uncommitted changes)` : commit;
}

export function nproc(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

/** `machine: …` line for the output and RESULTS.md. */
export function machineLine(loadAtStart: string): string {
  return (
    `machine: ${nproc()} CPUs (nproc), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ` +
    `load average at start ${loadAtStart}, commit ${gitCommit()}`
  );
}

export function utcStamp(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export const RESULTS_FILE = join(REPO_ROOT, 'bench', 'RESULTS.md');

/**
 * Appends a block to RESULTS.md (other runs append there too: the file is read right before, and
 * the block is added with one append call, never rewriting what is there).
 */
export function appendResults(file: string, block: string): void {
  try {
    // Only if there is no file yet ('wx' never overwrites one another run just created).
    writeFileSync(
      file,
      '# Benchmark results\n\nAppended by the benchmarks in bench/ (`npm run bench`, mtls-connect, api-throughput). ' +
        'What each one measures: bench/README.md.\n',
      { flag: 'wx' },
    );
  } catch {
    // exists
  }
  let before = '';
  try {
    before = readFileSync(file, 'utf8');
  } catch {
    before = '';
  }
  const sep = before === '' || before.endsWith('\n\n') ? '' : before.endsWith('\n') ? '\n' : '\n\n';
  appendFileSync(file, `${sep}${block.trimEnd()}\n`);
}

// ─── Command line: the options every report-writing script here shares ─────────────────────

/** parseArgs options for the quiet-machine wait, the RESULTS.md report and --help. */
export const REPORT_OPTIONS = {
  'quiet-wait': { type: 'string' },
  'noisy-retries': { type: 'string' },
  quick: { type: 'boolean' },
  append: { type: 'boolean' },
  'no-append': { type: 'boolean' },
  results: { type: 'string' },
  json: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface ReportSettings {
  quietWait: number;
  noisyRetries: number;
  quick: boolean;
  append: boolean;
  results: string;
  json: string | null;
}

/** A numeric option: `d` when absent; an error when not a number or below `min`. */
export function numberOption(v: string | undefined, d: number, min: number): number {
  if (v === undefined) return d;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`bad number: ${v}`);
  return n;
}

/**
 * The REPORT_OPTIONS part of parsed arguments; --help prints `usage` and exits. --quick means no
 * quiet wait, no retries and no append unless --append says otherwise.
 */
export function reportSettings(
  values: {
    readonly 'quiet-wait'?: string | undefined;
    readonly 'noisy-retries'?: string | undefined;
    readonly quick?: boolean | undefined;
    readonly append?: boolean | undefined;
    readonly 'no-append'?: boolean | undefined;
    readonly results?: string | undefined;
    readonly json?: string | undefined;
    readonly help?: boolean | undefined;
  },
  usage: string,
): ReportSettings {
  if (values.help === true) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const quick = values.quick === true;
  return {
    quietWait: numberOption(values['quiet-wait'], quick ? 0 : 30, 0),
    noisyRetries: Math.floor(numberOption(values['noisy-retries'], quick ? 0 : 1, 0)),
    quick,
    append: values['no-append'] === true ? false : values.append === true ? true : !quick,
    results: values.results ?? RESULTS_FILE,
    json: values.json ?? null,
  };
}
