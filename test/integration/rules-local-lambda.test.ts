// Proves that a `thingcore serve` configured with `rules.localFunctions` runs a topic rule's lambda action in the mapped local module, firing on named-shadow documents only when reported.value changes.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectClient, endClient, startTestServer, type TestServer } from './helpers/server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const functionArn = 'arn:aws:lambda:us-east-1:000000000000:function:onReportedChange';
const sql =
  "SELECT * FROM '$aws/things/+/shadow/name/+/update/documents' WHERE isNull(previous) OR previous.state.reported.value <> current.state.reported.value";

describe('rules: lambda action served by a configured local function', () => {
  let ts: TestServer;
  let dir: string;
  let eventsFile: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'thingcore-local-fn-'));
    eventsFile = join(dir, 'events.jsonl');
    const modulePath = join(dir, 'on-reported-change.mjs');
    await writeFile(
      modulePath,
      [
        "import { appendFileSync } from 'node:fs';",
        'export async function handler(event) {',
        `  appendFileSync(${JSON.stringify(eventsFile)}, JSON.stringify(event) + '\\n');`,
        '  return { ok: true };',
        '}',
        '',
      ].join('\n'),
    );
    ts = await startTestServer({ profile: 'aws', dev: true, config: { rules: { localFunctions: { [functionArn]: modulePath } } } });
    await ts.server.rules.createTopicRule({
      ruleName: 'on_reported_change',
      topicRulePayload: { sql, awsIotSqlVersion: '2016-03-23', actions: [{ lambda: { functionArn } }] },
    } as never);
  });
  after(async () => {
    await ts?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  async function events(): Promise<Array<{ previous: unknown; current: { state: { reported: { value: number } } } }>> {
    const text = await readFile(eventsFile, 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as { previous: unknown; current: { state: { reported: { value: number } } } });
  }

  it('runs exactly once per change of reported.value (1, 1, 2, desired-only, 3 → 1, 2, 3)', async () => {
    const device = await connectClient(ts, 'tcp', { protocolVersion: 5 });
    try {
      const shadowTopic = '$aws/things/sensor-1/shadow/name/telemetry/update';
      await device.subscribeAsync(`${shadowTopic}/accepted`, { qos: 1 });
      const update = async (state: object): Promise<void> => {
        const accepted = new Promise<void>((resolve) => device.once('message', () => resolve()));
        await device.publishAsync(shadowTopic, JSON.stringify({ state }), { qos: 1 });
        await accepted;
      };
      await update({ reported: { value: 1 } });
      await update({ reported: { value: 1 } });
      await update({ reported: { value: 2 } });
      await update({ desired: { value: 9 } });
      await update({ reported: { value: 3 } });

      const deadline = Date.now() + 10_000;
      while ((await events()).length < 3 && Date.now() < deadline) await sleep(50);
      await sleep(500); // room for a wrong fourth invocation to show up
      const got = await events();
      assert.equal(got.length, 3, `the function ran ${got.length} times: ${JSON.stringify(got)}`);
      assert.deepEqual(
        got.map((e) => e.current.state.reported.value).sort((a, b) => a - b),
        [1, 2, 3],
      );
      assert.ok(got.some((e) => e.previous === null || e.previous === undefined), 'the first document has no previous state');
    } finally {
      await endClient(device);
    }
  });
});
