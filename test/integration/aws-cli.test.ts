// Proves the AWS CLI (Debian's aws-cli v2, which signs the iot service as `execute-api`) works
// against `thingcore serve` unchanged, with only --endpoint-url, --ca-bundle and the generated
// credentials file, as the README tells a newcomer.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.js';

const AWS = ['/usr/bin/aws', '/usr/local/bin/aws'].find((p) => existsSync(p));

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function aws(ts: TestServer, args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      AWS!,
      [...args, '--endpoint-url', `https://127.0.0.1:${ts.endpoints.https.port}`, '--ca-bundle', join(ts.dataDir, 'ca.pem'), '--output', 'json'],
      {
        timeout: 60_000,
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          HOME: ts.dataDir,
          AWS_SHARED_CREDENTIALS_FILE: join(ts.dataDir, 'credentials'),
          AWS_CONFIG_FILE: join(ts.dataDir, 'no-aws-config'),
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_PAGER: '',
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('the AWS CLI against thingcore serve', { skip: AWS === undefined ? 'no aws CLI installed (CI installs Debian awscli)' : false }, () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ dev: false });
  });
  after(async () => {
    await ts?.close();
  });

  it('creates, lists, describes and deletes a thing; errors carry the AWS exception name', async () => {
    const created = await aws(ts, ['iot', 'create-thing', '--thing-name', 'cli-sensor-1', '--attribute-payload', '{"attributes":{"room":"kitchen"}}']);
    assert.equal(created.code, 0, created.stderr);
    const thing = JSON.parse(created.stdout) as { thingName: string; thingArn: string; thingId: string };
    assert.equal(thing.thingName, 'cli-sensor-1');
    assert.equal(thing.thingArn, 'arn:aws:iot:us-east-1:000000000000:thing/cli-sensor-1');

    // Same name and attributes again: the same thing (CreateThing is idempotent)
    const again = await aws(ts, ['iot', 'create-thing', '--thing-name', 'cli-sensor-1', '--attribute-payload', '{"attributes":{"room":"kitchen"}}']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { thingId: string }).thingId, thing.thingId);

    const listed = await aws(ts, ['iot', 'list-things']);
    assert.equal(listed.code, 0, listed.stderr);
    const things = (JSON.parse(listed.stdout) as { things: Array<{ thingName: string; attributes: Record<string, string> }> }).things;
    assert.deepEqual(
      things.find((t) => t.thingName === 'cli-sensor-1')?.attributes,
      { room: 'kitchen' },
    );

    const missing = await aws(ts, ['iot', 'describe-thing', '--thing-name', 'no-such-thing']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /ResourceNotFoundException/);

    const deleted = await aws(ts, ['iot', 'delete-thing', '--thing-name', 'cli-sensor-1']);
    assert.equal(deleted.code, 0, deleted.stderr);
  });

  it('describe-endpoint answers the MQTT-over-TLS address', async () => {
    const r = await aws(ts, ['iot', 'describe-endpoint', '--endpoint-type', 'iot:Data-ATS']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { endpointAddress: `127.0.0.1:${ts.endpoints.mqtts.port}` });
  });

  it('a wrong secret is refused with a signature error', async () => {
    const { writeFile } = await import('node:fs/promises');
    const bad = join(ts.dataDir, 'bad-credentials');
    await writeFile(bad, '[default]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\naws_secret_access_key = wrong\n');
    const r = await new Promise<CliResult>((resolve) => {
      execFile(
        AWS!,
        ['iot', 'list-things', '--endpoint-url', `https://127.0.0.1:${ts.endpoints.https.port}`, '--ca-bundle', join(ts.dataDir, 'ca.pem')],
        { timeout: 60_000, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: ts.dataDir, AWS_SHARED_CREDENTIALS_FILE: bad, AWS_CONFIG_FILE: join(ts.dataDir, 'none'), AWS_DEFAULT_REGION: 'us-east-1' } },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      );
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /UnrecognizedClientException|InvalidSignatureException/);
  });
});
