/**
 * The TagStore contract: what every backend's `store.tags` must do, as node:test suites. A backend's
 * test calls `describeTagStore(factory)`; each test gets a fresh store.
 *
 * Beyond interfaces.ts: every taggable resource type is resolved in its own store; put replaces a
 * key's value; resources of different types with the same id have separate tags; the listing is by
 * key, binary, pages strictly after the last key without repeats or gaps; a tag is never put on a
 * missing resource; deleting a resource through its own store deletes its tags (and nobody
 * else's), so one created again starts untagged; check ops fail the batch with ConditionFailed and
 * its opIndex, and nothing of a failed batch remains; calls after close() reject with Closed; tags
 * survive a reopen.
 */
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import type { Store } from '../interfaces.js';
import type { TaggableResourceType, TaggedResource, TagOp, TagRecord } from '../records.js';
import { isStoreError } from '../errors.js';
import { skipOption, withStore, type StoreContractFactory } from './factory.js';
import { thingRecord, thingTypeRecord } from './registry-store.contract.js';
import { caCertificateRecord, certificateIdOf, certificateRecord } from './certificate-store.contract.js';
import { policyRecord, policyVersionRecord } from './policy-store.contract.js';
import { ruleRecord } from './rule-store.contract.js';

const NO_REOPEN = 'the factory has no reopen(): this backend is not durable';

/** One resource of each type, and how to create and delete it through its own store. */
const kinds: ReadonlyArray<{
  readonly resource: TaggedResource;
  create(store: Store): Promise<void>;
  delete(store: Store): Promise<void>;
}> = [
  {
    resource: { resourceType: 'thing', resourceId: 'sensor-1' },
    create: (s) => s.registry.apply([{ op: 'putThing', thing: thingRecord('sensor-1') }]),
    delete: (s) => s.registry.apply([{ op: 'deleteThing', thingName: 'sensor-1' }]),
  },
  {
    resource: { resourceType: 'thingtype', resourceId: 'sensor-type' },
    create: (s) => s.registry.apply([{ op: 'putThingType', thingType: thingTypeRecord('sensor-type') }]),
    delete: (s) => s.registry.apply([{ op: 'deleteThingType', thingTypeName: 'sensor-type' }]),
  },
  {
    resource: { resourceType: 'policy', resourceId: 'p1' },
    create: (s) => s.policies.apply([{ op: 'putPolicy', policy: policyRecord('p1') }, { op: 'putPolicyVersion', version: policyVersionRecord('p1', '1') }]),
    delete: (s) => s.policies.apply([{ op: 'deletePolicy', policyName: 'p1' }]),
  },
  {
    resource: { resourceType: 'rule', resourceId: 'r1' },
    create: (s) => s.rules.apply([{ op: 'putRule', rule: ruleRecord('r1') }]),
    delete: (s) => s.rules.apply([{ op: 'deleteRule', ruleName: 'r1' }]),
  },
  {
    resource: { resourceType: 'cert', resourceId: certificateIdOf(1) },
    create: (s) => s.certificates.apply([{ op: 'putCertificate', certificate: certificateRecord(1) }]),
    delete: (s) => s.certificates.apply([{ op: 'deleteCertificate', certificateId: certificateIdOf(1) }]),
  },
  {
    resource: { resourceType: 'cacert', resourceId: certificateIdOf(2) },
    create: (s) => s.certificates.apply([{ op: 'putCaCertificate', caCertificate: caCertificateRecord(2) }]),
    delete: (s) => s.certificates.apply([{ op: 'deleteCaCertificate', certificateId: certificateIdOf(2) }]),
  },
];

const put = (resource: TaggedResource, key: string, value = ''): TagOp => ({ op: 'putTag', resource, key, value });
const all = (store: Store, resource: TaggedResource): Promise<TagRecord[]> => store.tags.listTags(resource, { limit: 1000 });

