// Proves that the thing, cert and endpoint commands parse their arguments, call the API as AWS
// requires (certificates set INACTIVE before delete, refused or detached when attached, restored when
// the delete fails), print tables or --json, and exit 0 / 1 / 2 as documented, against a fake API.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createProgram, reportFailure } from './program.js';
import { FakeIotAdmin, fakeSession, serviceError } from './fake-iot-admin.js';
import type { ConnectionFlags } from './connection.js';
import { formatFields, formatTable } from './output.js';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The connection flags the command opened its session with. */
  readonly flags: ConnectionFlags | undefined;
}

async function run(api: FakeIotAdmin, args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  let flags: ConnectionFlags | undefined;
  const io = { stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t) };
  const program = createProgram({
    io,
    openSession: async (given) => {
      flags = given;
      return fakeSession(api);
    },
  });
  try {
    await program.parseAsync(args, { from: 'user' });
    return { code: 0, stdout, stderr, flags };
  } catch (err: unknown) {
    const code = reportFailure(err, io, {});
    return { code, stdout, stderr, flags };
  }
}

const json = (text: string): unknown => JSON.parse(text);

describe('cli output formatting', () => {
  it('aligns table columns and leaves the last one unpadded', () => {
    assert.equal(formatTable(['NAME', 'V'], [['a', '1'], ['longer', '22']]), 'NAME    V\na       1\nlonger  22\n');
  });

  it('aligns fields, indents further lines of a value and leaves out undefined ones', () => {
    assert.equal(formatFields([['ID', 'x'], ['Skipped', undefined], ['Things', 'a\nb']]), 'ID      x\nThings  a\n        b\n');
  });
});

describe('thingcore thing', () => {
  it('lists things as a table, or as the ListThings shape with --json', async () => {
    const api = new FakeIotAdmin();
    api.addThing('sensor-1', { room: 'kitchen', floor: '1' });
    api.addThing('lamp');
    const table = await run(api, ['thing', 'list', '--data-dir', '/tmp/x']);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stdout, 'NAME      TYPE  VERSION  ATTRIBUTES\nsensor-1  -     1        floor=1, room=kitchen\nlamp      -     1        -\n');
    assert.equal(table.flags?.dataDir, '/tmp/x');

    const machine = await run(api, ['thing', 'list', '--json']);
    assert.deepEqual(json(machine.stdout), {
      things: [
        { thingName: 'sensor-1', thingArn: 'arn:aws:iot:us-east-1:000000000000:thing/sensor-1', version: 1, attributes: { room: 'kitchen', floor: '1' } },
        { thingName: 'lamp', thingArn: 'arn:aws:iot:us-east-1:000000000000:thing/lamp', version: 1, attributes: {} },
      ],
    });
    assert.equal((await run(new FakeIotAdmin(), ['thing', 'list'])).stdout, 'no things\n');
  });

  it('describes a thing with its principals', async () => {
    const api = new FakeIotAdmin();
    api.addThing('sensor-1');
    const id = api.addCertificate();
    await api.attachThingPrincipal({ thingName: 'sensor-1', principal: `arn:aws:iot:us-east-1:000000000000:cert/${id}` });
    const { code, stdout } = await run(api, ['thing', 'describe', 'sensor-1']);
    assert.equal(code, 0);
    assert.match(stdout, /^Name +sensor-1$/m);
    assert.match(stdout, /^ARN +arn:aws:iot:us-east-1:000000000000:thing\/sensor-1$/m);
    assert.match(stdout, new RegExp(`^Principals +arn:aws:iot:us-east-1:000000000000:cert/${id}$`, 'm'));
    const machine = json((await run(api, ['thing', 'describe', 'sensor-1', '--json'])).stdout) as Record<string, unknown>;
    assert.equal(machine['defaultClientId'], 'sensor-1');
    assert.deepEqual(machine['principals'], [`arn:aws:iot:us-east-1:000000000000:cert/${id}`]);
  });

  it('shows AWS errors as "<ExceptionName>: <message>" and exits 1', async () => {
    const { code, stdout, stderr } = await run(new FakeIotAdmin(), ['thing', 'describe', 'nope']);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.equal(stderr, 'thingcore: ResourceNotFoundException: Thing nope cannot be found.\n');
  });

  it('deletes a thing, and refuses a missing one instead of reporting success', async () => {
    const api = new FakeIotAdmin();
    api.addThing('sensor-1');
    assert.deepEqual(await run(api, ['thing', 'delete', 'sensor-1']), { code: 0, stdout: 'deleted thing sensor-1\n', stderr: '', flags: {} });
    assert.equal(api.things.size, 0);
    const missing = await run(api, ['thing', 'delete', 'sensor-1']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ResourceNotFoundException/);
    assert.equal(api.calls.filter((c) => c === 'deleteThing sensor-1').length, 1, 'the second delete never reached DeleteThing');
  });
});

