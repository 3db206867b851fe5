// Proves that routes match on the raw path (split first, decode after), that greedy tails, literal
// precedence, 405/404 and malformed or dot-segment paths are told apart, that templates are checked
// at definition time, and that the value, body, pagination and name helpers answer 400 as AWS does.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { isServiceError } from '../shared/index.js';
import { RouteTable, defineRoutes } from './routing.js';
import type { RouteMatch } from './routing.js';
import { createValueReader, decodeQuery } from './values.js';
import { jsonBody } from './body.js';
import { decodePageToken, encodePageToken, readPage, takePage } from './pagination.js';
import { validateName } from './validation.js';
import { epochSeconds } from './time.js';

const noop = () => undefined;
const table = new RouteTable([
  defineRoutes('things', (r) => {
    r.get('/things', noop);
    r.get('/things/:thingName', noop);
    r.post('/things/:thingName', noop);
    r.get('/things/:thingName/shadow', noop);
    r.get('/things/count', noop);
    r.post('/attached-policies/:target', noop);
  }),
  defineRoutes('data', (r) => {
    r.post('/topics/:topic+', noop, { body: 'raw' });
    r.get('/retainedMessage/:topic+', noop);
    r.get('/retainedMessage', noop);
  }),
]);

function found(m: RouteMatch): { path: string; params: Record<string, string> } {
  assert.equal(m.kind, 'found', JSON.stringify(m));
  if (m.kind !== 'found') throw new Error('unreachable');
  return { path: m.route.path, params: m.params };
}

function assertIre(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isServiceError(err, 'InvalidRequestException'), String(err));
    assert.equal(err.httpStatus, 400);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('routing: raw-path matching (spec 1.2)', () => {
  it('decodes labels after splitting', () => {
    assert.deepEqual(found(table.match('POST', '/things/my%3Athing_1')), { path: '/things/:thingName', params: { thingName: 'my:thing_1' } });
    assert.deepEqual(found(table.match('POST', '/attached-policies/arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3Acert%2Fabc')).params, {
      target: 'arn:aws:iot:us-east-1:123456789012:cert/abc',
    });
  });
  it('greedy topic labels take encoded and unencoded tails', () => {
    assert.deepEqual(found(table.match('POST', '/topics/dt%2Fsensor%201%2F%24aws%2B%23')).params, { topic: 'dt/sensor 1/$aws+#' });
    assert.deepEqual(found(table.match('POST', '/topics/a/b%2Fc/d')).params, { topic: 'a/b/c/d' });
    assert.deepEqual(found(table.match('POST', '/topics/a/')).params, { topic: 'a/' });
    assert.deepEqual(found(table.match('GET', '/retainedMessage/a%2Fb%20c')).params, { topic: 'a/b c' });
    assert.equal(found(table.match('GET', '/retainedMessage')).path, '/retainedMessage');
    assert.equal(table.match('POST', '/topics').kind, 'not-found');
  });
  it('prefers literals over parameters, ignores one trailing slash, HEAD finds GET', () => {
    assert.equal(found(table.match('GET', '/things/count')).path, '/things/count');
    assert.equal(found(table.match('GET', '/things/counts')).path, '/things/:thingName');
    assert.equal(found(table.match('GET', '/things/')).path, '/things');
    assert.equal(found(table.match('GET', '/things/t1/shadow/')).path, '/things/:thingName/shadow');
    assert.equal(found(table.match('HEAD', '/things/t1')).path, '/things/:thingName');
  });
  it('405 when only the method differs, 404 when nothing matches', () => {
    assert.deepEqual(table.match('DELETE', '/things/t1'), { kind: 'method-not-allowed', allowed: ['GET', 'POST'] });
    assert.equal(table.match('GET', '/nothing').kind, 'not-found');
    assert.equal(table.match('GET', '/things/t1/shadow/extra').kind, 'not-found');
    assert.equal(table.match('GET', 'things').kind, 'not-found');
  });
  it('reports malformed escapes and dot/empty segments instead of throwing', () => {
    assert.equal(table.match('GET', '/things/%zz').kind, 'bad-encoding');
    assert.equal(table.match('POST', '/topics/a/%E0%A4%A').kind, 'bad-encoding');
    assert.equal(table.match('GET', '/%zz/x').kind, 'bad-encoding');
    assert.equal(table.match('POST', '/topics/x/../a').kind, 'bad-path');
    assert.equal(table.match('POST', '/topics/./a').kind, 'bad-path');
    assert.equal(table.match('GET', '/things//t1').kind, 'bad-path');
    assert.equal(found(table.match('GET', '/things/%2E%2E')).params.thingName, '..');
  });
  it('checks templates and collisions when routes are defined', () => {
    assert.throws(() => defineRoutes('x', (r) => r.get('things', noop)), /must start with/);
    assert.throws(() => defineRoutes('x', (r) => r.get('/a/:b+/c', noop)), /greedy/);
    assert.throws(() => defineRoutes('x', (r) => r.get('/a/:b/:b', noop)), /duplicate/);
    assert.throws(() => defineRoutes('x', (r) => r.get('/a//b', noop)), /empty segment/);
    const a = defineRoutes('a', (r) => r.get('/things/:thingName', noop));
    const b = defineRoutes('b', (r) => r.get('/things/:name', noop));
    assert.throws(() => new RouteTable([a, b]), /collides/);
  });
  it('types params from the template', () => {
    defineRoutes('typed', (r) => {
      r.get('/things/:thingName/shadow', (req) => {
        const name: string = req.params.thingName;
        // @ts-expect-error: no such parameter in the template
        void req.params.other;
        return { name };
      });
      r.post('/topics/:topic+', (req) => ({ topic: req.params.topic }));
    });
  });
});

