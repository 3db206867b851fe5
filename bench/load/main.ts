/**
 * Load generator process: runs ONE scenario against a broker already listening on 127.0.0.1:<port>
 * and prints one line `RESULT <json>` (a ScenarioResult, or {"error": "..."}) on stdout.
 * Started by bench/run.ts, one process per (broker, scenario), separate from the broker process.
 *
 *   node dist/bench/load/main.js --scenario S1 --port 12345 --pid 4321 [--seconds 10] [--warmup 1]
 *        [--interval 5] [--window 64] [--connections 10000] [--concurrency 200] [--threads 1] [--rate 5000]
 */
import { parseArgs } from 'node:util';
import type { ScenarioContext } from './measure.js';
import { SCENARIOS } from './scenarios.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string' },
    port: { type: 'string' },
    pid: { type: 'string' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '1' },
    interval: { type: 'string', default: '5' },
    window: { type: 'string', default: '64' },
    connections: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '200' },
    threads: { type: 'string', default: '1' },
    rate: { type: 'string', default: '5000' },
    'time-limit': { type: 'string', default: '120' },
  },
});

function num(name: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n)) throw new Error(`--${name} must be a number`);
  return n;
}

async function main(): Promise<void> {
  const name = values.scenario ?? '';
  const run = SCENARIOS[name];
  if (run === undefined) throw new Error(`unknown scenario ${name}`);
  const ctx: ScenarioContext = {
    port: num('port', values.port),
    brokerPid: num('pid', values.pid),
    seconds: num('seconds', values.seconds),
    warmup: num('warmup', values.warmup),
    interval: num('interval', values.interval),
    window: num('window', values.window),
    connections: num('connections', values.connections),
    connectConcurrency: num('concurrency', values.concurrency),
    connectThreads: num('threads', values.threads),
    rate: num('rate', values.rate),
    log: (msg) => process.stderr.write(`[load ${name}] ${msg}\n`),
  };
  // Hard bound: whatever happens, this process ends.
  const limit = setTimeout(() => {
    process.stdout.write(`RESULT ${JSON.stringify({ error: `time limit of ${values['time-limit']} s exceeded` })}\n`);
    process.exit(2);
  }, num('time-limit', values['time-limit']) * 1000);
  limit.unref();
  const result = await run(ctx);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((err: unknown) => {
  const msg = err instanceof Error ? err.message : String(err);
  process.stdout.write(`RESULT ${JSON.stringify({ error: msg })}\n`, () => process.exit(1));
});
