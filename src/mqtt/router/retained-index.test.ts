// Proves that the retained index keeps one message per topic, finds exactly the retained messages a
// filter matches (MQTT section 4.7, the `$` rule and AWS's `#` deviation), and prunes what it deletes.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Message } from '../message.js';
import { RetainedIndex } from './retained-index.js';
import { topicMatches } from '../topic.js';

function message(topic: string, payload = topic): Message {
  return { topic, payload: Buffer.from(payload), qos: 1, retain: true, createdAtMs: 0 };
}

function topicsOf(messages: readonly Message[]): string[] {
  return messages.map((m) => m.topic).sort();
}

const TOPICS = [
  'a',
  'a/',
  'a/b',
  'a/c/d',
  'a//b',
  '/a',
  '/',
  'b',
  'sport/tennis/player1',
  'sport/tennis/player1/ranking',
  'sport/tennis/player1/score/wimbledon',
  'sport/tennis/player2',
  '$SYS',
  '$SYS/monitor/Clients',
  '$SYS/broker/load',
];

function filled(): RetainedIndex {
  const index = new RetainedIndex();
  for (const topic of TOPICS) index.set(message(topic));
  return index;
}

describe('RetainedIndex', () => {
  it('stores one message per topic; a newer one replaces the older', () => {
    const index = new RetainedIndex();
    index.set(message('a/b', 'one'));
    index.set(message('a/b', 'two'));
    assert.equal(index.size, 1);
    assert.equal(index.get('a/b')?.payload.toString(), 'two');
    assert.deepEqual(index.match('a/+', true).map((m) => m.payload.toString()), ['two']);
    assert.equal(index.get('a'), undefined);
  });

  it('deletes, reports whether it existed, and keeps the rest', () => {
    const index = filled();
    assert.equal(index.delete('a/b'), true);
    assert.equal(index.delete('a/b'), false);
    assert.equal(index.delete('zzz'), false);
    assert.equal(index.get('a/b'), undefined);
    assert.equal(index.size, TOPICS.length - 1);
    assert.deepEqual(topicsOf(index.match('a/#', true)), ['a', 'a/', 'a//b', 'a/c/d']);
    assert.equal(index.delete('a'), true); // a node with children stays as an inner node
    assert.deepEqual(topicsOf(index.match('a/#', true)), ['a/', 'a//b', 'a/c/d']);
  });

  it('answers exact filters', () => {
    const index = filled();
    assert.deepEqual(topicsOf(index.match('a/b', true)), ['a/b']);
    assert.deepEqual(topicsOf(index.match('$SYS', false)), ['$SYS']);
    assert.deepEqual(topicsOf(index.match('a/c', true)), []); // an inner node holds no message
    assert.deepEqual(topicsOf(index.match('nope', true)), []);
  });

  const cases: readonly [filter: string, hashMatchesParent: boolean, expected: string[]][] = [
    ['#', true, ['/', '/a', 'a', 'a/', 'a//b', 'a/b', 'a/c/d', 'b', ...TOPICS.filter((t) => t.startsWith('sport'))]],
    ['+', true, ['a', 'b']], // not `$SYS` [MQTT-4.7.2-1]
    ['+/+', true, ['/', '/a', 'a/', 'a/b']],
    ['/+', true, ['/', '/a']],
    ['a/#', true, ['a', 'a/', 'a//b', 'a/b', 'a/c/d']],
    ['a/#', false, ['a/', 'a//b', 'a/b', 'a/c/d']], // AWS: not `a` (spec/mqtt.md section 9)
    ['a/+', true, ['a/', 'a/b']],
    ['a/+/b', true, ['a//b']],
    ['sport/tennis/player1/#', true, ['sport/tennis/player1', 'sport/tennis/player1/ranking', 'sport/tennis/player1/score/wimbledon']],
    ['sport/tennis/player1/#', false, ['sport/tennis/player1/ranking', 'sport/tennis/player1/score/wimbledon']],
    ['sport/tennis/+', true, ['sport/tennis/player1', 'sport/tennis/player2']],
    ['sport/+', true, []],
    ['$SYS/#', true, ['$SYS', '$SYS/broker/load', '$SYS/monitor/Clients']],
    ['$SYS/#', false, ['$SYS/broker/load', '$SYS/monitor/Clients']],
    ['+/monitor/Clients', true, []], // [MQTT-4.7.2-1]
    ['$SYS/monitor/+', true, ['$SYS/monitor/Clients']],
    ['+/#', false, ['/', '/a', 'a/', 'a//b', 'a/b', 'a/c/d', ...TOPICS.filter((t) => t.startsWith('sport'))]],
  ];
  for (const [filter, hashMatchesParent, expected] of cases) {
    it(`${filter} (${hashMatchesParent ? 'MQTT' : 'AWS'}) → ${expected.length} messages`, () => {
      const index = filled();
      assert.deepEqual(topicsOf(index.match(filter, hashMatchesParent)), [...expected].sort());
    });
  }

  it('agrees with the reference matcher for every filter over a generated topic tree', () => {
    const index = new RetainedIndex();
    const levels = ['a', 'b', '', '$s'];
    const topics: string[] = [];
    for (const x of levels) {
      topics.push(x);
      for (const y of levels) {
        topics.push(`${x}/${y}`);
        for (const z of levels) topics.push(`${x}/${y}/${z}`);
      }
    }
    for (const topic of topics) index.set(message(topic));
    const filterLevels = [...levels, '+'];
    const filters: string[] = ['#'];
    for (const x of filterLevels) {
      filters.push(x, `${x}/#`);
      for (const y of filterLevels) filters.push(`${x}/${y}`, `${x}/${y}/#`);
    }
    for (const hashMatchesParent of [true, false]) {
      for (const filter of filters) {
        const expected = topics.filter((t) => topicMatches(filter, t, hashMatchesParent)).sort();
        assert.deepEqual(topicsOf(index.match(filter, hashMatchesParent)), expected, `${filter} ${hashMatchesParent}`);
      }
    }
  });

  it('iterates every message with values()', () => {
    const index = filled();
    assert.deepEqual([...index.values()].map((m) => m.topic).sort(), [...TOPICS].sort());
  });

  it('prunes deleted topics: re-adding after deleting everything behaves like new', () => {
    const index = new RetainedIndex();
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) index.set(message(`r${round}/x/${i}/y`));
      assert.equal(index.match('#', true).length, 50);
      for (let i = 0; i < 50; i++) assert.equal(index.delete(`r${round}/x/${i}/y`), true);
      assert.equal(index.size, 0);
      assert.deepEqual(index.match('#', true), []);
      assert.deepEqual(index.match('+/+', true), []);
    }
    // Nothing left under the root: a `+` walk finds no children at all.
    assert.equal((index as unknown as { root: { children: unknown } }).root.children, undefined);
  });

  it('handles topics deeper than the call stack could recurse', () => {
    const index = new RetainedIndex();
    const deep = 'x/'.repeat(50_000) + 'y';
    index.set(message(deep));
    assert.equal(index.match('#', true).length, 1);
    assert.equal(index.match(`${'+/'.repeat(50_000)}+`, true).length, 1);
    assert.equal(index.delete(deep), true);
    assert.equal(index.size, 0);
  });
});