describe('values: typed getters answer 400 InvalidRequestException', () => {
  const q = createValueReader(decodeQuery('maxResults=5&flag=TRUE&bad=x&neg=-1&nextToken=tok%2F%2B%3D&a=1&a=2&empty=&t=iot%3AData-ATS') ?? []);
  it('reads decoded strings, ints, bools and enums', () => {
    assert.equal(q.string('nextToken'), 'tok/+=');
    assert.equal(q.int('maxResults', { min: 1, max: 250 }), 5);
    assert.equal(q.bool('flag'), true);
    assert.equal(q.string('missing'), undefined);
    assert.equal(q.int('missing'), undefined);
    assert.deepEqual(q.all('a'), ['1', '2']);
    assert.equal(q.has('empty'), true);
    assert.equal(q.enumValue('t', ['iot:Data', 'iot:Data-ATS']), 'iot:Data-ATS');
  });
  it('refuses bad values with AWS validation messages', () => {
    assertIre(() => q.int('bad'), /^1 validation error detected: Value 'x' at 'bad' failed to satisfy constraint: Member must be a number$/);
    assertIre(() => q.int('neg', { min: 1 }), /greater than or equal to 1/);
    assertIre(() => q.int('maxResults', { max: 3 }), /less than or equal to 3/);
    assertIre(() => q.bool('bad'), /boolean/);
    assertIre(() => q.requiredString('newStatus'), /Value null at 'newStatus' failed to satisfy constraint: Member must not be null/);
    assertIre(() => q.enumValue('bad', ['A', 'B']), /enum value set: \[A, B\]/);
  });
  it('headers are case-insensitive', () => {
    const h = createValueReader([['x-amzn-principal', 'arn:x']], true);
    assert.equal(h.string('X-Amzn-Principal'), 'arn:x');
  });
  it('decodeQuery answers undefined on malformed escapes', () => {
    assert.equal(decodeQuery('a=%zz'), undefined);
    assert.deepEqual(decodeQuery('a&b=&=c'), [['a', ''], ['b', ''], ['', 'c']]);
  });
});

describe('body: JSON member getters', () => {
  it('reads typed members and nested objects', () => {
    const b = jsonBody({ body: { thingTypeName: 'tt', attributePayload: { attributes: { a: '1' }, merge: true }, expectedVersion: 3, n: null } });
    assert.equal(b.string('thingTypeName'), 'tt');
    assert.equal(b.int('expectedVersion'), 3);
    assert.equal(b.string('n'), undefined);
    const payload = b.object('attributePayload');
    assert.deepEqual(payload?.stringMap('attributes'), { a: '1' });
    assert.equal(payload?.bool('merge'), true);
    assert.deepEqual(jsonBody({ body: undefined }).value, {});
  });
  it('refuses wrong types naming the member path', () => {
    const b = jsonBody({ body: { attributePayload: { attributes: { a: 1 } }, v: 1.5, s: 3 } });
    assertIre(() => b.object('attributePayload')?.stringMap('attributes'), /'attributePayload\.attributes\.a'/);
    assertIre(() => b.int('v'), /integer/);
    assertIre(() => b.string('s'), /'s': expected a string/);
    assertIre(() => b.requiredString('policyDocument'), /Value null at 'policyDocument'/);
    assertIre(() => jsonBody({ body: [1] }), /JSON object/);
  });
});

