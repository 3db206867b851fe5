// Proves that the SigV4 verifier accepts what @smithy/signature-v4 (the JS SDK's signer) produces for
// odd paths, queries, binary bodies, session tokens, repeated headers and presigned URLs, and that it
// rejects each kind of bad request with the right AWS error name, never throwing on hostile input.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { staticAccessKeys } from './credentials.js';
import { canonicalQueryOf, canonicalUri, formatAmzDate, parseAmzDate, verifySigV4 } from './sigv4.js';
import type { SigV4Result, SignedRequestInput } from './sigv4.js';
import { queryString, smithyPresign, smithySign } from './sigv4-test-signer.js';
import type { SignOptions } from './sigv4-test-signer.js';

const key = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const tempKey = { accessKeyId: 'ASIATEMPEXAMPLE', secretAccessKey: 'tempSecret/with+chars', sessionToken: 'TOKEN/with+special=' };
const keys = staticAccessKeys([key, tempKey]);
const date = new Date('2026-11-26T06:44:48Z');
const now = date.getTime() + 60_000;

function verify(request: SignedRequestInput, nowMs = now): SigV4Result {
  return verifySigV4(request, keys, { nowMs });
}

function assertOk(result: SigV4Result, accessKeyId = key.accessKeyId): void {
  assert.ok(result.ok, result.ok ? '' : `${result.errorType}: ${result.message}`);
  assert.equal(result.accessKeyId, accessKeyId);
}

function assertFails(result: SigV4Result, errorType: string, message?: RegExp): void {
  assert.equal(result.ok, false, 'expected a rejection');
  if (result.ok) return;
  assert.equal(result.errorType, errorType, result.message);
  if (message) assert.match(result.message, message);
}

const sign = (o: Partial<SignOptions> & Pick<SignOptions, 'method' | 'path'>) => smithySign({ key, date, ...o });

describe('sigv4: canonical pieces (spec 5.1)', () => {
  it('double-encodes the raw path and keeps slashes', () => {
    assert.equal(canonicalUri('/things/my%3Athing_1'), '/things/my%253Athing_1');
    assert.equal(canonicalUri('/topics/a%2Fb'), '/topics/a%252Fb');
    assert.equal(canonicalUri(''), '/');
    assert.equal(canonicalUri('/topics/.'), '/topics');
    assert.equal(canonicalUri('/a/../b//c/'), '/b/c/');
  });
  it('decodes, re-encodes and sorts the query', () => {
    assert.equal(canonicalQueryOf('b=2&a=x%2Fy&a=1&flag', () => false), 'a=1&a=x%2Fy&b=2&flag=');
    assert.equal(canonicalQueryOf('nextToken=tok%2F%2B%3D', () => false), 'nextToken=tok%2F%2B%3D');
    assert.equal(canonicalQueryOf("q=it's(*)!", () => false), 'q=it%27s%28%2A%29%21');
    assert.equal(canonicalQueryOf('bad=%zz', () => false), undefined);
  });
  it('parses and formats x-amz-date', () => {
    assert.equal(parseAmzDate('20261126T064448Z'), date.getTime());
    assert.equal(formatAmzDate(date.getTime()), '20261126T064448Z');
    assert.equal(parseAmzDate('20261332T000000Z'), undefined);
    assert.equal(parseAmzDate('2026-11-26T06:44:48Z'), undefined);
  });
});

