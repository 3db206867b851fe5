/**
 * The store interfaces. Every backend (SQLite now, PostgreSQL later) implements them and passes the
 * contract suites in `store/contract/`. Methods are async so that a networked backend fits; the
 * SQLite backend completes them synchronously inside and returns settled promises.
 *
 * Writes come in batches: `apply(ops)` commits all of its ops in one transaction, in order, or none
 * of them (it rejects). Callers acknowledge to clients only after `apply` resolved.
 */
import type { RetainedOp, SessionOp, StoredSession, MessageRecord } from './records.js';
import type {
  AttachmentQuery,
  RegistryOp,
  ThingPrincipalRecord,
  ThingQuery,
  ThingRecord,
  ThingTypeQuery,
  ThingTypeRecord,
} from './records.js';
import type { CaCertificateQuery, CaCertificateRecord, CertificateOp, CertificateQuery, CertificateRecord } from './records.js';
import type { NamedShadowQuery, ShadowHistoryQuery, ShadowHistoryRecord, ShadowRecord, ShadowWrite, ShadowWriteOutcome } from './records.js';
import type {
  EffectivePolicyRecord,
  PolicyOp,
  PolicyQuery,
  PolicyRecord,
  PolicyTargetQuery,
  PolicyTargetRecord,
  PolicyVersionRecord,
  TargetPolicyQuery,
} from './records.js';
import type { RuleOp, RuleQuery, RuleRecord } from './records.js';
import type { TaggedResource, TagOp, TagQuery, TagRecord } from './records.js';

export interface SessionStore {
  /** Every stored persistent session, with its subscriptions and owed messages (seq ascending). */
  loadAll(): Promise<StoredSession[]>;
  load(clientId: string): Promise<StoredSession | undefined>;
  apply(ops: readonly SessionOp[]): Promise<void>;
}

export interface RetainedStore {
  loadAll(): Promise<MessageRecord[]>;
  get(topic: string): Promise<MessageRecord | undefined>;
  apply(ops: readonly RetainedOp[]): Promise<void>;
  count(): Promise<number>;
}

/**
 * Things, thing types and thing–principal attachments. Listings are pages in a stable order (things
 * and types by name, binary; attachments by seq) that a caller continues from the last item it saw,
 * so a page boundary never duplicates or skips an item that existed throughout.
 * `apply` rejects with StoreError 'ConditionFailed' (its `opIndex` naming the op) when a check op does
 * not hold, and 'ApplyFailed' when a write breaks integrity; either way nothing of the batch remains.
 */
export interface RegistryStore {
  getThing(thingName: string): Promise<ThingRecord | undefined>;
  listThings(query: ThingQuery): Promise<ThingRecord[]>;
  getThingType(thingTypeName: string): Promise<ThingTypeRecord | undefined>;
  listThingTypes(query: ThingTypeQuery): Promise<ThingTypeRecord[]>;
  getAttachment(thingName: string, principal: string): Promise<ThingPrincipalRecord | undefined>;
  /** The thing's attachments in attachment order. */
  listThingPrincipals(thingName: string, query: AttachmentQuery): Promise<ThingPrincipalRecord[]>;
  /** The principal's attachments in attachment order. */
  listPrincipalThings(principal: string, query: AttachmentQuery): Promise<ThingPrincipalRecord[]>;
  apply(ops: readonly RegistryOp[]): Promise<void>;
}

/**
 * Device certificates and CA certificates (identity/). Listings are pages ordered by (creation date,
 * id), ascending or descending, continued strictly after the last item seen. `apply` behaves as
 * RegistryStore's: 'ConditionFailed' with `opIndex` for a check op that does not hold, nothing of a
 * failed batch remains.
 */
export interface CertificateStore {
  getCertificate(certificateId: string): Promise<CertificateRecord | undefined>;
  listCertificates(query: CertificateQuery): Promise<CertificateRecord[]>;
  getCaCertificate(certificateId: string): Promise<CaCertificateRecord | undefined>;
  listCaCertificates(query: CaCertificateQuery): Promise<CaCertificateRecord[]>;
  apply(ops: readonly CertificateOp[]): Promise<void>;
}

/**
 * Device shadows (shadow/): the current document or tombstone per (thingName, shadowName; '' =
 * classic), and the history of accepted versions. `write` is the group commit: all of its writes in
 * one transaction, each conditional on its own `expected` row (a compare-and-set that does not
 * hold skips only that write, reported as 'conflict'); it rejects, with nothing written, only when
 * the transaction itself fails.
 */
