// Proves that `thingcore device create` makes the thing, an active certificate, the attachment and a
// per-device policy (or carries on without one when the server has no policies), writes the five
// files (key.pem 0600), and when any step fails undoes every earlier one and says so, against a fake API.
import { describe, it, beforeEach, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDevice } from './device.js';
import type { CreatedDevice } from './device.js';
import { devicePolicyDocument, devicePolicyName, mosquittoCommands } from './device-files.js';
import { CliError } from './errors.js';
import { FakeIotAdmin, fakeSession, serviceError } from './fake-iot-admin.js';
import { createProgram, reportFailure } from './program.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'thingcore-device-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Outcome {
  readonly device?: CreatedDevice;
  readonly error?: CliError;
  readonly stderr: string;
}

async function create(api: FakeIotAdmin, options: { thingName?: string; policy?: boolean; out?: string } = {}): Promise<Outcome> {
  let stderr = '';
  const io = { stdout: () => undefined, stderr: (t: string) => void (stderr += t) };
  const session = fakeSession(api);
  try {
    const device = await createDevice(session, { thingName: options.thingName ?? 'sensor-1', outDir: options.out ?? join(dir, 'out'), policy: options.policy ?? true }, io);
    return { device, stderr };
  } catch (err: unknown) {
    assert.ok(err instanceof CliError, String(err));
    return { error: err, stderr };
  }
}

/** Nothing the command made is left on the fake server. */
function assertNothingLeft(api: FakeIotAdmin): void {
  assert.equal(api.things.size, 0, 'no thing');
  assert.equal(api.certificates.size, 0, 'no certificate');
  assert.equal(api.policies.size, 0, 'no policy');
}

