/**
 * store/contract: the test-support door. The abstract suites every Store backend must pass, run by
 * each backend's own `*.test.ts`:
 *
 *   describeStore({ name: 'SQLite file', create, destroy, reopen });
 *
 * Each test gets a fresh store from `create()` and hands it to `destroy()` afterwards; a factory with
 * `skip` set skips its suites with that reason; without `reopen` the durability checks are skipped.
 * Only tests import this (it imports node:test).
 */
import type { StoreContractFactory } from './factory.js';
import { describeSessionStore } from './session-store.contract.js';
import { describeRetainedStore } from './retained-store.contract.js';
import { describeStoreLifecycle } from './store-lifecycle.contract.js';
import { describeRegistryStore } from './registry-store.contract.js';
import { describeCertificateStore } from './certificate-store.contract.js';
import { describeShadowStore } from './shadow-store.contract.js';
import { describePolicyStore } from './policy-store.contract.js';
import { describeRuleStore } from './rule-store.contract.js';
import { describeTagStore } from './tag-store.contract.js';

export type { StoreContractFactory, StoreTestContext } from './factory.js';
export { withStore } from './factory.js';
export * from './fixtures.js';
export { describeSessionStore, describeRetainedStore, describeStoreLifecycle, describeRegistryStore };
export { thingRecord, thingTypeRecord, certArn } from './registry-store.contract.js';
export { describeCertificateStore, certificateRecord, caCertificateRecord, certificateIdOf } from './certificate-store.contract.js';
export { describeShadowStore, shadowRecord } from './shadow-store.contract.js';
export { describePolicyStore, policyRecord, policyVersionRecord } from './policy-store.contract.js';
export { describeRuleStore, ruleRecord } from './rule-store.contract.js';
export { describeTagStore } from './tag-store.contract.js';

/** Every suite above, for one backend. */
export function describeStore(factory: StoreContractFactory): void {
  describeSessionStore(factory);
  describeRetainedStore(factory);
  describeRegistryStore(factory);
  describeCertificateStore(factory);
  describeShadowStore(factory);
  describePolicyStore(factory);
  describeRuleStore(factory);
  describeTagStore(factory);
  describeStoreLifecycle(factory);
}
