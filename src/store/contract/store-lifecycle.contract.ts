/**
 * The Store lifecycle contract (meta checks): close() is idempotent, every call after close rejects
 * with StoreError 'Closed', and a durable backend reopened after close sees exactly what was
 * committed — nothing of a rejected batch.
 */
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import type { Store } from '../interfaces.js';
import type { SessionOp } from '../records.js';
import { isStoreError } from '../errors.js';
import { skipOption, withStore, type StoreContractFactory } from './factory.js';
import { messageRecord, messageVariants, normalized, sessionMessage, sessionRecord, subscriptionRecord } from './fixtures.js';

const NO_REOPEN = 'the factory has no reopen(): this backend is not durable';

async function rejectsClosed(call: () => Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(call(), (err: unknown) => {
    assert.ok(isStoreError(err, 'Closed'), `${what}: expected StoreError Closed, got ${String(err)}`);
    return true;
  });
}

function sampleSessionOps(): SessionOp[] {
  return [
    { op: 'putSession', session: sessionRecord('c1', { disconnectedAtMs: 1_700_000_000_000 }) },
    { op: 'putSubscription', clientId: 'c1', subscription: subscriptionRecord('a/#', { subscriptionId: 3 }) },
    ...messageVariants.map(([, message], i): SessionOp => ({ op: 'putMessage', message: sessionMessage('c1', i + 1, message) })),
    { op: 'updateMessage', clientId: 'c1', seq: 2, state: 'sent', packetId: 10 },
    { op: 'putAwaitingRel', clientId: 'c1', packetId: 77 },
    { op: 'putSession', session: sessionRecord('c2') },
  ];
}

async function snapshot(store: Store): Promise<unknown> {
  return {
    sessions: (await store.sessions.loadAll()).map(normalized),
    retained: await store.retained.loadAll(),
    retainedCount: await store.retained.count(),
  };
}

export function describeStoreLifecycle(factory: StoreContractFactory): void {
  describe(`Store lifecycle contract: ${factory.name}`, { skip: skipOption(factory) }, () => {
    it('close() is idempotent, also when called concurrently', () =>
      withStore(factory, async ({ store }) => {
        await store.close();
        await store.close();
        await Promise.all([store.close(), store.close()]);
      }));

    it('every call after close() rejects with StoreError Closed', () =>
      withStore(factory, async ({ store }) => {
        await store.sessions.apply([{ op: 'putSession', session: sessionRecord('c1') }]);
        await store.close();
        await rejectsClosed(() => store.sessions.loadAll(), 'sessions.loadAll');
        await rejectsClosed(() => store.sessions.load('c1'), 'sessions.load');
        await rejectsClosed(() => store.sessions.apply([{ op: 'deleteSession', clientId: 'c1' }]), 'sessions.apply');
        await rejectsClosed(() => store.sessions.apply([]), 'sessions.apply([])');
        await rejectsClosed(() => store.retained.loadAll(), 'retained.loadAll');
        await rejectsClosed(() => store.retained.get('t'), 'retained.get');
        await rejectsClosed(() => store.retained.count(), 'retained.count');
        await rejectsClosed(() => store.retained.apply([{ op: 'delete', topic: 't' }]), 'retained.apply');
      }));

    it('reopened after close, the store holds exactly what was committed', { skip: factory.reopen ? false : NO_REOPEN }, () =>
      withStore(factory, async (ctx) => {
        await ctx.store.sessions.apply(sampleSessionOps());
        await ctx.store.retained.apply(messageVariants.map(([, message], i) => ({ op: 'put', message: { ...message, topic: `r/${i}` } })));
        const before = await snapshot(ctx.store);
        const reopened = await ctx.reopen();
        assert.deepStrictEqual(await snapshot(reopened), before);
        // And it keeps working: write, reopen again, see the write.
        await reopened.sessions.apply([{ op: 'deleteSession', clientId: 'c2' }, { op: 'deleteMessage', clientId: 'c1', seq: 1 }]);
        await reopened.retained.apply([{ op: 'delete', topic: 'r/0' }]);
        const after = await snapshot(reopened);
        assert.deepStrictEqual(await snapshot(await ctx.reopen()), after);
        assert.equal(await ctx.store.sessions.load('c2'), undefined);
      }));

    it('reopened after close, nothing of a rejected batch is there', { skip: factory.reopen ? false : NO_REOPEN }, () =>
      withStore(factory, async (ctx) => {
        await ctx.store.sessions.apply([{ op: 'putSession', session: sessionRecord('c1') }]);
        await assert.rejects(
          ctx.store.sessions.apply([
            { op: 'putSession', session: sessionRecord('c2') },
            { op: 'putMessage', message: sessionMessage('c1', 1, messageRecord()) },
            { op: 'putMessage', message: sessionMessage('ghost', 1) },
          ]),
        );
        await assert.rejects(
          ctx.store.retained.apply([
            { op: 'put', message: messageRecord({ topic: 'ok' }) },
            { op: 'put', message: { ...messageRecord({ topic: 'bad' }), qos: 7 } as never },
          ]),
        );
        const reopened = await ctx.reopen();
        assert.deepStrictEqual(
          (await reopened.sessions.loadAll()).map((s) => s.session.clientId),
          ['c1'],
        );
        assert.deepStrictEqual((await reopened.sessions.load('c1'))?.messages, []);
        assert.equal(await reopened.retained.count(), 0);
      }));
  });
}