describe('thingcore cert', () => {
  it('lists certificates as a table or JSON', async () => {
    const api = new FakeIotAdmin();
    const id = api.addCertificate('ACTIVE');
    const { stdout } = await run(api, ['cert', 'list']);
    assert.equal(stdout, `${'ID'.padEnd(64)}  STATUS  CREATED\n${id}  ACTIVE  2026-01-02 03:04:05Z\n`);
    const machine = json((await run(api, ['cert', 'list', '--json'])).stdout) as { certificates: Array<Record<string, unknown>> };
    assert.equal(machine.certificates[0]?.['certificateId'], id);
    assert.equal(machine.certificates[0]?.['creationDate'], '2026-01-02T03:04:05.000Z');
  });

  it('describes a certificate named by a unique prefix, with its things', async () => {
    const api = new FakeIotAdmin();
    api.addThing('sensor-1');
    const id = api.addCertificate('ACTIVE', 'ab'.repeat(32));
    api.addCertificate('ACTIVE', 'ac'.repeat(32));
    await api.attachThingPrincipal({ thingName: 'sensor-1', principal: `arn:aws:iot:us-east-1:000000000000:cert/${id}` });
    const { code, stdout } = await run(api, ['cert', 'describe', 'AB']);
    assert.equal(code, 0);
    assert.match(stdout, new RegExp(`^ID +${id}$`, 'm'));
    assert.match(stdout, /^Status +ACTIVE$/m);
    assert.match(stdout, /^Valid until +2027-01-02 03:04:05Z$/m);
    assert.match(stdout, /^Things +sensor-1$/m);

    const ambiguous = await run(api, ['cert', 'describe', 'a']);
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.stderr, /a is the start of 2 certificate ids/);
    const notHex = await run(api, ['cert', 'describe', 'xyz']);
    assert.equal(notHex.code, 2);
    assert.match(notHex.stderr, /64 hexadecimal characters/);
    const none = await run(api, ['cert', 'describe', 'ff']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no certificate id starts with ff/);
  });

  it('sets an ACTIVE certificate INACTIVE before deleting it', async () => {
    const api = new FakeIotAdmin();
    const id = api.addCertificate('ACTIVE');
    const { code, stdout } = await run(api, ['cert', 'delete', id]);
    assert.equal(code, 0);
    assert.equal(stdout, `deleted certificate ${id} (set it INACTIVE first)\n`);
    assert.deepEqual(api.calls.slice(-2), [`updateCertificate ${id} INACTIVE`, `deleteCertificate ${id}`]);
    assert.equal(api.certificates.size, 0);
  });

  it('refuses an attached certificate without --force, before changing anything', async () => {
    const api = new FakeIotAdmin();
    api.addThing('sensor-1');
    const id = api.addCertificate('ACTIVE');
    const arn = `arn:aws:iot:us-east-1:000000000000:cert/${id}`;
    await api.attachThingPrincipal({ thingName: 'sensor-1', principal: arn });
    const { code, stderr } = await run(api, ['cert', 'delete', id]);
    assert.equal(code, 1);
    assert.match(stderr, /is attached to sensor-1: detach it first, or use --force/);
    assert.equal(api.certificates.get(id)?.status, 'ACTIVE');
    assert.ok(!api.calls.some((c) => c.startsWith('updateCertificate') || c.startsWith('detach')));
  });

  it('with --force detaches it from its things and forces the delete past its policies', async () => {
    const api = new FakeIotAdmin();
    api.addThing('sensor-1');
    const id = api.addCertificate('ACTIVE');
    const arn = `arn:aws:iot:us-east-1:000000000000:cert/${id}`;
    await api.attachThingPrincipal({ thingName: 'sensor-1', principal: arn });
    await api.createPolicy({ policyName: 'p', policyDocument: '{}' });
    await api.attachPolicy({ policyName: 'p', target: arn });
    const { code, stdout } = await run(api, ['cert', 'delete', id, '--force', '--json']);
    assert.equal(code, 0);
    assert.deepEqual(json(stdout), { certificateId: id, deactivated: true, detachedFrom: ['sensor-1'], deleted: true });
    assert.equal(api.certificates.size, 0);
    assert.equal(api.thingPrincipals.get('sensor-1')?.size, 0);
  });

  it('puts the certificate back as it was when the delete fails', async () => {
    const api = new FakeIotAdmin();
    api.addThing('sensor-1');
    const id = api.addCertificate('ACTIVE');
    const arn = `arn:aws:iot:us-east-1:000000000000:cert/${id}`;
    await api.attachThingPrincipal({ thingName: 'sensor-1', principal: arn });
    api.failOn('deleteCertificate', serviceError('ThrottlingException', 'Rate exceeded', 400));
    const { code, stderr } = await run(api, ['cert', 'delete', id, '--force']);
    assert.equal(code, 1);
    assert.match(stderr, new RegExp(`could not delete certificate ${id}: ThrottlingException: Rate exceeded`));
    assert.match(stderr, /Everything it had done was undone:\n {2}- set it ACTIVE again\n {2}- attached it to sensor-1 again/);
    assert.equal(api.certificates.get(id)?.status, 'ACTIVE');
    assert.deepEqual([...(api.thingPrincipals.get('sensor-1') ?? [])], [arn]);
  });
});

describe('thingcore endpoint', () => {
  it('prints the DescribeEndpoint address for the asked type', async () => {
    const api = new FakeIotAdmin();
    assert.equal((await run(api, ['endpoint'])).stdout, '127.0.0.1:8883\n');
    assert.deepEqual(json((await run(api, ['endpoint', '--type', 'iot:Jobs', '--json'])).stdout), { endpointAddress: '127.0.0.1:8883' });
    assert.deepEqual(api.calls, ['describeEndpoint iot:Data-ATS', 'describeEndpoint iot:Jobs']);
  });
});

describe('thingcore usage errors', () => {
  it('exit 2 for unknown options, missing arguments, bad choices and unknown commands; 0 for --help', async () => {
    const api = new FakeIotAdmin();
    for (const args of [
      ['thing', 'list', '--bogus'],
      ['thing', 'describe'],
      ['endpoint', '--type', 'iot:Nope'],
      ['device', 'create', 'sensor-1'],
      ['frobnicate'],
      ['thing'],
      [],
    ]) {
      const { code, stderr } = await run(api, args);
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.notEqual(stderr, '', args.join(' '));
    }
    assert.deepEqual(api.calls, [], 'no API call for a usage error');
    const help = await run(api, ['thing', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /list/);
  });
});