export interface ShadowStore {
  /** The current row, live or tombstone; undefined when there is none. */
  getShadow(thingName: string, shadowName: string): Promise<ShadowRecord | undefined>;
  /** Names of the thing's live named shadows (never the classic one), binary order. */
  listNamedShadows(thingName: string, query: NamedShadowQuery): Promise<string[]>;
  /** The shadow's kept versions, newest first. */
  listShadowHistory(thingName: string, shadowName: string, query: ShadowHistoryQuery): Promise<ShadowHistoryRecord[]>;
  /** One outcome per write, in order. */
  write(writes: readonly ShadowWrite[]): Promise<ShadowWriteOutcome[]>;
  /** Removes tombstones written before `deletedBeforeMs`; resolves with how many. */
  purgeTombstones(deletedBeforeMs: number): Promise<number>;
}

/**
 * IoT policies (policy/): policies, their versions and the targets they are attached to. Listings
 * are pages continued strictly after the last item seen (policies and a target's policies by name,
 * a policy's targets by attachment seq). `apply` behaves as RegistryStore's: 'ConditionFailed' with
 * `opIndex` for a check op that does not hold, 'ApplyFailed' for an integrity violation (a version
 * or attachment of a missing policy, deleting a policy that still has targets); nothing of a failed
 * batch remains.
 */
export interface PolicyStore {
  getPolicy(policyName: string): Promise<PolicyRecord | undefined>;
  listPolicies(query: PolicyQuery): Promise<PolicyRecord[]>;
  getPolicyVersion(policyName: string, versionId: string): Promise<PolicyVersionRecord | undefined>;
  /** Every version of the policy, ascending by numeric id (at most a handful). */
  listPolicyVersions(policyName: string): Promise<PolicyVersionRecord[]>;
  listTargetsForPolicy(policyName: string, query: PolicyTargetQuery): Promise<PolicyTargetRecord[]>;
  listPoliciesForTarget(target: string, query: TargetPolicyQuery): Promise<PolicyTargetRecord[]>;
  /** The default version of every policy attached to the target, by policyName (one read for the connect path). */
  listEffectivePolicies(target: string): Promise<EffectivePolicyRecord[]>;
  apply(ops: readonly PolicyOp[]): Promise<void>;
}

/**
 * Topic rules (rules/). The listing is a page by ruleName (binary, ascending), continued strictly
 * after the last name seen, filtered by topic pattern and/or disabled state. `apply` behaves as
 * RegistryStore's: 'ConditionFailed' with `opIndex` for a check op that does not hold, nothing of a
 * failed batch remains.
 */
export interface RuleStore {
  getRule(ruleName: string): Promise<RuleRecord | undefined>;
  listRules(query: RuleQuery): Promise<RuleRecord[]>;
  apply(ops: readonly RuleOp[]): Promise<void>;
}

/**
 * Tags of the resources the other stores hold (things, thing types, policies, topic rules,
 * certificates, CA certificates), by resource and key. A tag belongs to a resource that exists:
 * putting one on a missing resource fails the batch, and deleting a resource through its own store
 * (RegistryStore's deleteThing, RuleStore's deleteRule, …) deletes its tags in that same
 * transaction, so a resource created again under the same name starts untagged. The listing is a
 * page by key (binary), continued strictly after the last key seen. `apply` behaves as
 * RegistryStore's: 'ConditionFailed' with `opIndex` for a check op that does not hold,
 * 'ApplyFailed' for an integrity violation; nothing of a failed batch remains.
 */
export interface TagStore {
  /** Whether the resource exists in its own store. */
  resourceExists(resource: TaggedResource): Promise<boolean>;
  listTags(resource: TaggedResource, query: TagQuery): Promise<TagRecord[]>;
  apply(ops: readonly TagOp[]): Promise<void>;
}

/** An opened database: the individual stores plus lifecycle. */
export interface Store {
  readonly sessions: SessionStore;
  readonly retained: RetainedStore;
  readonly registry: RegistryStore;
  readonly certificates: CertificateStore;
  readonly shadows: ShadowStore;
  readonly policies: PolicyStore;
  readonly rules: RuleStore;
  readonly tags: TagStore;
  /** Flushes and closes; idempotent. */
  close(): Promise<void>;
}
