/**
 * The ShadowStore contract: what every backend's `store.shadows` must do, as node:test suites.
 * A backend's test calls `describeShadowStore(factory)`; each test gets a fresh store.
 *
 * Beyond interfaces.ts: the classic shadow ('' name) and named shadows of one thing are separate
 * rows; a tombstone is a row (getShadow returns it) but never listed; every write is a
 * compare-and-set on (version, deleted) and a failed one skips only itself; writes of one batch see
 * each other in order; history keeps the newest `maxVersions` versions not older than `notBeforeMs`,
 * a tombstone drops it, and a live write drops entries at or above its own version first; names are
 * case-sensitive and listed in binary order; a batch that fails inside leaves nothing behind.
 */
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import type { ShadowStore } from '../interfaces.js';
import type { ShadowRecord, ShadowWrite } from '../records.js';
import { isStoreError } from '../errors.js';
import { skipOption, withStore, type StoreContractFactory } from './factory.js';

const NO_REOPEN = 'the factory has no reopen(): this backend is not durable';

export function shadowRecord(thingName: string, shadowName: string, version: number, overrides: Partial<ShadowRecord> = {}): ShadowRecord {
  return {
    thingName,
    shadowName,
    version,
    document: JSON.stringify({ state: { reported: { v: version } }, metadata: { reported: { v: { timestamp: 1_700_000_000 } } } }),
    updatedAtMs: 1_700_000_000_000 + version,
    ...overrides,
  };
}

/** A live write of version `version` on top of the given current row (version - 1 live, or none). */
function live(thingName: string, shadowName: string, version: number, history?: ShadowWrite['history']): ShadowWrite {
  return {
    shadow: shadowRecord(thingName, shadowName, version),
    expected: version === 1 ? null : { version: version - 1, deleted: false },
    ...(history === undefined ? {} : { history }),
  };
}

async function historyVersions(shadows: ShadowStore, thingName: string, shadowName: string): Promise<number[]> {
  return (await shadows.listShadowHistory(thingName, shadowName, { limit: 1000 })).map((h) => h.version);
}

async function allNamed(shadows: ShadowStore, thingName: string, pageSize: number): Promise<string[]> {
  const names: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await shadows.listNamedShadows(thingName, { limit: pageSize, ...(after === undefined ? {} : { afterShadowName: after }) });
    names.push(...page);
    if (page.length < pageSize) return names;
    after = page[page.length - 1];
  }
  throw new Error('pagination does not end');
}

