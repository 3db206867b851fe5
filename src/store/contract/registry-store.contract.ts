/**
 * The RegistryStore contract: what every backend's `store.registry` must do, as node:test suites.
 * A backend's test calls `describeRegistryStore(factory)`; each test gets a fresh store.
 *
 * Beyond interfaces.ts: names are case-sensitive and ordered by binary comparison ('B' < 'a');
 * putThing keeps the thing's attachments; check ops fail the batch with ConditionFailed and its
 * opIndex, and nothing of a failed batch remains; attribute prefix filters are case-sensitive;
 * attachments list in attachment order and re-attaching keeps the original place; stored records
 * never alias the caller's objects.
 */
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import type { RegistryStore, Store } from '../interfaces.js';
import type { RegistryOp, ThingPrincipalRecord, ThingQuery, ThingRecord, ThingTypeRecord } from '../records.js';
import { isStoreError } from '../errors.js';
import { skipOption, withStore, type StoreContractFactory } from './factory.js';

const NO_REOPEN = 'the factory has no reopen(): this backend is not durable';

export function thingRecord(thingName: string, overrides: Partial<ThingRecord> = {}): ThingRecord {
  return {
    thingName,
    thingId: `00000000-0000-4000-8000-${String(hash(thingName)).padStart(12, '0')}`,
    attributes: {},
    version: 1,
    creationDateMs: 1_700_000_000_000,
    ...overrides,
  };
}

export function thingTypeRecord(thingTypeName: string, overrides: Partial<ThingTypeRecord> = {}): ThingTypeRecord {
  return {
    thingTypeName,
    thingTypeId: `11111111-0000-4000-8000-${String(hash(thingTypeName)).padStart(12, '0')}`,
    thingTypeProperties: {},
    deprecated: false,
    creationDateMs: 1_700_000_000_000,
    ...overrides,
  };
}

export const certArn = (n: number | string): string =>
  `arn:aws:iot:us-east-1:000000000000:cert/${String(n).padStart(64, '0')}`;

function hash(s: string): number {
  let h = 7;
  for (const c of s) h = (h * 31 + (c.codePointAt(0) ?? 0)) % 999_999_999_999;
  return h;
}

const attach = (thingName: string, principal: string, exclusive = false, attachedAtMs = 1): RegistryOp => ({
  op: 'attachPrincipal',
  thingName,
  principal,
  thingPrincipalType: exclusive ? 'EXCLUSIVE_THING' : 'NON_EXCLUSIVE_THING',
  attachedAtMs,
});

/** Every thing matching `query`'s filters, page by page with `pageSize`. */
async function allPages(registry: RegistryStore, query: Omit<ThingQuery, 'limit' | 'afterThingName'>, pageSize: number): Promise<string[]> {
  const names: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await registry.listThings({ ...query, limit: pageSize, ...(after === undefined ? {} : { afterThingName: after }) });
    names.push(...page.map((t) => t.thingName));
    if (page.length < pageSize) return names;
    after = page[page.length - 1]?.thingName;
  }
  throw new Error('pagination does not end');
}

async function rejectsWith(call: Promise<unknown>, code: 'ConditionFailed' | 'ApplyFailed', opIndex?: number): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(isStoreError(err, code), `expected StoreError ${code}, got ${String(err)}`);
    if (opIndex !== undefined) assert.equal(err.opIndex, opIndex);
    return true;
  });
}

async function snapshot(store: Store): Promise<unknown> {
  const r = store.registry;
  const things = await r.listThings({ limit: 1000 });
  return {
    things,
    types: await r.listThingTypes({ limit: 1000 }),
    attachments: await Promise.all(things.map((t) => r.listThingPrincipals(t.thingName, { limit: 1000 }))),
  };
}

