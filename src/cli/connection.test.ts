// Proves how the admin commands find and reach the server: data dir, region and API URL from flags,
// environment, config file and endpoints.json; the admin key from the credentials file; and, through
// the real AWS SDK against stand-in servers, the messages for "not running", rejected credentials,
// an untrusted server and AWS errors.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { Server } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateCa, loadOrCreateServerCertificate } from '../identity/index.js';
import { openAdminSession, parseSharedCredentials, readAccessKey, resolveTarget } from './connection.js';
import { CliError } from './errors.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'thingcore-cli-conn-'));
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const credentials = '[default]\naws_access_key_id = AKIATEST\naws_secret_access_key = s3cret\n';

describe('resolveTarget', () => {
  it('says the server is not running when the data dir has no endpoints.json', async () => {
    const dir = await tempDir();
    try {
      await assert.rejects(resolveTarget({ dataDir: dir }), (err: unknown) => {
        assert.ok(err instanceof CliError);
        assert.equal(err.exitCode, 1);
        assert.equal(err.message, `Thingcore is not running for data dir ${dir}: start it with \`thingcore serve\``);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('takes the https endpoint from endpoints.json, falling back to http', async () => {
    const dir = await tempDir();
    try {
      const mqtts = { host: '127.0.0.1', port: 8884 };
      await writeFile(join(dir, 'endpoints.json'), JSON.stringify({ mqtts, https: { host: '127.0.0.1', port: 9443 }, ws: 'x' }));
      const target = await resolveTarget({ dataDir: dir });
      assert.equal(target.apiUrl, 'https://127.0.0.1:9443');
      assert.equal(target.fromEndpointFlag, false);
      assert.deepEqual(target.endpoints?.mqtts, mqtts);
      assert.equal(target.credentialsPath, join(dir, 'credentials'));
      assert.equal(target.caPath, join(dir, 'ca.pem'));
      assert.equal(target.region, 'us-east-1');

      await writeFile(join(dir, 'endpoints.json'), JSON.stringify({ mqtts, http: { host: '::1', port: 9080 } }));
      assert.equal((await resolveTarget({ dataDir: dir })).apiUrl, 'http://[::1]:9080');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('resolves the data dir as serve does: flag, THINGCORE_DATA_DIR, config file, ./thingcore-data', async () => {
    const dir = await tempDir();
    try {
      const endpoints = JSON.stringify({ mqtts: { host: 'h', port: 1 }, https: { host: 'h', port: 2 } });
      for (const name of ['a', 'b', 'c', 'thingcore-data']) {
        await rm(join(dir, name), { recursive: true, force: true });
        await mkdir(join(dir, name));
        await writeFile(join(dir, name, 'endpoints.json'), endpoints);
      }
      await writeFile(join(dir, 'thingcore.json'), JSON.stringify({ dataDir: 'c', region: 'eu-west-1' }));
      const env = { THINGCORE_DATA_DIR: join(dir, 'b') };
      assert.equal((await resolveTarget({ dataDir: 'a', config: 'thingcore.json' }, env, dir)).dataDir, join(dir, 'a'));
      assert.equal((await resolveTarget({ config: 'thingcore.json' }, env, dir)).dataDir, join(dir, 'b'));
      const fromFile = await resolveTarget({ config: 'thingcore.json' }, {}, dir);
      assert.equal(fromFile.dataDir, join(dir, 'c'));
      assert.equal(fromFile.region, 'eu-west-1');
      assert.equal((await resolveTarget({ config: 'thingcore.json', region: 'ap-south-1' }, {}, dir)).region, 'ap-south-1');
      assert.equal((await resolveTarget({}, {}, dir)).dataDir, join(dir, 'thingcore-data'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--endpoint needs no endpoints.json and must be an http(s) URL (usage error otherwise)', async () => {
    const target = await resolveTarget({ dataDir: '/nonexistent/thingcore', endpoint: 'https://iot.example.com:8443/' });
    assert.equal(target.apiUrl, 'https://iot.example.com:8443');
    assert.equal(target.fromEndpointFlag, true);
    assert.equal(target.endpoints, undefined);
    for (const endpoint of ['iot.example.com', 'ftp://x']) {
      await assert.rejects(resolveTarget({ dataDir: '/nonexistent', endpoint }), (err: unknown) => err instanceof CliError && err.exitCode === 2);
    }
  });
});

describe('credentials file', () => {
  it('parses AWS shared-credentials profiles', () => {
    const profiles = parseSharedCredentials('# c\n[default]\naws_access_key_id=A\n; c\n[profile other]\n AWS_SECRET_ACCESS_KEY = b = c \n');
    assert.equal(profiles.get('default')?.get('aws_access_key_id'), 'A');
    assert.equal(profiles.get('other')?.get('aws_secret_access_key'), 'b = c');
  });

  it('reads the default profile, and says clearly when the file or the key is missing', async () => {
    const dir = await tempDir();
    try {
      const path = join(dir, 'credentials');
      await assert.rejects(readAccessKey(path), /there is no credentials file at .*credentials: the server writes it when it first starts/);
      await writeFile(path, '[other]\naws_access_key_id = A\n');
      await assert.rejects(readAccessKey(path), /has no aws_access_key_id and aws_secret_access_key in profile \[default\]/);
      await writeFile(path, credentials);
      assert.deepEqual(await readAccessKey(path), { accessKeyId: 'AKIATEST', secretAccessKey: 's3cret' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('admin session errors (real AWS SDK)', () => {
  let dir: string;
  let server: Server;
  let port: number;
  /** The stand-in API's answer: [status, x-amzn-ErrorType, message]. */
  let answer: [number, string, string] = [200, '', ''];

  before(async () => {
    dir = await tempDir();
    const ca = await loadOrCreateCa(dir);
    const tls = await loadOrCreateServerCertificate(dir, ca, ['localhost', '127.0.0.1']);
    server = createHttpsServer({ key: tls.privateKeyPem, cert: tls.certificatePem }, (req, res) => {
      req.resume();
      const [status, type, message] = answer;
      res.writeHead(status, { 'content-type': 'application/json', ...(type !== '' && { 'x-amzn-ErrorType': type }) });
      res.end(status === 200 ? JSON.stringify({ things: [] }) : JSON.stringify({ message }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    port = address.port;
    await writeFile(join(dir, 'endpoints.json'), JSON.stringify({ mqtts: { host: '127.0.0.1', port: 1 }, https: { host: '127.0.0.1', port } }));
    await writeFile(join(dir, 'credentials'), credentials, { mode: 0o600 });
  });

  after(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function listThingsError(dataDir = dir): Promise<CliError> {
    const session = await openAdminSession({ dataDir });
    try {
      await session.api.listThings();
      throw new Error('expected a failure');
    } catch (err: unknown) {
      return session.explain(err);
    } finally {
      session.close();
    }
  }

  it('calls the API over HTTPS trusting ca.pem', async () => {
    answer = [200, '', ''];
    const session = await openAdminSession({ dataDir: dir });
    try {
      assert.deepEqual(await session.api.listThings(), []);
    } finally {
      session.close();
    }
  });

  it('names the credentials file when the key is refused', async () => {
    for (const type of ['InvalidSignatureException', 'UnrecognizedClientException']) {
      answer = [403, type, 'The request signature we calculated does not match'];
      const err = await listThingsError();
      assert.equal(err.exitCode, 1);
      assert.match(err.message, new RegExp(`^the credentials in ${join(dir, 'credentials')} were not accepted by https://127\\.0\\.0\\.1:${port} \\(${type}: `));
    }
  });

  it('shows other AWS errors as "<ExceptionName>: <message>"', async () => {
    answer = [400, 'InvalidRequestException', 'maxResults must be at most 250'];
    assert.equal((await listThingsError()).message, 'InvalidRequestException: maxResults must be at most 250');
  });

  it('says so when the answer is not from an AWS IoT API (no error type)', async () => {
    answer = [404, '', 'Not Found'];
    assert.equal(
      (await listThingsError()).message,
      `https://127.0.0.1:${port} answered HTTP 404 without an AWS error type (Not Found): is the AWS IoT API served there?`,
    );
  });

  it('says the server is not running when nothing listens on its port any more', async () => {
    const stale = await tempDir();
    try {
      await writeFile(join(stale, 'endpoints.json'), JSON.stringify({ mqtts: { host: '127.0.0.1', port: 1 }, https: { host: '127.0.0.1', port: await freePort() } }));
      await writeFile(join(stale, 'credentials'), credentials);
      await writeFile(join(stale, 'ca.pem'), (await loadOrCreateCa(dir)).certificatePem);
      const err = await listThingsError(stale);
      assert.equal(err.message, `Thingcore is not running for data dir ${stale}: start it with \`thingcore serve\``);
    } finally {
      await rm(stale, { recursive: true, force: true });
    }
  });

  it('refuses a server its ca.pem does not vouch for', async () => {
    const other = await tempDir();
    try {
      await writeFile(join(other, 'endpoints.json'), JSON.stringify({ https: { host: '127.0.0.1', port } }));
      await writeFile(join(other, 'credentials'), credentials);
      await loadOrCreateCa(other); // a different CA
      const err = await listThingsError(other);
      assert.match(err.message, new RegExp(`^the server at https://127\\.0\\.0\\.1:${port} is not the one ${join(other, 'ca.pem')} vouches for`));
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
