// Proves the http action POSTs the rule output with rendered url and headers and the right Content-Type, retries 429/5xx and refused connections with growing waits up to 3 tries (a server failing twice then answering is a success), does not retry 4xx, timeouts or large answers, keeps templated URLs under their confirmationUrl, signs with SigV4 exactly as @smithy/signature-v4 does, and refuses bad parameters at create time naming the field.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { isServiceError } from '../../shared/index.js';
import { ActionFailure, type ActionDependencies } from './action.js';
import { createHttpActionFactory, httpActionFactory, signV4 } from './http.js';
import { matchedInput as input, silent } from './test-fixtures.js';

const deps: ActionDependencies = { config: {}, logger: silent, publish: async () => undefined };

interface Seen {
  readonly path: string;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly atMs: number;
}

let server: Server;
let base = '';
let closedPort = 0;
const seen: Seen[] = [];
const counters = new Map<string, number>();

/** Paths: /ok answers 204; /flaky 503 twice then 200; /busy 429 once; /down always 500; /big 500 with a large body; /bad 400; /slow never in time; /moved 302. */
before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      seen.push({ path: req.url ?? '', method: req.method ?? '', headers: req.headers, body: Buffer.concat(chunks), atMs: Date.now() });
      const n = (counters.get(path) ?? 0) + 1;
      counters.set(path, n);
      if (path === '/flaky') res.writeHead(n <= 2 ? 503 : 200).end('x');
      else if (path === '/busy') res.writeHead(n <= 1 ? 429 : 200).end();
      else if (path === '/down') res.writeHead(500).end();
      else if (path === '/big') res.writeHead(500, { 'content-length': '20000' }).end(Buffer.alloc(20000));
      else if (path === '/bad') res.writeHead(400).end('no');
      else if (path === '/slow') setTimeout(() => res.writeHead(200).end(), 1500);
      else if (path === '/moved') res.writeHead(302, { location: '/ok' }).end();
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  base = `http://127.0.0.1:${address.port}`;
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const fast = createHttpActionFactory({ baseDelayMs: 50, timeoutMs: 300 });

function requestsTo(path: string): Seen[] {
  return seen.filter((s) => s.path.split('?')[0] === path);
}

async function failure(p: Promise<unknown>): Promise<ActionFailure> {
  try {
    await p;
  } catch (err: unknown) {
    assert.ok(err instanceof ActionFailure, `expected an ActionFailure, got ${String(err)}`);
    assert.equal(err.failedAction, 'HttpAction');
    return err;
  }
  assert.fail('expected an ActionFailure');
}

