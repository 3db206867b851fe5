// Proves that `thingcore shadow get|update|delete|list|history`, run in-process against the real server through its data dir (endpoints.json, credentials, ca.pem), drives shadows over the HTTP data plane: it prints the AWS documents, lists every named shadow across pages, pages the history, and ends refusals with exit code 1 and the AWS exception name and message.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProgram, reportFailure } from '../../src/cli/index.js';
import { startTestServer } from './helpers/server.js';
import type { TestServer } from './helpers/server.js';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('thingcore shadow commands against the real server', () => {
  let ts: TestServer;
  let scratch: string;

  const thingcore = async (...args: string[]): Promise<Run> => {
    let stdout = '';
    let stderr = '';
    const io = { stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t) };
    let code = 0;
    try {
      await createProgram({ io }).parseAsync(['node', 'thingcore', ...args, '--data-dir', ts.dataDir]);
    } catch (err: unknown) {
      code = reportFailure(err, io, {});
    }
    return { code, stdout, stderr };
  };
  const doc = (run: Run): Record<string, unknown> => JSON.parse(run.stdout) as Record<string, unknown>;

  before(async () => {
    ts = await startTestServer();
    scratch = await mkdtemp(join(tmpdir(), 'thingcore-shadow-cli-'));
  });
  after(async () => {
    await ts.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('update, get and delete the classic shadow; the document is printed as JSON', async () => {
    const missing = await thingcore('shadow', 'get', 'bulb');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, "thingcore: ResourceNotFoundException: No shadow exists with name: 'bulb'\n");

    const updated = await thingcore('shadow', 'update', 'bulb', '--payload', '{"state":{"desired":{"on":true}},"clientToken":"cli-1"}');
    assert.equal(updated.code, 0, updated.stderr);
    assert.deepEqual(doc(updated)['state'], { desired: { on: true } });
    assert.equal(doc(updated)['clientToken'], 'cli-1');

    const file = join(scratch, 'reported.json');
    await writeFile(file, '{"state":{"reported":{"on":false}}}');
    assert.equal((await thingcore('shadow', 'update', 'bulb', '--payload', `@${file}`)).code, 0);

    const got = await thingcore('shadow', 'get', 'bulb');
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(doc(got)['state'], { desired: { on: true }, reported: { on: false }, delta: { on: true } });
    assert.equal(doc(got)['version'], 2);

    const deleted = await thingcore('shadow', 'delete', 'bulb');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, 'deleted shadow of bulb (version 2)\n');
  });

  it('named shadows: update --name, list (every page), delete --name --json', async () => {
    for (let i = 0; i < 105; i++) {
      const shadowName = `s${String(i).padStart(3, '0')}`;
      const run = await thingcore('shadow', 'update', 'hub', '--name', shadowName, '--payload', `{"state":{"reported":{"i":${i}}}}`);
      assert.equal(run.code, 0, run.stderr);
    }
    const listed = await thingcore('shadow', 'list', 'hub');
    assert.equal(listed.code, 0, listed.stderr);
    const names = listed.stdout.trimEnd().split('\n');
    assert.equal(names.length, 105, 'two pages of 100 and 5');
    assert.equal(names[0], 's000');
    assert.equal(names[104], 's104');

    const deleted = await thingcore('shadow', 'delete', 'hub', '--name', 's000', '--json');
    assert.equal(doc(deleted)['version'], 1);
    const json = await thingcore('shadow', 'list', 'hub', '--json');
    assert.equal((doc(json)['results'] as string[]).length, 104);
    assert.equal((await thingcore('shadow', 'list', 'nobody')).stdout, 'no named shadows for nobody\n');
  });

  it('history: a table newest first with a hint for older versions, --before pages on, --json as the API answers', async () => {
    for (let i = 1; i <= 4; i++) await thingcore('shadow', 'update', 'meter', '--payload', `{"state":{"reported":{"kwh":${i}}}}`);
    const table = await thingcore('shadow', 'history', 'meter', '--limit', '2');
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^VERSION\s+ACCEPTED\s+STATE$/);
    assert.match(lines[1] ?? '', /^4\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\{"reported":\{"kwh":4\}\}$/);
    assert.match(lines[2] ?? '', /^3\s/);
    assert.equal(lines[3], '(older versions: --before 3)');

    const older = await thingcore('shadow', 'history', 'meter', '--before', '3', '--json');
    const versions = doc(older)['versions'] as Array<Record<string, unknown>>;
    assert.deepEqual(versions.map((v) => v['version']), [2, 1]);
    assert.deepEqual(versions[1]?.['state'], { reported: { kwh: 1 } });
    assert.equal('nextBefore' in doc(older), false);
  });

  it('refusals end with exit code 1 and the AWS exception; bad flags with exit code 2', async () => {
    const conflict = await thingcore('shadow', 'update', 'meter', '--payload', '{"state":{"reported":{"kwh":0}},"version":1}');
    assert.equal(conflict.code, 1);
    assert.equal(conflict.stderr, 'thingcore: ConflictException: Version conflict\n');
    const invalid = await thingcore('shadow', 'update', 'meter', '--payload', 'not json');
    assert.equal(invalid.stderr, 'thingcore: InvalidRequestException: Invalid JSON\n');
    const badLimit = await thingcore('shadow', 'history', 'meter', '--limit', '500');
    assert.equal(badLimit.stderr, 'thingcore: InvalidRequestException: limit must be an integer from 1 to 100\n');
    assert.equal((await thingcore('shadow', 'update', 'meter')).code, 2, '--payload is required');
    assert.equal((await thingcore('shadow', 'history', 'meter', '--limit', 'x')).code, 2);
  });
});