describe('thingcore device create', () => {
  it('creates the thing, an active certificate attached to it and a policy, and writes the files', async () => {
    const api = new FakeIotAdmin();
    const { device, stderr } = await create(api);
    assert.ok(device !== undefined);
    assert.equal(stderr, '');
    const { certificateId, certificateArn } = device;
    assert.deepEqual(api.calls, [
      'describeThing sensor-1',
      'createThing sensor-1',
      'createKeysAndCertificate',
      `attachThingPrincipal sensor-1 ${certificateArn}`,
      'createPolicy sensor-1-policy',
      `attachPolicy sensor-1-policy ${certificateArn}`,
    ]);
    assert.equal(api.certificates.get(certificateId)?.status, 'ACTIVE');
    assert.deepEqual([...(api.thingPrincipals.get('sensor-1') ?? [])], [certificateArn]);
    assert.deepEqual([...(api.policyTargets.get('sensor-1-policy') ?? [])], [certificateArn]);
    assert.equal(device.policyName, 'sensor-1-policy');
    assert.deepEqual(device.mqtt, { host: '127.0.0.1', port: 8883, clientId: 'sensor-1' });

    const out = join(dir, 'out');
    assert.deepEqual((await readdir(out)).sort(), ['README.txt', 'ca.pem', 'cert.pem', 'connect.mjs', 'key.pem']);
    assert.equal((await stat(join(out, 'key.pem'))).mode & 0o777, 0o600);
    assert.match(await readFile(join(out, 'key.pem'), 'utf8'), /BEGIN RSA PRIVATE KEY/);
    assert.match(await readFile(join(out, 'cert.pem'), 'utf8'), new RegExp(certificateId));
    assert.match(await readFile(join(out, 'ca.pem'), 'utf8'), /THE CA/);
    const snippet = await readFile(join(out, 'connect.mjs'), 'utf8');
    assert.match(snippet, /connect\("mqtts:\/\/127\.0\.0\.1:8883"/);
    assert.match(snippet, /clientId: "sensor-1"/);
    const readme = await readFile(join(out, 'README.txt'), 'utf8');
    const { sub, pub } = mosquittoCommands({ thingName: 'sensor-1', certificateId, host: '127.0.0.1', port: 8883, policy: { name: 'x' } });
    assert.ok(readme.includes(sub) && readme.includes(pub), readme);
    assert.match(sub, /^mosquitto_sub -h 127\.0\.0\.1 -p 8883 --cafile ca\.pem --cert cert\.pem --key key\.pem -i sensor-1 -t 'sensor-1\/hello'/);
  });

  it('writes a policy that lets the device connect as itself and use its own topics only', () => {
    const document = JSON.parse(devicePolicyDocument('arn:aws:iot:eu-west-1:123456789012:thing/sensor-1', 'sensor-1')) as {
      Statement: Array<{ Action: string | string[]; Resource: string[] }>;
    };
    const resources = document.Statement.flatMap((s) => s.Resource);
    assert.ok(resources.every((r) => r.startsWith('arn:aws:iot:eu-west-1:123456789012:')), resources.join());
    assert.ok(resources.includes('arn:aws:iot:eu-west-1:123456789012:client/sensor-1'));
    assert.ok(resources.includes('arn:aws:iot:eu-west-1:123456789012:topic/sensor-1/*'));
    assert.ok(resources.includes('arn:aws:iot:eu-west-1:123456789012:topicfilter/$aws/things/sensor-1/*'));
  });

  it('names the policy after the thing, within the 128 characters a policy name may have', () => {
    assert.equal(devicePolicyName('lamp:2'), 'lamp.2-policy');
    const long = 'x'.repeat(128);
    const name = devicePolicyName(long);
    assert.equal(name.length, 128);
    assert.match(name, /^x+-[0-9a-f]{8}-policy$/);
    assert.notEqual(devicePolicyName(`${long.slice(1)}a`), devicePolicyName(`${long.slice(1)}b`), 'names that differ only after the cut differ');
    assert.match(devicePolicyName('z'.repeat(121)), /^z{121}-policy$/);
  });

  it('carries on without a policy when the server does not offer policies yet, and says so', async () => {
    const api = new FakeIotAdmin();
    api.policiesSupported = false;
    const { device, stderr } = await create(api);
    assert.equal(device?.policyName, null);
    assert.match(stderr, /^notice: the server does not offer policies yet/);
    assert.equal(api.certificates.size, 1);
    assert.match(await readFile(join(dir, 'out', 'README.txt'), 'utf8'), /Policy\n {2}none: the server does not offer policies yet/);
  });

  it('treats a 404 that is not an AWS error as "no policies" too', async () => {
    const api = new FakeIotAdmin();
    api.failOn('createPolicy', Object.assign(new SyntaxError('Unexpected token'), { $metadata: { httpStatusCode: 404 } }));
    const { device } = await create(api);
    assert.equal(device?.policyName, null);
  });

  it('makes no policy with --no-policy', async () => {
    const api = new FakeIotAdmin();
    const { device } = await create(api, { policy: false });
    assert.equal(device?.policyName, null);
    assert.ok(!api.calls.some((c) => c.includes('Policy')));
  });

  it('attaches an existing policy of the same name instead of failing, and keeps it on undo', async () => {
    const api = new FakeIotAdmin();
    await api.createPolicy({ policyName: 'sensor-1-policy', policyDocument: '{}' });
    const { device, stderr } = await create(api);
    assert.equal(device?.policyName, 'sensor-1-policy');
    assert.match(stderr, /the policy sensor-1-policy already exists; attaching it as it is/);
  });

  for (const [operation, step] of [
    ['createThing', 'creating the thing'],
    ['createKeysAndCertificate', 'creating the certificate and keys'],
    ['attachThingPrincipal', 'attaching the certificate to the thing'],
    ['createPolicy', 'creating the device policy'],
    ['attachPolicy', 'attaching the policy to the certificate'],
  ] as const) {
    it(`undoes every earlier step when ${operation} fails`, async () => {
      const api = new FakeIotAdmin();
      api.failOn(operation, serviceError('ThrottlingException', 'Rate exceeded', 400));
      const { error } = await create(api);
      assert.ok(error !== undefined);
      assert.equal(error.exitCode, 1);
      assert.match(error.message, new RegExp(`^device create failed while ${step}: ThrottlingException: Rate exceeded`));
      assertNothingLeft(api);
      if (operation !== 'createThing') assert.match(error.message, /Everything it had done was undone:\n.*- deleted the thing sensor-1$/s);
      if (operation === 'attachPolicy') {
        assert.match(error.message, /- deleted the policy sensor-1-policy\n/);
        assert.match(error.message, /- detached the certificate from sensor-1\n/);
      }
      const certificate = api.calls.find((c) => c.startsWith('deleteCertificate'));
      if (operation !== 'createThing' && operation !== 'createKeysAndCertificate') {
        const id = certificate?.split(' ')[1] ?? '';
        assert.ok(api.calls.indexOf(`updateCertificate ${id} INACTIVE`) < api.calls.indexOf(`deleteCertificate ${id} force`), 'INACTIVE before the delete');
      }
      assert.deepEqual(await readdir(join(dir, 'out')), [], 'no files');
    });
  }

  it('undoes everything when writing the files fails, and leaves no file behind', async () => {
    const api = new FakeIotAdmin();
    const out = join(dir, 'out');
    await mkdir(out);
    // A dangling symlink passes the "already exists" check but the exclusive write refuses it (even as root).
    await symlink(join(dir, 'nowhere'), join(out, 'README.txt'));
    const { error } = await create(api, { out });
    assert.ok(error !== undefined);
    assert.match(error.message, /^device create failed while writing the files: cannot write .*README\.txt: EEXIST/);
    assertNothingLeft(api);
    assert.deepEqual(await readdir(out), ['README.txt'], 'the files written before the failure are removed');
  });

  it('refuses, before calling the server, to overwrite files in --out', async () => {
    const api = new FakeIotAdmin();
    const out = join(dir, 'out');
    await mkdir(out);
    await writeFile(join(out, 'key.pem'), 'precious');
    const { error } = await create(api, { out });
    assert.match(error?.message ?? '', /key\.pem already exists: choose another --out directory/);
    assert.deepEqual(api.calls, []);
    assert.equal(await readFile(join(out, 'key.pem'), 'utf8'), 'precious');
  });

  it('refuses an existing thing instead of adopting (and on failure deleting) it', async () => {
    const api = new FakeIotAdmin();
    api.addThing('sensor-1');
    const { error } = await create(api);
    assert.match(error?.message ?? '', /^thing sensor-1 already exists/);
    assert.deepEqual(api.calls, ['describeThing sensor-1']);
    assert.equal(api.things.size, 1);
  });

  it('reports the undo steps that failed with the command that does them by hand', async () => {
    const api = new FakeIotAdmin();
    api.failOn('attachPolicy');
    api.failOn('deleteThing', serviceError('ServiceUnavailableException', 'try later', 503));
    const { error } = await create(api);
    assert.match(error?.message ?? '', /It could not undo everything:/);
    assert.match(
      error?.message ?? '',
      /- could not delete the thing sensor-1 \(ServiceUnavailableException: try later\); do it by hand: thingcore thing delete sensor-1/,
    );
    assert.equal(api.certificates.size, 0, 'the other steps were still undone');
  });

  it('rejects a bad thing name or a missing --out as usage errors (exit 2)', async () => {
    const { error } = await create(new FakeIotAdmin(), { thingName: 'bad name!' });
    assert.equal(error?.exitCode, 2);
    let stderr = '';
    const io = { stdout: () => undefined, stderr: (t: string) => void (stderr += t) };
    const program = createProgram({ io, openSession: () => Promise.reject(new Error('not reached')) });
    const code = await program.parseAsync(['device', 'create', 'sensor-1'], { from: 'user' }).then(
      () => 0,
      (err: unknown) => reportFailure(err, io, {}),
    );
    assert.equal(code, 2);
    assert.match(stderr, /required option '--out <dir>' not specified/);
  });
});