describe('http action: requests', () => {
  it('POSTs the JSON output with application/json and the rendered url and headers', async () => {
    const a = httpActionFactory.create(
      {
        url: `${base}/ok/\${topic(2)}?c=\${clientid()}`,
        confirmationUrl: `${base}/ok/`,
        headers: [{ key: 'x-device', value: '${topic(2)}' }, { key: 'X-Static', value: 'v' }],
      },
      deps,
      '2016-03-23',
    );
    await a.execute(input("SELECT temp AS t FROM 'sensors/+'", 'sensors/d1', '{"temp":54.98}'));
    const s = seen.at(-1);
    assert.ok(s);
    assert.equal(s.method, 'POST');
    assert.equal(s.path, '/ok/d1?c=c1');
    assert.equal(s.headers['content-type'], 'application/json');
    assert.equal(s.headers['x-device'], 'd1');
    assert.equal(s.headers['x-static'], 'v');
    assert.equal(s.body.toString(), '{"t":54.98}');
  });

  it('sends binary output as application/octet-stream, and a content-type header overrides', async () => {
    await httpActionFactory.create({ url: `${base}/ok/bin` }, deps, '2016-03-23').execute(input("SELECT * FROM 't'", 't', Buffer.from([0, 1, 2])));
    assert.equal(seen.at(-1)?.headers['content-type'], 'application/octet-stream');
    assert.deepStrictEqual(seen.at(-1)?.body, Buffer.from([0, 1, 2]));
    await httpActionFactory
      .create({ url: `${base}/ok/typed`, headers: [{ key: 'Content-Type', value: 'text/plain; charset=utf-8' }] }, deps, '2016-03-23')
      .execute(input("SELECT * FROM 't'", 't', '{}'));
    assert.equal(seen.at(-1)?.headers['content-type'], 'text/plain; charset=utf-8');
  });

  it('retries 5xx with growing waits: fails twice, then succeeds on the third try', async () => {
    const a = fast.create({ url: `${base}/flaky` }, deps, '2016-03-23');
    await a.execute(input("SELECT * FROM 't'", 't', '{"n":1}'));
    const tries = requestsTo('/flaky');
    assert.equal(tries.length, 3);
    for (const t of tries) assert.equal(t.body.toString(), '{"n":1}');
    const [t1, t2, t3] = tries.map((t) => t.atMs) as [number, number, number];
    assert.ok(t2 - t1 >= 20, `first wait ${t2 - t1} ms (25..50 expected)`);
    assert.ok(t3 - t2 >= 45, `second wait ${t3 - t2} ms (50..100 expected)`);
  });

  it('retries 429', async () => {
    await fast.create({ url: `${base}/busy` }, deps, '2016-03-23').execute(input("SELECT * FROM 't'", 't', '{}'));
    assert.equal(requestsTo('/busy').length, 2);
  });

  it('gives up after 3 tries with ActionFailure naming the URL', async () => {
    const f = await failure(fast.create({ url: `${base}/down` }, deps, '2016-03-23').execute(input("SELECT * FROM 't'", 't', '{}')));
    assert.equal(f.failedResource, `${base}/down`);
    assert.equal(f.message, `Failed to send the message to ${base}/down: HTTP 500 Internal Server Error (after 3 tries)`);
    assert.equal(requestsTo('/down').length, 3);
  });

  it('retries a refused connection, then fails', async () => {
    const url = `http://127.0.0.1:${closedPort}/x`;
    const f = await failure(fast.create({ url }, deps, '2016-03-23').execute(input("SELECT * FROM 't'", 't', '{}')));
    assert.match(f.message, /ECONNREFUSED.*\(after 3 tries\)$/);
  });

  it('does not retry 4xx, a redirect, a timeout or an answer over 16384 bytes', async () => {
    const run = (path: string) => failure(fast.create({ url: `${base}${path}` }, deps, '2016-03-23').execute(input("SELECT * FROM 't'", 't', '{}')));
    assert.match((await run('/bad')).message, /HTTP 400 Bad Request$/);
    assert.match((await run('/moved')).message, /HTTP 302 Found$/);
    assert.match((await run('/slow')).message, /no answer within 300 ms$/);
    assert.match((await run('/big')).message, /HTTP 500 Internal Server Error$/);
    for (const path of ['/bad', '/moved', '/slow', '/big']) assert.equal(requestsTo(path).length, 1, path);
  });

  it('bounds all tries by the total deadline', async () => {
    const tight = createHttpActionFactory({ baseDelayMs: 400, timeoutMs: 300, totalTimeoutMs: 300 });
    const started = Date.now();
    const f = await failure(tight.create({ url: `${base}/down` }, deps, '2016-03-23').execute(input("SELECT * FROM 't'", 't', '{}')));
    assert.match(f.message, /no time left to retry/);
    assert.ok(Date.now() - started < 1000);
  });
});

describe('http action: confirmationUrl guard', () => {
  it('refuses a rendered URL that leaves the confirmationUrl origin', async () => {
    const host = base.replace('http://', '');
    const a = httpActionFactory.create({ url: `http://${host}\${at}/hook`, confirmationUrl: `http://${host}` }, deps, '2016-03-23');
    const count = seen.length;
    const f = await failure(a.execute(input("SELECT * FROM 't'", 't', '{"at":"@evil.example"}')));
    assert.match(f.message, /the url rendered to a URL with credentials$/);
    assert.equal(seen.length, count);
    const b = httpActionFactory.create({ url: 'http://127.0.0.1${h}/hook', confirmationUrl: 'http://127.0.0.1' }, deps, '2016-03-23');
    const g = await failure(b.execute(input("SELECT * FROM 't'", 't', '{"h":".nip.io"}')));
    assert.match(g.message, /no longer starts with the confirmationUrl http:\/\/127\.0\.0\.1$/, 'a textual prefix on another host');
    assert.equal(seen.length, count);
    await a.execute(input("SELECT * FROM 't'", 't', '{"at":""}'));
    assert.equal(seen.at(-1)?.path, '/hook');
  });
});

