// Proves `npm run bench` works end to end: the load generator drives Thingcore, Mosquitto and Aedes
// through every scenario (briefly) and no QoS 1 message is lost or duplicated. Timings are never
// asserted here (STYLE.md 8.8): the figures come from full runs, reported in bench/RESULTS.md.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import * as assert from 'node:assert/strict';

const haveMosquitto = existsSync('/usr/sbin/mosquitto');

it('the benchmark runs every scenario against every broker', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thingcore-bench-smoke-'));
  try {
    const json = join(dir, 'out.json');
    const brokers = haveMosquitto ? 'thingcore,mosquitto,aedes' : 'thingcore,aedes';
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['dist/bench/run.js', '--quick', '--brokers', brokers, '--json', json, '--strict'],
        { timeout: 220_000, maxBuffer: 16 * 1024 * 1024 },
        (err, out, errOut) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: out, stderr: errOut }),
      );
    });
    assert.equal(code, 0, `bench exited ${code}\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`);
    const raw = await readFile(json, 'utf8');
    assert.ok(raw.length > 0, 'the run wrote its raw results');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
