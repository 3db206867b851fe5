/**
 * The SessionStore contract: what every backend's `store.sessions` must do, as node:test suites.
 * A backend's test calls `describeSessionStore(factory)`; each test gets a fresh store.
 *
 * Beyond interfaces.ts, the contract fixes these rules:
 * - a subscription, message or awaitingRel entry needs its session to exist at that point of the
 *   batch, else the op fails and the whole batch rolls back (StoreError 'ApplyFailed');
 * - deleting or updating something that does not exist changes nothing;
 * - putSession on an existing session replaces its fields and keeps what it owns;
 * - putAwaitingRel is idempotent; awaitingRel comes back ascending, messages by seq;
 * - apply() calls take effect in call order, even when the caller does not await between them;
 * - stored data never aliases the caller's Buffers.
 */
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import type { SessionOp, StoredSession } from '../records.js';
import { isStoreError } from '../errors.js';
import { skipOption, withStore, type StoreContractFactory } from './factory.js';
import {
  byTopicFilter,
  emptyStoredSession,
  messageRecord,
  messageVariants,
  normalized,
  sessionMessage,
  sessionRecord,
  subscriptionRecord,
} from './fixtures.js';

const put = (clientId: string, overrides: Parameters<typeof sessionRecord>[1] = {}): SessionOp => ({
  op: 'putSession',
  session: sessionRecord(clientId, overrides),
});

async function rejectsApplyFailed(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isStoreError(err, 'ApplyFailed'), `expected StoreError ApplyFailed, got ${String(err)}`);
    return true;
  });
}

