/**
 * The brokers under test. Each `start()` launches a fresh broker as a child process listening on
 * 127.0.0.1, waits until its MQTT port accepts connections, and returns its port and PID (the PID
 * the generator reads CPU time and memory of) and `stop()`.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasExited, registerTempDir, removeTempDir, spawnTracked, stopChild } from './procs.js';

export interface RunningBroker {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export interface BrokerUnderTest {
  /** id used on the command line: thingcore | mosquitto | aedes */
  readonly name: string;
  readonly label: string;
  /** null if it can be started, else why not */
  unavailable(): string | null;
  version(): string;
  start(): Promise<RunningBroker>;
}

/** Repository root (this file runs from dist/bench/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const START_TIMEOUT_MS = 30_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
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

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n').trim();
  } catch {
    return '';
  }
}

class StartError extends Error {}

async function waitFor<T>(
  what: string,
  child: ChildProcess,
  logFile: string,
  probe: () => Promise<T | null> | T | null,
): Promise<T> {
  const end = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (hasExited(child)) {
      throw new StartError(`${what}: process exited (code ${child.exitCode ?? child.signalCode})\n${tail(logFile)}`);
    }
    if (Date.now() > end) throw new StartError(`${what}: not ready after ${START_TIMEOUT_MS} ms\n${tail(logFile)}`);
    await sleep(50);
  }
}

/** Common life cycle: temp dir, log file, spawn, readiness probe, stop + cleanup on any failure. */
async function launch(
  what: string,
  cmd: string,
  args: (dir: string) => string[],
  ready: (child: ChildProcess, dir: string, logFile: string) => Promise<number>,
  prepare?: (dir: string) => Promise<void>,
): Promise<RunningBroker> {
  const dir = mkdtempSync(join(tmpdir(), `bench-${what}-`));
  registerTempDir(dir);
  const logFile = join(dir, 'broker.log');
  let fd: number | null = openSync(logFile, 'a');
  let child: ChildProcess | null = null;
  const cleanup = async (): Promise<void> => {
    if (child !== null) await stopChild(child);
    removeTempDir(dir);
  };
  try {
    await prepare?.(dir);
    child = spawnTracked(cmd, args(dir), { stdio: ['ignore', 'pipe', fd], cwd: REPO_ROOT });
    closeSync(fd);
    fd = null;
    const c = child;
    if (c.pid === undefined) throw new StartError(`${what}: could not spawn ${cmd}`);
    // stdout is a pipe (aedes prints its port there); keep draining it into the log.
    let stdoutText = '';
    c.stdout?.setEncoding('utf8');
    c.stdout?.on('data', (d: string) => {
      if (stdoutText.length < 65536) stdoutText += d;
    });
    (c as ChildProcess & { stdoutText?: () => string }).stdoutText = () => stdoutText;
    const port = await ready(c, dir, logFile);
    await waitFor(`${what} port ${port}`, c, logFile, async () => ((await tryConnect(port)) ? true : null));
    return { port, pid: c.pid, stop: cleanup };
  } catch (err) {
    if (fd !== null) closeSync(fd);
    await cleanup();
    throw err;
  }
}

function stdoutOf(child: ChildProcess): string {
  return (child as ChildProcess & { stdoutText?: () => string }).stdoutText?.() ?? '';
}

// ---------------------------------------------------------------------------------------------

export const MOSQUITTO_BIN = existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto';

export const mosquitto: BrokerUnderTest = {
  name: 'mosquitto',
  label: 'Mosquitto',
  unavailable() {
    const r = spawnSync(MOSQUITTO_BIN, ['-h'], { encoding: 'utf8' });
    return r.error ? `${MOSQUITTO_BIN} not found (apt-get install mosquitto)` : null;
  },
  version() {
    const r = spawnSync(MOSQUITTO_BIN, ['-h'], { encoding: 'utf8' });
    return /version\s+(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
  },
  async start() {
    const port = await freePort();
    return launch(
      'mosquitto',
      MOSQUITTO_BIN,
      (dir) => ['-c', join(dir, 'mosquitto.conf')],
      () => Promise.resolve(port),
      (dir) => {
        // Default configuration except the listener: nothing else is tuned.
        writeFileSync(join(dir, 'mosquitto.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\n`);
        return Promise.resolve();
      },
    );
  },
};

export const aedes: BrokerUnderTest = {
  name: 'aedes',
  label: 'Aedes',
  unavailable() {
    return existsSync(join(REPO_ROOT, 'node_modules', 'aedes', 'package.json')) ? null : 'aedes not installed (npm ci)';
  },
  version() {
    try {
      const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'aedes', 'package.json'), 'utf8')) as {
        version?: string;
      };
      return pkg.version ?? 'unknown';
    } catch {
      return 'unknown';
    }
  },
  start() {
    return launch(
      'aedes',
      process.execPath,
      () => [join(REPO_ROOT, 'bench', 'aedes-server.mjs'), '0'],
      (child, _dir, logFile) =>
        waitFor('aedes', child, logFile, () => {
          const m = /AEDES_PORT (\d+)/.exec(stdoutOf(child));
          return m ? Number(m[1]) : null;
        }),
    );
  },
};

