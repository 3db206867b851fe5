/**
 * The RuleStore contract: what every backend's `store.rules` must do, as node:test suites. A
 * backend's test calls `describeRuleStore(factory)`; each test gets a fresh store.
 *
 * Beyond interfaces.ts: records come back exactly as put (an absent topicPattern stays absent); put
 * replaces; the listing is by name, binary, pages strictly after the last
 * name without repeats or gaps, and filters on topicPattern and ruleDisabled before paging; check
 * ops fail the batch with ConditionFailed and its opIndex, and nothing of a failed batch remains;
 * everything survives a reopen.
 */
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import type { RuleRecord } from '../records.js';
import { isStoreError } from '../errors.js';
import { skipOption, withStore, type StoreContractFactory } from './factory.js';

const NO_REOPEN = 'the factory has no reopen(): this backend is not durable';

export function ruleRecord(ruleName: string, overrides: Partial<RuleRecord> = {}): RuleRecord {
  return {
    ruleName,
    document: `{"sql":"SELECT * FROM 'a/${ruleName}'","actions":[]}`,
    topicPattern: `a/${ruleName}`,
    ruleDisabled: false,
    createdAtMs: 1_700_000_000_000,
    lastModifiedAtMs: 1_700_000_000_000,
    ...overrides,
  };
}

export function describeRuleStore(factory: StoreContractFactory): void {
  describe(`RuleStore contract: ${factory.name}`, { skip: skipOption(factory) }, () => {
    it('a rule comes back exactly as put; put replaces; delete removes', () =>
      withStore(factory, async ({ store }) => {
        const r = store.rules;
        const rule = ruleRecord('r1', { document: ' { "kept": "as given" } ' });
        await r.apply([{ op: 'putRule', rule }]);
        assert.deepStrictEqual(await r.getRule('r1'), rule);
        const { topicPattern: _, ...noPattern } = ruleRecord('r1', { ruleDisabled: true, lastModifiedAtMs: 1_700_000_000_500 });
        await r.apply([{ op: 'putRule', rule: noPattern }]);
        const got = await r.getRule('r1');
        assert.deepStrictEqual(got, noPattern);
        assert.equal(got !== undefined && 'topicPattern' in got, false);
        assert.equal(await r.getRule('R1'), undefined, 'names are case-sensitive');
        await r.apply([{ op: 'deleteRule', ruleName: 'r1' }]);
        assert.equal(await r.getRule('r1'), undefined);
        await r.apply([{ op: 'deleteRule', ruleName: 'r1' }]); // absent: nothing
      }));

    it('lists by name (binary), paging strictly after the last name, filtered before paging', () =>
      withStore(factory, async ({ store }) => {
        const r = store.rules;
        const names = ['b', 'A', 'a', 'c_1', 'B', 'c', 'Z9'];
        await r.apply(
          names.map((n, i) => ({ op: 'putRule' as const, rule: ruleRecord(n, { topicPattern: i % 2 === 0 ? 'even/+' : 'odd/#', ruleDisabled: i % 3 === 0 }) })),
        );
        const sorted = [...names].sort();
        const all = await r.listRules({ limit: 100 });
        assert.deepStrictEqual(all.map((x) => x.ruleName), sorted);
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await r.listRules({ limit: 3, ...(after === undefined ? {} : { afterRuleName: after }) });
          if (page.length === 0) break;
          seen.push(...page.map((x) => x.ruleName));
          after = page[page.length - 1]?.ruleName;
        }
        assert.deepStrictEqual(seen, sorted);
        const even = await r.listRules({ limit: 2, topicPattern: 'even/+' });
        assert.deepStrictEqual(even.map((x) => x.ruleName), names.filter((_, i) => i % 2 === 0).sort().slice(0, 2));
        const disabled = await r.listRules({ limit: 100, ruleDisabled: true });
        assert.deepStrictEqual(disabled.map((x) => x.ruleName), names.filter((_, i) => i % 3 === 0).sort());
        const both = await r.listRules({ limit: 100, ruleDisabled: false, topicPattern: 'odd/#' });
        assert.deepStrictEqual(both.map((x) => x.ruleName), names.filter((_, i) => i % 2 === 1 && i % 3 !== 0).sort());
        assert.deepStrictEqual(await r.listRules({ limit: 100, topicPattern: 'none' }), []);
      }));

    it('a check op that does not hold fails the batch with its opIndex and leaves nothing', () =>
      withStore(factory, async ({ store }) => {
        const r = store.rules;
        await r.apply([{ op: 'checkRule', ruleName: 'x', exists: false }, { op: 'putRule', rule: ruleRecord('x') }]);
        await assert.rejects(
          r.apply([{ op: 'putRule', rule: ruleRecord('y') }, { op: 'checkRule', ruleName: 'x', exists: false }, { op: 'putRule', rule: ruleRecord('x', { ruleDisabled: true }) }]),
          (err: unknown) => isStoreError(err, 'ConditionFailed') && err.opIndex === 1,
        );
        assert.equal(await r.getRule('y'), undefined);
        assert.equal((await r.getRule('x'))?.ruleDisabled, false);
        await assert.rejects(r.apply([{ op: 'checkRule', ruleName: 'nope', exists: true }]), (err: unknown) => isStoreError(err, 'ConditionFailed') && err.opIndex === 0);
        await r.apply([{ op: 'checkRule', ruleName: 'x', exists: true }, { op: 'deleteRule', ruleName: 'x' }]);
        assert.equal(await r.getRule('x'), undefined);
      }));

    it('rules survive a reopen', { skip: factory.reopen === undefined ? NO_REOPEN : false }, () =>
      withStore(factory, async (ctx) => {
        const rule = ruleRecord('durable', { ruleDisabled: true });
        await ctx.store.rules.apply([{ op: 'putRule', rule }]);
        const reopened = await ctx.reopen();
        assert.deepStrictEqual(await reopened.rules.getRule('durable'), rule);
      }));
  });
}
