/**
 * What topic rules cost the broker: bench/load's S1 (fan-in, QoS 0: 100 publishers on bench/<i>,
 * one subscriber on bench/+, raw sockets, pre-encoded PUBLISHes; the generator in its own process)
 * against a fresh `thingcore serve --dev --profile mqtt`, once with no rules and once per variant
 * with 20 enabled rules of which 2 see every message, and the ratio of the delivered rates.
 * Target (issue 6): >= 0.85 with 20 rules of which 2 match.
 *
 * Variants (`--variants`, default all three; each round runs `none` and then every variant):
 *   noaction   the 2 rules match every message and have no action: the cost of the rules engine
 *              itself (topic match, evaluation, metrics) — what the target is about;
 *   where      their WHERE is false: matched topic, evaluated, no match;
 *   republish  they match and each republishes its output to a topic nobody subscribes to: every
 *              published message becomes three routed ones, so this measures the broker's publish
 *              path as much as the rules (no single-threaded broker gets near 0.85x here).
 *
 *   npm run build && node dist/bench/rules-fanin.js [--seconds 8] [--warmup 2] [--rounds 2] [--window 64] [--variants noaction,where,republish]
 *
 * Every run has a fresh server; the figure per variant is the mean over its rounds. After each
 * rules run the matching rules' metrics are read back to show the rules really ran.
 */
import { type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CreateTopicRuleCommand, IoTClient } from '@aws-sdk/client-iot';
import type { TopicRulePayload } from '@aws-sdk/client-iot';
import { parseSharedCredentials } from '../src/api/index.js';
import { ruleMetrics } from '../src/cli/rule.js';
import { REPO_ROOT, THINGCORE_CLI } from './brokers.js';
import { hasExited, installExitCleanup, registerTempDir, removeTempDir, spawnTracked, stopChild } from './procs.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    window: { type: 'string', default: '64' },
    variants: { type: 'string', default: 'noaction,where,republish' },
  },
});

const LOAD_MAIN = join(REPO_ROOT, 'dist', 'bench', 'load', 'main.js');
const roleArn = 'arn:aws:iam::000000000000:role/bench';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Server {
  readonly port: number;
  readonly pid: number;
  readonly iot: IoTClient;
  stop(): Promise<void>;
}

async function startServer(): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-rules-'));
  registerTempDir(dir);
  const data = join(dir, 'data');
  const args = [THINGCORE_CLI, 'serve', '--dev', '--profile', 'mqtt', '--mqtt-port', '0', '--mqtts-port', '0', '--https-port', '0', '--http-port', '0'];
  // BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server.
  const nodeArgs = (process.env['BENCH_SERVER_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  const child: ChildProcess = spawnTracked(process.execPath, [...nodeArgs, ...args, '--data-dir', data, '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    cwd: REPO_ROOT,
  });
  const stop = async (): Promise<void> => {
    await stopChild(child);
    removeTempDir(dir);
  };
  try {
    const file = join(data, 'endpoints.json');
    const end = Date.now() + 30_000;
    let endpoints: { mqtt?: { port: number }; http?: { port: number } } | undefined;
    while (endpoints?.mqtt === undefined || endpoints.http === undefined) {
      if (hasExited(child)) throw new Error(`thingcore exited (code ${child.exitCode ?? child.signalCode})`);
      if (Date.now() > end) throw new Error('thingcore did not start within 30 s');
      await sleep(50);
      if (existsSync(file)) {
        try {
          endpoints = JSON.parse(readFileSync(file, 'utf8')) as typeof endpoints;
        } catch {
          // partially written
        }
      }
    }
    const profile = parseSharedCredentials(readFileSync(join(data, 'credentials'), 'utf8')).get('default');
    const iot = new IoTClient({
      endpoint: `http://127.0.0.1:${endpoints.http.port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: profile?.get('aws_access_key_id') ?? '', secretAccessKey: profile?.get('aws_secret_access_key') ?? '' },
      maxAttempts: 1,
    });
    return {
      port: endpoints.mqtt.port,
      pid: child.pid ?? 0,
      iot,
      stop: async () => {
        iot.destroy();
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** 20 enabled rules; `matching` and `matching_json` see every S1 message (bench/<i>), the others none. */
async function createRules(iot: IoTClient, variant: string): Promise<void> {
  const rule = (sql: string, topic: string): TopicRulePayload => ({ sql, awsIotSqlVersion: '2016-03-23', actions: [{ republish: { topic, roleArn } }] });
  const matching = (sql: string, topic: string): TopicRulePayload =>
    variant === 'noaction' ? { ...rule(sql, topic), actions: [] } : variant === 'where' ? rule(`${sql} WHERE topic(1) = 'never'`, topic) : rule(sql, topic);
  await iot.send(new CreateTopicRuleCommand({ ruleName: 'matching', topicRulePayload: matching("SELECT * FROM 'bench/+'", 'rules-out/raw') }));
  await iot.send(
    new CreateTopicRuleCommand({ ruleName: 'matching_json', topicRulePayload: matching("SELECT topic(2) AS id, timestamp() AS ts FROM 'bench/+'", 'rules-out/${topic(2)}') }),
  );
  for (let i = 0; i < 18; i++) {
    const from = i % 3 === 0 ? `other/${i}/+` : i % 3 === 1 ? `sensors/${i}/#` : `$aws/things/+/shadow/name/s${i}/update/documents`;
    await iot.send(new CreateTopicRuleCommand({ ruleName: `idle_${i}`, topicRulePayload: rule(`SELECT * FROM '${from}' WHERE temp > 50`, `rules-out/idle/${i}`) }));
  }
}

async function runLoad(server: Server): Promise<{ rate: number; notes: string[]; lost: number }> {
  const args = [LOAD_MAIN, '--scenario', 'S1', '--port', String(server.port), '--pid', String(server.pid), '--seconds', values.seconds ?? '10', '--warmup', values.warmup ?? '2', '--window', values.window ?? '64'];
  const child = spawnTracked(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: REPO_ROOT });
  let out = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => (out += d));
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`the load generator printed no RESULT line: ${out.slice(0, 500)}`);
  const result = JSON.parse(line.slice('RESULT '.length)) as { error?: string; metrics?: Array<{ key: string; value: number }>; notes?: string[]; lost?: number };
  if (result.error !== undefined) throw new Error(`load generator: ${result.error}`);
  const rate = result.metrics?.find((m) => m.key === 'rate')?.value;
  if (rate === undefined) throw new Error('no rate in the load result');
  return { rate, notes: result.notes ?? [], lost: result.lost ?? 0 };
}

