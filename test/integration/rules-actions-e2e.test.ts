// Proves, through the real server, that the shadow-documents change detector (spec/iot-sql.md section 10 and vector 49) invokes its lambda action exactly when a named shadow's reported value changes: on creation and on each new value, never for a repeated value or a desired-only update, with the SELECT output as the event and InvocationType 'Event'.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient, nextMessage, startTestServer, type TestServer } from './helpers/server.js';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:onReportedChange';
const SQL =
  "SELECT topic(3) AS thing, topic(6) AS shadow, current.state.reported.value AS value FROM '$aws/things/+/shadow/name/+/update/documents' " +
  'WHERE isNull(previous) OR previous.state.reported.value <> current.state.reported.value';

interface Invocation {
  readonly path: string;
  readonly invocationType: string | undefined;
  readonly event: unknown;
}

describe('shadow documents rule → lambda action (real server, Lambda-compatible endpoint)', () => {
  let lambda: Server;
  let ts: TestServer;
  let device: MqttClient;
  const invocations: Invocation[] = [];
  const savedEnv = new Map<string, string | undefined>();

  function setEnv(name: string, value: string): void {
    if (!savedEnv.has(name)) savedEnv.set(name, process.env[name]);
    process.env[name] = value;
  }

  before(async () => {
    // The server is not told of any Lambda endpoint or local function: the action goes through
    // @aws-sdk/client-lambda, which reads the standard AWS_ENDPOINT_URL_LAMBDA and credentials.
    lambda = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        invocations.push({
          path: decodeURIComponent(req.url ?? ''),
          invocationType: req.headers['x-amz-invocation-type'] as string | undefined,
          event: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
        });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => lambda.listen(0, '127.0.0.1', r));
    setEnv('AWS_ENDPOINT_URL_LAMBDA', `http://127.0.0.1:${(lambda.address() as { port: number }).port}`);
    setEnv('AWS_ACCESS_KEY_ID', 'AKIDE2E');
    setEnv('AWS_SECRET_ACCESS_KEY', 'e2e-secret');

    ts = await startTestServer({ profile: 'aws', dev: true });
    await ts.server.rules.createTopicRule({
      ruleName: 'reported_value_changed',
      topicRulePayload: { sql: SQL, awsIotSqlVersion: '2016-03-23', actions: [{ lambda: { functionArn: FUNCTION_ARN } }] },
    });
    device = await connectClient(ts, 'tcp', { clientId: 'lamp1-device' });
    await device.subscribeAsync('$aws/things/lamp1/shadow/name/cfg/update/accepted', { qos: 1 });
  });

  after(async () => {
    await endClient(device, true);
    await ts.close();
    await new Promise((r) => lambda.close(r));
    for (const [name, value] of savedEnv) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  async function update(state: Record<string, unknown>): Promise<void> {
    const accepted = nextMessage(device, (t) => t === '$aws/things/lamp1/shadow/name/cfg/update/accepted');
    await device.publishAsync('$aws/things/lamp1/shadow/name/cfg/update', JSON.stringify({ state }), { qos: 1 });
    await accepted;
  }

  async function invocationCount(n: number): Promise<void> {
    for (let i = 0; i < 250 && invocations.length < n; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(invocations.length, n, `expected ${n} invocations, got ${JSON.stringify(invocations.map((v) => v.event))}`);
  }

  it('fires on creation and on each change of state.reported.value, and only then', async () => {
    await update({ reported: { value: 1 } }); // creates the shadow: previous is null → fires
    await invocationCount(1);
    await update({ reported: { value: 1, note: 'same value' } }); // reported.value unchanged → no
    await update({ desired: { value: 5 } }); // desired only → no
    await update({ reported: { value: 2 } }); // changed → fires
    await invocationCount(2);
    await update({ reported: { value: 2 } }); // repeated → no
    await update({ reported: { value: 3 } }); // changed → fires (and marks the end)
    await invocationCount(3);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(invocations.length, 3, 'nothing late');
    assert.deepStrictEqual(
      invocations.map((v) => v.event),
      [1, 2, 3].map((value) => ({ thing: 'lamp1', shadow: 'cfg', value })),
    );
    for (const v of invocations) {
      assert.equal(v.path, `/2015-03-31/functions/${FUNCTION_ARN}/invocations`);
      assert.equal(v.invocationType, 'Event');
    }
    const metrics = await ts.server.rules.getTopicRuleMetrics('reported_value_changed');
    assert.equal(metrics.matched, 3);
    assert.equal(metrics.succeeded, 3);
    assert.equal(metrics.failed, 0, metrics.lastError);
  });
});