describe('sigv4: accepts what @smithy/signature-v4 signs', () => {
  const json = Buffer.from('{"thingTypeName":"tt","attributePayload":{"attributes":{"color":"red"}}}');
  const cases: Array<[string, Partial<SignOptions> & Pick<SignOptions, 'method' | 'path'>]> = [
    ['CreateThing my:thing_1, JS style (checksum header)', { method: 'POST', path: '/things/my%3Athing_1', body: json, headers: { 'content-type': 'application/json' }, applyChecksum: true }],
    ['CreateThing, botocore style (no checksum header)', { method: 'POST', path: '/things/my%3Athing_1', body: json, headers: { 'content-type': 'application/json' } }],
    ['Publish to dt/sensor 1/$aws+#', { method: 'POST', path: '/topics/dt%2Fsensor%201%2F%24aws%2B%23', query: [['qos', '1'], ['retain', 'true'], ['contentType', 'text/plain']], body: Buffer.from('hi'), service: 'iotdata', applyChecksum: true }],
    ['ListThings with nextToken=tok/+=', { method: 'GET', path: '/things', query: [['nextToken', 'tok/+='], ['maxResults', '2'], ['attributeName', 'color']] }],
    ['repeated query keys', { method: 'GET', path: '/things', query: [['a', '2'], ['a', '1'], ['b', 'x y']] }],
    ['binary body, JS style', { method: 'POST', path: '/things/t1/shadow', body: randomBytes(4096), service: 'iotdata', applyChecksum: true, headers: { 'content-type': 'application/octet-stream' } }],
    ['binary body, botocore style', { method: 'POST', path: '/topics/a%2Fb', body: randomBytes(777), service: 'iotdata' }],
    ['empty POST', { method: 'POST', path: '/keys-and-certificate', query: [['setAsActive', 'true']], headers: { 'content-length': '0' } }],
    ['aws-cli v2 signing as execute-api', { method: 'GET', path: '/things', service: 'execute-api' }],
    ['curl signing as iotdevicegateway', { method: 'GET', path: '/things/x/shadow', query: [['name', 'named1']], service: 'iotdevicegateway' }],
    ['principal header with an ARN', { method: 'PUT', path: '/things/t1/principals', headers: { 'x-amzn-principal': 'arn:aws:iot:us-east-1:123456789012:cert/abc' } }],
    ['header values with runs of spaces', { method: 'GET', path: '/things', headers: { 'x-amz-user-agent': '  aws-sdk-js/3   api/iot  ' } }],
    ['other region', { method: 'GET', path: '/things', region: 'eu-west-1' }],
    ['unicode thing path', { method: 'GET', path: '/things/%C3%A9t%C3%A9' }],
    ['empty path', { method: 'GET', path: '/' }],
    ['dot and empty segments, normalized as the SDKs do before signing', { method: 'POST', path: '/topics/a/./b//c/../d/' }],
  ];
  for (const [name, options] of cases) {
    it(name, async () => {
      const request = await sign(options);
      assertOk(verify(request));
    });
  }

  it('a session token (signed in as x-amz-security-token)', async () => {
    const request = await smithySign({ key: tempKey, date, method: 'GET', path: '/things' });
    const result = verify(request);
    assertOk(result, tempKey.accessKeyId);
    assert.equal(result.ok && result.sessionToken, tempKey.sessionToken);
  });

  it('repeated headers, joined with "," as the signer saw them', async () => {
    const request = await sign({ method: 'GET', path: '/things', splitHeaders: { 'x-amz-meta': ['a', 'b  c'] } });
    assertOk(verify(request));
    // The same request with one raw line does not verify: rawHeaders count.
    const merged = [...request.rawHeaders];
    const i = merged.findIndex((h) => h === 'x-amz-meta');
    merged.splice(i, 2);
    assertFails(verify({ ...request, rawHeaders: merged }), 'InvalidSignatureException');
  });

  it('a randomized batch of paths, queries and bodies', async () => {
    const alphabet = "abc:/_- +$#%&=?é!'()*~.";
    const pick = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
    for (let i = 0; i < 60; i++) {
      const label = pick(1 + (i % 12));
      const path = `/things/${encodeURIComponent(label)}/shadow`;
      const query: Array<[string, string]> = [[pick(1 + (i % 4)), pick(i % 9)], ['name', pick(3)]];
      const body = i % 3 === 0 ? undefined : randomBytes(i * 7);
      const request = await sign({
        method: i % 2 === 0 ? 'POST' : 'DELETE',
        path,
        query,
        ...(body !== undefined && { body }),
        applyChecksum: i % 4 === 0,
        service: i % 2 === 0 ? 'iotdata' : 'iot',
      });
      assertOk(verify(request));
    }
  });
});

