/**
 * The PolicyStore contract: what every backend's `store.policies` must do, as node:test suites. A
 * backend's test calls `describePolicyStore(factory)`; each test gets a fresh store.
 *
 * Beyond interfaces.ts: records come back exactly as put; put replaces; version ids order
 * numerically ("10" after "9"); deleting a policy takes its versions and is refused while a target
 * remains; attaching twice keeps the first attachment; every listing pages strictly after the last
 * item without repeats or gaps; the effective listing joins each attached policy's default version;
 * check ops fail the batch with ConditionFailed and its opIndex, and nothing of a failed batch remains;
 * everything survives a reopen.
 */
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import type { PolicyStore, Store } from '../interfaces.js';
import type { PolicyRecord, PolicyVersionRecord } from '../records.js';
import { isStoreError } from '../errors.js';
import { skipOption, withStore, type StoreContractFactory } from './factory.js';

const NO_REOPEN = 'the factory has no reopen(): this backend is not durable';

export function policyRecord(policyName: string, overrides: Partial<PolicyRecord> = {}): PolicyRecord {
  return {
    policyName,
    defaultVersionId: '1',
    nextVersionId: 2,
    creationDateMs: 1_700_000_000_000,
    lastModifiedDateMs: 1_700_000_000_000,
    generationId: `gen-${policyName}`,
    ...overrides,
  };
}

export function policyVersionRecord(policyName: string, versionId: string, overrides: Partial<PolicyVersionRecord> = {}): PolicyVersionRecord {
  return {
    policyName,
    versionId,
    document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*","Sid":"${policyName}-${versionId}"}]}`,
    creationDateMs: 1_700_000_000_000 + Number(versionId),
    ...overrides,
  };
}

/** A policy with version 1 as its default. */
async function createPolicy(p: PolicyStore, policyName: string): Promise<void> {
  await p.apply([
    { op: 'putPolicy', policy: policyRecord(policyName) },
    { op: 'putPolicyVersion', version: policyVersionRecord(policyName, '1') },
  ]);
}

async function snapshot(store: Store, names: readonly string[], targets: readonly string[]): Promise<unknown> {
  const p = store.policies;
  return {
    policies: await p.listPolicies({ limit: 1000, order: 'asc' }),
    versions: await Promise.all(names.map((n) => p.listPolicyVersions(n))),
    targets: await Promise.all(names.map((n) => p.listTargetsForPolicy(n, { limit: 1000 }))),
    byTarget: await Promise.all(targets.map((t) => p.listPoliciesForTarget(t, { limit: 1000 }))),
  };
}

async function rejectsWith(call: Promise<unknown>, code: 'ConditionFailed' | 'ApplyFailed', opIndex?: number): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(isStoreError(err, code), `expected StoreError ${code}, got ${String(err)}`);
    if (opIndex !== undefined) assert.equal(err.opIndex, opIndex);
    return true;
  });
}