export function describeRegistryStore(factory: StoreContractFactory): void {
  describe(`RegistryStore contract: ${factory.name}`, { skip: skipOption(factory) }, () => {
    describe('things', () => {
      it('a thing comes back exactly as put, with absent optional fields absent', () =>
        withStore(factory, async ({ store }) => {
          const r = store.registry;
          const bare = thingRecord('bare');
          const full = thingRecord('Full:thing_1-x', {
            thingTypeName: 'sensor',
            attributes: { z: '1', a: '', 'k.e,y@/:#-': 'v=[]', __proto__x: 'p' },
            version: 42,
            billingGroupName: 'bg',
            creationDateMs: 1_700_000_000_123,
          });
          await r.apply([{ op: 'putThingType', thingType: thingTypeRecord('sensor') }, { op: 'putThing', thing: bare }, { op: 'putThing', thing: full }]);
          assert.deepStrictEqual(await r.getThing('bare'), bare);
          const got = await r.getThing('Full:thing_1-x');
          assert.deepStrictEqual(got, full);
          assert.deepStrictEqual(Object.keys(got?.attributes ?? {}), ['z', 'a', 'k.e,y@/:#-', '__proto__x']);
          assert.ok(!('thingTypeName' in (await r.getThing('bare'))!));
          assert.ok(!('billingGroupName' in (await r.getThing('bare'))!));
          assert.equal(await r.getThing('full:thing_1-x'), undefined, 'names are case-sensitive');
          assert.equal(await r.getThing('nope'), undefined);
        }));

      it('attribute names that are Object.prototype members are plain own attributes', () =>
        withStore(factory, async ({ store }) => {
          const attributes: Record<string, string> = {};
          for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
            Object.defineProperty(attributes, name, { value: `v-${name}`, enumerable: true, writable: true, configurable: true });
          }
          await store.registry.apply([{ op: 'putThing', thing: thingRecord('t', { attributes }) }]);
          const got = await store.registry.getThing('t');
          assert.deepStrictEqual(Object.entries(got?.attributes ?? {}), Object.entries(attributes));
          assert.equal(Object.getPrototypeOf(got?.attributes), Object.prototype);
          const found = await store.registry.listThings({ limit: 10, attributeName: '__proto__', attributeValue: 'v-__proto__' });
          assert.deepStrictEqual(found.map((t) => t.thingName), ['t']);
        }));

      it('putThing replaces the whole record and keeps the attachments; deleteThing drops them; deleting an absent thing changes nothing', () =>
        withStore(factory, async ({ store }) => {
          const r = store.registry;
          await r.apply([
            { op: 'putThing', thing: thingRecord('t', { attributes: { a: '1', b: '2' } }) },
            attach('t', certArn(1)),
          ]);
          const replaced = thingRecord('t', { attributes: { c: '3' }, version: 2 });
          await r.apply([{ op: 'putThing', thing: replaced }]);
          assert.deepStrictEqual(await r.getThing('t'), replaced);
          assert.deepStrictEqual((await r.listThings({ limit: 10, attributeName: 'a' })).length, 0, 'the old attributes are not searchable');
          assert.equal((await r.listThingPrincipals('t', { limit: 10 })).length, 1);
          await r.apply([{ op: 'deleteThing', thingName: 't' }, { op: 'deleteThing', thingName: 'never-was' }]);
          assert.equal(await r.getThing('t'), undefined);
          assert.deepStrictEqual(await r.listPrincipalThings(certArn(1), { limit: 10 }), []);
          // The name can be used again, with no trace of the old attachments.
          await r.apply([{ op: 'putThing', thing: thingRecord('t') }]);
          assert.deepStrictEqual(await r.listThingPrincipals('t', { limit: 10 }), []);
        }));

      it('a thing whose type does not exist fails the batch, which rolls back whole', () =>
        withStore(factory, async ({ store }) => {
          const r = store.registry;
          await rejectsWith(
            r.apply([{ op: 'putThing', thing: thingRecord('a') }, { op: 'putThing', thing: thingRecord('b', { thingTypeName: 'ghost' }) }]),
            'ApplyFailed',
            1,
          );
          assert.deepStrictEqual(await r.listThings({ limit: 10 }), []);
        }));

      it('stored things never alias the caller’s objects', () =>
        withStore(factory, async ({ store }) => {
          const attributes: Record<string, string> = { a: '1' };
          await store.registry.apply([{ op: 'putThing', thing: thingRecord('t', { attributes }) }]);
          attributes['a'] = 'changed';
          const first = await store.registry.getThing('t');
          assert.equal(first?.attributes['a'], '1');
          (first?.attributes as Record<string, string>)['a'] = 'changed again';
          assert.equal((await store.registry.getThing('t'))?.attributes['a'], '1');
        }));
    });

    describe('listing things', () => {
      it('orders by binary name and pages over 250 things with no duplicate and no gap, for every page size', () =>
        withStore(factory, async ({ store }) => {
          const r = store.registry;
          const names = Array.from({ length: 250 }, (_, i) => (i % 3 === 0 ? `Thing-${i}` : i % 3 === 1 ? `thing_${i}` : `${i}:t`));
          const shuffled = [...names].sort((a, b) => hash(a) - hash(b));
          await r.apply(shuffled.map((n): RegistryOp => ({ op: 'putThing', thing: thingRecord(n) })));
          const expected = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
          for (const size of [1, 7, 100, 249, 250, 251]) {
            assert.deepStrictEqual(await allPages(r, {}, size), expected, `page size ${size}`);
          }
          const firstPage = await r.listThings({ limit: 3 });
          assert.deepStrictEqual(firstPage.map((t) => t.thingName), expected.slice(0, 3));
          // A cursor that names no thing still continues at the next name.
          const after = await r.listThings({ limit: 2, afterThingName: 'Thing-0a' });
          assert.deepStrictEqual(after.map((t) => t.thingName), expected.filter((n) => n > 'Thing-0a').slice(0, 2));
        }));

      it('pages stay stable when things are added or deleted between pages', () =>
        withStore(factory, async ({ store }) => {
          const r = store.registry;
          await r.apply(Array.from({ length: 20 }, (_, i): RegistryOp => ({ op: 'putThing', thing: thingRecord(`t${String(i).padStart(2, '0')}`) })));
          const page1 = await r.listThings({ limit: 10 });
          await r.apply([
            { op: 'deleteThing', thingName: 't03' },
            { op: 'putThing', thing: thingRecord('t00a') },
            { op: 'putThing', thing: thingRecord('t15a') },
          ]);
          const page2 = await r.listThings({ limit: 100, afterThingName: page1[page1.length - 1]!.thingName });
          const seen = [...page1, ...page2].map((t) => t.thingName);
          assert.equal(new Set(seen).size, seen.length);
          for (let i = 0; i < 20; i++) assert.ok(seen.includes(`t${String(i).padStart(2, '0')}`));
          assert.ok(seen.includes('t15a'));
        }));

      it('filters by thing type, by attribute (exact, prefix, present) and by both, page after page', () =>
        withStore(factory, async ({ store }) => {
          const r = store.registry;
          const ops: RegistryOp[] = [
            { op: 'putThingType', thingType: thingTypeRecord('lamp') },
            { op: 'putThingType', thingType: thingTypeRecord('lampshade') },
          ];
          for (let i = 0; i < 250; i++) {
            const name = `d${String(i).padStart(3, '0')}`;
            ops.push({
              op: 'putThing',
              thing: thingRecord(name, {
                ...(i % 2 === 0 ? { thingTypeName: 'lamp' } : i % 5 === 0 ? { thingTypeName: 'lampshade' } : {}),
                attributes: { room: i % 3 === 0 ? 'kitchen' : i % 3 === 1 ? 'Kitchen-2' : 'kitchenette', ...(i % 7 === 0 ? { serial: `s${i}` } : {}) },
              }),
            });
          }
          await r.apply(ops);
          const all = (await r.listThings({ limit: 1000 })).map((t) => t.thingName);
          assert.equal(all.length, 250);
          const idx = (n: string): number => Number(n.slice(1));
          const cases: Array<[Omit<ThingQuery, 'limit'>, (i: number) => boolean]> = [
            [{ thingTypeName: 'lamp' }, (i) => i % 2 === 0],
            [{ thingTypeName: 'lampshade' }, (i) => i % 2 !== 0 && i % 5 === 0],
            [{ thingTypeName: 'lam' }, () => false],
            [{ attributeName: 'room', attributeValue: 'kitchen' }, (i) => i % 3 === 0],
            [{ attributeName: 'room', attributeValue: 'kitchen', attributeValueIsPrefix: true }, (i) => i % 3 !== 1],
            [{ attributeName: 'room', attributeValue: 'Kitchen', attributeValueIsPrefix: true }, (i) => i % 3 === 1],
            [{ attributeName: 'room', attributeValue: '', attributeValueIsPrefix: true }, () => true],
            [{ attributeName: 'room', attributeValue: 'kitchenettes', attributeValueIsPrefix: true }, () => false],
            [{ attributeName: 'room', attributeValue: 'KITCHEN' }, () => false],
            [{ attributeName: 'serial' }, (i) => i % 7 === 0],
            [{ attributeName: 'Room' }, () => false],
            [{ attributeName: 'room', attributeValue: 'kitchen', thingTypeName: 'lamp' }, (i) => i % 3 === 0 && i % 2 === 0],
            [{ attributeName: 'room', attributeValue: 'k', attributeValueIsPrefix: true, thingTypeName: 'lamp' }, (i) => i % 3 !== 1 && i % 2 === 0],
          ];
          for (const [filter, predicate] of cases) {
            const expected = all.filter((n) => predicate(idx(n)));
            for (const size of [1, 10, 250]) {
              assert.deepStrictEqual(await allPages(r, filter, size), expected, `${JSON.stringify(filter)} in pages of ${size}`);
            }
          }
        }));

      it('a limit of 0 returns nothing', () =>
        withStore(factory, async ({ store }) => {
          await store.registry.apply([{ op: 'putThing', thing: thingRecord('t') }]);
          assert.deepStrictEqual(await store.registry.listThings({ limit: 0 }), []);
        }));
    });

    describe('thing types', () => {
      it('a thing type comes back exactly as put; list pages by name and filters by exact name', () =>
        withStore(factory, async ({ store }) => {
          const r = store.registry;
          const plain = thingTypeRecord('plain');
          const full = thingTypeRecord('Full', {
            thingTypeProperties: {
              thingTypeDescription: 'a lamp',
              searchableAttributes: ['room', 'floor'],
              mqtt5Configuration: { propagatingAttributes: [{ userPropertyKey: 'k', thingAttribute: 'room' }] },
            },
            deprecated: true,
            deprecationDateMs: 1_700_000_100_000,
          });
          await r.apply([{ op: 'putThingType', thingType: plain }, { op: 'putThingType', thingType: full }]);
          assert.deepStrictEqual(await r.getThingType('plain'), plain);
          assert.deepStrictEqual(await r.getThingType('Full'), full);
          assert.equal(await r.getThingType('full'), undefined);
          assert.deepStrictEqual((await r.listThingTypes({ limit: 10 })).map((t) => t.thingTypeName), ['Full', 'plain']);
          assert.deepStrictEqual((await r.listThingTypes({ limit: 1, afterThingTypeName: 'Full' })).map((t) => t.thingTypeName), ['plain']);
          assert.deepStrictEqual((await r.listThingTypes({ limit: 10, thingTypeName: 'plain' })).map((t) => t.thingTypeName), ['plain']);
          assert.deepStrictEqual(await r.listThingTypes({ limit: 10, thingTypeName: 'pla' }), []);
          const undone: ThingTypeRecord = { ...full, deprecated: false };
          delete (undone as { deprecationDateMs?: number }).deprecationDateMs;
          await r.apply([{ op: 'putThingType', thingType: undone }]);
          assert.deepStrictEqual(await r.getThingType('Full'), undone);
        }));

      it('a thing type still used by a thing cannot be deleted; unused, it can', () =>
        withStore(factory, async ({ store }) => {
          const r = store.registry;
          await r.apply([{ op: 'putThingType', thingType: thingTypeRecord('lamp') }, { op: 'putThing', thing: thingRecord('t', { thingTypeName: 'lamp' }) }]);
          await rejectsWith(r.apply([{ op: 'deleteThingType', thingTypeName: 'lamp' }]), 'ApplyFailed', 0);
          await rejectsWith(r.apply([{ op: 'checkThingTypeUnused', thingTypeName: 'lamp' }]), 'ConditionFailed', 0);
          await r.apply([{ op: 'putThing', thing: thingRecord('t', { version: 2 }) }]);
          await r.apply([{ op: 'checkThingTypeUnused', thingTypeName: 'lamp' }, { op: 'deleteThingType', thingTypeName: 'lamp' }]);
          assert.equal(await r.getThingType('lamp'), undefined);
          await r.apply([{ op: 'deleteThingType', thingTypeName: 'lamp' }]);
        }));
    });

    describe('attachments', () => {
      it('many to many, listed in attachment order, with type filters and pages', () =>
        withStore(factory, async ({ store }) => {
          const r = store.registry;
          await r.apply(['a', 'b', 'c'].map((n): RegistryOp => ({ op: 'putThing', thing: thingRecord(n) })));
          await r.apply([attach('b', certArn(2), false, 10), attach('a', certArn(2), false, 11), attach('b', certArn(1), true, 12), attach('c', certArn(2), false, 13)]);
          await r.apply([attach('b', certArn(3), false, 14)]);
          const principalsOfB = await r.listThingPrincipals('b', { limit: 10 });
          assert.deepStrictEqual(principalsOfB.map((p) => p.principal), [certArn(2), certArn(1), certArn(3)]);
          assert.deepStrictEqual(principalsOfB.map((p) => p.thingPrincipalType), ['NON_EXCLUSIVE_THING', 'EXCLUSIVE_THING', 'NON_EXCLUSIVE_THING']);
          assert.deepStrictEqual(principalsOfB.map((p) => p.attachedAtMs), [10, 12, 14]);
          assert.ok(principalsOfB.every((p, i, a) => i === 0 || p.seq > a[i - 1]!.seq));
          assert.deepStrictEqual((await r.listPrincipalThings(certArn(2), { limit: 10 })).map((p) => p.thingName), ['b', 'a', 'c']);
          // Pages.
          const first = await r.listPrincipalThings(certArn(2), { limit: 2 });
          const rest = await r.listPrincipalThings(certArn(2), { limit: 2, afterSeq: first[1]!.seq });
          assert.deepStrictEqual([...first, ...rest].map((p) => p.thingName), ['b', 'a', 'c']);
          const firstOfB = await r.listThingPrincipals('b', { limit: 1 });
          assert.deepStrictEqual(
            (await r.listThingPrincipals('b', { limit: 5, afterSeq: firstOfB[0]!.seq })).map((p) => p.principal),
            [certArn(1), certArn(3)],
          );
          // Type filters.
          assert.deepStrictEqual((await r.listThingPrincipals('b', { limit: 10, thingPrincipalType: 'EXCLUSIVE_THING' })).map((p) => p.principal), [certArn(1)]);
          assert.deepStrictEqual((await r.listThingPrincipals('b', { limit: 10, thingPrincipalType: 'NON_EXCLUSIVE_THING' })).map((p) => p.principal), [certArn(2), certArn(3)]);
          assert.deepStrictEqual(await r.listPrincipalThings(certArn(2), { limit: 10, thingPrincipalType: 'EXCLUSIVE_THING' }), []);
          // getAttachment.
          const one = await r.getAttachment('b', certArn(1));
          assert.deepStrictEqual(one, principalsOfB[1]);
          assert.equal(await r.getAttachment('a', certArn(1)), undefined);
          assert.deepStrictEqual(await r.listThingPrincipals('nope', { limit: 10 }), []);
          assert.deepStrictEqual(await r.listPrincipalThings(certArn(9), { limit: 10 }), []);
        }));

      it('attaching again changes only the type and keeps the place; detaching an absent pair changes nothing', () =>
        withStore(factory, async ({ store }) => {
          const r = store.registry;
          await r.apply([{ op: 'putThing', thing: thingRecord('t') }, attach('t', certArn(1), false, 5), attach('t', certArn(2), false, 6)]);
          const before = (await r.getAttachment('t', certArn(1)))!;
          await r.apply([attach('t', certArn(1), true, 99)]);
          const after: ThingPrincipalRecord = (await r.getAttachment('t', certArn(1)))!;
          assert.deepStrictEqual(after, { ...before, thingPrincipalType: 'EXCLUSIVE_THING' });
          assert.deepStrictEqual((await r.listThingPrincipals('t', { limit: 10 })).map((p) => p.principal), [certArn(1), certArn(2)]);
          await r.apply([{ op: 'detachPrincipal', thingName: 't', principal: certArn(1) }, { op: 'detachPrincipal', thingName: 't', principal: certArn(7) }]);
          assert.deepStrictEqual((await r.listThingPrincipals('t', { limit: 10 })).map((p) => p.principal), [certArn(2)]);
          // Attached anew, it goes to the end.
          await r.apply([attach('t', certArn(1))]);
          assert.deepStrictEqual((await r.listThingPrincipals('t', { limit: 10 })).map((p) => p.principal), [certArn(2), certArn(1)]);
        }));

      it('attaching to a thing that does not exist fails the batch', () =>
        withStore(factory, async ({ store }) => {
          await rejectsWith(store.registry.apply([{ op: 'putThing', thing: thingRecord('t') }, attach('ghost', certArn(1))]), 'ApplyFailed', 1);
          assert.equal(await store.registry.getThing('t'), undefined);
        }));
    });

    describe('conditions', () => {
      it('checkThing: absence, presence and version; a failed check rolls back the ops before it', () =>
        withStore(factory, async ({ store }) => {
          const r = store.registry;
          await r.apply([{ op: 'checkThing', thingName: 't', exists: false }, { op: 'putThing', thing: thingRecord('t', { version: 3 }) }]);
          await rejectsWith(r.apply([{ op: 'putThing', thing: thingRecord('u') }, { op: 'checkThing', thingName: 't', exists: false }]), 'ConditionFailed', 1);
          assert.equal(await r.getThing('u'), undefined);
          await r.apply([{ op: 'checkThing', thingName: 't', exists: true }]);
          await r.apply([{ op: 'checkThing', thingName: 't', exists: true, version: 3 }]);
          await rejectsWith(
            r.apply([{ op: 'putThing', thing: thingRecord('t', { version: 4, attributes: { x: '1' } }) }, { op: 'checkThing', thingName: 't', exists: true, version: 3 }]),
            'ConditionFailed',
            1,
          );
          assert.deepStrictEqual(await r.getThing('t'), thingRecord('t', { version: 3 }));
          await rejectsWith(r.apply([{ op: 'checkThing', thingName: 'nope', exists: true }]), 'ConditionFailed', 0);
          await rejectsWith(r.apply([{ op: 'checkThing', thingName: 'nope', exists: true, version: 1 }]), 'ConditionFailed', 0);
        }));

      it('compare-and-set: of two writers holding the same version, exactly one wins', () =>
        withStore(factory, async ({ store }) => {
          const r = store.registry;
          await r.apply([{ op: 'putThing', thing: thingRecord('t') }]);
          const write = (value: string): Promise<void> =>
            r.apply([
              { op: 'checkThing', thingName: 't', exists: true, version: 1 },
              { op: 'putThing', thing: thingRecord('t', { version: 2, attributes: { w: value } }) },
            ]);
          const results = await Promise.allSettled([write('a'), write('b')]);
          assert.deepStrictEqual(results.map((x) => x.status).sort(), ['fulfilled', 'rejected']);
          const loser = results.find((x) => x.status === 'rejected') as PromiseRejectedResult;
          assert.ok(isStoreError(loser.reason, 'ConditionFailed'));
          assert.equal((await r.getThing('t'))?.version, 2);
        }));

      it('checkThingType: absence, presence and deprecation state', () =>
        withStore(factory, async ({ store }) => {
          const r = store.registry;
          await r.apply([{ op: 'putThingType', thingType: thingTypeRecord('live') }, { op: 'putThingType', thingType: thingTypeRecord('old', { deprecated: true, deprecationDateMs: 5 }) }]);
          await r.apply([
            { op: 'checkThingType', thingTypeName: 'none', exists: false },
            { op: 'checkThingType', thingTypeName: 'live', exists: true },
            { op: 'checkThingType', thingTypeName: 'live', exists: true, deprecated: false },
            { op: 'checkThingType', thingTypeName: 'old', exists: true, deprecated: true },
          ]);
          await rejectsWith(r.apply([{ op: 'checkThingType', thingTypeName: 'live', exists: false }]), 'ConditionFailed', 0);
          await rejectsWith(r.apply([{ op: 'checkThingType', thingTypeName: 'none', exists: true }]), 'ConditionFailed', 0);
          await rejectsWith(r.apply([{ op: 'checkThingType', thingTypeName: 'old', exists: true, deprecated: false }]), 'ConditionFailed', 0);
          await rejectsWith(r.apply([{ op: 'checkThingType', thingTypeName: 'live', exists: true, deprecated: true }]), 'ConditionFailed', 0);
        }));

      it('checkThingHasNoPrincipals and checkPrincipalNotAttachedElsewhere', () =>
        withStore(factory, async ({ store }) => {
          const r = store.registry;
          await r.apply([
            { op: 'putThing', thing: thingRecord('a') },
            { op: 'putThing', thing: thingRecord('b') },
            { op: 'putThing', thing: thingRecord('c') },
            attach('a', certArn(1)),
            attach('b', certArn(2), true),
          ]);
          await r.apply([{ op: 'checkThingHasNoPrincipals', thingName: 'c' }, { op: 'checkThingHasNoPrincipals', thingName: 'ghost' }]);
          await rejectsWith(r.apply([{ op: 'checkThingHasNoPrincipals', thingName: 'a' }]), 'ConditionFailed', 0);
          const elsewhere = (principal: string, thingName: string, exclusiveOnly: boolean): RegistryOp => ({
            op: 'checkPrincipalNotAttachedElsewhere',
            principal,
            thingName,
            exclusiveOnly,
          });
          await r.apply([elsewhere(certArn(1), 'a', false), elsewhere(certArn(1), 'c', true), elsewhere(certArn(2), 'b', false), elsewhere(certArn(9), 'a', false)]);
          await rejectsWith(r.apply([elsewhere(certArn(1), 'c', false)]), 'ConditionFailed', 0);
          await rejectsWith(r.apply([elsewhere(certArn(2), 'c', true)]), 'ConditionFailed', 0);
          await rejectsWith(r.apply([elsewhere(certArn(2), 'c', false)]), 'ConditionFailed', 0);
        }));
    });

    describe('lifecycle', () => {
      it('every registry call after close() rejects with StoreError Closed', () =>
        withStore(factory, async ({ store }) => {
          await store.close();
          const calls: Array<[string, () => Promise<unknown>]> = [
            ['getThing', () => store.registry.getThing('t')],
            ['listThings', () => store.registry.listThings({ limit: 1 })],
            ['getThingType', () => store.registry.getThingType('t')],
            ['listThingTypes', () => store.registry.listThingTypes({ limit: 1 })],
            ['getAttachment', () => store.registry.getAttachment('t', certArn(1))],
            ['listThingPrincipals', () => store.registry.listThingPrincipals('t', { limit: 1 })],
            ['listPrincipalThings', () => store.registry.listPrincipalThings(certArn(1), { limit: 1 })],
            ['apply', () => store.registry.apply([{ op: 'deleteThing', thingName: 't' }])],
            ['apply([])', () => store.registry.apply([])],
          ];
          for (const [what, call] of calls) {
            await assert.rejects(call(), (err: unknown) => isStoreError(err, 'Closed'), what);
          }
        }));

      it('reopened after close, the registry holds exactly what was committed', { skip: factory.reopen ? false : NO_REOPEN }, () =>
        withStore(factory, async (ctx) => {
          const r = ctx.store.registry;
          await r.apply([
            { op: 'putThingType', thingType: thingTypeRecord('lamp', { thingTypeProperties: { thingTypeDescription: 'd', searchableAttributes: ['a'] } }) },
            { op: 'putThing', thing: thingRecord('t1', { thingTypeName: 'lamp', attributes: { a: '1' }, version: 3 }) },
            { op: 'putThing', thing: thingRecord('t2') },
            attach('t1', certArn(1), true),
            attach('t2', certArn(2)),
          ]);
          await assert.rejects(r.apply([{ op: 'putThing', thing: thingRecord('t3') }, { op: 'checkThing', thingName: 't1', exists: false }]));
          const before = await snapshot(ctx.store);
          const reopened = await ctx.reopen();
          assert.deepStrictEqual(await snapshot(reopened), before);
          assert.equal(await reopened.registry.getThing('t3'), undefined);
          // New attachments after a reopen still come after the old ones.
          await reopened.registry.apply([{ op: 'detachPrincipal', thingName: 't2', principal: certArn(2) }, attach('t2', certArn(3)), attach('t2', certArn(2))]);
          assert.deepStrictEqual((await reopened.registry.listThingPrincipals('t2', { limit: 10 })).map((p) => p.principal), [certArn(3), certArn(2)]);
        }));
    });
  });
}