describe('sigv4: rejections', () => {
  it('no Authorization → MissingAuthenticationTokenException', () => {
    assertFails(verify({ method: 'GET', url: '/things', rawHeaders: ['Host', 'x'] }), 'MissingAuthenticationTokenException');
  });

  it('wrong secret → InvalidSignatureException', async () => {
    const request = await smithySign({ key: { ...key, secretAccessKey: 'not-the-secret' }, date, method: 'GET', path: '/things' });
    assertFails(verify(request), 'InvalidSignatureException', /does not match the signature you provided/);
  });

  it('unknown key → UnrecognizedClientException', async () => {
    const request = await smithySign({ key: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' }, date, method: 'GET', path: '/things' });
    assertFails(verify(request), 'UnrecognizedClientException', /security token included in the request is invalid/);
  });

  it('expired and future dates → InvalidSignatureException with AWS wording', async () => {
    const request = await sign({ method: 'GET', path: '/things' });
    assertFails(verify(request, date.getTime() + 16 * 60_000), 'InvalidSignatureException', /^Signature expired: 20261126T064448Z is now earlier than 20261126T064548Z \(20261126T070048Z - 15 min\.\)$/);
    assertFails(verify(request, date.getTime() - 16 * 60_000), 'InvalidSignatureException', /^Signature not yet current: 20261126T064448Z is still later than/);
    assertOk(verify(request, date.getTime() + 14 * 60_000));
  });

  it('scope date differing from x-amz-date → InvalidSignatureException', async () => {
    const request = await sign({ method: 'GET', path: '/things' });
    const rawHeaders = request.rawHeaders.map((h) => h.replace('Credential=AKIDEXAMPLE/20261126/', 'Credential=AKIDEXAMPLE/20261125/'));
    assertFails(verify({ ...request, rawHeaders }), 'InvalidSignatureException', /Date in Credential scope does not match YYYYMMDD.*'20261125' != '20261126'/);
  });

  it('tampered body → InvalidSignatureException (with and without x-amz-content-sha256)', async () => {
    for (const applyChecksum of [true, false]) {
      const request = await sign({ method: 'POST', path: '/things/t1', body: Buffer.from('{"a":1}'), applyChecksum });
      assertFails(verify({ ...request, body: Buffer.from('{"a":2}') }), 'InvalidSignatureException');
    }
  });

  it('host missing from SignedHeaders → InvalidSignatureException', async () => {
    const request = await sign({ method: 'GET', path: '/things' });
    const rawHeaders = request.rawHeaders.map((h) => h.replace('SignedHeaders=host;', 'SignedHeaders='));
    assertFails(verify({ ...request, rawHeaders }), 'InvalidSignatureException', /'Host' or ':authority' must be a 'SignedHeader'/);
  });

  it('an operation header sent unsigned → InvalidSignatureException', async () => {
    const request = await sign({ method: 'PUT', path: '/things/t1/principals' });
    assertFails(verify({ ...request, rawHeaders: [...request.rawHeaders, 'x-amzn-principal', 'arn:x'] }), 'InvalidSignatureException', /x-amzn-principal/);
  });

  it('tampered path, query or signed header → InvalidSignatureException', async () => {
    const request = await sign({ method: 'GET', path: '/things/t1', query: [['a', '1']], headers: { 'x-amz-user-agent': 'sdk' } });
    assertFails(verify({ ...request, url: '/things/t2?a=1' }), 'InvalidSignatureException');
    assertFails(verify({ ...request, url: '/things/t1?a=2' }), 'InvalidSignatureException');
    assertFails(verify({ ...request, method: 'DELETE' }), 'InvalidSignatureException');
    const rawHeaders = request.rawHeaders.map((h) => (h === 'sdk' ? 'sdk2' : h));
    assertFails(verify({ ...request, rawHeaders }), 'InvalidSignatureException');
  });

  it('session token rules → UnrecognizedClientException', async () => {
    // A temporary key without its token, a long-term key with a token, and a wrong token.
    const noToken = await smithySign({ key: { accessKeyId: tempKey.accessKeyId, secretAccessKey: tempKey.secretAccessKey }, date, method: 'GET', path: '/things' });
    assertFails(verify(noToken), 'UnrecognizedClientException');
    const strayToken = await smithySign({ key: { ...key, sessionToken: 'stray' }, date, method: 'GET', path: '/things' });
    assertFails(verify(strayToken), 'UnrecognizedClientException');
    const wrongToken = await smithySign({ key: { ...tempKey, sessionToken: 'other' }, date, method: 'GET', path: '/things' });
    assertFails(verify(wrongToken), 'UnrecognizedClientException');
  });

  it('a service outside the accepted four → InvalidSignatureException', async () => {
    const request = await sign({ method: 'GET', path: '/things', service: 's3' });
    assertFails(verify(request), 'InvalidSignatureException', /scoped to correct service/);
  });

  it('malformed Authorization headers → IncompleteSignatureException', () => {
    const base = ['Host', 'h', 'X-Amz-Date', '20261126T064448Z'];
    const bad = [
      'Basic dXNlcjpwYXNz',
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/iot/aws4_request, SignedHeaders=host;x-amz-date',
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/iot, SignedHeaders=host;x-amz-date, Signature=' + 'a'.repeat(64),
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2026112/us-east-1/iot/aws4_request, SignedHeaders=host;x-amz-date, Signature=' + 'a'.repeat(64),
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/iot/aws4_request, SignedHeaders=host;x-amz-date, Signature=xyz',
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/iot/aws4_request, SignedHeaders=Host;X-Amz-Date, Signature=' + 'a'.repeat(64),
      'AWS4-HMAC-SHA256 garbage',
    ];
    for (const authorization of bad) {
      assertFails(verify({ method: 'GET', url: '/things', rawHeaders: [...base, 'Authorization', authorization] }), 'IncompleteSignatureException');
    }
    const noDate = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/iot/aws4_request, SignedHeaders=host, Signature=' + 'a'.repeat(64);
    assertFails(verify({ method: 'GET', url: '/things', rawHeaders: ['Host', 'h', 'Authorization', noDate] }), 'IncompleteSignatureException', /X-Amz-Date/);
  });

  it('never throws on hostile input', async () => {
    const good = await sign({ method: 'GET', path: '/things', query: [['a', 'b']] });
    const hostile = ['%', '%zz', '%E0%A4%A', '\ud800', '/%ff%fe', '?%', '?a=%zz', '/a?X-Amz-Algorithm=%zz', '/mqtt?X-Amz-Credential=a%2F', '//../..', ''];
    for (const url of hostile) {
      for (const rawHeaders of [good.rawHeaders, ['Host', 'x'], ['Authorization', '\u0000'], ['Authorization', 'AWS4-HMAC-SHA256 ,,,,=,=='] ]) {
        const result = verify({ method: 'GET', url, rawHeaders });
        assert.equal(result.ok, false, url);
      }
    }
    for (let i = 0; i < 200; i++) {
      const junk = randomBytes(40).toString('latin1');
      assert.equal(verify({ method: junk, url: `/${junk}?${junk}`, rawHeaders: ['Authorization', junk, 'X-Amz-Date', junk] }).ok, false);
    }
  });
});

describe('sigv4: presigned URLs (spec 5.2)', () => {
  it('a generic presigned URL (smithy presign, no token)', async () => {
    const request = await smithyPresign({ key, date, expiresIn: 300 });
    const result = verify(request);
    assertOk(result);
    assert.equal(result.ok && result.form, 'presigned');
    assert.equal(result.ok && result.service, 'iotdevicegateway');
  });

  it('a session token signed in (generic presigner) matches the token-included variant', async () => {
    const request = await smithyPresign({ key: tempKey, date, expiresIn: 86400 });
    assert.match(request.url, /X-Amz-Security-Token=/);
    assertOk(verify(request), tempKey.accessKeyId);
  });

  it('a session token appended after signing (AWS IoT style) matches the token-excluded variant', async () => {
    const unsigned = await smithyPresign({ key: { accessKeyId: tempKey.accessKeyId, secretAccessKey: tempKey.secretAccessKey }, date, expiresIn: 300 });
    const request = { ...unsigned, url: `${unsigned.url}&${queryString([['X-Amz-Security-Token', tempKey.sessionToken]])}` };
    assertOk(verify(request), tempKey.accessKeyId);
    const wrong = { ...unsigned, url: `${unsigned.url}&X-Amz-Security-Token=nope` };
    assertFails(verify(wrong), 'UnrecognizedClientException');
  });

  it('the AWS IoT sample style (hand-rolled, no X-Amz-Expires, token appended): 15-minute window', () => {
    // Transcribed from the AWS IoT developer guide's WebSocket signing sample, independent of sigv4.ts.
    const host = '127.0.0.1:8443';
    const amzDate = '20261126T064448Z';
    const scope = `20261126/us-east-1/iotdevicegateway/aws4_request`;
    const hmac = (k: Buffer | string, d: string) => createHmac('sha256', k).update(d).digest();
    const q = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${encodeURIComponent(`${tempKey.accessKeyId}/${scope}`)}&X-Amz-Date=${amzDate}&X-Amz-SignedHeaders=host`;
    const canonicalRequest = `GET\n/mqtt\n${q}\nhost:${host}\n\nhost\n${createHash('sha256').update('').digest('hex')}`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
    const kSigning = hmac(hmac(hmac(hmac(`AWS4${tempKey.secretAccessKey}`, '20261126'), 'us-east-1'), 'iotdevicegateway'), 'aws4_request');
    const signature = createHmac('sha256', kSigning).update(stringToSign).digest('hex');
    const url = `/mqtt?${q}&X-Amz-Signature=${signature}&X-Amz-Security-Token=${encodeURIComponent(tempKey.sessionToken)}`;
    const request = { method: 'GET', url, rawHeaders: ['Host', host] };
    assertOk(verify(request, date.getTime() + 14 * 60_000), tempKey.accessKeyId);
    assertFails(verify(request, date.getTime() + 16 * 60_000), 'InvalidSignatureException', /Signature expired/);
  });

  it('X-Amz-Expires bounds the validity of a generic presigned URL', async () => {
    const request = await smithyPresign({ key, date, expiresIn: 3600 });
    assertOk(verify(request, date.getTime() + 50 * 60_000));
    assertFails(verify(request, date.getTime() + 61 * 60_000), 'InvalidSignatureException', /Signature expired/);
  });

  it('X-Amz-Expires over a week is refused; a tampered URL or wrong key is refused', async () => {
    const request = await smithyPresign({ key, date, expiresIn: 300 });
    assertFails(verify({ ...request, url: request.url.replace('X-Amz-Expires=300', 'X-Amz-Expires=604801') }), 'IncompleteSignatureException', /604800/);
    assertFails(verify({ ...request, url: request.url.replace('X-Amz-Expires=300', 'X-Amz-Expires=301') }), 'InvalidSignatureException');
    assertFails(verify({ ...request, url: request.url.replace('/mqtt', '/mqtt2') }), 'InvalidSignatureException');
    assertFails(verify({ ...request, rawHeaders: ['Host', 'evil:1'] }), 'InvalidSignatureException');
    const other = await smithyPresign({ key: { accessKeyId: 'AKIAOTHER', secretAccessKey: 's' }, date });
    assertFails(verify(other), 'UnrecognizedClientException');
    assertFails(verify({ ...request, url: '/mqtt?X-Amz-Algorithm=AWS4-HMAC-SHA256' }), 'IncompleteSignatureException', /must include/);
  });

  it('works from a plain headers object (WebSocket PeerFacts) too', async () => {
    const request = await smithyPresign({ key, date, expiresIn: 300 });
    assertOk(verifySigV4({ method: 'GET', url: request.url, headers: { host: '127.0.0.1:8443', upgrade: 'websocket' } }, keys, { nowMs: now }));
  });
});
