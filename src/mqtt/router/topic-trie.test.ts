// Proves that the topic trie matches topics to filters per MQTT section 4.7 (and AWS's `#` deviation),
// groups shared subscriptions, replaces and removes subscriptions with pruning, and that its match
// cache (on, off, tiny) never returns a stale result.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { MatchResult, Router, RouterOptions, Subscription } from './router.js';
import { createLocalRouter, TopicTrie } from './topic-trie.js';
import { topicMatches } from '../topic.js';

function sub(clientId: string, topicFilter: string, extra: Partial<Subscription> = {}): Subscription {
  return { clientId, topicFilter, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, ...extra };
}

/** A stable, order-free description of a match result. */
function describeMatch(result: MatchResult): { subscriptions: string[]; shared: string[] } {
  return {
    subscriptions: result.subscriptions.map((s) => `${s.clientId} ${s.topicFilter} q${s.qos}`).sort(),
    shared: result.shared
      .map((g) => `${g.group} [${g.members.map((m) => `${m.clientId} q${m.qos}`).sort().join(', ')}]`)
      .sort(),
  };
}

/**
 * [filter, topic, match with hashMatchesParent (MQTT), match without (AWS)].
 * Examples from MQTT 3.1.1/5.0 section 4.7.1 and 4.7.2, and spec/mqtt.md section 9.
 */
const MATCH_TABLE: readonly [string, string, boolean, boolean][] = [
  // `#` alone
  ['#', 'a', true, true],
  ['#', 'a/b/c', true, true],
  ['#', '/', true, true],
  ['#', '/a', true, true],
  ['#', '$SYS', false, false], // [MQTT-4.7.2-1]
  ['#', '$SYS/monitor/Clients', false, false], // [MQTT-4.7.2-1]
  ['#', 'a/$SYS', true, true], // only the first level counts
  // section 4.7.1.2 examples
  ['sport/tennis/player1/#', 'sport/tennis/player1', true, false],
  ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true, true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true, true],
  ['sport/tennis/player1/#', 'sport/tennis/player2', false, false],
  ['sport/tennis/player1/#', 'sport/tennis', false, false],
  ['sport/#', 'sport', true, false], // AWS: `sensor/#` does not match `sensor`
  ['sport/#', 'sport/', true, true], // AWS: but does match `sensor/`
  ['sport/#', 'sports', false, false],
  ['sport/tennis/#', 'sport/tennis', true, false],
  // section 4.7.1.3 examples
  ['sport/tennis/+', 'sport/tennis/player1', true, true],
  ['sport/tennis/+', 'sport/tennis/player2', true, true],
  ['sport/tennis/+', 'sport/tennis/player1/ranking', false, false],
  ['sport/+', 'sport', false, false],
  ['sport/+', 'sport/', true, true],
  ['sport/+/player1', 'sport/tennis/player1', true, true],
  ['+', 'a', true, true],
  ['+', '/finance', false, false],
  ['+/+', '/finance', true, true],
  ['/+', '/finance', true, true],
  ['+/+', 'a', false, false],
  ['+/+', 'a/b/c', false, false],
  ['+', '$SYS', false, false], // [MQTT-4.7.2-1]
  // section 4.7.2 examples
  ['$SYS/#', '$SYS/monitor/Clients', true, true],
  ['$SYS/#', '$SYS', true, false],
  ['$SYS/monitor/+', '$SYS/monitor/Clients', true, true],
  ['+/monitor/Clients', '$SYS/monitor/Clients', false, false], // [MQTT-4.7.2-1]
  ['$SYS/monitor/Clients', '$SYS/monitor/Clients', true, true],
  // `+` then `#`
  ['+/#', 'a', true, false],
  ['+/#', 'a/b', true, true],
  ['+/#', '$x/b', false, false], // [MQTT-4.7.2-1]
  ['+/+/#', 'a', false, false],
  ['+/+/#', 'a/b', true, false],
  ['+/+/#', 'a/b/c', true, true],
  ['a/+/#', 'a/b/c/d', true, true],
  // empty levels and leading `/`
  ['a//b', 'a//b', true, true],
  ['a/+/b', 'a//b', true, true],
  ['a/b', 'a//b', false, false],
  ['/a', '/a', true, true],
  ['a', '/a', false, false],
  ['+/a', '/a', true, true],
  ['/#', '/a', true, true],
  ['/#', '/', true, true],
  ['/', '/', true, true],
  ['+/+', '/', true, true],
  ['a/#', 'a//', true, true],
  ['a/+', 'a//', false, false],
  // exact
  ['a/b', 'a/b', true, true],
  ['a/b', 'a/b/c', false, false],
  ['a/b/c', 'a/b', false, false],
  ['A', 'a', false, false], // [MQTT-4.7.3-4] no normalisation
  ['$SYS', '$SYS', true, true],
  ['données/+', 'données/température', true, true],
  // characters that look like wildcards only when they fill a level
  ['a+', 'a+', true, true],
];

