/**
 * Mutual-TLS connect rate: Thingcore vs Mosquitto, the same load generator against both.
 *
 *   npm run build && node dist/bench/mtls-connect.js
 *   node dist/bench/mtls-connect.js --seconds 5 --concurrency 50 --no-append
 *
 * Set-up: Thingcore is started (default aws profile, no --dev) on a temporary data dir and N
 * (default 200) client certificates are created through its API with the official SDK
 * (CreateKeysAndCertificate, setAsActive: registered and ACTIVE, RSA-2048 keys as AWS issues them).
 * Mosquitto gets a TLS listener that requires a client certificate signed by the same CA
 * (Thingcore's ca.pem) and a server certificate from that CA (EC P-256, like Thingcore's).
 *
 * Each broker is then freshly started and loaded for a warm-up plus a window: `--concurrency`
 * connects in flight, each a full TLS handshake with one of the certificates (round-robin; no TLS
 * session is ever resumed), an MQTT 3.1.1 CONNECT (unique client id, clean session, keep-alive 60),
 * the CONNACK, then DISCONNECT and close. Reported: connects/s, latency tls.connect() → CONNACK
 * (p50/p99) and → TLS handshake done, CPU of the generator and of the broker (/proc/<pid>/stat),
 * and the ratio Thingcore/Mosquitto. See bench/README.md ("Identity and API").
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { AttachPolicyCommand, CreateKeysAndCertificateCommand, CreatePolicyCommand } from '@aws-sdk/client-iot';
import {
  type CpuWindow,
  NOISY_CORES,
  REPORT_OPTIONS,
  type ReportSettings,
  numberOption,
  reportSettings,
  type RunningServer,
  appendResults,
  cpuBetween,
  cpuSnapshot,
  fmtMs,
  fmtNum,
  iotClient,
  loadAverage,
  machineLine,
  markdownTable,
  mosquittoVersion,
  otherCores,
  percentile,
  removeDir,
  rssMiB,
  sleep,
  startMosquittoTls,
  startThingcore,
  tempDir,
  utcStamp,
  waitForQuiet,
} from './identity/common.js';
import type { ConnectWorkerData, ConnectWorkerResult } from './identity/connect-worker.js';
import { installExitCleanup } from './procs.js';

const USAGE = `usage: node dist/bench/mtls-connect.js [options]
  --brokers LIST       thingcore,mosquitto (default both)
  --seconds N          measurement window per broker (default 10)
  --warmup N           seconds of load before the window (default 1)
  --concurrency N      connects in flight (default 50)
  --threads N          generator threads sharing the concurrency (default 1)
  --certs N            client certificates created with CreateKeysAndCertificate (default 200)
  --verify-server      check the broker's certificate (chain + name) on every connect; default: only on
                       each thread's first connect (the check costs the generator ~0.45 ms per connect,
                       the broker's side of the handshake is the same either way)
  --quiet-wait N       wait up to N s for an idle machine before each run (default 30)
  --noisy-retries N    repeat a run disturbed by other processes, keep the least disturbed (default 1)
  --quick              smoke run: --seconds 2 --warmup 0.5 --certs 20 --quiet-wait 0 --noisy-retries 0, no append
  --append / --no-append   append to bench/RESULTS.md (default: append unless --quick)
  --results FILE       file to append to (default bench/RESULTS.md)
  --json FILE          raw figures as JSON
`;

interface Settings extends ReportSettings {
  brokers: ('thingcore' | 'mosquitto')[];
  seconds: number;
  warmup: number;
  concurrency: number;
  threads: number;
  certs: number;
  verifyServer: boolean;
}

function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      brokers: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      concurrency: { type: 'string' },
      threads: { type: 'string' },
      certs: { type: 'string' },
      'verify-server': { type: 'boolean' },
      ...REPORT_OPTIONS,
    },
  });
  const report = reportSettings(values, USAGE);
  const { quick } = report;
  const brokers = (values.brokers ?? 'thingcore,mosquitto').split(',').map((b) => b.trim().toLowerCase());
  for (const b of brokers) if (b !== 'thingcore' && b !== 'mosquitto') throw new Error(`unknown broker ${b}`);
  return {
    brokers: brokers as Settings['brokers'],
    seconds: numberOption(values.seconds, quick ? 2 : 10, 0.5),
    warmup: numberOption(values.warmup, quick ? 0.5 : 1, 0),
    concurrency: Math.floor(numberOption(values.concurrency, 50, 1)),
    threads: Math.floor(numberOption(values.threads, 1, 1)),
    certs: Math.floor(numberOption(values.certs, quick ? 20 : 200, 1)),
    verifyServer: values['verify-server'] === true,
    ...report,
  };
}

interface Credential {
  key: string;
  cert: string;
}

/** What a device needs to connect, as on AWS IoT: a policy allowing iot:Connect for its client id. */
const POLICY_NAME = 'bench-connect';
const POLICY_DOCUMENT = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'iot:Connect', Resource: 'arn:aws:iot:us-east-1:000000000000:client/b*' }],
});

