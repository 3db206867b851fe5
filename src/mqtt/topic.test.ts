// Proves that topic names and filters are validated per MQTT section 4.7/4.8 and the AWS limits of
// spec/mqtt.md section 9, and that topicMatches (the reference matcher) follows section 4.7.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  formatSharedFilter,
  hasWildcard,
  isDollarTopic,
  parseSharedFilter,
  topicMatches,
  validateTopicFilter,
  validateTopicName,
  type TopicFilterLimits,
  type TopicLimits,
} from './topic.js';

const aws: TopicLimits = { maxTopicBytes: 256, maxTopicSlashes: 7, exemptTopicPrefix: '$aws/rules/' };
const unlimited: TopicLimits = { maxTopicBytes: 0, maxTopicSlashes: 0 };
const awsFilter: TopicFilterLimits = { ...aws, sharedAllowed: true, wildcardsAllowed: true, maxShareNameBytes: 128 };
const openFilter: TopicFilterLimits = { ...unlimited, sharedAllowed: true, wildcardsAllowed: true };

describe('validateTopicName', () => {
  const cases: readonly [name: string, topic: string, limits: TopicLimits, expected: string][] = [
    ['simple', 'a/b/c', aws, 'ok'],
    ['single level', 'a', aws, 'ok'],
    ['empty levels are levels', 'a//b', aws, 'ok'],
    ['leading slash', '/a', aws, 'ok'],
    ['only a slash', '/', aws, 'ok'],
    ['$ topic (reserved, but syntactically valid)', '$SYS/broker', aws, 'ok'],
    ['empty [MQTT-4.7.3-1]', '', aws, 'invalid'],
    ['+ [MQTT-3.3.2-2]', 'a/+', aws, 'invalid'],
    ['# [MQTT-3.3.2-2]', 'a/#', aws, 'invalid'],
    ['+ inside a level [MQTT-3.3.2-2]', 'a+b', aws, 'invalid'],
    ['# inside a level [MQTT-3.3.2-2]', 'a#', aws, 'invalid'],
    ['NUL [MQTT-4.7.3-2]', 'a/\u0000/b', aws, 'invalid'],
    ['256 bytes', 'x'.repeat(256), aws, 'ok'],
    ['257 bytes', 'x'.repeat(257), aws, 'too-long'],
    ['multi-byte: 128 × é = 256 bytes', 'é'.repeat(128), aws, 'ok'],
    ['multi-byte: 129 × é = 258 bytes', 'é'.repeat(129), aws, 'too-long'],
    ['multi-byte: 85 × € = 255 bytes', '€'.repeat(85), aws, 'ok'],
    ['multi-byte: 86 × € = 258 bytes', '€'.repeat(86), aws, 'too-long'],
    ['surrogate pairs: 64 × 😀 = 256 bytes', '😀'.repeat(64), aws, 'ok'],
    ['surrogate pairs: 65 × 😀 = 260 bytes', '😀'.repeat(65), aws, 'too-long'],
    ['7 slashes', 'a/b/c/d/e/f/g/h', aws, 'ok'],
    ['8 slashes', 'a/b/c/d/e/f/g/h/i', aws, 'too-many-levels'],
    ['8 empty-level slashes', '////////', aws, 'too-many-levels'],
    ['no limits: long and deep', 'x/'.repeat(5000), unlimited, 'ok'],
    ['slash limit only', 'a/b/c', { maxTopicBytes: 0, maxTopicSlashes: 1 }, 'too-many-levels'],
    ['byte limit only', 'abcd', { maxTopicBytes: 3, maxTopicSlashes: 0 }, 'too-long'],
    // Basic Ingest: `$aws/rules/<ruleName>/` counts towards neither limit (spec/mqtt.md section 9).
    ['ingest prefix: 7 slashes after it', '$aws/rules/myRule/a/b/c/d/e/f/g/h', aws, 'ok'],
    ['ingest prefix: 8 slashes after it', '$aws/rules/myRule/a/b/c/d/e/f/g/h/i', aws, 'too-many-levels'],
    ['ingest prefix: 256 bytes after it', `$aws/rules/${'r'.repeat(100)}/${'x'.repeat(256)}`, aws, 'ok'],
    ['ingest prefix: 257 bytes after it', `$aws/rules/r/${'x'.repeat(257)}`, aws, 'too-long'],
    ['ingest prefix alone', `$aws/rules/${'r'.repeat(128)}`, { maxTopicBytes: 20, maxTopicSlashes: 1, exemptTopicPrefix: '$aws/rules/' }, 'ok'],
    ['ingest prefix with an empty rule name is not exempt', `$aws/rules//a/b/c/d/e/f`, aws, 'too-many-levels'],
    ['other $aws topics are not exempt', '$aws/things/t/shadow/name/s/update/x/accepted', aws, 'too-many-levels'],
    ['ingest topics still refuse wildcards', '$aws/rules/r/+', aws, 'invalid'],
  ];
  for (const [name, topic, limits, expected] of cases) {
    it(`${name} → ${expected}`, () => {
      const check = validateTopicName(topic, limits);
      assert.equal(check.ok ? 'ok' : check.reason, expected);
    });
  }
});

