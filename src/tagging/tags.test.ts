// Proves the tag checks (lengths, pattern, the reserved aws: prefix, list shape and count) answer with AWS's validation wording, that repeated keys keep their last value, and that the x-amz-tagging header parses as a URL-encoded query string.
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import { isServiceError } from '../shared/index.js';
import { checkTags, maxTagsPerResource, parseTaggingHeader, readTagKeys, readTags } from './tags.js';

const ire = (pattern: RegExp) => (err: unknown) => isServiceError(err, 'InvalidRequestException') && pattern.test(err.message);

describe('tag lists', () => {
  it('become [key, value] pairs; an absent Value is empty; a repeated key keeps its last value', () => {
    assert.deepStrictEqual(
      readTags('tags', [{ Key: 'env', Value: 'dev' }, { Key: 'team' }, { Key: 'env', Value: 'prod' }, { Key: 'a b:c/d=e+f-g@h_i.j', Value: 'Ünïcode 1' }]),
      [['team', ''], ['env', 'prod'], ['a b:c/d=e+f-g@h_i.j', 'Ünïcode 1']],
    );
    assert.deepStrictEqual(readTags('tags', undefined), []);
    assert.deepStrictEqual(readTags('tags', null), []);
    assert.deepStrictEqual(readTags('tags', [{ Key: 'k', Value: null }]), [['k', '']]);
  });

  it('keys are 1–128 characters, values 0–256, both of the model pattern', () => {
    assert.deepStrictEqual(readTags('tags', [{ Key: 'k'.repeat(128), Value: 'v'.repeat(256) }]), [['k'.repeat(128), 'v'.repeat(256)]]);
    // Lengths count characters (code points), not UTF-16 units.
    assert.deepStrictEqual(readTags('tags', [{ Key: '𝒜'.repeat(128) }]), [['𝒜'.repeat(128), '']]);
    assert.throws(() => readTags('tags', [{ Key: '😀' }]), ire(/regular expression pattern/), 'a symbol is not a letter, separator or number');
  });

  it('every problem is named by its member, in one InvalidRequestException', () => {
    assert.throws(() => readTags('tags', [{ Key: '' }]), ire(/^1 validation error detected: Value '' at 'tags.1.member.Key' failed to satisfy constraint: Member must have length greater than or equal to 1$/));
    assert.throws(() => readTags('tags', [{ Key: 'k'.repeat(129) }]), ire(/'tags.1.member.Key'.*less than or equal to 128/));
    assert.throws(() => readTags('tags', [{ Key: 'k', Value: 'v'.repeat(257) }]), ire(/'tags.1.member.Value'.*less than or equal to 256/));
    assert.throws(() => readTags('tags', [{ Key: 'k', Value: 'a;b' }]), ire(/'tags.1.member.Value'.*regular expression pattern/));
    assert.throws(() => readTags('tags', [{ Value: 'v' }]), ire(/'tags.1.member.Key'.*must not be null/));
    assert.throws(() => readTags('tags', [{ Key: 5 }]), ire(/'tags.1.member.Key'.*must be a string/));
    assert.throws(() => readTags('tags', [{ Key: 'k', Value: 5 }]), ire(/'tags.1.member.Value'.*must be a string/));
    assert.throws(() => readTags('tags', ['k=v']), ire(/'tags.1.member'.*must be a structure/));
    assert.throws(() => readTags('tags', { Key: 'k' }), ire(/'tags'.*must be a list/));
    assert.throws(() => readTags('tags', undefined, { required: true }), ire(/'tags'.*must not be null/));
    assert.throws(() => readTags('tags', [{ Key: 'ok' }, { Key: '' }, { Key: 'x', Value: '!' }]), ire(/^2 validation errors detected: .*'tags.2.member.Key'.*; .*'tags.3.member.Value'/));
  });

  it("keys must not start with aws:, in any case", () => {
    for (const key of ['aws:', 'aws:cloudformation:stack-name', 'AWS:x', 'Aws:y']) {
      assert.throws(() => readTags('tags', [{ Key: key, Value: 'v' }]), ire(/Member must not start with 'aws:'/), key);
      assert.throws(() => readTagKeys('tagKeys', [key]), ire(/'tagKeys.1.member'.*Member must not start with 'aws:'/), key);
    }
    assert.deepStrictEqual(readTags('tags', [{ Key: 'aws', Value: 'aws:v' }, { Key: 'my-aws:x' }]), [['aws', 'aws:v'], ['my-aws:x', '']]);
  });

  it('maxCount limits the list; checkTags returns the problems beside the good tags', () => {
    const many = Array.from({ length: maxTagsPerResource + 1 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    assert.equal(readTags('tags', many).length, 51, 'no limit unless asked');
    assert.throws(() => readTags('tags', many, { maxCount: maxTagsPerResource }), ire(/'tags' failed to satisfy constraint: Member must have length less than or equal to 50/));
    const { tags, problems } = checkTags('tags', [{ Key: 'good' }, { Key: '' }]);
    assert.deepStrictEqual(tags, [['good', '']]);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^Value '' at 'tags.2.member.Key'/);
  });
});

describe('tag keys (UntagResource)', () => {
  it('a required list of valid keys, duplicates dropped', () => {
    assert.deepStrictEqual(readTagKeys('tagKeys', ['a', 'b', 'a']), ['a', 'b']);
    assert.deepStrictEqual(readTagKeys('tagKeys', []), []);
    assert.throws(() => readTagKeys('tagKeys', undefined), ire(/'tagKeys'.*must not be null/));
    assert.throws(() => readTagKeys('tagKeys', 'a'), ire(/'tagKeys'.*must be a list/));
    assert.throws(() => readTagKeys('tagKeys', ['a', 7, '']), ire(/^2 validation errors detected: .*'tagKeys.2.member'.*must be a string; .*'tagKeys.3.member'/));
  });
});

describe('x-amz-tagging', () => {
  it('parses k1=v1&k2=v2, URL-encoded, in order; a key alone has the value ""', () => {
    assert.deepStrictEqual(parseTaggingHeader('team=ops&env=test'), [['team', 'ops'], ['env', 'test']]);
    assert.deepStrictEqual(parseTaggingHeader('a%20b=c%3Dd%2Fe&flag&plus=x+y&empty='), [['a b', 'c=d/e'], ['flag', ''], ['plus', 'x y'], ['empty', '']]);
    assert.deepStrictEqual(parseTaggingHeader('k=1&k=2'), [['k', '2']]);
    assert.deepStrictEqual(parseTaggingHeader(undefined), []);
    assert.deepStrictEqual(parseTaggingHeader(''), []);
  });

  it('checks what it parsed as the tags member', () => {
    assert.throws(() => parseTaggingHeader('=v'), ire(/'tags.1.member.Key'.*greater than or equal to 1/));
    assert.throws(() => parseTaggingHeader('aws%3Ax=1'), ire(/'tags.1.member.Key'.*aws:/));
    assert.throws(() => parseTaggingHeader(`k=${'v'.repeat(257)}`), ire(/'tags.1.member.Value'/));
    const fiftyOne = Array.from({ length: 51 }, (_, i) => `k${i}=v`).join('&');
    assert.throws(() => parseTaggingHeader(fiftyOne), ire(/'tags'.*less than or equal to 50/));
    assert.equal(parseTaggingHeader(Array.from({ length: 50 }, (_, i) => `k${i}=v`).join('&')).length, 50);
  });
});