/**
 * N certificates through Thingcore's API, a few requests at a time (the server makes RSA keys),
 * each with the policy `bench-connect` attached (CreatePolicy, AttachPolicy), as AWS IoT requires
 * before a certificate may connect.
 */
async function createCertificates(dataDir: string, logDir: string, n: number): Promise<Credential[]> {
  const server = await startThingcore(dataDir, logDir);
  const { client, agent } = iotClient(server, 4);
  try {
    let withPolicy = true;
    try {
      await client.send(new CreatePolicyCommand({ policyName: POLICY_NAME, policyDocument: POLICY_DOCUMENT }));
    } catch (err) {
      // A build without the policy API: its broker does not ask for one either.
      withPolicy = false;
      process.stdout.write(`(CreatePolicy failed: ${err instanceof Error ? err.name : String(err)}; certificates get no policy) `);
    }
    const out: Credential[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < n) {
        next++;
        const r = await client.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
        if (r.certificatePem === undefined || r.keyPair?.PrivateKey === undefined || r.certificateArn === undefined) {
          throw new Error('CreateKeysAndCertificate returned no certificate, ARN or key');
        }
        if (withPolicy) await client.send(new AttachPolicyCommand({ policyName: POLICY_NAME, target: r.certificateArn }));
        out.push({ cert: r.certificatePem, key: r.keyPair.PrivateKey });
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    return out;
  } finally {
    client.destroy();
    agent.destroy();
    await server.stop();
  }
}

interface RunResult {
  broker: string;
  connects: number;
  failed: number;
  failReasons: Record<string, number>;
  connectsPerSecond: number;
  latency: { p50: number; p99: number; mean: number; max: number };
  handshake: { p50: number; p99: number };
  cpu: CpuWindow;
  protocol: string;
  cipher: string;
  resumed: number;
  /** the broker's certificate as checked by each thread's first connect: 'ok' or the errors */
  serverCheck: string;
  /** session tickets sent by the broker per connect (sampled; never used: no connect resumes) */
  ticketsPerConnect: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  noisy: boolean;
  notes: string[];
}

function summarize(values: Float64Array): { p50: number; p99: number; mean: number; max: number } {
  const s = values.slice().sort();
  let sum = 0;
  for (const v of s) sum += v;
  return { p50: percentile(s, 50), p99: percentile(s, 99), mean: s.length ? sum / s.length : NaN, max: s.length ? s[s.length - 1]! : NaN };
}

/** Runs the generator threads against `port` for warm-up + window; CPU of `pid` read at the window edges. */
async function runLoad(s: Settings, broker: string, port: number, pid: number, ca: string, creds: Credential[], run: number): Promise<RunResult> {
  const workerUrl = new URL('./identity/connect-worker.js', import.meta.url);
  const workers: Worker[] = [];
  try {
    const ready: Promise<void>[] = [];
    for (let t = 0; t < s.threads; t++) {
      const slots = Math.floor(s.concurrency / s.threads) + (t < s.concurrency % s.threads ? 1 : 0);
      const data: ConnectWorkerData = { port, ca, credentials: creds, slots, thread: t, threads: s.threads, run, timeoutMs: 10_000, verifyServer: s.verifyServer };
      const w = new Worker(workerUrl, { workerData: data });
      workers.push(w);
      ready.push(
        new Promise((resolve, reject) => {
          w.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(`worker: ${String(m)}`))));
          w.once('error', reject);
        }),
      );
    }
    await Promise.all(ready);
    const rssBeforeMiB = rssMiB(pid);
    for (const w of workers) w.postMessage('go');
    await sleep(s.warmup * 1000);
    const a = cpuSnapshot(pid);
    const t0 = performance.timeOrigin + performance.now();
    await sleep(s.seconds * 1000);
    const b = cpuSnapshot(pid);
    const t1 = performance.timeOrigin + performance.now();
    const rssAfterMiB = rssMiB(pid);
    const results = await Promise.all(
      workers.map(
        (w) =>
          new Promise<ConnectWorkerResult>((resolve, reject) => {
            w.once('message', (m: ConnectWorkerResult) => resolve(m));
            w.once('error', reject);
            w.postMessage('stop');
          }),
      ),
    );
    const lat: number[] = [];
    const hs: number[] = [];
    const failReasons: Record<string, number> = {};
    let failed = 0;
    let resumed = 0;
    for (const r of results) {
      resumed += r.resumed;
      for (let i = 0; i < r.ends.length; i++) {
        const e = r.ends[i]!;
        if (e < t0 || e > t1) continue;
        lat.push(r.latency[i]!);
        hs.push(r.handshake[i]!);
      }
      for (let i = 0; i < r.failTimes.length; i++) {
        const e = r.failTimes[i]!;
        if (e < t0 || e > t1) continue;
        failed++;
        const why = r.failReasons[i] ?? '?';
        failReasons[why] = (failReasons[why] ?? 0) + 1;
      }
    }
    const cpu = cpuBetween(a, b);
    const windowSeconds = (t1 - t0) / 1000;
    const first = results.find((r) => r.protocol !== '');
    const l = summarize(Float64Array.from(lat));
    const h = summarize(Float64Array.from(hs));
    const notes: string[] = [];
    const checks = [...new Set(results.map((r) => r.serverCheck))];
    const serverCheck = checks.length === 1 && checks[0] === 'ok' ? 'ok' : checks.join(', ');
    if (serverCheck !== 'ok') notes.push(`broker certificate check FAILED: ${serverCheck}`);
    const noisy = otherCores(cpu) > NOISY_CORES;
    if (noisy) notes.push(`NOISY: other processes used ${otherCores(cpu).toFixed(2)} cores on average during the window`);
    return {
      broker,
      connects: lat.length,
      failed,
      failReasons,
      connectsPerSecond: lat.length / windowSeconds,
      latency: l,
      handshake: { p50: h.p50, p99: h.p99 },
      cpu,
      protocol: first?.protocol ?? '?',
      cipher: first?.cipher ?? '?',
      resumed,
      serverCheck,
      ticketsPerConnect: results.reduce((x, r) => x + r.tickets, 0) / Math.max(1, results.reduce((x, r) => x + r.ticketSample, 0)),
      rssBeforeMiB,
      rssAfterMiB,
      noisy,
      notes,
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

const LABEL: Record<string, string> = { thingcore: 'Thingcore', mosquitto: 'Mosquitto' };

async function main(): Promise<number> {
  let s: Settings;
  try {
    s = parseSettings(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  installExitCleanup();
  const started = new Date();
  const loadAtStart = loadAverage();
  const header = [
    machineLine(loadAtStart),
    `brokers: Thingcore (aws profile, mutual TLS), Mosquitto ${mosquittoVersion()} (TLS listener, require_certificate true)`,
    `settings: ${s.seconds} s window after ${s.warmup} s warm-up per broker, ${s.concurrency} connects in flight, ` +
      `${s.threads} generator thread(s), ${s.certs} client certificates (CreateKeysAndCertificate, RSA-2048; on Thingcore each with a policy allowing iot:Connect attached) reused round-robin`,
    'TLS: every connect is a full handshake with a client certificate: the generator never passes a session to tls.connect, so no ' +
      'session (ID or ticket) is resumed on either broker; ' +
      (s.verifyServer
        ? 'the generator checks the broker certificate (chain + name) on every connect'
        : "the generator checks the broker certificate (chain to Thingcore's CA + name 127.0.0.1) on each thread's first connect only"),
    `command: \`${['node dist/bench/mtls-connect.js', ...process.argv.slice(2)].join(' ')}\``,
  ];
  process.stdout.write(`${header.join('\n')}\n\n`);

  const work = tempDir('bench-mtls-');
  const dataDir = join(work, 'thingcore-data');
  const results = new Map<string, RunResult>();
  const errors = new Map<string, string>();
  try {
    const t = performance.now();
    process.stdout.write(`creating ${s.certs} certificates through Thingcore's API ... `);
    const creds = await createCertificates(dataDir, work, s.certs);
    process.stdout.write(`done in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    const ca = readFileSync(join(dataDir, 'ca.pem'), 'utf8');
    let run = 0;
    for (const b of s.brokers) {
      let best: RunResult | null = null;
      let discarded = 0;
      for (let attempt = 0; attempt <= s.noisyRetries; attempt++) {
        const q = await waitForQuiet(s.quietWait);
        let server: (RunningServer & { port: number }) | null = null;
        try {
          if (b === 'thingcore') {
            const tc = await startThingcore(dataDir, work);
            server = { pid: tc.pid, stop: tc.stop, port: tc.ports.mqtts };
          } else {
            server = await startMosquittoTls(dataDir);
          }
          await sleep(500);
          const r = await runLoad(s, b, server.port, server.pid, ca, creds, ++run);
          if (!q.quiet) r.notes.push(`machine not idle before the run (${q.cores.toFixed(2)} cores busy after waiting ${q.waited.toFixed(0)} s)`);
          process.stdout.write(
            `${LABEL[b]}: ${fmtNum(r.connectsPerSecond)} connects/s, p50 ${fmtMs(r.latency.p50)} ms, p99 ${fmtMs(r.latency.p99)} ms, ` +
              `failed ${r.failed}; CPU s generator ${r.cpu.generatorCpuSeconds.toFixed(2)} / broker ${r.cpu.serverCpuSeconds.toFixed(2)} / ` +
              `other ${r.cpu.otherCpuSeconds.toFixed(2)} in ${r.cpu.wallSeconds.toFixed(1)} s${r.noisy ? ' (NOISY)' : ''}\n`,
          );
          if (best === null) best = r;
          else {
            discarded++;
            if (r.cpu.otherCpuSeconds < best.cpu.otherCpuSeconds) best = r;
          }
          if (!r.noisy) break;
        } catch (err) {
          errors.set(b, err instanceof Error ? err.message : String(err));
          process.stdout.write(`${LABEL[b]}: failed: ${errors.get(b)}\n`);
          break;
        } finally {
          await server?.stop();
          await sleep(500);
        }
      }
      if (best !== null) {
        if (discarded > 0) best.notes.push(`${discarded} other attempt(s) discarded as noisier`);
        results.set(b, best);
        errors.delete(b);
      }
    }
  } finally {
    removeDir(work);
  }

  const md = renderTable(s, results, errors);
  process.stdout.write(`\n${md}\n`);
  if (s.json !== null) writeFileSync(s.json, JSON.stringify({ started: started.toISOString(), settings: s, results: Object.fromEntries(results), errors: Object.fromEntries(errors) }, null, 2));
  const invalid = s.brokers.filter((b) => {
    const r = results.get(b);
    return r === undefined || r.connects === 0 || r.serverCheck !== 'ok';
  });
  if (s.append && invalid.length > 0) {
    process.stdout.write(`\nnot appended to ${s.results}: no valid result for ${invalid.map((b) => LABEL[b]).join(', ')}\n`);
  } else if (s.append) {
    const block = [`## Identity and API: mutual-TLS connect rate, ${utcStamp(started)}`, '', ...header.map((h) => `- ${h}`), '', md, ''].join('\n');
    appendResults(s.results, block);
    process.stdout.write(`\nappended to ${s.results}\n`);
  }
  return errors.size > 0 || invalid.length > 0 ? 1 : 0;
}

function renderTable(s: Settings, results: Map<string, RunResult>, errors: Map<string, string>): string {
  const cols = s.brokers;
  const get = (b: string): RunResult | undefined => results.get(b);
  const cell = (b: string, f: (r: RunResult) => string): string => {
    const r = get(b);
    return r === undefined ? 'n/a' : f(r) + (r.noisy ? ' (noisy)' : '');
  };
  const both = results.get('thingcore') !== undefined && results.get('mosquitto') !== undefined && cols.length === 2;
  const ratio = (f: (r: RunResult) => number): string => {
    if (!both) return '';
    const a = f(results.get('thingcore')!);
    const b = f(results.get('mosquitto')!);
    return b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}x` : 'n/a';
  };
  const cores = (sec: number, r: RunResult): string => (sec / r.cpu.wallSeconds).toFixed(2);
  const rows: string[][] = [
    ['connects/s (higher is better)', ...cols.map((b) => cell(b, (r) => fmtNum(r.connectsPerSecond))), ratio((r) => r.connectsPerSecond)],
    ['connect latency p50, tls.connect → CONNACK (ms)', ...cols.map((b) => cell(b, (r) => fmtMs(r.latency.p50))), ratio((r) => r.latency.p50)],
    ['connect latency p99 (ms)', ...cols.map((b) => cell(b, (r) => fmtMs(r.latency.p99))), ratio((r) => r.latency.p99)],
    ['TLS handshake done p50 / p99 (ms)', ...cols.map((b) => cell(b, (r) => `${fmtMs(r.handshake.p50)} / ${fmtMs(r.handshake.p99)}`)), ''],
    ['connects in window / failed', ...cols.map((b) => cell(b, (r) => `${fmtNum(r.connects)} / ${r.failed}`)), ''],
    ['broker CPU (cores)', ...cols.map((b) => cell(b, (r) => cores(r.cpu.serverCpuSeconds, r))), ratio((r) => r.cpu.serverCpuSeconds / r.cpu.wallSeconds)],
    ['broker CPU per connect (ms)', ...cols.map((b) => cell(b, (r) => ((r.cpu.serverCpuSeconds * 1000) / Math.max(1, r.connects)).toFixed(3))), ratio((r) => r.cpu.serverCpuSeconds / Math.max(1, r.connects))],
    ['generator CPU (cores)', ...cols.map((b) => cell(b, (r) => cores(r.cpu.generatorCpuSeconds, r))), ''],
    ['other processes CPU (cores)', ...cols.map((b) => cell(b, (r) => cores(r.cpu.otherCpuSeconds, r))), ''],
    ['broker RSS before / after (MiB)', ...cols.map((b) => cell(b, (r) => `${r.rssBeforeMiB.toFixed(1)} / ${r.rssAfterMiB.toFixed(1)}`)), ''],
    ['TLS', ...cols.map((b) => cell(b, (r) => `${r.protocol} ${r.cipher}, ${r.ticketsPerConnect.toFixed(1)} session tickets sent per connect, ${r.resumed} resumed, broker certificate ${r.serverCheck === 'ok' ? 'verified' : 'NOT verified'}`)), ''],
  ];
  const header = ['mutual-TLS connect (full handshake + CONNECT/CONNACK + DISCONNECT)', ...cols.map((b) => LABEL[b]!), both ? 'Thingcore/Mosquitto' : ''];
  const lines = [markdownTable(header, rows)];
  const notes: string[] = [];
  if (both) {
    const r = results.get('thingcore')!.connectsPerSecond / results.get('mosquitto')!.connectsPerSecond;
    notes.push(`connect rate Thingcore/Mosquitto ${r.toFixed(2)}x (target >= 0.70x: ${r >= 0.7 ? 'met' : 'NOT met'})`);
    const tc = results.get('thingcore')!;
    const mq = results.get('mosquitto')!;
    const cpuRatio = tc.cpu.serverCpuSeconds / Math.max(1, tc.connects) / (mq.cpu.serverCpuSeconds / Math.max(1, mq.connects));
    notes.push(
      `broker CPU per connect Thingcore/Mosquitto ${cpuRatio.toFixed(2)}x: the connect rate each broker could reach with a core to ` +
        `itself and an unlimited generator is in inverse proportion (Thingcore runs on one thread; Mosquitto too)`,
    );
  }
  for (const [b, r] of results) {
    if (r.failed > 0) notes.push(`${LABEL[b]}: failed connects by reason: ${JSON.stringify(r.failReasons)}`);
    const gen = r.cpu.generatorCpuSeconds / r.cpu.wallSeconds;
    if (gen > 0.75 * s.threads && gen > 0.75) {
      notes.push(`${LABEL[b]}: the generator used ${gen.toFixed(2)} cores: on 2 cores the rate may be limited by the client side of the handshakes (RSA-2048 signature per connect) as much as by the broker`);
    }
    for (const n of r.notes) notes.push(`${LABEL[b]}: ${n}`);
  }
  for (const [b, e] of errors) notes.push(`${LABEL[b]}: failed: ${e.split('\n')[0]}`);
  if (notes.length > 0) lines.push('', 'Notes:', '', ...notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