export function describeSessionStore(factory: StoreContractFactory): void {
  describe(`SessionStore contract: ${factory.name}`, { skip: skipOption(factory) }, () => {
    it('starts empty', () =>
      withStore(factory, async ({ store }) => {
        assert.deepStrictEqual(await store.sessions.loadAll(), []);
        assert.equal(await store.sessions.load('nobody'), undefined);
      }));

    it('an empty batch resolves and changes nothing', () =>
      withStore(factory, async ({ store }) => {
        await store.sessions.apply([]);
        assert.deepStrictEqual(await store.sessions.loadAll(), []);
      }));

    it('putSession stores a session whose fields come back as given', () =>
      withStore(factory, async ({ store }) => {
        const sessions = [
          sessionRecord('v5', { protocolVersion: 5, disconnectedAtMs: null }),
          sessionRecord('v4', { protocolVersion: 4, disconnectedAtMs: 1_700_000_000_000, sessionExpiryIntervalSec: 0 }),
          sessionRecord('v3', { protocolVersion: 3, sessionExpiryIntervalSec: 0xffffffff, sessionIdentifier: 'é/😀' }),
          sessionRecord('', { sessionIdentifier: '' }),
        ];
        await store.sessions.apply(sessions.map((session) => ({ op: 'putSession', session })));
        for (const session of sessions) {
          assert.deepStrictEqual(await store.sessions.load(session.clientId), emptyStoredSession(session));
        }
        const all = await store.sessions.loadAll();
        assert.deepStrictEqual(
          all.map((s) => s.session).sort((a, b) => (a.clientId < b.clientId ? -1 : 1)),
          [...sessions].sort((a, b) => (a.clientId < b.clientId ? -1 : 1)),
        );
      }));

    it('putSession on an existing session replaces its fields and keeps what it owns', () =>
      withStore(factory, async ({ store }) => {
        await store.sessions.apply([
          put('c1'),
          { op: 'putSubscription', clientId: 'c1', subscription: subscriptionRecord('a/#') },
          { op: 'putMessage', message: sessionMessage('c1', 1) },
          { op: 'putAwaitingRel', clientId: 'c1', packetId: 9 },
        ]);
        const updated = sessionRecord('c1', { disconnectedAtMs: 42, sessionExpiryIntervalSec: 60, sessionIdentifier: 'new' });
        await store.sessions.apply([{ op: 'putSession', session: updated }]);
        assert.deepStrictEqual(await store.sessions.load('c1'), {
          session: updated,
          subscriptions: [subscriptionRecord('a/#')],
          messages: [sessionMessage('c1', 1)],
          awaitingRel: [9],
        });
      }));

    it('putSubscription adds and replaces by topicFilter; deleteSubscription removes', () =>
      withStore(factory, async ({ store }) => {
        const subs = [
          subscriptionRecord('a/b', { qos: 0 }),
          subscriptionRecord('a/+/c', { qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionId: 1 }),
          subscriptionRecord('$share/group/a/#', { retainHandling: 1, subscriptionId: 268435455 }),
          subscriptionRecord('#'),
          subscriptionRecord('A/B'),
        ];
        await store.sessions.apply([
          put('c1'),
          ...subs.map((subscription): SessionOp => ({ op: 'putSubscription', clientId: 'c1', subscription })),
        ]);
        assert.deepStrictEqual(byTopicFilter((await store.sessions.load('c1'))?.subscriptions ?? []), byTopicFilter(subs));

        // Replacing drops an optional field that is no longer given.
        const replaced = subscriptionRecord('a/+/c', { qos: 1 });
        await store.sessions.apply([
          { op: 'putSubscription', clientId: 'c1', subscription: replaced },
          { op: 'deleteSubscription', clientId: 'c1', topicFilter: 'a/b' },
        ]);
        const loaded = (await store.sessions.load('c1'))?.subscriptions ?? [];
        assert.deepStrictEqual(byTopicFilter(loaded), byTopicFilter([replaced, subs[2]!, subs[3]!, subs[4]!]));
        const reloaded = loaded.find((s) => s.topicFilter === 'a/+/c');
        assert.ok(reloaded !== undefined && !('subscriptionId' in reloaded), 'subscriptionId must be absent');
      }));

    for (const [what, message] of messageVariants) {
      it(`a message round-trips exactly: ${what}`, () =>
        withStore(factory, async ({ store }) => {
          await store.sessions.apply([put('c1'), { op: 'putMessage', message: sessionMessage('c1', 1, message) }]);
          const viaLoad = (await store.sessions.load('c1'))?.messages;
          const viaLoadAll = (await store.sessions.loadAll())[0]?.messages;
          assert.deepStrictEqual(viaLoad, [sessionMessage('c1', 1, message)]);
          assert.deepStrictEqual(viaLoadAll, [sessionMessage('c1', 1, message)]);
          const stored = viaLoad?.[0]?.message;
          assert.ok(stored !== undefined && Buffer.isBuffer(stored.payload), 'payload must be a Buffer');
          for (const key of ['expiresAtMs', 'properties'] as const) {
            assert.equal(key in stored, key in message, `${key} must be ${key in message ? 'present' : 'absent'}`);
          }
        }));
    }

    it('messages come back ordered by seq, whatever order they were put in', () =>
      withStore(factory, async ({ store }) => {
        const seqs = [5, 1, 100, 3, 2, 2 ** 40, 0, 4];
        await store.sessions.apply([put('c1'), ...seqs.map((seq): SessionOp => ({ op: 'putMessage', message: sessionMessage('c1', seq) }))]);
        const expected = [...seqs].sort((a, b) => a - b).map((seq) => sessionMessage('c1', seq));
        assert.deepStrictEqual((await store.sessions.load('c1'))?.messages, expected);
        assert.deepStrictEqual((await store.sessions.loadAll())[0]?.messages, expected);
      }));

    it('putMessage with an existing seq replaces that message', () =>
      withStore(factory, async ({ store }) => {
        const replacement = sessionMessage('c1', 1, messageRecord({ topic: 'other', qos: 2, properties: { contentType: 'x' } }), 'sent', 3);
        await store.sessions.apply([put('c1'), { op: 'putMessage', message: sessionMessage('c1', 1) }]);
        await store.sessions.apply([{ op: 'putMessage', message: replacement }]);
        assert.deepStrictEqual((await store.sessions.load('c1'))?.messages, [replacement]);
      }));

    it('updateMessage changes only state and packetId', () =>
      withStore(factory, async ({ store }) => {
        const message = messageVariants.at(-1)![1];
        await store.sessions.apply([put('c1'), { op: 'putMessage', message: sessionMessage('c1', 7, message) }]);
        await store.sessions.apply([{ op: 'updateMessage', clientId: 'c1', seq: 7, state: 'sent', packetId: 65535 }]);
        assert.deepStrictEqual((await store.sessions.load('c1'))?.messages, [sessionMessage('c1', 7, message, 'sent', 65535)]);
        await store.sessions.apply([{ op: 'updateMessage', clientId: 'c1', seq: 7, state: 'released', packetId: 1 }]);
        assert.deepStrictEqual((await store.sessions.loadAll())[0]?.messages, [sessionMessage('c1', 7, message, 'released', 1)]);
        await store.sessions.apply([{ op: 'updateMessage', clientId: 'c1', seq: 7, state: 'queued', packetId: null }]);
        assert.deepStrictEqual((await store.sessions.load('c1'))?.messages, [sessionMessage('c1', 7, message)]);
      }));

    it('deleteMessage removes exactly one message', () =>
      withStore(factory, async ({ store }) => {
        await store.sessions.apply([put('c1'), ...[1, 2, 3].map((seq): SessionOp => ({ op: 'putMessage', message: sessionMessage('c1', seq) }))]);
        await store.sessions.apply([{ op: 'deleteMessage', clientId: 'c1', seq: 2 }]);
        assert.deepStrictEqual((await store.sessions.load('c1'))?.messages, [sessionMessage('c1', 1), sessionMessage('c1', 3)]);
      }));

    it('awaitingRel: put is idempotent, delete removes, loaded ascending', () =>
      withStore(factory, async ({ store }) => {
        await store.sessions.apply([
          put('c1'),
          ...[300, 1, 65535, 7, 7].map((packetId): SessionOp => ({ op: 'putAwaitingRel', clientId: 'c1', packetId })),
        ]);
        await store.sessions.apply([{ op: 'putAwaitingRel', clientId: 'c1', packetId: 1 }]);
        assert.deepStrictEqual((await store.sessions.load('c1'))?.awaitingRel, [1, 7, 300, 65535]);
        await store.sessions.apply([{ op: 'deleteAwaitingRel', clientId: 'c1', packetId: 7 }]);
        assert.deepStrictEqual((await store.sessions.loadAll())[0]?.awaitingRel, [1, 300, 65535]);
      }));

    it('deleteSession removes the session and everything it owns; the clientId then starts afresh', () =>
      withStore(factory, async ({ store }) => {
        const owned = (clientId: string): SessionOp[] => [
          put(clientId),
          { op: 'putSubscription', clientId, subscription: subscriptionRecord('a/#') },
          { op: 'putMessage', message: sessionMessage(clientId, 1) },
          { op: 'putMessage', message: sessionMessage(clientId, 2, messageRecord(), 'sent', 2) },
          { op: 'putAwaitingRel', clientId, packetId: 5 },
        ];
        await store.sessions.apply([...owned('c1'), ...owned('c2')]);
        await store.sessions.apply([{ op: 'deleteSession', clientId: 'c1' }]);
        assert.equal(await store.sessions.load('c1'), undefined);
        assert.deepStrictEqual((await store.sessions.loadAll()).map((s) => s.session.clientId), ['c2']);
        assert.equal((await store.sessions.load('c2'))?.messages.length, 2);

        await store.sessions.apply([put('c1')]);
        assert.deepStrictEqual(await store.sessions.load('c1'), emptyStoredSession(sessionRecord('c1')));
      }));

    it('load returns one session with only its own data; loadAll returns every session', () =>
      withStore(factory, async ({ store }) => {
        const ops: SessionOp[] = [];
        const expected: StoredSession[] = [];
        for (let c = 0; c < 20; c++) {
          const clientId = `client-${String(c).padStart(2, '0')}`;
          const session = sessionRecord(clientId, { sessionIdentifier: `s${c}` });
          const subscriptions = [subscriptionRecord(`t/${c}/#`), subscriptionRecord(`u/${c}`, { qos: 2 })];
          const messages = Array.from({ length: c % 4 }, (_, i) =>
            sessionMessage(clientId, i + 1, messageRecord({ topic: `t/${c}/${i}`, payload: Buffer.from([c, i]) })),
          );
          const awaitingRel = c % 3 === 0 ? [c + 1] : [];
          ops.push({ op: 'putSession', session });
          for (const subscription of subscriptions) ops.push({ op: 'putSubscription', clientId, subscription });
          for (const message of messages) ops.push({ op: 'putMessage', message });
          for (const packetId of awaitingRel) ops.push({ op: 'putAwaitingRel', clientId, packetId });
          expected.push({ session, subscriptions: byTopicFilter(subscriptions), messages, awaitingRel });
        }
        // Interleave the clients' ops: the store must group them by client, not by arrival.
        ops.reverse();
        ops.sort((a, b) => Number(b.op === 'putSession') - Number(a.op === 'putSession'));
        await store.sessions.apply(ops);

        const all = (await store.sessions.loadAll()).map(normalized);
        all.sort((a, b) => (a!.session.clientId < b!.session.clientId ? -1 : 1));
        assert.deepStrictEqual(all, expected);
        for (const stored of expected) {
          assert.deepStrictEqual(normalized(await store.sessions.load(stored.session.clientId)), stored);
        }
      }));

    it('ops in one batch take effect in order', () =>
      withStore(factory, async ({ store }) => {
        const first = sessionMessage('c1', 1, messageRecord({ payload: Buffer.from('first') }));
        const second = sessionMessage('c1', 1, messageRecord({ payload: Buffer.from('second') }));
        await store.sessions.apply([
          put('c1'),
          { op: 'putMessage', message: first },
          { op: 'deleteMessage', clientId: 'c1', seq: 1 },
          { op: 'putMessage', message: second },
          { op: 'putSubscription', clientId: 'c1', subscription: subscriptionRecord('x') },
          { op: 'deleteSubscription', clientId: 'c1', topicFilter: 'x' },
          { op: 'putAwaitingRel', clientId: 'c1', packetId: 3 },
          { op: 'deleteAwaitingRel', clientId: 'c1', packetId: 3 },
          { op: 'putAwaitingRel', clientId: 'c1', packetId: 4 },
        ]);
        assert.deepStrictEqual(await store.sessions.load('c1'), {
          session: sessionRecord('c1'),
          subscriptions: [],
          messages: [second],
          awaitingRel: [4],
        });
        // Clean start: delete and recreate in one batch.
        await store.sessions.apply([{ op: 'deleteSession', clientId: 'c1' }, put('c1', { sessionIdentifier: 'fresh' })]);
        assert.deepStrictEqual(await store.sessions.load('c1'), emptyStoredSession(sessionRecord('c1', { sessionIdentifier: 'fresh' })));
      }));

    it('a batch with a failing op rejects and changes nothing', () =>
      withStore(factory, async ({ store }) => {
        await store.sessions.apply([put('c1'), { op: 'putMessage', message: sessionMessage('c1', 1) }]);
        const before = await store.sessions.loadAll();
        await rejectsApplyFailed(
          store.sessions.apply([
            put('c2'),
            { op: 'deleteMessage', clientId: 'c1', seq: 1 },
            { op: 'putSubscription', clientId: 'c1', subscription: subscriptionRecord('z') },
            { op: 'putMessage', message: sessionMessage('ghost', 1) }, // no such session
            put('c3'),
          ]),
        );
        assert.deepStrictEqual(await store.sessions.loadAll(), before);
        // The store still works afterwards.
        await store.sessions.apply([put('c2')]);
        assert.equal((await store.sessions.loadAll()).length, 2);
      }));

    it('ops on a session that does not exist fail', () =>
      withStore(factory, async ({ store }) => {
        await rejectsApplyFailed(store.sessions.apply([{ op: 'putSubscription', clientId: 'ghost', subscription: subscriptionRecord('a') }]));
        await rejectsApplyFailed(store.sessions.apply([{ op: 'putMessage', message: sessionMessage('ghost', 1) }]));
        await rejectsApplyFailed(store.sessions.apply([{ op: 'putAwaitingRel', clientId: 'ghost', packetId: 1 }]));
        await rejectsApplyFailed(
          store.sessions.apply([put('gone'), { op: 'deleteSession', clientId: 'gone' }, { op: 'putAwaitingRel', clientId: 'gone', packetId: 1 }]),
        );
        assert.deepStrictEqual(await store.sessions.loadAll(), []);
      }));

    it('deleting or updating what does not exist changes nothing', () =>
      withStore(factory, async ({ store }) => {
        await store.sessions.apply([put('c1'), { op: 'putMessage', message: sessionMessage('c1', 1) }]);
        const before = await store.sessions.loadAll();
        await store.sessions.apply([
          { op: 'deleteSession', clientId: 'ghost' },
          { op: 'deleteSubscription', clientId: 'c1', topicFilter: 'none' },
          { op: 'deleteSubscription', clientId: 'ghost', topicFilter: 'none' },
          { op: 'deleteMessage', clientId: 'c1', seq: 99 },
          { op: 'deleteMessage', clientId: 'ghost', seq: 1 },
          { op: 'updateMessage', clientId: 'c1', seq: 99, state: 'sent', packetId: 1 },
          { op: 'updateMessage', clientId: 'ghost', seq: 1, state: 'sent', packetId: 1 },
          { op: 'deleteAwaitingRel', clientId: 'c1', packetId: 1 },
        ]);
        assert.deepStrictEqual(await store.sessions.loadAll(), before);
      }));

    it('one message put for many sessions comes back intact for each, with its own qos and retain', () =>
      withStore(factory, async ({ store }) => {
        const shared = messageVariants.at(-1)![1];
        const clients = ['a', 'b', 'c', 'd'];
        const perClient = (i: number) => (i % 2 === 0 ? shared : { ...shared, qos: 0 as const, retain: false });
        await store.sessions.apply([
          ...clients.map((c) => put(c)),
          ...clients.map((c, i): SessionOp => ({ op: 'putMessage', message: sessionMessage(c, 10, perClient(i)) })),
        ]);
        // Deleting it for some sessions leaves the others' copy whole.
        await store.sessions.apply([
          { op: 'deleteMessage', clientId: 'a', seq: 10 },
          { op: 'deleteSession', clientId: 'b' },
          { op: 'putMessage', message: sessionMessage('c', 10, messageRecord()) },
        ]);
        assert.deepStrictEqual((await store.sessions.load('c'))?.messages, [sessionMessage('c', 10, messageRecord())]);
        assert.deepStrictEqual((await store.sessions.load('d'))?.messages, [sessionMessage('d', 10, perClient(3))]);
        assert.deepStrictEqual((await store.sessions.loadAll()).find((s) => s.session.clientId === 'd')?.messages, [
          sessionMessage('d', 10, perClient(3)),
        ]);
      }));

    it('a message put again after its first copy was deleted in the same batch is stored whole', () =>
      withStore(factory, async ({ store }) => {
        const m = messageRecord({ payload: Buffer.from('m') });
        const n = messageRecord({ payload: Buffer.from('n'), topic: 'n' });
        await store.sessions.apply([
          put('a'),
          put('b'),
          put('c'),
          { op: 'putMessage', message: sessionMessage('a', 1, m) },
          { op: 'deleteMessage', clientId: 'a', seq: 1 },
          { op: 'putMessage', message: sessionMessage('b', 1, n) },
          { op: 'putMessage', message: sessionMessage('c', 1, m) },
        ]);
        assert.deepStrictEqual((await store.sessions.load('a'))?.messages, []);
        assert.deepStrictEqual((await store.sessions.load('b'))?.messages, [sessionMessage('b', 1, n)]);
        assert.deepStrictEqual((await store.sessions.load('c'))?.messages, [sessionMessage('c', 1, m)]);
      }));

    it("stored messages do not change when the caller later mutates its Buffers", () =>
      withStore(factory, async ({ store }) => {
        const payload = Buffer.from('original');
        const correlationData = Buffer.from('corr');
        await store.sessions.apply([
          put('c1'),
          { op: 'putMessage', message: sessionMessage('c1', 1, messageRecord({ payload, properties: { correlationData } })) },
        ]);
        payload.fill(0);
        correlationData.fill(0);
        const stored = (await store.sessions.load('c1'))?.messages[0]?.message;
        assert.equal(stored?.payload.toString(), 'original');
        assert.equal(stored?.properties?.correlationData?.toString(), 'corr');
      }));

    it('apply calls take effect in call order without awaiting in between', () =>
      withStore(factory, async ({ store }) => {
        const pending = [
          store.sessions.apply([put('c1')]),
          store.sessions.apply([{ op: 'putMessage', message: sessionMessage('c1', 1) }]),
          store.sessions.apply([{ op: 'updateMessage', clientId: 'c1', seq: 1, state: 'sent', packetId: 5 }]),
          store.sessions.apply([{ op: 'putMessage', message: sessionMessage('c1', 2) }]),
          store.sessions.apply([{ op: 'deleteMessage', clientId: 'c1', seq: 1 }]),
        ];
        await Promise.all(pending);
        assert.deepStrictEqual((await store.sessions.load('c1'))?.messages, [sessionMessage('c1', 2)]);
      }));
  });
}