export function describeShadowStore(factory: StoreContractFactory): void {
  describe(`ShadowStore contract: ${factory.name}`, { skip: skipOption(factory) }, () => {
    it('a written shadow comes back exactly; classic and named shadows of one thing are separate rows', () =>
      withStore(factory, async ({ store }) => {
        const s = store.shadows;
        assert.equal(await s.getShadow('t1', ''), undefined);
        const classic = shadowRecord('t1', '', 1);
        const named = shadowRecord('t1', 'cfg', 1, { document: '{"state":{},"metadata":{}}' });
        assert.deepStrictEqual(await s.write([{ shadow: classic, expected: null }, { shadow: named, expected: null }]), ['written', 'written']);
        assert.deepStrictEqual(await s.getShadow('t1', ''), classic);
        assert.deepStrictEqual(await s.getShadow('t1', 'cfg'), named);
        assert.equal(await s.getShadow('T1', ''), undefined, 'thing names are case-sensitive');
        assert.equal(await s.getShadow('t1', 'CFG'), undefined, 'shadow names are case-sensitive');
        assert.equal(await s.getShadow('t2', 'cfg'), undefined);
      }));

    it('a write is a compare-and-set on version and liveness; a failed one skips only itself', () =>
      withStore(factory, async ({ store }) => {
        const s = store.shadows;
        await s.write([live('t', 'a', 1), live('t', 'b', 1)]);
        const outcomes = await s.write([
          { shadow: shadowRecord('t', 'a', 9), expected: null }, // a exists: conflict
          { shadow: shadowRecord('t', 'b', 2), expected: { version: 1, deleted: false } },
          { shadow: shadowRecord('t', 'a', 9), expected: { version: 2, deleted: false } }, // wrong version
          { shadow: shadowRecord('t', 'a', 9), expected: { version: 1, deleted: true } }, // not a tombstone
          { shadow: shadowRecord('t', 'c', 1), expected: { version: 0, deleted: false } }, // c absent
        ]);
        assert.deepStrictEqual(outcomes, ['conflict', 'written', 'conflict', 'conflict', 'conflict']);
        assert.equal((await s.getShadow('t', 'a'))?.version, 1);
        assert.equal((await s.getShadow('t', 'b'))?.version, 2);
        assert.equal(await s.getShadow('t', 'c'), undefined);
      }));

    it('writes of one batch see each other in order', () =>
      withStore(factory, async ({ store }) => {
        const s = store.shadows;
        const outcomes = await s.write([live('t', 's', 1), live('t', 's', 2), live('t', 's', 3), live('t', 's', 3)]);
        assert.deepStrictEqual(outcomes, ['written', 'written', 'written', 'conflict']);
        assert.equal((await s.getShadow('t', 's'))?.version, 3);
      }));

    it('a tombstone keeps the version, is returned by getShadow, is never listed, and can be written over', () =>
      withStore(factory, async ({ store }) => {
        const s = store.shadows;
        await s.write([live('t', 'x', 1), live('t', 'x', 2), live('t', 'y', 1)]);
        const tombstone = shadowRecord('t', 'x', 2, { document: null, updatedAtMs: 1_800_000_000_000 });
        assert.deepStrictEqual(await s.write([{ shadow: tombstone, expected: { version: 2, deleted: false } }]), ['written']);
        assert.deepStrictEqual(await s.getShadow('t', 'x'), tombstone);
        assert.deepStrictEqual(await s.listNamedShadows('t', { limit: 10 }), ['y']);
        // Re-created after the delete: the version continues.
        assert.deepStrictEqual(await s.write([{ shadow: shadowRecord('t', 'x', 3), expected: { version: 2, deleted: true } }]), ['written']);
        assert.deepStrictEqual(await s.listNamedShadows('t', { limit: 10 }), ['x', 'y']);
      }));

    it('purgeTombstones removes only tombstones written before the cut-off', () =>
      withStore(factory, async ({ store }) => {
        const s = store.shadows;
        await s.write([live('t', 'old', 1), live('t', 'new', 1), live('t', 'kept', 1)]);
        await s.write([
          { shadow: shadowRecord('t', 'old', 1, { document: null, updatedAtMs: 1000 }), expected: { version: 1, deleted: false } },
          { shadow: shadowRecord('t', 'new', 1, { document: null, updatedAtMs: 5000 }), expected: { version: 1, deleted: false } },
        ]);
        assert.equal(await s.purgeTombstones(5000), 1);
        assert.equal(await s.getShadow('t', 'old'), undefined);
        assert.equal((await s.getShadow('t', 'new'))?.document, null);
        assert.equal((await s.getShadow('t', 'kept'))?.version, 1);
        assert.equal(await s.purgeTombstones(5000), 0);
      }));

    it('named shadows list in binary order without the classic shadow, page by page, per thing', () =>
      withStore(factory, async ({ store }) => {
        const s = store.shadows;
        const names = ['b', 'a', 'B', '$package', 'a:1', 'z_9', 'Z-0', 'aa'];
        await s.write([live('t', '', 1), ...names.map((n) => live('t', n, 1)), live('other', 'q', 1)]);
        const sorted = [...names].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
        assert.deepStrictEqual(await s.listNamedShadows('t', { limit: 100 }), sorted);
        for (const pageSize of [1, 2, 3, 8]) assert.deepStrictEqual(await allNamed(s, 't', pageSize), sorted);
        assert.deepStrictEqual(await s.listNamedShadows('t', { limit: 2, afterShadowName: 'a' }), ['a:1', 'aa']);
        assert.deepStrictEqual(await s.listNamedShadows('nobody', { limit: 10 }), []);
        assert.deepStrictEqual(await s.listNamedShadows('other', { limit: 10 }), ['q']);
      }));

    it('history keeps every version up to maxVersions, newest first, with pages before a version', () =>
      withStore(factory, async ({ store }) => {
        const s = store.shadows;
        for (let v = 1; v <= 7; v++) await s.write([live('t', '', v, { maxVersions: 5 })]);
        assert.deepStrictEqual(await historyVersions(s, 't', ''), [7, 6, 5, 4, 3]);
        const page = await s.listShadowHistory('t', '', { limit: 2, beforeVersion: 6 });
        assert.deepStrictEqual(
          page.map((h) => h.version),
          [5, 4],
        );
        assert.deepStrictEqual(page[0], {
          thingName: 't',
          shadowName: '',
          version: 5,
          document: shadowRecord('t', '', 5).document,
          updatedAtMs: shadowRecord('t', '', 5).updatedAtMs,
        });
        assert.deepStrictEqual(await historyVersions(s, 't', 'other'), []);
      }));

    it('history drops versions older than notBeforeMs; maxVersions 0 or no retention appends nothing', () =>
      withStore(factory, async ({ store }) => {
        const s = store.shadows;
        for (let v = 1; v <= 4; v++) await s.write([live('t', 'a', v, { maxVersions: 100 })]);
        // Versions were written at 1_700_000_000_000 + version.
        await s.write([live('t', 'a', 5, { maxVersions: 100, notBeforeMs: 1_700_000_000_003 })]);
        assert.deepStrictEqual(await historyVersions(s, 't', 'a'), [5, 4, 3]);
        await s.write([live('t', 'b', 1, { maxVersions: 0 }), live('t', 'b', 2)]);
        assert.deepStrictEqual(await historyVersions(s, 't', 'b'), []);
      }));

    it('a tombstone drops the history; a re-created shadow starting over replaces stale entries', () =>
      withStore(factory, async ({ store }) => {
        const s = store.shadows;
        const keep = { maxVersions: 10 };
        for (let v = 1; v <= 3; v++) await s.write([live('t', '', v, keep)]);
        await s.write([{ shadow: shadowRecord('t', '', 3, { document: null }), expected: { version: 3, deleted: false } }]);
        assert.deepStrictEqual(await historyVersions(s, 't', ''), []);
        await s.write([{ shadow: shadowRecord('t', '', 4), expected: { version: 3, deleted: true }, history: keep }]);
        assert.deepStrictEqual(await historyVersions(s, 't', ''), [4]);
        // A live write whose version is not above the history's: the entries from there up go first.
        for (let v = 1; v <= 3; v++) await s.write([live('u', '', v, keep)]);
        await s.write([{ shadow: shadowRecord('u', '', 2), expected: { version: 3, deleted: false }, history: keep }]);
        assert.deepStrictEqual(await historyVersions(s, 'u', ''), [2, 1]);
      }));

    it('a batch that fails inside writes nothing and rejects with ApplyFailed naming the write', () =>
      withStore(factory, async ({ store }) => {
        const s = store.shadows;
        await s.write([live('t', 'a', 1)]);
        const bad = shadowRecord('t', 'b', 1, { version: -1 }); // breaks the version >= 0 rule
        await assert.rejects(s.write([live('t', 'a', 2), { shadow: bad, expected: null }]), (err: unknown) => {
          assert.ok(isStoreError(err, 'ApplyFailed'), String(err));
          assert.equal(err.opIndex, 1);
          return true;
        });
        assert.equal((await s.getShadow('t', 'a'))?.version, 1);
        assert.equal(await s.getShadow('t', 'b'), undefined);
        assert.deepStrictEqual(await s.write([]), []);
      }));

    it('shadows and history survive a reopen', { skip: factory.reopen === undefined ? NO_REOPEN : false }, () =>
      withStore(factory, async (ctx) => {
        await ctx.store.shadows.write([live('t', '', 1, { maxVersions: 3 }), live('t', '', 2, { maxVersions: 3 }), live('t', 'n', 1)]);
        const reopened = await ctx.reopen();
        assert.deepStrictEqual(await reopened.shadows.getShadow('t', ''), shadowRecord('t', '', 2));
        assert.deepStrictEqual(await historyVersions(reopened.shadows, 't', ''), [2, 1]);
        assert.deepStrictEqual(await reopened.shadows.listNamedShadows('t', { limit: 5 }), ['n']);
      }));

    it('calls after close() reject with StoreError Closed', () =>
      withStore(factory, async ({ store }) => {
        await store.close();
        const s = store.shadows;
        const calls: Array<() => Promise<unknown>> = [
          () => s.getShadow('t', ''),
          () => s.listNamedShadows('t', { limit: 1 }),
          () => s.listShadowHistory('t', '', { limit: 1 }),
          () => s.write([live('t', '', 1)]),
          () => s.write([]),
          () => s.purgeTombstones(0),
        ];
        for (const call of calls) await assert.rejects(call(), (err: unknown) => isStoreError(err, 'Closed'));
      }));
  });
}