const CONFIGS: readonly { name: string; cacheSize: number }[] = [
  { name: 'cache on', cacheSize: 4096 },
  { name: 'cache off', cacheSize: 0 },
  { name: 'cache of 2', cacheSize: 2 },
];

/** The Router contract, run for each cache configuration (NATS's cache/no-cache twins, STYLE.md 8.7). */
function describeRouter(name: string, create: (options: RouterOptions) => Router): void {
  describe(`Router: ${name}`, () => {
    for (const hashMatchesParent of [true, false]) {
      const mode = hashMatchesParent ? 'MQTT' : 'AWS';
      it(`matches the wildcard table, one filter at a time (${mode})`, () => {
        for (const [filter, topic, mqtt, awsMatch] of MATCH_TABLE) {
          const router = create({ hashMatchesParent });
          router.add(sub('c', filter));
          const expected = hashMatchesParent ? mqtt : awsMatch;
          // Twice: the second answer may come from the cache.
          for (let k = 0; k < 2; k++) {
            assert.equal(router.match(topic).subscriptions.length, expected ? 1 : 0, `${filter} × ${topic} (${mode})`);
          }
          assert.equal(topicMatches(filter, topic, hashMatchesParent), expected, `reference: ${filter} × ${topic}`);
        }
      });

      it(`matches the wildcard table, all filters at once (${mode})`, () => {
        const router = create({ hashMatchesParent });
        const filters = [...new Set(MATCH_TABLE.map(([f]) => f))];
        for (const filter of filters) router.add(sub(`c:${filter}`, filter));
        const topics = [...new Set(MATCH_TABLE.map(([, t]) => t))];
        for (const topic of topics) {
          const expected = filters.filter((f) => topicMatches(f, topic, hashMatchesParent)).sort();
          const actual = router
            .match(topic)
            .subscriptions.map((s) => s.topicFilter)
            .sort();
          assert.deepEqual(actual, expected, `topic ${topic} (${mode})`);
        }
      });
    }

    it('returns the same empty result when nothing matches', () => {
      const router = create({ hashMatchesParent: true });
      router.add(sub('c', 'a/b'));
      const result = router.match('x/y');
      assert.equal(result.subscriptions.length, 0);
      assert.equal(result.shared.length, 0);
    });

    it('lists a client once per matching filter (overlapping filters)', () => {
      const router = create({ hashMatchesParent: true });
      router.add(sub('c', 'a/b'));
      router.add(sub('c', 'a/+'));
      router.add(sub('c', '#'));
      router.add(sub('d', 'a/b'));
      assert.deepEqual(describeMatch(router.match('a/b')).subscriptions, [
        'c # q1',
        'c a/+ q1',
        'c a/b q1',
        'd a/b q1',
      ]);
      assert.equal(router.size, 4);
    });

    describe('shared subscriptions', () => {
      it('returns each matching group once, with all its members', () => {
        const router = create({ hashMatchesParent: true });
        router.add(sub('c1', 'a/+', { shareName: 'g' }));
        router.add(sub('c2', 'a/+', { shareName: 'g' }));
        router.add(sub('c3', 'a/+', { shareName: 'g' }));
        router.add(sub('c1', 'a/b', { shareName: 'g' })); // same share name, other filter: another group
        router.add(sub('c1', 'a/+', { shareName: 'h' })); // same filter, other share name: another group
        router.add(sub('c4', '#', { shareName: 'g' }));
        router.add(sub('c5', 'x', { shareName: 'g' })); // does not match
        const result = describeMatch(router.match('a/b'));
        assert.deepEqual(result.shared, ['g/# [c4 q1]', 'g/a/+ [c1 q1, c2 q1, c3 q1]', 'g/a/b [c1 q1]', 'h/a/+ [c1 q1]']);
        assert.deepEqual(result.subscriptions, []);
        assert.equal(router.size, 7);
      });

      it('keeps ordinary and shared subscriptions of one client independent', () => {
        const router = create({ hashMatchesParent: true });
        router.add(sub('c', 'a/b'));
        router.add(sub('c', 'a/b', { shareName: 'g', qos: 0 }));
        let result = describeMatch(router.match('a/b'));
        assert.deepEqual(result, { subscriptions: ['c a/b q1'], shared: ['g/a/b [c q0]'] });
        assert.equal(router.remove('c', 'a/b'), true);
        result = describeMatch(router.match('a/b'));
        assert.deepEqual(result, { subscriptions: [], shared: ['g/a/b [c q0]'] });
        assert.equal(router.remove('c', 'a/b'), false);
        assert.equal(router.remove('c', 'a/b', 'g'), true);
        assert.deepEqual(describeMatch(router.match('a/b')), { subscriptions: [], shared: [] });
        assert.equal(router.size, 0);
      });

      it('honours the $ rule for shared filters starting with a wildcard [MQTT-4.7.2-1]', () => {
        const router = create({ hashMatchesParent: true });
        router.add(sub('c', '#', { shareName: 'g' }));
        router.add(sub('d', '$SYS/#', { shareName: 'g' }));
        assert.deepEqual(describeMatch(router.match('$SYS/x')).shared, ['g/$SYS/# [d q1]']);
      });

      it('drops a member, then the group, on remove', () => {
        const router = create({ hashMatchesParent: true });
        router.add(sub('c1', 'a', { shareName: 'g' }));
        router.add(sub('c2', 'a', { shareName: 'g' }));
        assert.deepEqual(describeMatch(router.match('a')).shared, ['g/a [c1 q1, c2 q1]']);
        assert.equal(router.remove('c1', 'a', 'g'), true);
        assert.deepEqual(describeMatch(router.match('a')).shared, ['g/a [c2 q1]']);
        assert.equal(router.remove('c1', 'a', 'g'), false);
        assert.equal(router.remove('c2', 'a', 'h'), false);
        assert.equal(router.remove('c2', 'a', 'g'), true);
        assert.deepEqual(describeMatch(router.match('a')).shared, []);
      });
    });

    describe('add replaces, remove reports', () => {
      it('replaces a (clientId, shareName, topicFilter) subscription with the new options', () => {
        const router = create({ hashMatchesParent: true });
        router.add(sub('c', 'a/+', { qos: 0 }));
        router.add(sub('c', 'a/+', { qos: 1, shareName: 'g' }));
        assert.deepEqual(describeMatch(router.match('a/b')), { subscriptions: ['c a/+ q0'], shared: ['g/a/+ [c q1]'] });
        router.add(sub('c', 'a/+', { qos: 2, noLocal: true }));
        router.add(sub('c', 'a/+', { qos: 0, shareName: 'g' }));
        const result = router.match('a/b');
        assert.deepEqual(describeMatch(result), { subscriptions: ['c a/+ q2'], shared: ['g/a/+ [c q0]'] });
        assert.equal(result.subscriptions[0]?.noLocal, true);
        assert.equal(router.size, 2);
      });

      it('returns false for what does not exist', () => {
        const router = create({ hashMatchesParent: true });
        router.add(sub('c', 'a/b'));
        assert.equal(router.remove('d', 'a/b'), false);
        assert.equal(router.remove('c', 'a'), false);
        assert.equal(router.remove('c', 'a/b/c'), false);
        assert.equal(router.remove('c', 'a/+'), false);
        assert.equal(router.remove('c', 'a/#'), false);
        assert.equal(router.remove('c', 'a/b', 'g'), false);
        assert.equal(router.size, 1);
        assert.equal(router.remove('c', 'a/b'), true);
        assert.equal(router.remove('c', 'a/b'), false);
        assert.equal(router.size, 0);
      });
    });

    describe('cache invalidation', () => {
      it('sees a wildcard filter added after a cached match', () => {
        const router = create({ hashMatchesParent: true });
        router.add(sub('c', 'a/b'));
        assert.equal(router.match('a/b').subscriptions.length, 1);
        router.add(sub('d', 'a/+'));
        assert.equal(router.match('a/b').subscriptions.length, 2);
        router.add(sub('e', '#'));
        assert.equal(router.match('a/b').subscriptions.length, 3);
      });

      it('sees an exact filter added after a cached (empty) match', () => {
        const router = create({ hashMatchesParent: true });
        router.add(sub('c', 'x/+'));
        assert.equal(router.match('a/b').subscriptions.length, 0);
        assert.equal(router.match('x/y').subscriptions.length, 1);
        router.add(sub('c', 'a/b'));
        assert.equal(router.match('a/b').subscriptions.length, 1);
        assert.equal(router.match('x/y').subscriptions.length, 1);
      });

      it('sees removals and replacements after a cached match', () => {
        const router = create({ hashMatchesParent: true });
        router.add(sub('c', 'a/b'));
        router.add(sub('c', 'a/#', { shareName: 'g' }));
        assert.deepEqual(describeMatch(router.match('a/b')), { subscriptions: ['c a/b q1'], shared: ['g/a/# [c q1]'] });
        router.add(sub('c', 'a/b', { qos: 0 }));
        assert.deepEqual(describeMatch(router.match('a/b')).subscriptions, ['c a/b q0']);
        router.add(sub('d', 'a/#', { shareName: 'g' }));
        assert.deepEqual(describeMatch(router.match('a/b')).shared, ['g/a/# [c q1, d q1]']);
        router.remove('c', 'a/b');
        router.remove('c', 'a/#', 'g');
        assert.deepEqual(describeMatch(router.match('a/b')), { subscriptions: [], shared: ['g/a/# [d q1]'] });
      });

      it('agrees with the reference matcher through random adds and removes', () => {
        // Small alphabets so that filters overlap and the cache is hit; deterministic PRNG.
        let seed = 0x2545f491;
        const random = (n: number): number => {
          seed ^= seed << 13;
          seed ^= seed >>> 17;
          seed ^= seed << 5;
          return (seed >>> 0) % n;
        };
        const pick = <T>(items: readonly T[]): T => items[random(items.length)] as T;
        const topicLevels = ['a', 'b', '', '$s'];
        const filterLevels = ['a', 'b', '', '$s', '+', '+'];
        const makeTopic = (): string => Array.from({ length: 1 + random(3) }, () => pick(topicLevels)).join('/');
        const makeFilter = (): string => {
          const levels = Array.from({ length: 1 + random(3) }, () => pick(filterLevels));
          if (random(3) === 0) levels[levels.length - 1] = '#';
          return levels.join('/');
        };
        const topics = Array.from({ length: 40 }, makeTopic);
        for (const hashMatchesParent of [true, false]) {
          const router = create({ hashMatchesParent });
          const live = new Map<string, Subscription>(); // key: clientId \0 shareName \0 filter
          const key = (s: Subscription): string => `${s.clientId}\u0000${s.shareName ?? ''}\u0000${s.topicFilter}`;
          for (let step = 0; step < 1500; step++) {
            const op = random(10);
            if (op < 4) {
              const shareName = random(3) === 0 ? pick(['g', 'h']) : undefined;
              const s = sub(pick(['c1', 'c2', 'c3']), makeFilter(), {
                qos: pick([0, 1, 2] as const),
                ...(shareName === undefined ? {} : { shareName }),
              });
              router.add(s);
              live.set(key(s), s);
            } else if (op < 6) {
              const existing = [...live.values()];
              const s = existing.length > 0 && random(4) !== 0 ? pick(existing) : sub('c1', makeFilter());
              assert.equal(router.remove(s.clientId, s.topicFilter, s.shareName), live.delete(key(s)));
            } else {
              const topic = pick(topics);
              const matching = [...live.values()].filter((s) => topicMatches(s.topicFilter, topic, hashMatchesParent));
              const groups = new Map<string, Subscription[]>();
              for (const s of matching) {
                if (s.shareName === undefined) continue;
                const group = `${s.shareName}/${s.topicFilter}`;
                groups.set(group, [...(groups.get(group) ?? []), s]);
              }
              const expected = describeMatch({
                subscriptions: matching.filter((s) => s.shareName === undefined),
                shared: [...groups].map(([group, members]) => ({ group, members })),
              });
              assert.deepEqual(describeMatch(router.match(topic)), expected, `step ${step}: ${topic}`);
            }
            assert.equal(router.size, live.size);
          }
        }
      });
    });
  });
}