describe('validateTopicFilter', () => {
  const cases: readonly [name: string, filter: string, limits: TopicFilterLimits, expected: string][] = [
    ['exact', 'a/b', awsFilter, 'ok a/b'],
    ['#', '#', awsFilter, 'ok #'],
    ['+', '+', awsFilter, 'ok +'],
    ['a/#', 'a/#', awsFilter, 'ok a/#'],
    ['+/+', '+/+', awsFilter, 'ok +/+'],
    ['/+', '/+', awsFilter, 'ok /+'],
    ['+/a/#', '+/a/#', awsFilter, 'ok +/a/#'],
    ['empty levels', 'a//+//#', awsFilter, 'ok a//+//#'],
    ['$SYS/#', '$SYS/#', awsFilter, 'ok $SYS/#'],
    ['empty [MQTT-4.7.3-1]', '', awsFilter, 'invalid'],
    ['NUL [MQTT-4.7.3-2]', 'a/\u0000', awsFilter, 'invalid'],
    ['# not last [MQTT-4.7.1-2]', 'a/#/b', awsFilter, 'invalid'],
    ['# inside a level [MQTT-4.7.1-2]', 'a/b#', awsFilter, 'invalid'],
    ['# before text [MQTT-4.7.1-2]', '#a', awsFilter, 'invalid'],
    ['## [MQTT-4.7.1-2]', '##', awsFilter, 'invalid'],
    ['+ inside a level [MQTT-4.7.1-3]', 'sport+', awsFilter, 'invalid'],
    ['+ before text [MQTT-4.7.1-3]', 'a/+b', awsFilter, 'invalid'],
    ['++ [MQTT-4.7.1-3]', '++', awsFilter, 'invalid'],
    ['+# [MQTT-4.7.1-3]', '+#', awsFilter, 'invalid'],
    ['shared', '$share/g/a/+', awsFilter, 'ok a/+ share=g'],
    ['shared #', '$share/g/#', awsFilter, 'ok # share=g'],
    ['shared filter may itself start with $', '$share/g/$SYS/x', awsFilter, 'ok $SYS/x share=g'],
    ['shared: empty ShareName [MQTT-4.8.2-1]', '$share//a', awsFilter, 'invalid'],
    ['shared: ShareName with + [MQTT-4.8.2-2]', '$share/g+/a', awsFilter, 'invalid'],
    ['shared: ShareName with # [MQTT-4.8.2-2]', '$share/#/a', awsFilter, 'invalid'],
    ['shared: no filter [MQTT-4.8.2-2]', '$share/g', awsFilter, 'invalid'],
    ['shared: empty filter [MQTT-4.8.2-2]', '$share/g/', awsFilter, 'invalid'],
    ['shared: invalid filter part', '$share/g/a#', awsFilter, 'invalid'],
    ['shared: NUL in ShareName', '$share/g\u0000/a', awsFilter, 'invalid'],
    ['$share without slash is an ordinary filter', '$share', awsFilter, 'ok $share'],
    ['shared not supported', '$share/g/a', { ...awsFilter, sharedAllowed: false }, 'shared-not-supported'],
    ['malformed shared is invalid even when not supported', '$share//a', { ...awsFilter, sharedAllowed: false }, 'invalid'],
    ['wildcards not supported: +', 'a/+', { ...awsFilter, wildcardsAllowed: false }, 'wildcards-not-supported'],
    ['wildcards not supported: #', '#', { ...awsFilter, wildcardsAllowed: false }, 'wildcards-not-supported'],
    ['wildcards not supported: exact is fine', 'a/b', { ...awsFilter, wildcardsAllowed: false }, 'ok a/b'],
    ['256 bytes', 'x'.repeat(256), awsFilter, `ok ${'x'.repeat(256)}`],
    ['257 bytes', 'x'.repeat(257), awsFilter, 'too-long'],
    ['multi-byte: 129 × é', 'é'.repeat(129), awsFilter, 'too-long'],
    ['7 slashes', '+/b/c/d/e/f/g/#', awsFilter, 'ok +/b/c/d/e/f/g/#'],
    ['8 slashes', '+/b/c/d/e/f/g/h/#', awsFilter, 'too-many-levels'],
    // The `$share/<name>/` prefix counts towards neither limit (spec/mqtt.md section 9).
    ['shared: 7 slashes after the prefix', '$share/g/a/b/c/d/e/f/g/h', awsFilter, 'ok a/b/c/d/e/f/g/h share=g'],
    ['shared: 8 slashes after the prefix', '$share/g/a/b/c/d/e/f/g/h/i', awsFilter, 'too-many-levels'],
    ['shared: 256-byte filter part', `$share/g/${'x'.repeat(256)}`, awsFilter, `ok ${'x'.repeat(256)} share=g`],
    ['shared: 257-byte filter part', `$share/g/${'x'.repeat(257)}`, awsFilter, 'too-long'],
    ['shared: 128-byte ShareName', `$share/${'n'.repeat(128)}/a`, awsFilter, `ok a share=${'n'.repeat(128)}`],
    ['shared: 129-byte ShareName', `$share/${'n'.repeat(129)}/a`, awsFilter, 'too-long'],
    ['no limits', `${'x/'.repeat(5000)}#`, openFilter, `ok ${'x/'.repeat(5000)}#`],
  ];
  for (const [name, filter, limits, expected] of cases) {
    it(`${name} → ${expected.length > 60 ? `${expected.slice(0, 60)}…` : expected}`, () => {
      const check = validateTopicFilter(filter, limits);
      const actual = check.ok
        ? `ok ${check.topicFilter}${check.shareName === undefined ? '' : ` share=${check.shareName}`}`
        : check.reason;
      assert.equal(actual, expected);
      if (check.ok && check.shareName === undefined) assert.equal('shareName' in check, false); // exactOptionalPropertyTypes
    });
  }
});

