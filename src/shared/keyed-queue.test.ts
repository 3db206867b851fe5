// Proves KeyedQueue runs the tasks of one key one at a time in call order, runs different keys concurrently, survives a failing task, and forgets idle keys.
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import { KeyedQueue } from './keyed-queue.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedQueue', () => {
  it('serialises one key, not different keys, and keeps going after a failure', async () => {
    const q = new KeyedQueue();
    const log: string[] = [];
    const task = (name: string, fail = false) => async () => {
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };
    const results = await Promise.allSettled([q.run('a', task('a1')), q.run('a', task('a2', true)), q.run('b', task('b1')), q.run('a', task('a3'))]);
    assert.deepStrictEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    assert.deepStrictEqual(log.filter((l) => l.endsWith('a1') || l.endsWith('a2') || l.endsWith('a3')), ['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3']);
    assert.ok(log.indexOf('start b1') < log.indexOf('end a1'), 'b ran beside a');
    await tick();
    assert.equal(q.size, 0);
  });
});
