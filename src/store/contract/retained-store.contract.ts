/**
 * The RetainedStore contract: what every backend's `store.retained` must do, as node:test suites.
 * A backend's test calls `describeRetainedStore(factory)`; each test gets a fresh store.
 *
 * Beyond interfaces.ts: topics match exactly (case and slashes count); deleting an absent topic
 * changes nothing; a record outside its type (qos 3) fails the batch, which rolls back whole; apply
 * calls take effect in call order; stored data never aliases the caller's Buffers.
 */
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import type { MessageRecord, RetainedOp } from '../records.js';
import { isStoreError } from '../errors.js';
import { skipOption, withStore, type StoreContractFactory } from './factory.js';
import { byTopic, messageRecord, messageVariants } from './fixtures.js';

const retained = (topic: string, overrides: Partial<MessageRecord> = {}): MessageRecord =>
  messageRecord({ topic, retain: true, payload: Buffer.from(`payload of ${topic}`), ...overrides });

const putOp = (message: MessageRecord): RetainedOp => ({ op: 'put', message });

export function describeRetainedStore(factory: StoreContractFactory): void {
  describe(`RetainedStore contract: ${factory.name}`, { skip: skipOption(factory) }, () => {
    it('starts empty', () =>
      withStore(factory, async ({ store }) => {
        assert.deepStrictEqual(await store.retained.loadAll(), []);
        assert.equal(await store.retained.get('a/b'), undefined);
        assert.equal(await store.retained.count(), 0);
      }));

    it('an empty batch resolves and changes nothing', () =>
      withStore(factory, async ({ store }) => {
        await store.retained.apply([]);
        assert.equal(await store.retained.count(), 0);
      }));

    for (const [what, message] of messageVariants) {
      it(`a message round-trips exactly: ${what}`, () =>
        withStore(factory, async ({ store }) => {
          await store.retained.apply([putOp(message)]);
          const got = await store.retained.get(message.topic);
          assert.deepStrictEqual(got, message);
          assert.deepStrictEqual(await store.retained.loadAll(), [message]);
          assert.ok(got !== undefined && Buffer.isBuffer(got.payload), 'payload must be a Buffer');
          for (const key of ['expiresAtMs', 'properties'] as const) {
            assert.equal(key in got, key in message, `${key} must be ${key in message ? 'present' : 'absent'}`);
          }
        }));
    }

    it('put on an existing topic replaces its message', () =>
      withStore(factory, async ({ store }) => {
        await store.retained.apply([putOp(retained('t', { expiresAtMs: 5, properties: { contentType: 'a' } }))]);
        const replacement = retained('t', { payload: Buffer.from('new'), qos: 0 });
        await store.retained.apply([putOp(replacement)]);
        assert.deepStrictEqual(await store.retained.get('t'), replacement);
        assert.equal(await store.retained.count(), 1);
      }));

    it('delete removes a topic; deleting an absent topic changes nothing', () =>
      withStore(factory, async ({ store }) => {
        await store.retained.apply([putOp(retained('a')), putOp(retained('b'))]);
        await store.retained.apply([{ op: 'delete', topic: 'a' }, { op: 'delete', topic: 'never' }]);
        assert.equal(await store.retained.get('a'), undefined);
        assert.deepStrictEqual(await store.retained.loadAll(), [retained('b')]);
        assert.equal(await store.retained.count(), 1);
      }));

    it('topics match exactly: case, leading, trailing and double slashes all count', () =>
      withStore(factory, async ({ store }) => {
        const topics = ['a/b', 'a/b/', '/a/b', 'a//b', 'A/b', 'a/b ', 'a/bé'];
        await store.retained.apply(topics.map((t) => putOp(retained(t))));
        assert.equal(await store.retained.count(), topics.length);
        for (const t of topics) assert.deepStrictEqual(await store.retained.get(t), retained(t));
        await store.retained.apply([{ op: 'delete', topic: 'a/b' }]);
        assert.equal(await store.retained.get('a/b'), undefined);
        assert.deepStrictEqual(await store.retained.get('a/b/'), retained('a/b/'));
      }));

    it('loadAll returns every retained message', () =>
      withStore(factory, async ({ store }) => {
        const messages = Array.from({ length: 50 }, (_, i) => retained(`devices/${i}/state`, { createdAtMs: i }));
        await store.retained.apply(messages.map(putOp));
        assert.deepStrictEqual(byTopic(await store.retained.loadAll()), byTopic(messages));
        assert.equal(await store.retained.count(), 50);
      }));

    it('ops in one batch take effect in order', () =>
      withStore(factory, async ({ store }) => {
        const last = retained('t', { payload: Buffer.from('last') });
        await store.retained.apply([putOp(retained('t')), { op: 'delete', topic: 't' }, putOp(last), putOp(retained('u')), { op: 'delete', topic: 'u' }]);
        assert.deepStrictEqual(await store.retained.loadAll(), [last]);
      }));

    it('a batch with a failing op rejects and changes nothing', () =>
      withStore(factory, async ({ store }) => {
        await store.retained.apply([putOp(retained('keep'))]);
        const invalid = { ...retained('bad'), qos: 3 } as unknown as MessageRecord;
        await assert.rejects(
          store.retained.apply([putOp(retained('new')), { op: 'delete', topic: 'keep' }, putOp(invalid)]),
          (err: unknown) => isStoreError(err, 'ApplyFailed'),
        );
        assert.deepStrictEqual(await store.retained.loadAll(), [retained('keep')]);
        assert.equal(await store.retained.count(), 1);
      }));

    it('stored messages do not change when the caller later mutates its Buffers', () =>
      withStore(factory, async ({ store }) => {
        const payload = Buffer.from('original');
        await store.retained.apply([putOp(retained('t', { payload }))]);
        payload.fill(0);
        assert.equal((await store.retained.get('t'))?.payload.toString(), 'original');
      }));

    it('apply calls take effect in call order without awaiting in between', () =>
      withStore(factory, async ({ store }) => {
        const final = retained('t', { payload: Buffer.from('3') });
        await Promise.all([
          store.retained.apply([putOp(retained('t', { payload: Buffer.from('1') }))]),
          store.retained.apply([{ op: 'delete', topic: 't' }]),
          store.retained.apply([putOp(final)]),
        ]);
        assert.deepStrictEqual(await store.retained.get('t'), final);
      }));
  });
}