describe('helpers', () => {
  it('isDollarTopic', () => {
    assert.equal(isDollarTopic('$SYS/x'), true);
    assert.equal(isDollarTopic('$'), true);
    assert.equal(isDollarTopic('a/$SYS'), false);
    assert.equal(isDollarTopic('/$SYS'), false);
    assert.equal(isDollarTopic(''), false);
  });

  it('hasWildcard', () => {
    assert.equal(hasWildcard('a/+/b'), true);
    assert.equal(hasWildcard('#'), true);
    assert.equal(hasWildcard('a/b'), false);
  });

  it('parseSharedFilter and formatSharedFilter round-trip', () => {
    assert.deepEqual(parseSharedFilter('a/b'), { topicFilter: 'a/b' });
    assert.deepEqual(parseSharedFilter('$share/g/a/b'), { topicFilter: 'a/b', shareName: 'g' });
    assert.equal(parseSharedFilter('$share/g'), undefined);
    assert.equal(parseSharedFilter('$share//a'), undefined);
    assert.equal(formatSharedFilter('a/b'), 'a/b');
    assert.equal(formatSharedFilter('a/b', 'g'), '$share/g/a/b');
    for (const filter of ['a/#', '$share/g/+/x', '$share/h/$SYS/#']) {
      const parsed = parseSharedFilter(filter);
      assert.ok(parsed);
      assert.equal(formatSharedFilter(parsed.topicFilter, parsed.shareName), filter);
    }
  });
});

describe('topicMatches (reference matcher)', () => {
  // [filter, topic, match with hashMatchesParent (MQTT), match without (AWS)]; the full table is in
  // router/topic-trie.test.ts, which checks the trie against this function.
  const table: readonly [string, string, boolean, boolean][] = [
    ['#', 'a/b', true, true],
    ['#', '$SYS/x', false, false], // [MQTT-4.7.2-1]
    ['+/monitor/Clients', '$SYS/monitor/Clients', false, false], // [MQTT-4.7.2-1]
    ['$SYS/#', '$SYS/monitor/Clients', true, true],
    ['sport/#', 'sport', true, false], // section 4.7.1.2 vs spec/mqtt.md section 9
    ['sport/#', 'sport/', true, true],
    ['sport/+', 'sport', false, false],
    ['sport/+', 'sport/', true, true],
    ['+/+', '/finance', true, true],
    ['/+', '/finance', true, true],
    ['+', '/finance', false, false],
    ['a/b', 'a/b/c', false, false],
    ['a/b/c', 'a/b', false, false],
    ['A', 'a', false, false], // case-sensitive, no normalisation [MQTT-4.7.3-4]
  ];
  for (const [filter, topic, mqtt, awsMatch] of table) {
    it(`${filter} × ${topic} → mqtt ${mqtt}, aws ${awsMatch}`, () => {
      assert.equal(topicMatches(filter, topic, true), mqtt);
      assert.equal(topicMatches(filter, topic, false), awsMatch);
    });
  }
});