for (const { name, cacheSize } of CONFIGS) {
  describeRouter(`local trie, ${name}`, (options) => createLocalRouter({ ...options, cacheSize }));
}

describe('TopicTrie specifics', () => {
  it('prunes every node a removal empties (memory does not grow with churn)', () => {
    const trie = new TopicTrie({ hashMatchesParent: true });
    assert.equal(trie.countNodes(), 1);
    trie.add(sub('keep', 'a/b'));
    const base = trie.countNodes();
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 20; i++) {
        trie.add(sub(`c${i}`, `a/b/${round}/${i}/+/x/#`));
        trie.add(sub(`c${i}`, `a/+/${i}`, { shareName: `g${round}` }));
        trie.add(sub(`c${i}`, `${round}//${i}`));
      }
      trie.match(`a/b/${round}/0/y/x/z`);
      for (let i = 0; i < 20; i++) {
        assert.equal(trie.remove(`c${i}`, `a/b/${round}/${i}/+/x/#`), true);
        assert.equal(trie.remove(`c${i}`, `a/+/${i}`, `g${round}`), true);
        assert.equal(trie.remove(`c${i}`, `${round}//${i}`), true);
      }
      assert.equal(trie.countNodes(), base, `round ${round}`);
    }
    assert.equal(trie.size, 1);
    trie.remove('keep', 'a/b');
    assert.equal(trie.countNodes(), 1);
    assert.equal(trie.size, 0);
  });

  it('keeps a node that still has children or subscriptions', () => {
    const trie = new TopicTrie({ hashMatchesParent: true });
    trie.add(sub('c', 'a'));
    trie.add(sub('c', 'a/b/c'));
    trie.add(sub('c', 'a/+'));
    trie.remove('c', 'a/b/c');
    assert.equal(trie.countNodes(), 3); // root, a, a/+
    assert.equal(trie.match('a').subscriptions.length, 1);
    assert.equal(trie.match('a/z').subscriptions.length, 1);
  });

  it('answers a repeated topic from the cache with the identical result object', () => {
    const trie = new TopicTrie({ hashMatchesParent: true });
    trie.add(sub('c', 'a/+'));
    trie.add(sub('d', 'a/b'));
    const first = trie.match('a/b');
    assert.equal(trie.match('a/b'), first);
    assert.equal(trie.cachedTopics, 1);
  });

  it('keeps the rest of the cache when an exact filter changes, clears it for a wildcard', () => {
    const trie = new TopicTrie({ hashMatchesParent: true });
    trie.add(sub('c', '#'));
    trie.match('a');
    trie.match('b');
    assert.equal(trie.cachedTopics, 2);
    trie.add(sub('c', 'a'));
    assert.equal(trie.cachedTopics, 1); // only `a` was dropped
    trie.remove('c', 'a');
    assert.equal(trie.cachedTopics, 1);
    trie.add(sub('c', 'x/+'));
    assert.equal(trie.cachedTopics, 0);
  });

  it('bounds the cache at cacheSize and keeps topics in use', () => {
    const trie = new TopicTrie({ hashMatchesParent: true, cacheSize: 16 });
    trie.add(sub('c', '#'));
    const hot = trie.match('hot');
    for (let i = 0; i < 100; i++) {
      trie.match(`t/${i}`);
      assert.ok(trie.cachedTopics <= 16, `${trie.cachedTopics} entries`);
      assert.equal(trie.match('hot'), hot, `hot topic evicted after ${i}`); // used often: survives rotation
    }
    assert.ok(trie.cachedTopics >= 8);
    const last = trie.match('t/99');
    assert.equal(trie.match('t/99'), last);
    assert.notEqual(trie.match('t/0'), undefined); // long evicted: recomputed, still correct
    assert.equal(trie.match('t/0').subscriptions.length, 1);
  });

  it('caches nothing with cacheSize 0', () => {
    const trie = new TopicTrie({ hashMatchesParent: true, cacheSize: 0 });
    trie.add(sub('c', '#'));
    trie.match('a');
    assert.equal(trie.cachedTopics, 0);
  });

  it('returns frozen results (callers must not mutate them)', () => {
    const trie = new TopicTrie({ hashMatchesParent: true });
    trie.add(sub('c', 'a/+'));
    trie.add(sub('d', 'a/b'));
    trie.add(sub('e', 'a/b', { shareName: 'g' }));
    for (const result of [trie.match('a/b'), trie.match('a/c'), trie.match('zzz')]) {
      assert.ok(Object.isFrozen(result));
      assert.ok(Object.isFrozen(result.subscriptions));
      assert.ok(Object.isFrozen(result.shared));
      for (const group of result.shared) assert.ok(Object.isFrozen(group.members));
    }
  });

  it('refuses a # that is not the last level, without building nodes', () => {
    const trie = new TopicTrie({ hashMatchesParent: true });
    assert.throws(() => trie.add(sub('c', 'a/#/b')), RangeError);
    assert.equal(trie.countNodes(), 1);
    assert.equal(trie.size, 0);
  });

  it('matches topics deeper than the call stack could recurse', () => {
    const trie = new TopicTrie({ hashMatchesParent: true });
    const deep = 'x/'.repeat(50_000) + 'y';
    trie.add(sub('c', deep));
    trie.add(sub('d', `${'+/'.repeat(50_000)}#`));
    assert.equal(trie.match(deep).subscriptions.length, 2);
    assert.equal(trie.remove('c', deep), true);
    assert.equal(trie.remove('d', `${'+/'.repeat(50_000)}#`), true);
    assert.equal(trie.countNodes(), 1);
  });
});