// ---------------------------------------------------------------------------------------------

/** The Thingcore CLI; BENCH_THINGCORE_CLI overrides it (e.g. to try the harness with a stand-in). */
export const THINGCORE_CLI = process.env['BENCH_THINGCORE_CLI'] ?? join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

function portOf(v: unknown): number | null {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  if (typeof v === 'string') {
    const m = /:(\d+)\/?$/.exec(v);
    return m ? Number(m[1]) : null;
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    return portOf(o['port']) ?? portOf(o['url']) ?? portOf(o['address']);
  }
  return null;
}

const isPlainMqttKey = (k: string): boolean => {
  const l = k.toLowerCase();
  return l.includes('mqtt') && !l.includes('mqtts') && !l.includes('ws') && !l.includes('tls');
};

/** The plain-MQTT port from endpoints.json: `{"mqtt": {"port": N}}`, tolerant of other shapes. */
export function findMqttPort(j: unknown, depth = 0): number | null {
  if (typeof j !== 'object' || j === null || depth > 4) return null;
  if (Array.isArray(j)) {
    for (const e of j) {
      if (typeof e !== 'object' || e === null) continue;
      const o = e as Record<string, unknown>;
      const tag = [o['name'], o['protocol'], o['type'], o['scheme']].find((x) => typeof x === 'string');
      if (typeof tag === 'string' && isPlainMqttKey(tag)) {
        const p = portOf(o);
        if (p !== null) return p;
      }
    }
    return null;
  }
  const o = j as Record<string, unknown>;
  const direct = portOf(o['mqtt']);
  if (direct !== null) return direct;
  for (const [k, v] of Object.entries(o)) {
    if (isPlainMqttKey(k)) {
      const p = portOf(v);
      if (p !== null) return p;
    }
  }
  for (const v of Object.values(o)) {
    const p = findMqttPort(v, depth + 1);
    if (p !== null) return p;
  }
  return null;
}

export const thingcore: BrokerUnderTest = {
  name: 'thingcore',
  label: 'Thingcore',
  unavailable() {
    return existsSync(THINGCORE_CLI) ? null : `${THINGCORE_CLI} not built yet`;
  },
  version() {
    try {
      const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version?: string };
      return pkg.version ?? 'unknown';
    } catch {
      return 'unknown';
    }
  },
  start() {
    return launch(
      'thingcore',
      process.execPath,
      (dir) => [
        THINGCORE_CLI,
        'serve',
        '--dev',
        '--profile',
        'mqtt',
        '--mqtt-port',
        '0',
        '--mqtts-port',
        '0',
        '--https-port',
        '0',
        '--data-dir',
        join(dir, 'data'),
        '--log-level',
        'warn',
      ],
      (child, dir, logFile) =>
        waitFor('thingcore endpoints.json', child, logFile, () => {
          const file = join(dir, 'data', 'endpoints.json');
          if (existsSync(file)) {
            try {
              const p = findMqttPort(JSON.parse(readFileSync(file, 'utf8')) as unknown);
              if (p !== null) return p;
            } catch {
              // partially written: retry
            }
          }
          // Fallback: a printed mqtt:// URL.
          const m = /mqtt:\/\/[^\s:/]+:(\d+)/.exec(stdoutOf(child));
          return m ? Number(m[1]) : null;
        }),
      (dir) => {
        mkdirSync(join(dir, 'data'), { recursive: true });
        return Promise.resolve();
      },
    );
  },
};

export const ALL_BROKERS: readonly BrokerUnderTest[] = [thingcore, mosquitto, aedes];