describe('pagination: nextToken and marker styles (spec 3.8)', () => {
  const items = Array.from({ length: 7 }, (_, i) => `thing-${i}`);
  it('walks a list page by page and stops without a token', () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const query = createValueReader(token === undefined ? [['maxResults', '3']] : [['maxResults', '3'], ['nextToken', token]]);
      const page = readPage(query, { style: 'nextToken', scope: 'ListThings' });
      const { items: got, next } = takePage(items, page, (s) => s);
      seen.push(...got);
      token = next;
      pages++;
    } while (token !== undefined);
    assert.deepEqual(seen, items);
    assert.equal(pages, 3);
  });
  it('marker tokens satisfy botocore\'s base64 pattern and resume descending lists', () => {
    const desc = [...items].reverse();
    const first = takePage(desc, readPage(createValueReader([['pageSize', '2']]), { style: 'marker', scope: 'ListPolicies' }), (s) => s, 'desc');
    assert.ok(first.next !== undefined && /^[A-Za-z0-9+/]+={0,2}$/.test(first.next));
    const second = takePage(desc, readPage(createValueReader([['pageSize', '2'], ['marker', first.next]]), { style: 'marker', scope: 'ListPolicies' }), (s) => s, 'desc');
    assert.deepEqual(second.items, ['thing-4', 'thing-3']);
  });
  it('refuses malformed and foreign tokens and bad sizes', () => {
    assertIre(() => decodePageToken('!!', 'ListThings'), /nextToken is invalid/);
    assertIre(() => decodePageToken(Buffer.from('not json').toString('base64'), 'ListThings'));
    assertIre(() => decodePageToken(encodePageToken('ListPolicies', 'x'), 'ListThings'));
    assertIre(() => readPage(createValueReader([['maxResults', '251']]), { style: 'nextToken', scope: 's' }), /less than or equal to 250/);
    assertIre(() => readPage(createValueReader([['maxResults', '0']]), { style: 'nextToken', scope: 's' }), /greater than or equal to 1/);
    assert.equal(readPage(createValueReader([['nextToken', '']]), { style: 'nextToken', scope: 's' }).after, undefined);
  });
});

describe('validation: AWS name patterns (spec 2)', () => {
  it('accepts valid names', () => {
    assert.equal(validateName('thingName', 'my:thing_1-A'), 'my:thing_1-A');
    validateName('policyName', 'p+=,.@-_1');
    validateName('shadowName', '$named:1');
    validateName('ruleName', 'rule_1');
    validateName('attributeValue', '');
    validateName('certificateId', 'a'.repeat(64));
  });
  it('refuses bad ones with AWS-style messages', () => {
    assertIre(
      () => validateName('thingName', 'my thing'),
      /^1 validation error detected: Value 'my thing' at 'thingName' failed to satisfy constraint: Member must satisfy regular expression pattern: \[a-zA-Z0-9:_-\]\+$/,
    );
    assertIre(() => validateName('thingName', ''), /^2 validation errors detected: .*length greater than or equal to 1; .*regular expression/);
    assertIre(() => validateName('thingName', 'a'.repeat(129)), /length less than or equal to 128/);
    assertIre(() => validateName('ruleName', 'rule-1'), /\^\[a-zA-Z0-9_\]\+\$/);
    assertIre(() => validateName('certificateId', 'abc'), /at 'certificateId'.*length greater than or equal to 64/);
    assertIre(() => validateName('thingName', 'x y', 'thingTypeName'), /at 'thingTypeName'/);
  });
});

describe('time', () => {
  it('epoch seconds with fractions', () => {
    assert.equal(epochSeconds(1700000000123), 1700000000.123);
    assert.equal(epochSeconds(new Date(1700000000000)), 1700000000);
  });
});