async function main(): Promise<void> {
  installExitCleanup();
  if (!existsSync(THINGCORE_CLI) || !existsSync(LOAD_MAIN)) throw new Error('build first: npm run build');
  const rounds = Number(values.rounds ?? '2');
  const variants = (values.variants ?? '').split(',').filter((v) => v !== '');
  for (const v of variants) if (!['noaction', 'where', 'republish'].includes(v)) throw new Error(`unknown variant '${v}'`);
  const rates = new Map<string, number[]>([['none', []], ...variants.map((v) => [v, []] as [string, number[]])]);
  for (let r = 0; r < rounds; r++) {
    for (const variant of ['none', ...variants]) {
      const server = await startServer();
      try {
        if (variant !== 'none') await createRules(server.iot, variant);
        const { rate, notes, lost } = await runLoad(server);
        rates.get(variant)?.push(rate);
        let extra = '';
        if (variant !== 'none') {
          const m = await ruleMetrics(server.iot, 'matching');
          const j = await ruleMetrics(server.iot, 'matching_json');
          extra = ` | matching: evaluated ${m.evaluated}, matched ${m.matched}, executed ${m.executed}, failed ${m.failed}; matching_json: matched ${j.matched}, failed ${j.failed}`;
        }
        process.stdout.write(`round ${r + 1} ${variant.padEnd(9)} ${Math.round(rate).toLocaleString('en-US').padStart(9)} msg/s (lost ${lost}; ${notes.join('; ')})${extra}\n`);
      } finally {
        await server.stop();
      }
    }
  }
  const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const none = mean(rates.get('none') ?? []);
  const lines = variants.map((v) => {
    const rate = mean(rates.get(v) ?? []);
    const ratio = rate / none;
    const verdict = v === 'republish' ? '(3 routed messages per published one; informational)' : `(target >= 0.85: ${ratio >= 0.85 ? 'met' : 'NOT met'})`;
    return `  20 rules, 2 match, ${v.padEnd(9)} ${Math.round(rate).toLocaleString('en-US').padStart(9)} msg/s   ratio ${ratio.toFixed(3)} ${verdict}\n`;
  });
  process.stdout.write(
    `\nS1 fan-in, 100 publishers -> 1 subscriber, QoS 0 (mean of ${rounds} round(s), ${values.seconds} s each)\n` +
      `  no rules                     ${Math.round(none).toLocaleString('en-US').padStart(9)} msg/s\n` +
      lines.join(''),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`rules-fanin: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