/** The hash class @smithy/signature-v4 wants, over node:crypto. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', typeof secret === 'string' ? secret : Buffer.from(secret as ArrayBuffer));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === 'string' ? data : Buffer.from(ArrayBuffer.isView(data) ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

describe('http action: SigV4', () => {
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'token/with+chars=' };
  const cases: [string, string][] = [
    ['a plain path', 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/ingest'],
    ['a query and an encoded path', 'https://example.com:8443/a%20b/c~d?z=1&a=x%20y&a=b&e='],
  ];
  for (const [name, text] of cases) {
    it(`signs ${name} as @smithy/signature-v4 does`, async () => {
      const url = new URL(text);
      const body = Buffer.from('{"t":1}');
      const date = new Date('2024-05-06T07:08:09.123Z');
      const headers = new Headers({ 'content-type': 'application/json' });
      signV4(url, 'POST', headers, body, { signingRegion: 'eu-west-1', serviceName: 'execute-api' }, credentials, date);

      const signer = new SignatureV4({ credentials, region: 'eu-west-1', service: 'execute-api', sha256: NodeSha256, applyChecksum: true });
      const query: Record<string, string | string[]> = {};
      for (const [k, v] of url.searchParams) {
        const prev = query[k];
        query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      const signed = await signer.sign(
        { method: 'POST', protocol: url.protocol, hostname: url.hostname, ...(url.port === '' ? {} : { port: Number(url.port) }), path: url.pathname, query, headers: { host: url.host }, body },
        { signingDate: date },
      );
      assert.equal(headers.get('authorization'), signed.headers['authorization']);
      assert.equal(headers.get('x-amz-date'), '20240506T070809Z');
      assert.equal(headers.get('x-amz-security-token'), credentials.sessionToken);
    });
  }

  it('sends signed requests with the configured credentials', async () => {
    const a = httpActionFactory.create(
      { url: `${base}/ok/signed`, auth: { sigv4: { signingRegion: 'us-east-1', serviceName: 'execute-api', roleArn: 'arn:aws:iam::123456789012:role/r' } } },
      { ...deps, config: { awsCredentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } } },
      '2016-03-23',
    );
    await a.execute(input("SELECT * FROM 't'", 't', '{}'));
    assert.match(String(seen.at(-1)?.headers['authorization']), /^AWS4-HMAC-SHA256 Credential=AKID\/\d{8}\/us-east-1\/execute-api\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/);
  });
});

describe('http parameters (create time)', () => {
  const refused: [string, unknown, RegExp][] = [
    ['no url', {}, /^Invalid http action: 'http.url' is required$/],
    ['an ftp url', { url: 'ftp://example.com/x' }, /'http.url' must be an https:\/\/ or http:\/\/ URL \(got ftp:\)/],
    ['a file url', { url: 'file:///etc/passwd' }, /'http.url' must be an https:\/\/ or http:\/\/ URL/],
    ['an invalid url', { url: 'not a url' }, /'http.url' "not a url" is not a valid URL/],
    ['credentials in the url', { url: 'https://u:p@example.com/' }, /'http.url' must not carry credentials/],
    ['a url over 2000 characters', { url: `https://example.com/${'a'.repeat(2000)}` }, /'http.url' must be at most 2000 characters/],
    ['a templated url without confirmationUrl', { url: 'https://example.com/${topic()}' }, /'http.url' uses substitution templates, so http.confirmationUrl is required/],
    ['a templated scheme', { url: '${scheme}://example.com/', confirmationUrl: 'https://example.com/' }, /'http.url' must start with a literal https:\/\/ or http:\/\/ and host/],
    ['a confirmationUrl that is not a prefix', { url: 'https://example.com/a', confirmationUrl: 'https://example.com/b' }, /'http.confirmationUrl' must be a prefix of http.url/],
    ['headers that are not a list', { url: 'https://example.com/', headers: { a: 'b' } }, /'http.headers' must be a list of \{key, value\}/],
    ['a header without a value', { url: 'https://example.com/', headers: [{ key: 'a' }] }, /'http.headers\[0\].value' must be a string/],
    ['a header name with a space', { url: 'https://example.com/', headers: [{ key: 'a b', value: 'c' }] }, /'http.headers\[0\].key' "a b" is not a valid HTTP header name/],
    ['a Host header', { url: 'https://example.com/', headers: [{ key: 'x', value: 'y' }, { key: 'Host', value: 'evil' }] }, /'http.headers\[1\].key' Host is set by the HTTP client/],
    ['101 headers', { url: 'https://example.com/', headers: Array.from({ length: 101 }, (_, i) => ({ key: `h${i}`, value: 'v' })) }, /'http.headers' holds at most 100 headers/],
    ['auth without sigv4 fields', { url: 'https://example.com/', auth: { sigv4: { signingRegion: 'us-east-1' } } }, /'http.auth.sigv4.serviceName' is required/],
    ['batching', { url: 'https://example.com/', enableBatching: true }, /'http.enableBatching' is not supported by Thingcore/],
    ['an unknown member', { url: 'https://example.com/', method: 'PUT' }, /'http.method' is not a parameter of http/],
  ];
  for (const [name, params, message] of refused) {
    it(`refuses ${name}`, () => {
      assert.throws(() => httpActionFactory.create(params, deps, '2016-03-23'), (err: unknown) => isServiceError(err, 'InvalidRequestException') && message.test(err.message));
    });
  }

  it('refuses a header template that does not parse with SqlParseException naming the header', () => {
    assert.throws(
      () => httpActionFactory.create({ url: 'https://example.com/', headers: [{ key: 'a', value: '${1 +}' }] }, deps, '2016-03-23'),
      (err: unknown) => isServiceError(err, 'SqlParseException') && /http\.headers\[0\]\.value/.test(err.message),
    );
  });

  it('accepts a fixed https url, batching off, and a templated url under its confirmationUrl', () => {
    assert.equal(httpActionFactory.create({ url: 'https://example.com/hook', enableBatching: false }, deps, '2016-03-23').type, 'http');
    assert.equal(httpActionFactory.create({ url: 'https://example.com/d/${topic(2)}', confirmationUrl: 'https://example.com/d/' }, deps, '2016-03-23').type, 'http');
  });
});