export function describeTagStore(factory: StoreContractFactory): void {
  describe(`TagStore contract: ${factory.name}`, { skip: skipOption(factory) }, () => {
    it('every taggable resource type is found in its own store, and its tags come back by key', () =>
      withStore(factory, async ({ store }) => {
        for (const kind of kinds) {
          assert.equal(await store.tags.resourceExists(kind.resource), false, kind.resource.resourceType);
          await kind.create(store);
          assert.equal(await store.tags.resourceExists(kind.resource), true, kind.resource.resourceType);
          await store.tags.apply([put(kind.resource, 'b', '2'), put(kind.resource, 'a'), put(kind.resource, 'B', kind.resource.resourceType)]);
        }
        for (const kind of kinds) {
          assert.deepStrictEqual(await all(store, kind.resource), [
            { key: 'B', value: kind.resource.resourceType },
            { key: 'a', value: '' },
            { key: 'b', value: '2' },
          ]);
        }
      }));

    it('put replaces a value; delete removes one key, and nothing when absent; ids are per type', () =>
      withStore(factory, async ({ store }) => {
        const thing: TaggedResource = { resourceType: 'thing', resourceId: 'same' };
        const rule: TaggedResource = { resourceType: 'rule', resourceId: 'same' };
        await store.registry.apply([{ op: 'putThing', thing: thingRecord('same') }]);
        await store.rules.apply([{ op: 'putRule', rule: ruleRecord('same') }]);
        await store.tags.apply([put(thing, 'env', 'dev'), put(thing, 'team', 'a'), put(rule, 'env', 'prod')]);
        await store.tags.apply([put(thing, 'env', 'test'), { op: 'deleteTag', resource: thing, key: 'team' }, { op: 'deleteTag', resource: thing, key: 'none' }]);
        assert.deepStrictEqual(await all(store, thing), [{ key: 'env', value: 'test' }]);
        assert.deepStrictEqual(await all(store, rule), [{ key: 'env', value: 'prod' }]);
        assert.deepStrictEqual(await all(store, { resourceType: 'thing', resourceId: 'SAME' }), [], 'ids are case-sensitive');
        assert.deepStrictEqual(await all(store, { resourceType: 'thing', resourceId: 'ghost' }), []);
      }));

    it('lists by key (binary), paging strictly after the last key', () =>
      withStore(factory, async ({ store }) => {
        const thing: TaggedResource = { resourceType: 'thing', resourceId: 't' };
        await store.registry.apply([{ op: 'putThing', thing: thingRecord('t') }]);
        const keys = ['b', 'A', 'a', 'c:1', 'B', 'c', 'Z9', 'é'];
        await store.tags.apply(keys.map((k) => put(thing, k, k.toUpperCase())));
        const sorted = [...keys].sort();
        assert.deepStrictEqual((await all(store, thing)).map((t) => t.key), sorted);
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.tags.listTags(thing, { limit: 3, ...(after === undefined ? {} : { afterKey: after }) });
          if (page.length === 0) break;
          seen.push(...page.map((t) => t.key));
          after = page[page.length - 1]?.key;
        }
        assert.deepStrictEqual(seen, sorted);
      }));

    it('a tag on a missing resource fails the batch and leaves nothing', () =>
      withStore(factory, async ({ store }) => {
        const thing: TaggedResource = { resourceType: 'thing', resourceId: 't' };
        await store.registry.apply([{ op: 'putThing', thing: thingRecord('t') }]);
        for (const type of ['thing', 'thingtype', 'policy', 'rule', 'cert', 'cacert'] as const satisfies readonly TaggableResourceType[]) {
          await assert.rejects(
            store.tags.apply([put(thing, 'k', 'v'), put({ resourceType: type, resourceId: 'ghost' }, 'k', 'v')]),
            (err: unknown) => isStoreError(err, 'ApplyFailed') && err.opIndex === 1,
            type,
          );
        }
        assert.deepStrictEqual(await all(store, thing), []);
      }));

    it('check ops that do not hold fail the batch with their opIndex and leave nothing', () =>
      withStore(factory, async ({ store }) => {
        const thing: TaggedResource = { resourceType: 'thing', resourceId: 't' };
        const ghost: TaggedResource = { resourceType: 'policy', resourceId: 'ghost' };
        await store.registry.apply([{ op: 'putThing', thing: thingRecord('t') }]);
        await store.tags.apply([{ op: 'checkResource', resource: thing }, put(thing, 'a'), put(thing, 'b'), { op: 'checkTagCount', resource: thing, max: 2 }]);
        await assert.rejects(
          store.tags.apply([{ op: 'deleteTag', resource: thing, key: 'a' }, { op: 'checkResource', resource: ghost }]),
          (err: unknown) => isStoreError(err, 'ConditionFailed') && err.opIndex === 1,
        );
        // Replacing a value does not count twice; a third key does.
        await store.tags.apply([put(thing, 'a', 'x'), { op: 'checkTagCount', resource: thing, max: 2 }]);
        await assert.rejects(
          store.tags.apply([put(thing, 'a', 'y'), put(thing, 'c'), { op: 'checkTagCount', resource: thing, max: 2 }]),
          (err: unknown) => isStoreError(err, 'ConditionFailed') && err.opIndex === 2,
        );
        assert.deepStrictEqual(await all(store, thing), [{ key: 'a', value: 'x' }, { key: 'b', value: '' }]);
        await store.tags.apply([{ op: 'checkTagCount', resource: ghost, max: 0 }]);
      }));

    it("deleting a resource through its own store deletes its tags, and nobody else's", () =>
      withStore(factory, async ({ store }) => {
        for (const kind of kinds) {
          await kind.create(store);
          await store.tags.apply([put(kind.resource, 'k', 'v')]);
        }
        for (const [i, kind] of kinds.entries()) {
          await kind.delete(store);
          assert.equal(await store.tags.resourceExists(kind.resource), false);
          assert.deepStrictEqual(await all(store, kind.resource), [], kind.resource.resourceType);
          for (const other of kinds.slice(i + 1)) assert.equal((await all(store, other.resource)).length, 1, `${other.resource.resourceType} kept its tag`);
          await kind.create(store);
          assert.deepStrictEqual(await all(store, kind.resource), [], `a new ${kind.resource.resourceType} of the same id starts untagged`);
        }
      }));

    it('a failed resource delete keeps the tags', () =>
      withStore(factory, async ({ store }) => {
        const type: TaggedResource = { resourceType: 'thingtype', resourceId: 'used' };
        await store.registry.apply([{ op: 'putThingType', thingType: thingTypeRecord('used') }, { op: 'putThing', thing: thingRecord('t', { thingTypeName: 'used' }) }]);
        await store.tags.apply([put(type, 'k', 'v')]);
        await assert.rejects(store.registry.apply([{ op: 'deleteThingType', thingTypeName: 'used' }]), (err: unknown) => isStoreError(err));
        assert.deepStrictEqual(await all(store, type), [{ key: 'k', value: 'v' }]);
      }));

    it('every call after close() rejects with StoreError Closed', () =>
      withStore(factory, async ({ store }) => {
        const thing: TaggedResource = { resourceType: 'thing', resourceId: 't' };
        await store.close();
        const closed = (err: unknown): boolean => isStoreError(err, 'Closed');
        await assert.rejects(store.tags.resourceExists(thing), closed);
        await assert.rejects(store.tags.listTags(thing, { limit: 1 }), closed);
        await assert.rejects(store.tags.apply([]), closed);
        await assert.rejects(store.tags.apply([put(thing, 'k')]), closed);
      }));

    it('tags survive a reopen', { skip: factory.reopen === undefined ? NO_REOPEN : false }, () =>
      withStore(factory, async (ctx) => {
        const rule: TaggedResource = { resourceType: 'rule', resourceId: 'durable' };
        await ctx.store.rules.apply([{ op: 'putRule', rule: ruleRecord('durable') }]);
        await ctx.store.tags.apply([put(rule, 'k', 'v')]);
        const reopened = await ctx.reopen();
        assert.deepStrictEqual(await all(reopened, rule), [{ key: 'k', value: 'v' }]);
      }));
  });
}
