// Proves the registry service gives AWS IoT's answers for every thing, thing type and attachment operation and error (against the in-memory SQLite store), pages stably over 250 things, binds connections to things as spec/mqtt.md section 16 says, and keeps its cache and change feed in step with its writes.
import { afterEach, beforeEach, describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import { isServiceError, ServiceError } from '../shared/index.js';
import { openSqliteStore, type Store } from '../store/index.js';
import { createRegistryService, type RegistryEvent, type RegistryService, type RegistryServiceOptions } from './index.js';

const scope = { region: 'us-east-1', accountId: '000000000000' };
const cert = (n: number): string => `arn:aws:iot:us-east-1:000000000000:cert/${n.toString(16).padStart(64, 'a')}`;

let store: Store;
let now: number;
let ids: number;
let events: RegistryEvent[];

function service(extra: Partial<RegistryServiceOptions> = {}): RegistryService {
  return createRegistryService({
    store,
    scope,
    clock: () => now,
    newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
    events: (e) => events.push(e),
    ...extra,
  });
}

beforeEach(() => {
  store = openSqliteStore({ path: ':memory:' });
  now = 1_700_000_000_000;
  ids = 0;
  events = [];
});
afterEach(() => store.close());

async function rejects(call: Promise<unknown>, code: string, message?: RegExp): Promise<ServiceError> {
  let caught: unknown;
  await assert.rejects(call, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(isServiceError(caught), `expected a ServiceError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (message !== undefined) assert.match(caught.message, message);
  return caught;
}

const ire = (call: Promise<unknown>, message?: RegExp) => rejects(call, 'InvalidRequestException', message);
const rnf = (call: Promise<unknown>, message?: RegExp) => rejects(call, 'ResourceNotFoundException', message);

describe('createThing / describeThing', () => {
  it('creates a thing at version 1 and describes it with defaultClientId, ARN and no absent fields', async () => {
    const r = service();
    const created = await r.createThing({ thingName: 'sensor-1', attributePayload: { attributes: { room: 'kitchen' } } });
    assert.deepStrictEqual(created, {
      thingName: 'sensor-1',
      thingArn: 'arn:aws:iot:us-east-1:000000000000:thing/sensor-1',
      thingId: '00000000-0000-4000-8000-000000000001',
    });
    const described = await r.describeThing('sensor-1');
    assert.deepStrictEqual(described, {
      defaultClientId: 'sensor-1',
      thingName: 'sensor-1',
      thingId: created.thingId,
      thingArn: created.thingArn,
      attributes: { room: 'kitchen' },
      version: 1,
    });
    assert.ok(!('thingTypeName' in described) && !('billingGroupName' in described));
    assert.deepStrictEqual(events.map((e) => e.type), ['thing-created']);
    assert.deepStrictEqual(events[0], {
      type: 'thing-created',
      thingName: 'sensor-1',
      thing: { thingName: 'sensor-1', thingId: created.thingId, attributes: { room: 'kitchen' }, version: 1 },
      timestamp: new Date(now),
    });
  });

  it('is idempotent for the same type and attributes (any order, merge ignored), else ResourceAlreadyExists with resourceId/resourceArn', async () => {
    const r = service();
    await r.createThingType({ thingTypeName: 'lamp' });
    await r.createThingType({ thingTypeName: 'other' });
    const first = await r.createThing({ thingName: 't', thingTypeName: 'lamp', attributePayload: { attributes: { a: '1', b: '2' } } });
    const again = await r.createThing({ thingName: 't', thingTypeName: 'lamp', attributePayload: { attributes: { b: '2', a: '1' }, merge: true } });
    assert.deepStrictEqual(again, first);
    assert.equal((await r.describeThing('t')).version, 1, 'no new version');
    assert.equal(events.filter((e) => e.type === 'thing-created').length, 1);
    for (const different of [
      { thingName: 't', thingTypeName: 'other', attributePayload: { attributes: { a: '1', b: '2' } } },
      { thingName: 't', attributePayload: { attributes: { a: '1', b: '2' } } },
      { thingName: 't', thingTypeName: 'lamp', attributePayload: { attributes: { a: '1' } } },
      { thingName: 't', thingTypeName: 'lamp', attributePayload: { attributes: { a: '1', b: '3' } } },
      { thingName: 't', thingTypeName: 'lamp' },
    ]) {
      const err = await rejects(r.createThing(different), 'ResourceAlreadyExistsException', /already exists/);
      assert.equal(err.httpStatus, 409);
      assert.deepStrictEqual(err.members, { resourceId: first.thingId, resourceArn: first.thingArn });
    }
  });

  it('names and attributes follow spec section 2 exactly', async () => {
    const r = service();
    for (const thingName of ['a', 'A-b_c:d', 'x'.repeat(128), '0']) await r.createThing({ thingName });
    for (const thingName of ['', 'x'.repeat(129), 'a b', 'a/b', 'a.b', 'ä', 'a#b']) {
      await ire(r.createThing({ thingName }), /at 'thingName' failed to satisfy constraint/);
    }
    await ire(r.createThing({ thingName: undefined as unknown as string }), /Member must not be null/);
    await ire(r.createThing({ thingName: 'ok', thingTypeName: 'a b' }), /thingTypeName/);
    const goodKey = 'k_.,@/:#-K9';
    await r.createThing({ thingName: 'attrs', attributePayload: { attributes: { [goodKey]: 'v_.,@/:#=[]-', empty: '', long: 'v'.repeat(800) } } });
    assert.deepStrictEqual((await r.describeThing('attrs')).attributes, { [goodKey]: 'v_.,@/:#=[]-', empty: '', long: 'v'.repeat(800) });
    await ire(r.createThing({ thingName: 'bad1', attributePayload: { attributes: { 'a b': 'v' } } }), /Map keys must satisfy constraint/);
    await ire(r.createThing({ thingName: 'bad2', attributePayload: { attributes: { ['k'.repeat(129)]: 'v' } } }), /length less than or equal to 128/);
    await ire(r.createThing({ thingName: 'bad3', attributePayload: { attributes: { '': 'v' } } }), /length greater than or equal to 1/);
    await ire(r.createThing({ thingName: 'bad4', attributePayload: { attributes: { k: 'a b' } } }), /Map value must satisfy/);
    await ire(r.createThing({ thingName: 'bad5', attributePayload: { attributes: { k: 'v'.repeat(801) } } }), /length less than or equal to 800/);
    await ire(r.createThing({ thingName: 'bad6', attributePayload: { attributes: { k: 1 as unknown as string } } }), /must be a string/);
    // Every problem of a request is reported at once.
    await ire(r.createThing({ thingName: 'a b', thingTypeName: 'c d' }), /^2 validation errors detected: .*'thingName'.*'thingTypeName'/);
    await rnf(r.describeThing('nope'), /nope/);
    await ire(r.describeThing('a b'));
  });

  it('at most 3 attributes without a thing type, 50 with one', async () => {
    const r = service();
    await r.createThingType({ thingTypeName: 'lamp' });
    const attrs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`a${i}`, String(i)]));
    await r.createThing({ thingName: 'three', attributePayload: { attributes: attrs(3) } });
    await ire(r.createThing({ thingName: 'four', attributePayload: { attributes: attrs(4) } }), /at most 3/);
    await r.createThing({ thingName: 'fifty', thingTypeName: 'lamp', attributePayload: { attributes: attrs(50) } });
    await ire(r.createThing({ thingName: 'fifty-one', thingTypeName: 'lamp', attributePayload: { attributes: attrs(51) } }), /at most 50/);
    // Removing the type of a thing with 50 attributes would leave too many.
    await ire(r.updateThing({ thingName: 'fifty', removeThingType: true }), /at most 3/);
    await r.updateThing({ thingName: 'three', thingTypeName: 'lamp', attributePayload: { attributes: attrs(10), merge: true } });
    assert.equal(Object.keys((await r.describeThing('three')).attributes).length, 10);
  });

  it('an unknown thing type is ResourceNotFound, a deprecated one InvalidRequest; a billing group ResourceNotFound', async () => {
    const r = service();
    await rnf(r.createThing({ thingName: 't', thingTypeName: 'ghost' }), /ghost/);
    await r.createThingType({ thingTypeName: 'old' });
    await r.deprecateThingType({ thingTypeName: 'old' });
    await ire(r.createThing({ thingName: 't', thingTypeName: 'old' }), /deprecated/);
    await rnf(r.createThing({ thingName: 't', billingGroupName: 'bg' }), /Billing group bg/);
    await ire(r.createThing({ thingName: 't', billingGroupName: 'b g' }), /billingGroupName/);
    await rnf(r.describeThing('t'));
  });

  it('attribute names like __proto__ and constructor are ordinary attributes', async () => {
    const r = service();
    const attributes = JSON.parse('{"__proto__":"p","constructor":"c","toString":"s"}') as Record<string, string>;
    await r.createThing({ thingName: 't', attributePayload: { attributes } });
    const described = await r.describeThing('t');
    assert.deepStrictEqual(Object.entries(described.attributes), [['__proto__', 'p'], ['constructor', 'c'], ['toString', 's']]);
    // Idempotency compares them as attributes, not as Object.prototype members.
    await r.createThing({ thingName: 't', attributePayload: { attributes } });
    await rejects(r.createThing({ thingName: 't', attributePayload: { attributes: JSON.parse('{"__proto__":"p","constructor":"c"}') } }), 'ResourceAlreadyExistsException');
    await r.updateThing({ thingName: 't', attributePayload: { attributes: JSON.parse('{"constructor":""}'), merge: true } });
    assert.deepStrictEqual(Object.keys((await r.describeThing('t')).attributes), ['__proto__', 'toString']);
    const listed = await r.listThings({ attributeName: '__proto__', attributeValue: 'p' });
    assert.deepStrictEqual(listed.things.map((t) => t.thingName), ['t']);
  });
});

describe('updateThing', () => {
  it('merge:false replaces, merge:true merges and an empty value deletes; no attributes leaves them; version +1 each time', async () => {
    const r = service();
    await r.createThing({ thingName: 't', attributePayload: { attributes: { a: '1', b: '2' } } });
    await r.updateThing({ thingName: 't', attributePayload: { attributes: { c: '3' } } });
    assert.deepStrictEqual((await r.describeThing('t')).attributes, { c: '3' });
    await r.updateThing({ thingName: 't', attributePayload: { attributes: { d: '4', c: '33' }, merge: true } });
    assert.deepStrictEqual((await r.describeThing('t')).attributes, { c: '33', d: '4' });
    await r.updateThing({ thingName: 't', attributePayload: { attributes: { c: '', nope: '' }, merge: true } });
    assert.deepStrictEqual((await r.describeThing('t')).attributes, { d: '4' });
    await r.updateThing({ thingName: 't', attributePayload: { merge: false } });
    assert.deepStrictEqual((await r.describeThing('t')).attributes, { d: '4' });
    await r.updateThing({ thingName: 't' });
    await r.updateThing({ thingName: 't', attributePayload: { attributes: {} } });
    const after = await r.describeThing('t');
    assert.deepStrictEqual(after.attributes, {});
    assert.equal(after.version, 7);
    const updates = events.filter((e): e is Extract<RegistryEvent, { type: 'thing-updated' }> => e.type === 'thing-updated');
    assert.equal(updates.length, 6);
    assert.deepStrictEqual(updates[0]?.previous.attributes, { a: '1', b: '2' });
    assert.deepStrictEqual(updates[0]?.thing.attributes, { c: '3' });
    assert.deepStrictEqual(updates.map((u) => u.thing.version), [2, 3, 4, 5, 6, 7]);
  });

  it('expectedVersion: a mismatch is VersionConflict and changes nothing; a match updates', async () => {
    const r = service();
    await r.createThing({ thingName: 't' });
    const err = await rejects(r.updateThing({ thingName: 't', expectedVersion: 2, attributePayload: { attributes: { a: '1' } } }), 'VersionConflictException');
    assert.equal(err.httpStatus, 409);
    assert.deepStrictEqual((await r.describeThing('t')).attributes, {});
    await r.updateThing({ thingName: 't', expectedVersion: 1, attributePayload: { attributes: { a: '1' } } });
    await rejects(r.updateThing({ thingName: 't', expectedVersion: 1 }), 'VersionConflictException');
    assert.equal((await r.describeThing('t')).version, 2);
    await ire(r.updateThing({ thingName: 't', expectedVersion: 1.5 }), /expectedVersion/);
  });

  it('concurrent updates: merges are never lost; with the same expectedVersion exactly one wins', async () => {
    const r = service();
    await r.createThingType({ thingTypeName: 'lamp' });
    await r.createThing({ thingName: 't', thingTypeName: 'lamp' });
    await Promise.all(Array.from({ length: 10 }, (_, i) => r.updateThing({ thingName: 't', attributePayload: { attributes: { [`k${i}`]: 'v' }, merge: true } })));
    const after = await r.describeThing('t');
    assert.equal(Object.keys(after.attributes).length, 10);
    assert.equal(after.version, 11);
    const results = await Promise.allSettled(
      [1, 2, 3].map((i) => r.updateThing({ thingName: 't', expectedVersion: 11, attributePayload: { attributes: { w: String(i) }, merge: true } })),
    );
    assert.equal(results.filter((x) => x.status === 'fulfilled').length, 1);
    for (const x of results) if (x.status === 'rejected') assert.ok(isServiceError(x.reason, 'VersionConflictException'));
    assert.equal((await r.describeThing('t')).version, 12);
  });

  it('a change made outside this service between its read and its write is not lost: it re-decides (merge kept, expectedVersion conflicts)', async () => {
    const r = service();
    await r.createThing({ thingName: 't', attributePayload: { attributes: { a: '1' } } });
    // Another writer (another process, say) bumps the thing right after the service read it, once.
    const original = store.registry.getThing.bind(store.registry);
    let interfere = true;
    store.registry.getThing = async (name: string) => {
      const row = await original(name);
      if (interfere && row !== undefined) {
        interfere = false;
        await store.registry.apply([{ op: 'putThing', thing: { ...row, attributes: { ...row.attributes, outside: 'x' }, version: row.version + 1 } }]);
      }
      return row;
    };
    await r.updateThing({ thingName: 't', attributePayload: { attributes: { b: '2' }, merge: true } });
    assert.deepStrictEqual((await r.describeThing('t')).attributes, { a: '1', outside: 'x', b: '2' });
    assert.equal((await r.describeThing('t')).version, 3);
    interfere = true;
    await rejects(r.updateThing({ thingName: 't', expectedVersion: 3, attributePayload: { attributes: { b: '22' }, merge: true } }), 'VersionConflictException');
    assert.equal((await r.describeThing('t')).version, 4);
    interfere = true;
    await rejects(r.deleteThing({ thingName: 't', expectedVersion: 4 }), 'VersionConflictException');
    assert.equal((await r.describeThing('t')).version, 5);
  });

  it('thing types: set, change, remove; removeThingType with thingTypeName is InvalidRequest; unknown RNF, deprecated IRE', async () => {
    const r = service();
    await r.createThingType({ thingTypeName: 'a' });
    await r.createThingType({ thingTypeName: 'b' });
    await r.createThing({ thingName: 't' });
    await r.updateThing({ thingName: 't', thingTypeName: 'a' });
    assert.equal((await r.describeThing('t')).thingTypeName, 'a');
    await r.updateThing({ thingName: 't', thingTypeName: 'b' });
    assert.equal((await r.describeThing('t')).thingTypeName, 'b');
    await ire(r.updateThing({ thingName: 't', thingTypeName: 'a', removeThingType: true }), /removeThingType/);
    await rnf(r.updateThing({ thingName: 't', thingTypeName: 'ghost' }));
    await r.deprecateThingType({ thingTypeName: 'a' });
    await ire(r.updateThing({ thingName: 't', thingTypeName: 'a' }), /deprecated/);
    // Keeping a type that was deprecated meanwhile is fine.
    await r.deprecateThingType({ thingTypeName: 'b' });
    await r.updateThing({ thingName: 't', thingTypeName: 'b', attributePayload: { attributes: { x: '1' } } });
    await r.updateThing({ thingName: 't', removeThingType: true });
    const described = await r.describeThing('t');
    assert.ok(!('thingTypeName' in described));
    assert.equal(described.version, 5);
    await rnf(r.updateThing({ thingName: 'ghost' }));
    await ire(r.updateThing({ thingName: 't', removeThingType: 'yes' as unknown as boolean }), /removeThingType/);
  });
});

describe('deleteThing', () => {
  it('deletes; a missing thing is success; expectedVersion mismatch is VersionConflict; attached principals refuse', async () => {
    const r = service();
    await r.deleteThing({ thingName: 'never-was' });
    await r.deleteThing({ thingName: 'never-was', expectedVersion: 3 });
    await r.createThing({ thingName: 't' });
    await r.updateThing({ thingName: 't' });
    await rejects(r.deleteThing({ thingName: 't', expectedVersion: 1 }), 'VersionConflictException');
    await r.attachThingPrincipal({ thingName: 't', principal: cert(1) });
    await ire(r.deleteThing({ thingName: 't' }), /attached principals/);
    await r.detachThingPrincipal({ thingName: 't', principal: cert(1) });
    events = [];
    await r.deleteThing({ thingName: 't', expectedVersion: 2 });
    await rnf(r.describeThing('t'));
    assert.deepStrictEqual(events.map((e) => e.type), ['thing-deleted']);
    await ire(r.deleteThing({ thingName: 'a b' }));
    // The name can be used again: a new thing with a new id.
    const again = await r.createThing({ thingName: 't' });
    assert.equal((await r.describeThing('t')).version, 1);
    assert.notEqual(again.thingId, '00000000-0000-4000-8000-000000000001');
  });
});

describe('listThings', () => {
  async function createMany(r: RegistryService): Promise<string[]> {
    await r.createThingType({ thingTypeName: 'lamp' });
    const names: string[] = [];
    // Created in a scrambled order; names mix cases, digits and separators.
    for (let i = 0; i < 250; i++) {
      const j = (i * 97) % 250;
      const thingName = j % 4 === 0 ? `Dev-${j}` : j % 4 === 1 ? `dev_${j}` : j % 4 === 2 ? `${j}` : `d:${j}`;
      names.push(thingName);
      await r.createThing({
        thingName,
        ...(j % 2 === 0 ? { thingTypeName: 'lamp' } : {}),
        attributePayload: { attributes: { floor: String(j % 5), site: j % 3 === 0 ? 'berlin-1' : j % 3 === 1 ? 'berlin-2' : 'bern' } },
      });
    }
    return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async function everyPage(r: RegistryService, filter: Parameters<RegistryService['listThings']>[0], maxResults: number | undefined): Promise<string[]> {
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const out = await r.listThings({ ...filter, ...(maxResults === undefined ? {} : { maxResults }), ...(nextToken === undefined ? {} : { nextToken }) });
      assert.ok(out.things.length <= (maxResults ?? 50));
      seen.push(...out.things.map((t) => t.thingName));
      nextToken = out.nextToken;
      assert.ok(++pages <= 251);
    } while (nextToken !== undefined);
    return seen;
  }

  it('pages over 250 things in name order with no duplicate and no gap, for several page sizes; nextToken only when more exist', async () => {
    const r = service();
    const names = await createMany(r);
    for (const size of [undefined, 1, 7, 100, 249, 250]) {
      assert.deepStrictEqual(await everyPage(r, {}, size), names, `maxResults ${size}`);
    }
    const all = await r.listThings({ maxResults: 250 });
    assert.equal(all.things.length, 250);
    assert.ok(!('nextToken' in all));
    const first = await r.listThings({ maxResults: 249 });
    assert.equal(typeof first.nextToken, 'string');
    const last = await r.listThings({ maxResults: 249, nextToken: first.nextToken! });
    assert.deepStrictEqual(last.things.map((t) => t.thingName), [names[249]]);
    assert.ok(!('nextToken' in last));
    const defaultPage = await r.listThings();
    assert.equal(defaultPage.things.length, 50);
    // The summary shape.
    const lamp = all.things.find((t) => t.thingName === 'Dev-0');
    assert.deepStrictEqual(lamp, {
      thingName: 'Dev-0',
      thingTypeName: 'lamp',
      thingArn: 'arn:aws:iot:us-east-1:000000000000:thing/Dev-0',
      attributes: { floor: '0', site: 'berlin-1' },
      version: 1,
    });
    assert.ok(!('thingTypeName' in all.things.find((t) => t.thingName === 'dev_1')!));
  });

  it('filters page over 250 things with no duplicate and no gap: type, attribute exact and prefix, combined', async () => {
    const r = service();
    await createMany(r);
    const all = (await r.listThings({ maxResults: 250 })).things;
    const expect = (pred: (t: (typeof all)[number]) => boolean) => all.filter(pred).map((t) => t.thingName);
    const cases: Array<[Parameters<RegistryService['listThings']>[0], string[]]> = [
      [{ thingTypeName: 'lamp' }, expect((t) => t.thingTypeName === 'lamp')],
      [{ attributeName: 'site', attributeValue: 'bern' }, expect((t) => t.attributes['site'] === 'bern')],
      [{ attributeName: 'site', attributeValue: 'berlin', usePrefixAttributeValue: true }, expect((t) => t.attributes['site']!.startsWith('berlin'))],
      [{ attributeName: 'site', attributeValue: 'ber', usePrefixAttributeValue: true }, expect(() => true)],
      [{ attributeName: 'site', attributeValue: 'berlin', usePrefixAttributeValue: false }, []],
      [{ attributeName: 'site', attributeValue: 'berlin-1', thingTypeName: 'lamp' }, expect((t) => t.attributes['site'] === 'berlin-1' && t.thingTypeName === 'lamp')],
      [{ attributeName: 'floor', attributeValue: '3' }, expect((t) => t.attributes['floor'] === '3')],
      [{ thingTypeName: 'nothing' }, []],
    ];
    for (const [filter, expected] of cases) {
      assert.ok(expected.length === 0 || expected.length < 250 || filter?.attributeValue === 'ber');
      for (const size of [1, 10, 250]) {
        const seen = await everyPage(r, filter, size);
        assert.deepStrictEqual(seen, expected, `${JSON.stringify(filter)}, maxResults ${size}`);
      }
    }
  });

  it('things created or deleted between pages: no duplicates, nothing that existed throughout is skipped', async () => {
    const r = service();
    for (let i = 0; i < 30; i++) await r.createThing({ thingName: `t${String(i).padStart(2, '0')}` });
    const page1 = await r.listThings({ maxResults: 10 });
    await r.deleteThing({ thingName: 't10' });
    await r.createThing({ thingName: 't05a' });
    await r.createThing({ thingName: 't25a' });
    const rest = await everyPage(r, { nextToken: page1.nextToken! } as never, 10);
    const seen = [...page1.things.map((t) => t.thingName), ...rest];
    assert.equal(new Set(seen).size, seen.length);
    for (let i = 0; i < 30; i++) if (i !== 10) assert.ok(seen.includes(`t${String(i).padStart(2, '0')}`));
    assert.ok(seen.includes('t25a') && !seen.includes('t05a'));
  });

  it('bad page sizes, tokens and filters are InvalidRequest', async () => {
    const r = service();
    await r.createThing({ thingName: 't1' });
    await r.createThing({ thingName: 't2' });
    await ire(r.listThings({ maxResults: 0 }), /maxResults.*greater than or equal to 1/);
    await ire(r.listThings({ maxResults: 251 }), /less than or equal to 250/);
    await ire(r.listThings({ maxResults: 2.5 }), /maxResults/);
    for (const nextToken of ['garbage!', 'bm90IGpzb24=', Buffer.from('{"s":"ListThingTypes","p":"x"}').toString('base64'), Buffer.from('{"s":"ListThings","p":5}').toString('base64'), 'x'.repeat(5000)]) {
      await ire(r.listThings({ nextToken }), /nextToken is invalid/);
    }
    assert.equal((await r.listThings({ nextToken: '' })).things.length, 2, 'an empty token is the first page');
    await ire(r.listThings({ attributeValue: 'v' }), /attributeName/);
    await ire(r.listThings({ attributeName: 'a b', attributeValue: 'v' }), /attributeName/);
    await ire(r.listThings({ thingTypeName: 'a b' }), /thingTypeName/);
    // A token of one listing does not resume another.
    const page = await r.listThings({ maxResults: 1 });
    await ire(r.listThingTypes({ nextToken: page.nextToken! }), /nextToken is invalid/);
  });
});

describe('thing types', () => {
  it('create / describe / list / deprecate / undo / delete, with ARNs, metadata dates and properties', async () => {
    const r = service();
    const created = await r.createThingType({
      thingTypeName: 'lamp',
      thingTypeProperties: { thingTypeDescription: 'A lamp, with a bulb.', searchableAttributes: ['room', 'floor'] },
      tags: [{ Key: 'team', Value: 'home' }],
    });
    assert.deepStrictEqual(created, {
      thingTypeName: 'lamp',
      thingTypeArn: 'arn:aws:iot:us-east-1:000000000000:thingtype/lamp',
      thingTypeId: '00000000-0000-4000-8000-000000000001',
    });
    await r.createThingType({ thingTypeName: 'bare' });
    const described = await r.describeThingType('lamp');
    assert.deepStrictEqual(described, {
      thingTypeName: 'lamp',
      thingTypeId: created.thingTypeId,
      thingTypeArn: created.thingTypeArn,
      thingTypeProperties: { thingTypeDescription: 'A lamp, with a bulb.', searchableAttributes: ['room', 'floor'] },
      thingTypeMetadata: { deprecated: false, creationDate: new Date(now) },
    });
    assert.deepStrictEqual((await r.describeThingType('bare')).thingTypeProperties, {});
    const err = await rejects(r.createThingType({ thingTypeName: 'lamp' }), 'ResourceAlreadyExistsException');
    assert.deepStrictEqual(err.members, { resourceId: created.thingTypeId, resourceArn: created.thingTypeArn });

    const listed = await r.listThingTypes();
    assert.deepStrictEqual(listed.thingTypes.map((t) => t.thingTypeName), ['bare', 'lamp']);
    assert.ok(!('thingTypeId' in listed.thingTypes[0]!));
    assert.deepStrictEqual((await r.listThingTypes({ thingTypeName: 'lamp' })).thingTypes.map((t) => t.thingTypeName), ['lamp']);
    const p1 = await r.listThingTypes({ maxResults: 1 });
    const p2 = await r.listThingTypes({ maxResults: 1, nextToken: p1.nextToken! });
    assert.deepStrictEqual([...p1.thingTypes, ...p2.thingTypes].map((t) => t.thingTypeName), ['bare', 'lamp']);
    assert.ok(!('nextToken' in p2));

    now += 1000;
    await r.deprecateThingType({ thingTypeName: 'lamp' });
    assert.deepStrictEqual((await r.describeThingType('lamp')).thingTypeMetadata, {
      deprecated: true,
      deprecationDate: new Date(now),
      creationDate: new Date(now - 1000),
    });
    now += 1000;
    await r.deprecateThingType({ thingTypeName: 'lamp' });
    assert.deepStrictEqual((await r.describeThingType('lamp')).thingTypeMetadata.deprecationDate, new Date(now - 1000), 'a second deprecation keeps the date');
    await r.deprecateThingType({ thingTypeName: 'lamp', undoDeprecate: true });
    assert.deepStrictEqual((await r.describeThingType('lamp')).thingTypeMetadata, { deprecated: false, creationDate: new Date(now - 2000) });
    await r.deprecateThingType({ thingTypeName: 'lamp', undoDeprecate: true });

    await ire(r.deleteThingType('lamp'), /must be deprecated/);
    await r.deprecateThingType({ thingTypeName: 'lamp' });
    await r.deleteThingType('lamp');
    await rnf(r.describeThingType('lamp'));
    await rnf(r.deleteThingType('lamp'));
    await rnf(r.deprecateThingType({ thingTypeName: 'lamp' }));
    assert.deepStrictEqual(events.map((e) => e.type), [
      'thing-type-created',
      'thing-type-created',
      'thing-type-updated',
      'thing-type-updated',
      'thing-type-updated',
      'thing-type-deleted',
    ]);
  });

  it('a thing type still in use cannot be deleted until its things change type', async () => {
    const r = service();
    await r.createThingType({ thingTypeName: 'lamp' });
    await r.createThing({ thingName: 't', thingTypeName: 'lamp' });
    await r.deprecateThingType({ thingTypeName: 'lamp' });
    await ire(r.deleteThingType('lamp'), /things still have it.*\bt\b/);
    await r.updateThing({ thingName: 't', removeThingType: true });
    await r.deleteThingType('lamp');
  });

  it('validation: names, description, searchable attributes, tags', async () => {
    const r = service();
    await ire(r.createThingType({ thingTypeName: 'a b' }), /thingTypeName/);
    await ire(r.createThingType({ thingTypeName: 'x'.repeat(129) }), /thingTypeName/);
    await ire(r.createThingType({ thingTypeName: 't', thingTypeProperties: { thingTypeDescription: 'd'.repeat(2029) } }), /thingTypeDescription/);
    await ire(r.createThingType({ thingTypeName: 't', thingTypeProperties: { thingTypeDescription: 'tab\there' } }), /thingTypeDescription/);
    await ire(r.createThingType({ thingTypeName: 't', thingTypeProperties: { searchableAttributes: ['a', 'b', 'c', 'd'] } }), /searchableAttributes/);
    await ire(r.createThingType({ thingTypeName: 't', thingTypeProperties: { searchableAttributes: ['a b'] } }), /searchableAttributes/);
    await ire(r.createThingType({ thingTypeName: 't', tags: [{ Key: '' }] }), /tags.1.member.Key/);
    await ire(r.createThingType({ thingTypeName: 't', tags: 'x' as never }), /tags/);
    await r.createThingType({
      thingTypeName: 't',
      thingTypeProperties: { thingTypeDescription: 'Ünïcode ok', mqtt5Configuration: { propagatingAttributes: [{ userPropertyKey: 'k', thingAttribute: 'a' }] } },
    });
    assert.deepStrictEqual((await r.describeThingType('t')).thingTypeProperties, {
      thingTypeDescription: 'Ünïcode ok',
      mqtt5Configuration: { propagatingAttributes: [{ userPropertyKey: 'k', thingAttribute: 'a' }] },
    });
    await ire(r.listThingTypes({ maxResults: 0 }));
    await ire(r.listThingTypes({ nextToken: '%%%' }));
  });
});

describe('thing ↔ principal', () => {
  it('attach, list both ways (V1 and V2, paged), detach; attaching twice is a no-op; unknown thing RNF', async () => {
    const r = service();
    for (const t of ['a', 'b', 'c']) await r.createThing({ thingName: t });
    await r.attachThingPrincipal({ thingName: 'b', principal: cert(1) });
    await r.attachThingPrincipal({ thingName: 'a', principal: cert(1), thingPrincipalType: 'NON_EXCLUSIVE_THING' });
    await r.attachThingPrincipal({ thingName: 'a', principal: cert(2) });
    await r.attachThingPrincipal({ thingName: 'a', principal: cert(1) });
    assert.equal(events.filter((e) => e.type === 'principal-attached').length, 3);

    assert.deepStrictEqual(await r.listThingPrincipals({ thingName: 'a' }), { principals: [cert(1), cert(2)] });
    assert.deepStrictEqual(await r.listPrincipalThings({ principal: cert(1) }), { things: ['b', 'a'] });
    assert.deepStrictEqual(await r.listThingPrincipalsV2({ thingName: 'a' }), {
      thingPrincipalObjects: [
        { principal: cert(1), thingPrincipalType: 'NON_EXCLUSIVE_THING' },
        { principal: cert(2), thingPrincipalType: 'NON_EXCLUSIVE_THING' },
      ],
    });
    assert.deepStrictEqual(await r.listPrincipalThingsV2({ principal: cert(1) }), {
      principalThingObjects: [
        { thingName: 'b', thingPrincipalType: 'NON_EXCLUSIVE_THING' },
        { thingName: 'a', thingPrincipalType: 'NON_EXCLUSIVE_THING' },
      ],
    });
    assert.deepStrictEqual(await r.listPrincipalThingsV2({ principal: cert(1), thingPrincipalType: 'EXCLUSIVE_THING' }), { principalThingObjects: [] });
    const p1 = await r.listPrincipalThings({ principal: cert(1), maxResults: 1 });
    assert.deepStrictEqual(p1.things, ['b']);
    const p2 = await r.listPrincipalThings({ principal: cert(1), maxResults: 1, nextToken: p1.nextToken! });
    assert.deepStrictEqual(p2, { things: ['a'] });
    const q1 = await r.listThingPrincipals({ thingName: 'a', maxResults: 1 });
    assert.deepStrictEqual((await r.listThingPrincipals({ thingName: 'a', maxResults: 1, nextToken: q1.nextToken! })).principals, [cert(2)]);
    await ire(r.listThingPrincipalsV2({ thingName: 'a', nextToken: q1.nextToken! }), /nextToken/);
    await ire(r.listThingPrincipals({ thingName: 'a', nextToken: Buffer.from('{"s":"ListThingPrincipals","p":"x"}').toString('base64') }), /nextToken/);

    await rnf(r.listThingPrincipals({ thingName: 'ghost' }));
    assert.deepStrictEqual(await r.listThingPrincipals({ thingName: 'c' }), { principals: [] });
    assert.deepStrictEqual(await r.listPrincipalThings({ principal: cert(9) }), { things: [] });
    await rnf(r.attachThingPrincipal({ thingName: 'ghost', principal: cert(1) }));
    await rnf(r.detachThingPrincipal({ thingName: 'ghost', principal: cert(1) }));

    events = [];
    await r.detachThingPrincipal({ thingName: 'a', principal: cert(1) });
    await r.detachThingPrincipal({ thingName: 'a', principal: cert(1) });
    assert.deepStrictEqual(events.map((e) => e.type), ['principal-detached']);
    assert.deepStrictEqual(await r.listPrincipalThings({ principal: cert(1) }), { things: ['b'] });
  });

  it('principals: certificate ARNs of this account (id lower-cased), Cognito ids, access key ids; garbage is InvalidRequest', async () => {
    const r = service();
    await r.createThing({ thingName: 't' });
    const upper = `arn:aws:iot:us-east-1:000000000000:cert/${'AB'.repeat(32)}`;
    await r.attachThingPrincipal({ thingName: 't', principal: upper });
    await r.attachThingPrincipal({ thingName: 't', principal: 'us-east-1:0b9a1d0e-5c5b-4cb2-9d1a-6a9f3c1e7d11' });
    await r.attachThingPrincipal({ thingName: 't', principal: 'AKIAIOSFODNN7EXAMPLE' });
    assert.deepStrictEqual((await r.listThingPrincipals({ thingName: 't' })).principals, [
      upper.toLowerCase().replace('arn:aws:iot:us-east-1:000000000000:cert/', 'arn:aws:iot:us-east-1:000000000000:cert/'),
      'us-east-1:0b9a1d0e-5c5b-4cb2-9d1a-6a9f3c1e7d11',
      'AKIAIOSFODNN7EXAMPLE',
    ]);
    for (const principal of [
      '',
      'nonsense',
      'arn:aws:iot:us-east-1:000000000000:cert/abc',
      'arn:aws:iot:us-east-1:000000000000:thing/t',
      'arn:aws:iot:eu-west-1:000000000000:cert/' + 'a'.repeat(64),
      'arn:aws:iot:us-east-1:123456789012:cert/' + 'a'.repeat(64),
      'arn:aws:iot:us-east-1:000000000000:cert/' + 'g'.repeat(64),
    ]) {
      await ire(r.attachThingPrincipal({ thingName: 't', principal }), undefined);
      await ire(r.listPrincipalThings({ principal }));
    }
    await ire(r.attachThingPrincipal({ thingName: 't', principal: cert(1), thingPrincipalType: 'SOMETIMES' as never }), /thingPrincipalType/);
    await ire(r.listThingPrincipalsV2({ thingName: 't', thingPrincipalType: 'X' as never }), /thingPrincipalType/);
  });

  it('exclusive attachments: the principal may have no other thing; a non-exclusive attach beside an exclusive one is refused', async () => {
    const r = service();
    for (const t of ['a', 'b', 'c']) await r.createThing({ thingName: t });
    await r.attachThingPrincipal({ thingName: 'a', principal: cert(1), thingPrincipalType: 'EXCLUSIVE_THING' });
    await ire(r.attachThingPrincipal({ thingName: 'b', principal: cert(1) }), /attached exclusively to thing a/);
    await ire(r.attachThingPrincipal({ thingName: 'b', principal: cert(1), thingPrincipalType: 'EXCLUSIVE_THING' }), /already attached to thing a/);
    // Attaching the same pair again, exclusive, is a no-op; other principals are free.
    await r.attachThingPrincipal({ thingName: 'a', principal: cert(1), thingPrincipalType: 'EXCLUSIVE_THING' });
    await r.attachThingPrincipal({ thingName: 'a', principal: cert(2) });
    await r.attachThingPrincipal({ thingName: 'b', principal: cert(2) });
    await ire(r.attachThingPrincipal({ thingName: 'c', principal: cert(2), thingPrincipalType: 'EXCLUSIVE_THING' }), /already attached to thing a/);
    // Turning a non-exclusive attachment into an exclusive one works when it is the only one.
    await r.attachThingPrincipal({ thingName: 'c', principal: cert(3) });
    await r.attachThingPrincipal({ thingName: 'c', principal: cert(3), thingPrincipalType: 'EXCLUSIVE_THING' });
    assert.deepStrictEqual(await r.listPrincipalThingsV2({ principal: cert(3) }), { principalThingObjects: [{ thingName: 'c', thingPrincipalType: 'EXCLUSIVE_THING' }] });
    // After the exclusive one is detached, the principal is free again.
    await r.detachThingPrincipal({ thingName: 'a', principal: cert(1) });
    await r.attachThingPrincipal({ thingName: 'b', principal: cert(1) });
    await r.attachThingPrincipal({ thingName: 'c', principal: cert(1) });
  });

  it('concurrent exclusive attaches of one principal to two things: exactly one wins', async () => {
    const r = service();
    await r.createThing({ thingName: 'a' });
    await r.createThing({ thingName: 'b' });
    const results = await Promise.allSettled(
      ['a', 'b'].map((thingName) => r.attachThingPrincipal({ thingName, principal: cert(1), thingPrincipalType: 'EXCLUSIVE_THING' })),
    );
    assert.deepStrictEqual(results.map((x) => x.status).sort(), ['fulfilled', 'rejected']);
    assert.equal((await r.listPrincipalThings({ principal: cert(1) })).things.length, 1);
  });

  it('principalExists: an unknown principal is ResourceNotFound for attach, detach and ListPrincipalThings', async () => {
    const known = new Set([cert(1)]);
    const asked: string[] = [];
    const r = service({
      principalExists: async (arn) => {
        asked.push(arn);
        return known.has(arn);
      },
    });
    await r.createThing({ thingName: 't' });
    await r.attachThingPrincipal({ thingName: 't', principal: cert(1) });
    await rnf(r.attachThingPrincipal({ thingName: 't', principal: cert(2) }), /principal/);
    await rnf(r.detachThingPrincipal({ thingName: 't', principal: cert(2) }));
    await rnf(r.listPrincipalThings({ principal: cert(2) }));
    assert.deepStrictEqual((await r.listPrincipalThings({ principal: cert(1) })).things, ['t']);
    assert.ok(asked.includes(cert(2)));
  });
});

describe('thingForConnection', () => {
  it('non-exclusive: the thing named like the client id and attached to the principal; otherwise none', async () => {
    const r = service();
    await r.createThingType({ thingTypeName: 'lamp' });
    await r.createThing({ thingName: 'dev-1', thingTypeName: 'lamp', attributePayload: { attributes: { room: 'hall' } } });
    await r.createThing({ thingName: 'dev-2' });
    await r.attachThingPrincipal({ thingName: 'dev-1', principal: cert(1) });
    await r.attachThingPrincipal({ thingName: 'dev-2', principal: cert(1) });
    assert.deepStrictEqual(await r.thingForConnection(cert(1), 'dev-1'), { thingName: 'dev-1', thingTypeName: 'lamp', attributes: { room: 'hall' }, exclusive: false });
    assert.deepStrictEqual(await r.thingForConnection(cert(1), 'dev-2'), { thingName: 'dev-2', attributes: {}, exclusive: false });
    assert.equal(await r.thingForConnection(cert(1), 'other-client'), undefined);
    assert.equal(await r.thingForConnection(cert(1), 'DEV-1'), undefined, 'client ids match exactly');
    assert.equal(await r.thingForConnection(cert(2), 'dev-1'), undefined, 'not attached to this principal');
    assert.equal(await r.thingForConnection(cert(1), ''), undefined);
  });

  it('exclusive: the principal’s one thing, whatever the client id', async () => {
    const r = service();
    await r.createThing({ thingName: 'dev-1' });
    await r.attachThingPrincipal({ thingName: 'dev-1', principal: cert(1), thingPrincipalType: 'EXCLUSIVE_THING' });
    assert.deepStrictEqual(await r.thingForConnection(cert(1), 'anything'), { thingName: 'dev-1', attributes: {}, exclusive: true });
    assert.deepStrictEqual(await r.thingForConnection(cert(1), 'dev-1'), { thingName: 'dev-1', attributes: {}, exclusive: true });
  });

  it('is cached (no store reads on a hit, misses included) and follows every change made through the service', async () => {
    const r = service();
    const reads = { count: 0 };
    for (const method of ['getThing', 'getAttachment', 'listPrincipalThings'] as const) {
      const original = store.registry[method].bind(store.registry) as (...args: unknown[]) => Promise<unknown>;
      (store.registry as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        reads.count++;
        return original(...args);
      };
    }
    await r.createThing({ thingName: 'dev-1', attributePayload: { attributes: { v: '1' } } });
    await r.attachThingPrincipal({ thingName: 'dev-1', principal: cert(1) });
    const first = await r.thingForConnection(cert(1), 'dev-1');
    assert.deepStrictEqual(first?.attributes, { v: '1' });
    assert.equal(await r.thingForConnection(cert(1), 'dev-2'), undefined);
    const before = reads.count;
    assert.equal(await r.thingForConnection(cert(1), 'dev-1'), first);
    assert.equal(await r.thingForConnection(cert(1), 'dev-2'), undefined);
    assert.equal(reads.count, before, 'hits and cached misses read nothing');
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first?.attributes));

    // Update the thing → new attributes.
    await r.updateThing({ thingName: 'dev-1', attributePayload: { attributes: { v: '2' } } });
    assert.deepStrictEqual((await r.thingForConnection(cert(1), 'dev-1'))?.attributes, { v: '2' });
    // A cached miss turns into a hit when the thing is created and attached.
    await r.createThing({ thingName: 'dev-2' });
    await r.attachThingPrincipal({ thingName: 'dev-2', principal: cert(1) });
    assert.equal((await r.thingForConnection(cert(1), 'dev-2'))?.thingName, 'dev-2');
    // Detach → gone.
    await r.detachThingPrincipal({ thingName: 'dev-2', principal: cert(1) });
    assert.equal(await r.thingForConnection(cert(1), 'dev-2'), undefined);
    // Exclusive attach elsewhere changes the binding of every client id of that principal.
    await r.detachThingPrincipal({ thingName: 'dev-1', principal: cert(1) });
    assert.equal(await r.thingForConnection(cert(1), 'dev-1'), undefined);
    await r.attachThingPrincipal({ thingName: 'dev-2', principal: cert(1), thingPrincipalType: 'EXCLUSIVE_THING' });
    assert.deepStrictEqual(await r.thingForConnection(cert(1), 'dev-1'), { thingName: 'dev-2', attributes: {}, exclusive: true });
    // The exclusive thing's update reaches entries keyed by another client id.
    await r.updateThing({ thingName: 'dev-2', attributePayload: { attributes: { x: 'y' } } });
    assert.deepStrictEqual((await r.thingForConnection(cert(1), 'dev-1'))?.attributes, { x: 'y' });
    // Delete (after detaching) → gone.
    await r.detachThingPrincipal({ thingName: 'dev-2', principal: cert(1) });
    await r.deleteThing({ thingName: 'dev-2' });
    assert.equal(await r.thingForConnection(cert(1), 'dev-1'), undefined);
  });

  it('a load that raced with a change does not cache what it read before the change', async () => {
    const r = service();
    await r.createThing({ thingName: 'dev-1' });
    await r.attachThingPrincipal({ thingName: 'dev-1', principal: cert(1) });
    // Hold the load's thing read until the update has committed.
    const original = store.registry.getThing.bind(store.registry);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let gated = true;
    store.registry.getThing = async (name: string) => {
      const row = await original(name);
      if (gated) {
        gated = false;
        await gate;
      }
      return row;
    };
    const racing = r.thingForConnection(cert(1), 'dev-1');
    await new Promise((resolve) => setImmediate(resolve));
    store.registry.getThing = original;
    await r.updateThing({ thingName: 'dev-1', attributePayload: { attributes: { v: 'new' } } });
    release();
    assert.deepStrictEqual((await racing)?.attributes, {}, 'the racing load answers what it read');
    assert.deepStrictEqual((await r.thingForConnection(cert(1), 'dev-1'))?.attributes, { v: 'new' }, 'but did not cache it');
  });

  it('the cache is bounded', async () => {
    const r = service({ connectionCacheSize: 2 });
    await r.createThing({ thingName: 'd' });
    await r.attachThingPrincipal({ thingName: 'd', principal: cert(1) });
    let reads = 0;
    const original = store.registry.getAttachment.bind(store.registry);
    store.registry.getAttachment = (thingName, principal) => {
      reads++;
      return original(thingName, principal);
    };
    for (const client of ['a', 'b', 'c']) await r.thingForConnection(cert(1), client);
    assert.equal(reads, 3);
    await r.thingForConnection(cert(1), 'c');
    assert.equal(reads, 3);
    await r.thingForConnection(cert(1), 'a');
    assert.equal(reads, 4, 'the oldest entry was dropped');
  });
});

describe('onChange', () => {
  it('listeners get events in commit order, can unsubscribe, and a throwing one neither breaks the write nor the others', async () => {
    const warnings: unknown[] = [];
    const r = service({ logger: { warn: (obj) => warnings.push(obj) } });
    const seen: string[] = [];
    r.onChange(() => {
      throw new Error('boom');
    });
    const off = r.onChange((e) => seen.push(`${e.type}:${'thingName' in e ? e.thingName : ''}`));
    await r.createThing({ thingName: 't' });
    await r.attachThingPrincipal({ thingName: 't', principal: cert(1) });
    off();
    await r.detachThingPrincipal({ thingName: 't', principal: cert(1) });
    assert.deepStrictEqual(seen, ['thing-created:t', 'principal-attached:t']);
    assert.equal(warnings.length, 3);
    assert.deepStrictEqual(events.map((e) => e.type), ['thing-created', 'principal-attached', 'principal-detached']);
    const attached = events[1];
    assert.deepStrictEqual(attached, { type: 'principal-attached', thingName: 't', principal: cert(1), thingPrincipalType: 'NON_EXCLUSIVE_THING', timestamp: new Date(now) });
  });

  it('nothing is emitted for a failed or no-op operation', async () => {
    const r = service();
    await r.createThing({ thingName: 't' });
    events = [];
    await r.createThing({ thingName: 't' });
    await assert.rejects(r.updateThing({ thingName: 't', expectedVersion: 9 }));
    await r.deleteThing({ thingName: 'ghost' });
    await r.detachThingPrincipal({ thingName: 't', principal: cert(1) });
    assert.deepStrictEqual(events, []);
  });
});