export function describePolicyStore(factory: StoreContractFactory): void {
  describe(`PolicyStore contract: ${factory.name}`, { skip: skipOption(factory) }, () => {
    it('a policy and its versions come back exactly as put; put replaces', () =>
      withStore(factory, async ({ store }) => {
        const p = store.policies;
        const policy = policyRecord('p1', { defaultVersionId: '2', nextVersionId: 3 });
        const v1 = policyVersionRecord('p1', '1');
        const v2 = policyVersionRecord('p1', '2', { document: ' { "spaces" : "kept as given" } ' });
        await p.apply([{ op: 'putPolicy', policy }, { op: 'putPolicyVersion', version: v1 }, { op: 'putPolicyVersion', version: v2 }]);
        assert.deepStrictEqual(await p.getPolicy('p1'), policy);
        assert.deepStrictEqual(await p.getPolicyVersion('p1', '1'), v1);
        assert.deepStrictEqual(await p.getPolicyVersion('p1', '2'), v2);
        assert.equal(await p.getPolicyVersion('p1', '3'), undefined);
        assert.equal(await p.getPolicyVersion('p1', 'x'), undefined, 'a non-numeric id matches nothing');
        assert.equal(await p.getPolicy('P1'), undefined, 'names are case-sensitive');
        const replaced = policyRecord('p1', { defaultVersionId: '1', nextVersionId: 3, lastModifiedDateMs: 5, generationId: 'g2' });
        await p.apply([{ op: 'putPolicy', policy: replaced }]);
        assert.deepStrictEqual(await p.getPolicy('p1'), replaced);
        assert.equal((await p.listPolicyVersions('p1')).length, 2, 'replacing the policy row keeps its versions');
      }));

    it('versions list in numeric order; deleting one leaves the others', () =>
      withStore(factory, async ({ store }) => {
        const p = store.policies;
        await p.apply([
          { op: 'putPolicy', policy: policyRecord('p', { defaultVersionId: '9', nextVersionId: 11 }) },
          ...['10', '9', '2'].map((v) => ({ op: 'putPolicyVersion' as const, version: policyVersionRecord('p', v) })),
        ]);
        assert.deepStrictEqual((await p.listPolicyVersions('p')).map((v) => v.versionId), ['2', '9', '10']);
        await p.apply([{ op: 'deletePolicyVersion', policyName: 'p', versionId: '9' }, { op: 'deletePolicyVersion', policyName: 'p', versionId: '77' }]);
        assert.deepStrictEqual((await p.listPolicyVersions('p')).map((v) => v.versionId), ['2', '10']);
        assert.deepStrictEqual(await p.listPolicyVersions('nope'), []);
      }));

    it('lists policies by name both ways, paging strictly after the last name', () =>
      withStore(factory, async ({ store }) => {
        const p = store.policies;
        const names = ['b', 'A', 'a', 'c-1', 'c.2', 'Z'];
        for (const n of names) await createPolicy(p, n);
        const sorted = [...names].sort();
        assert.deepStrictEqual((await p.listPolicies({ limit: 100, order: 'asc' })).map((x) => x.policyName), sorted);
        assert.deepStrictEqual((await p.listPolicies({ limit: 100, order: 'desc' })).map((x) => x.policyName), [...sorted].reverse());
        for (const order of ['asc', 'desc'] as const) {
          for (const size of [1, 2, 5]) {
            const seen: string[] = [];
            let after: string | undefined;
            for (;;) {
              const page = await p.listPolicies({ limit: size, order, ...(after === undefined ? {} : { afterPolicyName: after }) });
              seen.push(...page.map((x) => x.policyName));
              if (page.length < size) break;
              after = page[page.length - 1]!.policyName;
            }
            assert.deepStrictEqual(seen, order === 'asc' ? sorted : [...sorted].reverse(), `${order}, page size ${size}`);
          }
        }
      }));

    it('attaches and detaches; attaching twice keeps the first attachment; targets page by seq, policies of a target by name', () =>
      withStore(factory, async ({ store }) => {
        const p = store.policies;
        for (const n of ['p', 'q', 'r']) await createPolicy(p, n);
        await p.apply([
          { op: 'attachPolicy', policyName: 'p', target: 't2', attachedAtMs: 1 },
          { op: 'attachPolicy', policyName: 'p', target: 't1', attachedAtMs: 2 },
          { op: 'attachPolicy', policyName: 'p', target: 't3', attachedAtMs: 3 },
          { op: 'attachPolicy', policyName: 'r', target: 't1', attachedAtMs: 4 },
          { op: 'attachPolicy', policyName: 'q', target: 't1', attachedAtMs: 5 },
        ]);
        await p.apply([{ op: 'attachPolicy', policyName: 'p', target: 't2', attachedAtMs: 99 }]);
        const targets = await p.listTargetsForPolicy('p', { limit: 10 });
        assert.deepStrictEqual(targets.map((t) => [t.target, t.attachedAtMs]), [['t2', 1], ['t1', 2], ['t3', 3]]);
        assert.ok(targets[0]!.seq < targets[1]!.seq && targets[1]!.seq < targets[2]!.seq);
        const page = await p.listTargetsForPolicy('p', { limit: 1, afterSeq: targets[0]!.seq });
        assert.deepStrictEqual(page.map((t) => t.target), ['t1']);
        assert.deepStrictEqual((await p.listPoliciesForTarget('t1', { limit: 10 })).map((t) => t.policyName), ['p', 'q', 'r']);
        assert.deepStrictEqual((await p.listPoliciesForTarget('t1', { limit: 10, afterPolicyName: 'p' })).map((t) => t.policyName), ['q', 'r']);
        assert.deepStrictEqual((await p.listPoliciesForTarget('t1', { limit: 1 })).map((t) => t.policyName), ['p']);

        await p.apply([{ op: 'detachPolicy', policyName: 'p', target: 't1' }, { op: 'detachPolicy', policyName: 'p', target: 'never' }]);
        assert.deepStrictEqual((await p.listTargetsForPolicy('p', { limit: 10 })).map((t) => t.target), ['t2', 't3']);
        await p.apply([{ op: 'attachPolicy', policyName: 'p', target: 't1', attachedAtMs: 7 }]);
        const again = await p.listTargetsForPolicy('p', { limit: 10 });
        assert.deepStrictEqual(again.map((t) => t.target), ['t2', 't3', 't1'], 'a re-attachment gets a new, higher seq');
        await p.apply([{ op: 'detachTarget', target: 't1' }]);
        assert.deepStrictEqual(await p.listPoliciesForTarget('t1', { limit: 10 }), []);
        assert.deepStrictEqual((await p.listTargetsForPolicy('p', { limit: 10 })).map((t) => t.target), ['t2', 't3']);
      }));

    it("the effective listing gives each attached policy's default version", () =>
      withStore(factory, async ({ store }) => {
        const p = store.policies;
        await createPolicy(p, 'b');
        await p.apply([
          { op: 'putPolicy', policy: policyRecord('a', { defaultVersionId: '2', nextVersionId: 3 }) },
          { op: 'putPolicyVersion', version: policyVersionRecord('a', '1') },
          { op: 'putPolicyVersion', version: policyVersionRecord('a', '2', { document: 'two' }) },
          { op: 'attachPolicy', policyName: 'b', target: 'cert', attachedAtMs: 1 },
          { op: 'attachPolicy', policyName: 'a', target: 'cert', attachedAtMs: 2 },
          { op: 'attachPolicy', policyName: 'a', target: 'other', attachedAtMs: 3 },
        ]);
        const effective = await p.listEffectivePolicies('cert');
        assert.deepStrictEqual(effective, [
          { policyName: 'a', versionId: '2', document: 'two' },
          { policyName: 'b', versionId: '1', document: policyVersionRecord('b', '1').document },
        ]);
        assert.deepStrictEqual(await p.listEffectivePolicies('nobody'), []);
      }));

    it('deleting a policy takes its versions; it is refused while a target remains; versions and attachments need their policy', () =>
      withStore(factory, async ({ store }) => {
        const p = store.policies;
        await createPolicy(p, 'p');
        await p.apply([{ op: 'attachPolicy', policyName: 'p', target: 't', attachedAtMs: 1 }]);
        const before = await snapshot(store, ['p'], ['t']);
        await rejectsWith(p.apply([{ op: 'deletePolicy', policyName: 'p' }]), 'ApplyFailed', 0);
        assert.deepStrictEqual(await snapshot(store, ['p'], ['t']), before);
        await p.apply([{ op: 'detachPolicy', policyName: 'p', target: 't' }, { op: 'deletePolicy', policyName: 'p' }]);
        assert.equal(await p.getPolicy('p'), undefined);
        assert.deepStrictEqual(await p.listPolicyVersions('p'), []);
        await p.apply([{ op: 'deletePolicy', policyName: 'p' }]);
        await rejectsWith(p.apply([{ op: 'putPolicyVersion', version: policyVersionRecord('ghost', '1') }]), 'ApplyFailed', 0);
        await rejectsWith(p.apply([{ op: 'attachPolicy', policyName: 'ghost', target: 't', attachedAtMs: 1 }]), 'ApplyFailed', 0);
      }));

    it('check ops fail the whole batch with ConditionFailed and its opIndex', () =>
      withStore(factory, async ({ store }) => {
        const p = store.policies;
        await createPolicy(p, 'p');
        const before = await snapshot(store, ['p', 'q'], ['t']);
        await rejectsWith(
          p.apply([
            { op: 'attachPolicy', policyName: 'p', target: 't', attachedAtMs: 1 },
            { op: 'putPolicy', policy: policyRecord('q') },
            { op: 'checkPolicy', policyName: 'p', exists: true, generationId: 'stale' },
          ]),
          'ConditionFailed',
          2,
        );
        await rejectsWith(p.apply([{ op: 'checkPolicy', policyName: 'p', exists: false }]), 'ConditionFailed', 0);
        await rejectsWith(p.apply([{ op: 'checkPolicy', policyName: 'q', exists: true }]), 'ConditionFailed', 0);
        assert.deepStrictEqual(await snapshot(store, ['p', 'q'], ['t']), before, 'nothing of a failed batch remains');
        await p.apply([
          { op: 'checkPolicy', policyName: 'p', exists: true, generationId: 'gen-p' },
          { op: 'checkPolicy', policyName: 'q', exists: false },
          { op: 'putPolicy', policy: policyRecord('p', { generationId: 'next' }) },
        ]);
        assert.equal((await p.getPolicy('p'))?.generationId, 'next');
      }));

    it('everything survives a reopen', { skip: factory.reopen === undefined ? NO_REOPEN : false }, () =>
      withStore(factory, async (ctx) => {
        await createPolicy(ctx.store.policies, 'p');
        await ctx.store.policies.apply([
          { op: 'putPolicyVersion', version: policyVersionRecord('p', '2') },
          { op: 'attachPolicy', policyName: 'p', target: 't', attachedAtMs: 1 },
        ]);
        const before = await snapshot(ctx.store, ['p'], ['t']);
        const reopened = await ctx.reopen();
        assert.deepStrictEqual(await snapshot(reopened, ['p'], ['t']), before);
      }));
  });
}
