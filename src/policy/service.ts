/**
 * The policy service: AWS IoT's policy operations (spec/http-api.md 3.5, spec/policy.md sections 8
 * and 12) over the store's PolicyStore, and the live policy sets the broker's decisions compile from.
 *
 * Writes are serialised (one at a time, in arrival order): they are administrative and rare, and
 * one queue makes "commit, then bring every live set up to date, then tell the listeners" trivially
 * ordered. After a commit the service
 *   1. counts the change (`#changes`), so a live set being loaded concurrently reloads;
 *   2. reloads the live sets the change touches (a target's set on attach/detach; every set holding
 *      the policy on a default-version change) and bumps their generations — every connection's
 *      DecisionCache on those sets recompiles at its next decision;
 *   3. emits a PolicyEvent;
 * and only then answers the API call, so once AttachPolicy/DetachPolicy/SetDefaultPolicyVersion has
 * returned, the broker decides with the new policies.
 *
 *   AttachPolicy(p, cert/abc) ─▶ store ─▶ #changes++ ─▶ live["target:cert/abc"].reload + bump ─▶ event
 *   conn (cert abc):  cache.decideName ─▶ generation moved ─▶ compile(live.policies) ─▶ decide
 *
 * Live sets are weakly held: the map keeps WeakRefs and a FinalizationRegistry drops the keys of
 * sets no connection holds any more, so nothing needs releasing at disconnect.
 *
 * Decisions where AWS is silent or unconfirmed (each also stated where it is implemented):
 *  - targets: a certificate ARN of this account (it must be registered: ResourceNotFoundException),
 *    or an access key id (the principal of a SigV4-signed WebSocket client; Thingcore extension).
 *    Thing groups and Cognito identities do not exist here: InvalidRequestException;
 *  - attaching an attached pair and detaching a detached one answer 200 and change nothing;
 *  - ListPolicies is in name order, ascending unless isAscendingOrder=false; default page size 25;
 *  - version ids are never reused; a version's lastModifiedDate is its creation date (versions are
 *    immutable) and its generationId the policy's;
 *  - TestAuthorization with several resources in one authInfo: EXPLICIT_DENY when any is explicitly
 *    denied, ALLOWED when all are allowed, IMPLICIT_DENY otherwise.
 *
 * CreatePolicy's tags are checked before anything is stored and stored in the tag store (tagging/)
 * once the policy is; the store deletes them with the policy.
 */
import { randomUUID } from 'node:crypto';
import { AwsErrors, decodePageToken, encodePageToken, iotArn, parseIotArn } from '../shared/index.js';
import type { AccountScope } from '../shared/index.js';
import { isStoreError } from '../store/index.js';
import type { EffectivePolicyRecord, PolicyOp, PolicyRecord, PolicyStore, TagStore } from '../store/index.js';
import { maxTagsPerResource, putCreationTags, readTags } from '../tagging/index.js';
import { actionIndex, actionResourceType, iotActions } from './actions.js';
import type { IotAction } from './actions.js';
import { compilePolicies } from './compile.js';
import type { CompiledPolicySet, PolicyVersionInput } from './compile.js';
import type { PolicyContext } from './context.js';
import { PolicyGeneration } from './decision-cache.js';
import { parsePolicyDocument, validatePolicyDocument } from './document.js';
import { describeDecision, explain } from './evaluate.js';
import type { Explanation } from './evaluate.js';
import { authActionTypes } from './model.js';
import type {
  AttachPolicyInput,
  AuthActionType,
  AuthDecision,
  AuthInfo,
  AuthResult,
  CreatePolicyInput,
  CreatePolicyOutput,
  CreatePolicyVersionInput,
  CreatePolicyVersionOutput,
  EffectivePolicy,
  ExplainAuthorizationInput,
  ExplainAuthorizationOutput,
  GetEffectivePoliciesInput,
  ListAttachedPoliciesInput,
  ListAttachedPoliciesOutput,
  ListPoliciesInput,
  ListPoliciesOutput,
  ListTargetsForPolicyInput,
  ListTargetsForPolicyOutput,
  LivePolicies,
  PolicyDescription,
  PolicyEvent,
  PolicyListener,
  PolicySummary,
  PolicyVersionDescription,
  PolicyVersionSummary,
  ResourceExplanation,
  TestAuthorizationInput,
} from './model.js';

export interface PolicyServiceOptions {
  /** The opened Store (its `policies` part, and `tags` for CreatePolicy's tags). */
  readonly store: { readonly policies: PolicyStore; readonly tags: TagStore };
  /** Region and account of every ARN. */
  readonly scope: AccountScope;
  /** Wall-clock ms; default Date.now. */
  readonly clock?: () => number;
  /** Whether a certificate (by ARN) is registered (identity's business; core wires it). Absent: every well-formed ARN is. */
  readonly certificateExists?: (certificateArn: string) => Promise<boolean>;
  /**
   * The context TestAuthorization evaluates a principal in: certificate facts and the thing the
   * connection would be bound to (identity's and registry's business; core wires it). Absent: the
   * principal and client id only.
   */
  readonly connectionContext?: (principal: string, clientId: string | undefined) => Promise<PolicyContext>;
  /** Principals allowed everything without a policy (the admin access key); TestAuthorization says so. */
  readonly allowsEverything?: (principal: string) => boolean;
  /** Where throwing listeners and unreadable stored documents are reported. */
  readonly logger?: { warn(obj: object, msg?: string): void };
}

/** The policy operations; every error is a ServiceError (shared/) with the AWS exception name. */
export interface PolicyService {
  createPolicy(input: CreatePolicyInput): Promise<CreatePolicyOutput>;
  getPolicy(policyName: string): Promise<PolicyDescription>;
  listPolicies(input?: ListPoliciesInput): Promise<ListPoliciesOutput>;
  deletePolicy(policyName: string): Promise<void>;
  createPolicyVersion(input: CreatePolicyVersionInput): Promise<CreatePolicyVersionOutput>;
  getPolicyVersion(policyName: string, policyVersionId: string): Promise<PolicyVersionDescription>;
  listPolicyVersions(policyName: string): Promise<{ readonly policyVersions: PolicyVersionSummary[] }>;
  setDefaultPolicyVersion(policyName: string, policyVersionId: string): Promise<void>;
  deletePolicyVersion(policyName: string, policyVersionId: string): Promise<void>;
  attachPolicy(input: AttachPolicyInput): Promise<void>;
  detachPolicy(input: AttachPolicyInput): Promise<void>;
  listAttachedPolicies(input: ListAttachedPoliciesInput): Promise<ListAttachedPoliciesOutput>;
  listTargetsForPolicy(input: ListTargetsForPolicyInput): Promise<ListTargetsForPolicyOutput>;
  getEffectivePolicies(input: GetEffectivePoliciesInput): Promise<{ readonly effectivePolicies: EffectivePolicy[] }>;
  testAuthorization(input: TestAuthorizationInput): Promise<{ readonly authResults: AuthResult[] }>;
  /** TestAuthorization with the whole trace: the deciding statement, or why no statement allowed it. */
  explainAuthorization(input: ExplainAuthorizationInput): Promise<ExplainAuthorizationOutput>;

  /** Whether any policy is attached to the target (identity asks before DeleteCertificate). */
  hasAttachedPolicies(target: string): Promise<boolean>;
  /** Detaches every policy from a target that is gone (a force-deleted certificate). */
  detachAllFromTarget(target: string): Promise<void>;
  /** The live default versions of the policies attached to `target` (the connect path). */
  livePoliciesForTarget(target: string): Promise<LivePolicies>;
  /** The live default version of one named policy, or none while it does not exist (`--anonymous-policy`). */
  livePolicy(policyName: string): Promise<LivePolicies>;
  /** Adds a change listener; returns the function that removes it. Listener errors are logged, never thrown. */
  onChange(listener: PolicyListener): () => void;
}

export function createPolicyService(options: PolicyServiceOptions): PolicyService {
  return new Policies(options);
}

/** AWS: 5 versions per policy, 10 policies per certificate (spec/policy.md section 8). */
export const maxPolicyVersions = 5;
export const maxPoliciesPerTarget = 10;
export const defaultPageSize = 25;
export const maxPageSize = 250;
const maxAuthInfos = 10;
const maxParsedDocuments = 10_000;
/** How often a live set being loaded is loaded again because a write landed meanwhile. */
const maxLoadAttempts = 5;

const policyNamePattern = /^[\w+=,.@-]{1,128}$/u;
const versionIdPattern = /^[0-9]{1,10}$/;
/** An access key id as AWS issues them (AKIA…/ASIA…) and as Thingcore generates them. */
const accessKeyIdPattern = /^[A-Z0-9]{16,128}$/;
const certificateIdPattern = /^[0-9a-f]{64}$/;

type Target = { readonly kind: 'certificate'; readonly arn: string } | { readonly kind: 'accessKey'; readonly id: string };

/** One live set; `key` is `target:<target>` or `policy:<name>`. */
class LiveEntry implements LivePolicies {
  policies: readonly PolicyVersionInput[];
  readonly generation = new PolicyGeneration();
  constructor(
    readonly key: string,
    policies: readonly PolicyVersionInput[],
  ) {
    this.policies = policies;
  }
  holds(policyName: string): boolean {
    return this.policies.some((p) => p.policyName === policyName);
  }
}

class Policies implements PolicyService {
  readonly #store: PolicyStore;
  readonly #tags: TagStore;
  readonly #scope: AccountScope;
  readonly #clock: () => number;
  readonly #certificateExists: (arn: string) => Promise<boolean>;
  readonly #connectionContext: ((principal: string, clientId: string | undefined) => Promise<PolicyContext>) | undefined;
  readonly #allowsEverything: (principal: string) => boolean;
  readonly #logger: PolicyServiceOptions['logger'];
  readonly #listeners = new Set<PolicyListener>();
  /** The tail of the write queue. */
  #writes: Promise<unknown> = Promise.resolve();
  /** Committed writes so far (see the header, step 1). */
  #changes = 0;
  readonly #live = new Map<string, WeakRef<LiveEntry>>();
  readonly #finalizer = new FinalizationRegistry<string>((key) => {
    if (this.#live.get(key)?.deref() === undefined) this.#live.delete(key);
  });
  /** Parsed stored documents by `name \0 versionId`, with the text they were parsed from. */
  readonly #parsed = new Map<string, { readonly text: string; readonly input: PolicyVersionInput | undefined }>();
  readonly #loading = new Map<string, Promise<LiveEntry>>();

  constructor(options: PolicyServiceOptions) {
    this.#store = options.store.policies;
    this.#tags = options.store.tags;
    this.#scope = options.scope;
    this.#clock = options.clock ?? Date.now;
    this.#certificateExists = options.certificateExists ?? (() => Promise.resolve(true));
    this.#connectionContext = options.connectionContext;
    this.#allowsEverything = options.allowsEverything ?? (() => false);
    this.#logger = options.logger;
  }

  // ─── Policies and versions ──────────────────────────────────────────────────────────────────

  async createPolicy(input: CreatePolicyInput): Promise<CreatePolicyOutput> {
    const policyName = requirePolicyName(input.policyName);
    const policyDocument = requireDocument(input.policyDocument);
    const tags = readTags('tags', input.tags, { maxCount: maxTagsPerResource });
    return this.#exclusive(async () => {
      const now = this.#clock();
      try {
        await this.#store.apply([
          { op: 'checkPolicy', policyName, exists: false },
          {
            op: 'putPolicy',
            policy: { policyName, defaultVersionId: '1', nextVersionId: 2, creationDateMs: now, lastModifiedDateMs: now, generationId: randomUUID() },
          },
          { op: 'putPolicyVersion', version: { policyName, versionId: '1', document: policyDocument, creationDateMs: now } },
        ]);
      } catch (err: unknown) {
        if (isStoreError(err, 'ConditionFailed')) {
          throw AwsErrors.resourceAlreadyExists(`Policy cannot be created - name already exists (name=${policyName})`, {
            resourceId: policyName,
            resourceArn: this.#policyArn(policyName),
          });
        }
        throw err;
      }
      await this.#committed((e) => e.key === policyKey(policyName));
      this.#emit({ type: 'policy-created', policyName });
      await putCreationTags(this.#tags, { resourceType: 'policy', resourceId: policyName }, tags);
      return { policyName, policyArn: this.#policyArn(policyName), policyDocument, policyVersionId: '1' };
    });
  }

  async getPolicy(policyName: string): Promise<PolicyDescription> {
    const name = requirePolicyName(policyName);
    const policy = await this.#requirePolicy(name);
    const version = await this.#store.getPolicyVersion(name, policy.defaultVersionId);
    if (version === undefined) throw this.#missingDefault(policy);
    return {
      policyName: name,
      policyArn: this.#policyArn(name),
      policyDocument: version.document,
      defaultVersionId: policy.defaultVersionId,
      creationDate: new Date(policy.creationDateMs),
      lastModifiedDate: new Date(policy.lastModifiedDateMs),
      generationId: policy.generationId,
    };
  }

  async listPolicies(input: ListPoliciesInput = {}): Promise<ListPoliciesOutput> {
    const size = pageSize(input.pageSize);
    const order = input.isAscendingOrder === false ? 'desc' : 'asc';
    const scope = `ListPolicies:${order}`;
    const after = markerPosition(input.marker, scope);
    const rows = await this.#store.listPolicies({ limit: size + 1, order, ...(after === undefined ? {} : { afterPolicyName: after }) });
    const page = rows.slice(0, size);
    const last = page[page.length - 1];
    return {
      policies: page.map((p) => this.#summary(p.policyName)),
      ...(rows.length > size && last !== undefined ? { nextMarker: encodePageToken(scope, last.policyName) } : {}),
    };
  }

  async deletePolicy(policyName: string): Promise<void> {
    const name = requirePolicyName(policyName);
    await this.#exclusive(async () => {
      const policy = await this.#requirePolicy(name);
      const others = (await this.#store.listPolicyVersions(name)).filter((v) => v.versionId !== policy.defaultVersionId);
      if (others.length > 0) {
        throw AwsErrors.deleteConflict(
          `Cannot delete the policy ${name}: it has versions other than the default one (${others.map((v) => v.versionId).join(', ')}); delete them first`,
        );
      }
      if ((await this.#store.listTargetsForPolicy(name, { limit: 1 })).length > 0) {
        throw AwsErrors.deleteConflict(`Cannot delete the policy ${name}: it is attached to one or more targets; detach it first`);
      }
      await this.#apply([{ op: 'checkPolicy', policyName: name, exists: true, generationId: policy.generationId }, { op: 'deletePolicy', policyName: name }]);
      await this.#committed((e) => e.key === policyKey(name) || e.holds(name));
      this.#emit({ type: 'policy-deleted', policyName: name });
    });
  }

  async createPolicyVersion(input: CreatePolicyVersionInput): Promise<CreatePolicyVersionOutput> {
    const policyName = requirePolicyName(input.policyName);
    const policyDocument = requireDocument(input.policyDocument);
    const setAsDefault = input.setAsDefault === true;
    return this.#exclusive(async () => {
      const policy = await this.#requirePolicy(policyName);
      const versions = await this.#store.listPolicyVersions(policyName);
      if (versions.length >= maxPolicyVersions) {
        throw AwsErrors.versionsLimitExceeded(
          `The policy ${policyName} already has the maximum of ${maxPolicyVersions} versions; delete one (DeletePolicyVersion) before creating another`,
        );
      }
      const now = this.#clock();
      const versionId = String(policy.nextVersionId);
      await this.#apply([
        { op: 'checkPolicy', policyName, exists: true, generationId: policy.generationId },
        { op: 'putPolicyVersion', version: { policyName, versionId, document: policyDocument, creationDateMs: now } },
        {
          op: 'putPolicy',
          policy: {
            ...policy,
            nextVersionId: policy.nextVersionId + 1,
            defaultVersionId: setAsDefault ? versionId : policy.defaultVersionId,
            lastModifiedDateMs: Math.max(now, policy.lastModifiedDateMs),
            generationId: randomUUID(),
          },
        },
      ]);
      await this.#committed(setAsDefault ? (e) => e.key === policyKey(policyName) || e.holds(policyName) : () => false);
      this.#emit({ type: 'policy-version-created', policyName, policyVersionId: versionId, isDefaultVersion: setAsDefault });
      return { policyArn: this.#policyArn(policyName), policyDocument, policyVersionId: versionId, isDefaultVersion: setAsDefault };
    });
  }

  async getPolicyVersion(policyName: string, policyVersionId: string): Promise<PolicyVersionDescription> {
    const name = requirePolicyName(policyName);
    const versionId = requireVersionId(policyVersionId);
    const policy = await this.#requirePolicy(name);
    const version = await this.#store.getPolicyVersion(name, versionId);
    if (version === undefined) throw versionNotFound(name, versionId);
    return {
      policyArn: this.#policyArn(name),
      policyName: name,
      policyDocument: version.document,
      policyVersionId: version.versionId,
      isDefaultVersion: version.versionId === policy.defaultVersionId,
      creationDate: new Date(version.creationDateMs),
      lastModifiedDate: new Date(version.creationDateMs),
      generationId: policy.generationId,
    };
  }

  async listPolicyVersions(policyName: string): Promise<{ readonly policyVersions: PolicyVersionSummary[] }> {
    const name = requirePolicyName(policyName);
    const policy = await this.#requirePolicy(name);
    const versions = await this.#store.listPolicyVersions(name);
    return {
      policyVersions: versions.map((v) => ({ versionId: v.versionId, isDefaultVersion: v.versionId === policy.defaultVersionId, createDate: new Date(v.creationDateMs) })),
    };
  }

  async setDefaultPolicyVersion(policyName: string, policyVersionId: string): Promise<void> {
    const name = requirePolicyName(policyName);
    const versionId = requireVersionId(policyVersionId);
    await this.#exclusive(async () => {
      const policy = await this.#requirePolicy(name);
      if ((await this.#store.getPolicyVersion(name, versionId)) === undefined) throw versionNotFound(name, versionId);
      const previousVersionId = policy.defaultVersionId;
      if (previousVersionId === String(Number(versionId))) return;
      const canonical = String(Number(versionId));
      await this.#apply([
        { op: 'checkPolicy', policyName: name, exists: true, generationId: policy.generationId },
        {
          op: 'putPolicy',
          policy: { ...policy, defaultVersionId: canonical, lastModifiedDateMs: Math.max(this.#clock(), policy.lastModifiedDateMs), generationId: randomUUID() },
        },
      ]);
      await this.#committed((e) => e.key === policyKey(name) || e.holds(name));
      this.#emit({ type: 'default-version-changed', policyName: name, policyVersionId: canonical, previousVersionId });
    });
  }

  async deletePolicyVersion(policyName: string, policyVersionId: string): Promise<void> {
    const name = requirePolicyName(policyName);
    const versionId = requireVersionId(policyVersionId);
    await this.#exclusive(async () => {
      const policy = await this.#requirePolicy(name);
      const version = await this.#store.getPolicyVersion(name, versionId);
      if (version === undefined) throw versionNotFound(name, versionId);
      if (version.versionId === policy.defaultVersionId) {
        throw AwsErrors.deleteConflict(
          `Cannot delete the default version ${version.versionId} of the policy ${name}; make another version the default first (SetDefaultPolicyVersion), or delete the policy`,
        );
      }
      await this.#apply([
        { op: 'checkPolicy', policyName: name, exists: true, generationId: policy.generationId },
        { op: 'deletePolicyVersion', policyName: name, versionId: version.versionId },
        { op: 'putPolicy', policy: { ...policy, lastModifiedDateMs: Math.max(this.#clock(), policy.lastModifiedDateMs), generationId: randomUUID() } },
      ]);
      // The default version did not change: no live set moves.
      this.#changes++;
      this.#emit({ type: 'policy-version-deleted', policyName: name, policyVersionId: version.versionId });
    });
  }

  // ─── Targets ────────────────────────────────────────────────────────────────────────────────

  async attachPolicy(input: AttachPolicyInput): Promise<void> {
    const policyName = requirePolicyName(input.policyName);
    const target = await this.#requireTarget(input.target, true);
    await this.#exclusive(async () => {
      await this.#requirePolicy(policyName);
      const attached = await this.#store.listPoliciesForTarget(target, { limit: maxPoliciesPerTarget + 1 });
      if (attached.some((a) => a.policyName === policyName)) return; // already attached: nothing to do
      if (attached.length >= maxPoliciesPerTarget) {
        throw AwsErrors.limitExceeded(`The target ${target} already has the maximum of ${maxPoliciesPerTarget} policies attached`);
      }
      await this.#apply([
        { op: 'checkPolicy', policyName, exists: true },
        { op: 'attachPolicy', policyName, target, attachedAtMs: this.#clock() },
      ]);
      await this.#committed((e) => e.key === targetKey(target));
      this.#emit({ type: 'policy-attached', policyName, target });
    });
  }

  async detachPolicy(input: AttachPolicyInput): Promise<void> {
    const policyName = requirePolicyName(input.policyName);
    const target = await this.#requireTarget(input.target, false);
    await this.#exclusive(async () => {
      await this.#requirePolicy(policyName);
      const attached = await this.#store.listPoliciesForTarget(target, { limit: maxPoliciesPerTarget + 1 });
      if (!attached.some((a) => a.policyName === policyName)) return; // not attached: nothing to do
      await this.#apply([{ op: 'detachPolicy', policyName, target }]);
      await this.#committed((e) => e.key === targetKey(target));
      this.#emit({ type: 'policy-detached', policyName, target });
    });
  }

  async detachAllFromTarget(target: string): Promise<void> {
    await this.#exclusive(async () => {
      const names = (await this.#allPoliciesOf(target)).map((p) => p.policyName);
      if (names.length === 0) return;
      await this.#apply([{ op: 'detachTarget', target }]);
      await this.#committed((e) => e.key === targetKey(target));
      for (const policyName of names) this.#emit({ type: 'policy-detached', policyName, target });
    });
  }

  async hasAttachedPolicies(target: string): Promise<boolean> {
    return (await this.#store.listPoliciesForTarget(target, { limit: 1 })).length > 0;
  }

  async listAttachedPolicies(input: ListAttachedPoliciesInput): Promise<ListAttachedPoliciesOutput> {
    const target = await this.#requireTarget(input.target, true);
    const size = pageSize(input.pageSize);
    const scope = `ListAttachedPolicies:${target}`;
    const after = markerPosition(input.marker, scope);
    const rows = await this.#store.listPoliciesForTarget(target, { limit: size + 1, ...(after === undefined ? {} : { afterPolicyName: after }) });
    const page = rows.slice(0, size);
    const last = page[page.length - 1];
    return {
      policies: page.map((p) => this.#summary(p.policyName)),
      ...(rows.length > size && last !== undefined ? { nextMarker: encodePageToken(scope, last.policyName) } : {}),
    };
  }

  async listTargetsForPolicy(input: ListTargetsForPolicyInput): Promise<ListTargetsForPolicyOutput> {
    const policyName = requirePolicyName(input.policyName);
    await this.#requirePolicy(policyName);
    const size = pageSize(input.pageSize);
    const scope = `ListTargetsForPolicy:${policyName}`;
    const position = markerPosition(input.marker, scope);
    const afterSeq = position === undefined ? undefined : Number(position);
    if (afterSeq !== undefined && !Number.isSafeInteger(afterSeq)) throw AwsErrors.invalidRequest('The marker is invalid');
    const rows = await this.#store.listTargetsForPolicy(policyName, { limit: size + 1, ...(afterSeq === undefined ? {} : { afterSeq }) });
    const page = rows.slice(0, size);
    const last = page[page.length - 1];
    return {
      targets: page.map((t) => t.target),
      ...(rows.length > size && last !== undefined ? { nextMarker: encodePageToken(scope, String(last.seq)) } : {}),
    };
  }

  async getEffectivePolicies(input: GetEffectivePoliciesInput): Promise<{ readonly effectivePolicies: EffectivePolicy[] }> {
    if (input.thingName !== undefined && !/^[a-zA-Z0-9:_-]{1,128}$/.test(input.thingName)) {
      throw AwsErrors.invalidRequest(`Value '${input.thingName}' at 'thingName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+`);
    }
    const principal = await this.#requirePrincipal(input.principal, input.cognitoIdentityPoolId);
    const rows = await this.#store.listEffectivePolicies(principal);
    return { effectivePolicies: rows.map((r) => ({ policyName: r.policyName, policyArn: this.#policyArn(r.policyName), policyDocument: r.document })) };
  }

  // ─── TestAuthorization ──────────────────────────────────────────────────────────────────────

  async testAuthorization(input: TestAuthorizationInput): Promise<{ readonly authResults: AuthResult[] }> {
    const infos = requireAuthInfos(input.authInfos).map((info, i): { info: AuthInfo; action: IotAction } => {
      const actionType = requireActionType(info.actionType, `authInfos.${i + 1}.member.actionType`);
      return { info: { actionType, resources: requireResources(info.resources, i) }, action: actionOfType(actionType) };
    });
    const evaluation = await this.#evaluation(input);
    const authResults = infos.map(({ info, action }): AuthResult => {
      if (evaluation.compiled === undefined) {
        return { authInfo: info, allowed: { policies: [] }, denied: { implicitDeny: { policies: [] }, explicitDeny: { policies: [] } }, authDecision: 'ALLOWED', missingContextValues: [] };
      }
      const explanations = info.resources.map((resource) => explain(evaluation.compiled!, action, resource));
      return this.#authResult(info, explanations, evaluation.compiled.policies.map((p) => p.policyName));
    });
    return { authResults };
  }

  async explainAuthorization(input: ExplainAuthorizationInput): Promise<ExplainAuthorizationOutput> {
    const infos = requireAuthInfos(input.authInfos).map((info, i) => {
      const action = info.action !== undefined ? requireAction(info.action, i) : actionOfType(requireActionType(info.actionType, `authInfos.${i + 1}.member.actionType`));
      return { action, resources: requireResources(info.resources, i).map((r) => this.#completeResource(action, r)) };
    });
    const evaluation = await this.#evaluation(input);
    const base = {
      principal: evaluation.principal,
      ...(input.clientId === undefined ? {} : { clientId: input.clientId }),
      policies: evaluation.compiled?.policies ?? [],
    };
    if (evaluation.compiled === undefined) {
      const why = `${evaluation.principal} is the admin access key: it is allowed everything, no policy is evaluated`;
      return {
        ...base,
        allowedEverything: why,
        results: infos.flatMap(({ action, resources }) =>
          resources.map((resource): ResourceExplanation => ({ action, resource, authDecision: 'ALLOWED', summary: `${action} on ${resource} allowed: ${why}`, statements: [], missingContextValues: [] })),
        ),
      };
    }
    const compiled = evaluation.compiled;
    const results = infos.flatMap(({ action, resources }) =>
      resources.map((resource): ResourceExplanation => {
        const e = explain(compiled, action, resource);
        const d = e.decision.decidingStatement;
        return {
          action,
          resource,
          authDecision: decisionOf(e),
          summary: describeDecision(e.decision, action, resource),
          ...(d === undefined ? {} : { decidingStatement: { ...d } }),
          statements: e.statements,
          missingContextValues: e.missingContextValues,
        };
      }),
    );
    return { ...base, results };
  }

  /** The compiled set TestAuthorization decides with; undefined for a principal allowed everything. */
  async #evaluation(input: TestAuthorizationInput | ExplainAuthorizationInput): Promise<{ principal: string; compiled: CompiledPolicySet | undefined }> {
    const principal = await this.#requirePrincipal(input.principal, input.cognitoIdentityPoolId);
    if (input.clientId !== undefined && (input.clientId.length === 0 || input.clientId.length > 65535)) {
      throw AwsErrors.invalidRequest('clientId must be 1 to 65535 characters');
    }
    if (this.#allowsEverything(principal)) return { principal, compiled: undefined };
    const skip = new Set((input.policyNamesToSkip ?? []).map((n) => requirePolicyName(n)));
    const rows = new Map<string, EffectivePolicyRecord>();
    for (const r of await this.#store.listEffectivePolicies(principal)) if (!skip.has(r.policyName)) rows.set(r.policyName, r);
    for (const raw of input.policyNamesToAdd ?? []) {
      const name = requirePolicyName(raw);
      if (rows.has(name) || skip.has(name)) continue;
      const policy = await this.#requirePolicy(name);
      const version = await this.#store.getPolicyVersion(name, policy.defaultVersionId);
      if (version === undefined) throw this.#missingDefault(policy);
      rows.set(name, { policyName: name, versionId: version.versionId, document: version.document });
    }
    const context =
      this.#connectionContext === undefined
        ? { principal, ...(input.clientId === undefined ? {} : { clientId: input.clientId }) }
        : await this.#connectionContext(principal, input.clientId);
    const inputs = [...rows.values()].sort((a, b) => (a.policyName < b.policyName ? -1 : 1)).flatMap((r) => this.#parse(r) ?? []);
    return { principal, compiled: compilePolicies(inputs, context, this.#scope) };
  }

  #authResult(info: AuthInfo, explanations: readonly Explanation[], evaluated: readonly string[]): AuthResult {
    const allowed = new Set<string>();
    const explicit = new Set<string>();
    const implicit = new Set<string>();
    const missing = new Set<string>();
    let anyExplicit = false;
    let allAllowed = true;
    for (const e of explanations) {
      for (const m of e.missingContextValues) missing.add(m);
      const matchedBy = new Set<string>();
      for (const s of e.statements) {
        if (s.outcome !== 'matched') continue;
        matchedBy.add(s.statement.policyName);
        (s.statement.effect === 'Deny' ? explicit : allowed).add(s.statement.policyName);
      }
      if (e.decision.reason === 'explicit-deny') anyExplicit = true;
      if (!e.decision.allowed) {
        allAllowed = false;
        if (e.decision.reason === 'no-matching-allow') for (const name of evaluated) if (!matchedBy.has(name)) implicit.add(name);
      }
    }
    const authDecision: AuthDecision = anyExplicit ? 'EXPLICIT_DENY' : allAllowed ? 'ALLOWED' : 'IMPLICIT_DENY';
    const list = (names: Set<string>): PolicySummary[] => [...names].sort().map((n) => this.#summary(n));
    return {
      authInfo: info,
      allowed: { policies: list(allowed) },
      denied: { implicitDeny: { policies: authDecision === 'IMPLICIT_DENY' ? list(implicit) : [] }, explicitDeny: { policies: list(explicit) } },
      authDecision,
      missingContextValues: [...missing],
    };
  }

  /** A bare resource name completed to this server's ARN of the action's resource type. */
  #completeResource(action: IotAction, resource: string): string {
    if (resource.startsWith('arn:') || resource === '*') return resource;
    const type = actionResourceType[action];
    return type === '*' ? '*' : `arn:aws:iot:${this.#scope.region}:${this.#scope.accountId}:${type}/${resource}`;
  }

  // ─── Live sets (the connect path) ───────────────────────────────────────────────────────────

  livePoliciesForTarget(target: string): Promise<LivePolicies> {
    return this.#acquire(targetKey(target));
  }

  livePolicy(policyName: string): Promise<LivePolicies> {
    return this.#acquire(policyKey(policyName));
  }

  async #acquire(key: string): Promise<LiveEntry> {
    const existing = this.#live.get(key)?.deref();
    if (existing !== undefined) return existing;
    let pending = this.#loading.get(key);
    if (pending === undefined) {
      pending = this.#load(key).finally(() => this.#loading.delete(key));
      this.#loading.set(key, pending);
    }
    return pending;
  }

  async #load(key: string): Promise<LiveEntry> {
    for (let attempt = 1; ; attempt++) {
      const seen = this.#changes;
      const policies = await this.#read(key);
      const raced = this.#live.get(key)?.deref();
      if (raced !== undefined) return raced;
      // A write committed while we read may have missed this set (it was not registered yet): read again.
      if (seen === this.#changes || attempt >= maxLoadAttempts) {
        const entry = new LiveEntry(key, policies);
        this.#live.set(key, new WeakRef(entry));
        this.#finalizer.register(entry, key);
        return entry;
      }
    }
  }

  async #read(key: string): Promise<PolicyVersionInput[]> {
    const [kind, name] = splitKey(key);
    let rows: EffectivePolicyRecord[];
    if (kind === 'target') {
      rows = await this.#store.listEffectivePolicies(name);
    } else {
      const policy = await this.#store.getPolicy(name);
      const version = policy === undefined ? undefined : await this.#store.getPolicyVersion(name, policy.defaultVersionId);
      rows = version === undefined ? [] : [{ policyName: name, versionId: version.versionId, document: version.document }];
    }
    return rows.flatMap((r) => this.#parse(r) ?? []);
  }

  /** After a commit: count it, reload the live sets `affected` selects and bump their generations. */
  async #committed(affected: (entry: LiveEntry) => boolean): Promise<void> {
    this.#changes++;
    for (const [key, ref] of [...this.#live]) {
      const entry = ref.deref();
      if (entry === undefined) {
        this.#live.delete(key);
        continue;
      }
      if (!affected(entry)) continue;
      entry.policies = await this.#read(key);
      entry.generation.bump();
    }
  }

  /** A stored version as compilePolicies wants it; undefined (logged) if it no longer parses. */
  #parse(row: EffectivePolicyRecord): PolicyVersionInput | undefined {
    const cacheKey = `${row.policyName}\u0000${row.versionId}`;
    const cached = this.#parsed.get(cacheKey);
    if (cached !== undefined && cached.text === row.document) return cached.input;
    const result = validatePolicyDocument(row.document);
    let input: PolicyVersionInput | undefined;
    if (result.ok) input = { policyName: row.policyName, policyVersionId: row.versionId, document: result.document };
    else this.#logger?.warn({ policyName: row.policyName, policyVersionId: row.versionId, errors: result.errors }, 'a stored policy version no longer parses; it grants nothing');
    if (this.#parsed.size >= maxParsedDocuments) this.#parsed.delete(this.#parsed.keys().next().value!);
    this.#parsed.set(cacheKey, { text: row.document, input });
    return input;
  }

  // ─── Events ─────────────────────────────────────────────────────────────────────────────────

  onChange(listener: PolicyListener): () => void {
    const entry: PolicyListener = (event) => listener(event);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  #emit(event: PolicyEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (err: unknown) {
        this.#logger?.warn({ err, event: event.type }, 'a policy change listener threw');
      }
    }
  }

  // ─── Helpers ────────────────────────────────────────────────────────────────────────────────

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#writes.then(work);
    this.#writes = result.catch(() => undefined);
    return result;
  }

  async #apply(ops: readonly PolicyOp[]): Promise<void> {
    try {
      await this.#store.apply(ops);
    } catch (err: unknown) {
      // Writes are serialised here, so a failed check means a change made outside this service.
      if (isStoreError(err, 'ConditionFailed')) throw AwsErrors.conflictingResourceUpdate('The policy was changed concurrently; retry the request');
      throw err;
    }
  }

  async #requirePolicy(policyName: string): Promise<PolicyRecord> {
    const policy = await this.#store.getPolicy(policyName);
    if (policy === undefined) throw AwsErrors.resourceNotFound(`The policy ${policyName} does not exist`);
    return policy;
  }

  #missingDefault(policy: PolicyRecord): Error {
    return AwsErrors.internalFailure(`The default version ${policy.defaultVersionId} of the policy ${policy.policyName} is missing from the store`);
  }

  async #allPoliciesOf(target: string): Promise<{ policyName: string }[]> {
    const out: { policyName: string }[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.#store.listPoliciesForTarget(target, { limit: 100, ...(after === undefined ? {} : { afterPolicyName: after }) });
      out.push(...page);
      if (page.length < 100) return out;
      after = page[page.length - 1]!.policyName;
    }
  }

  /** A target as given, checked (see the header); `mustExist` asks identity about certificates. */
  async #requireTarget(raw: unknown, mustExist: boolean): Promise<string> {
    const target = this.#parseTarget(raw, 'target');
    if (target.kind === 'certificate') {
      if (mustExist && !(await this.#certificateExists(target.arn))) {
        throw AwsErrors.resourceNotFound(`The certificate ${target.arn} does not exist`);
      }
      return target.arn;
    }
    return target.id;
  }

  async #requirePrincipal(raw: unknown, cognitoIdentityPoolId: string | undefined): Promise<string> {
    if (raw === undefined) {
      throw AwsErrors.invalidRequest(
        cognitoIdentityPoolId === undefined ? 'principal is required (a certificate ARN or an access key id)' : 'Cognito identities are not supported: give a certificate ARN or an access key id as principal',
      );
    }
    return this.#requireTarget(raw, true);
  }

  #parseTarget(raw: unknown, member: string): Target {
    if (typeof raw !== 'string' || raw.length === 0) throw AwsErrors.invalidRequest(`${member} is required`);
    if (raw.startsWith('arn:')) {
      const arn = parseIotArn(raw);
      if (arn !== undefined && arn.type === 'cert' && certificateIdPattern.test(arn.resource)) {
        if (arn.region !== this.#scope.region || arn.accountId !== this.#scope.accountId) {
          throw AwsErrors.invalidRequest(`${raw} belongs to another region or account than this server's (${this.#scope.region}, ${this.#scope.accountId})`);
        }
        return { kind: 'certificate', arn: raw };
      }
      if (arn !== undefined && arn.type === 'thinggroup') throw AwsErrors.invalidRequest(`Thing groups are not supported: ${raw}`);
      throw AwsErrors.invalidRequest(`${member} ${raw} is not a certificate ARN (arn:aws:iot:<region>:<account>:cert/<certificateId>)`);
    }
    if (accessKeyIdPattern.test(raw)) return { kind: 'accessKey', id: raw };
    if (/^[a-z]{2}(-[a-z]+)+-\d+:/.test(raw)) throw AwsErrors.invalidRequest(`Cognito identities are not supported: ${raw}`);
    throw AwsErrors.invalidRequest(`${member} must be a certificate ARN or an access key id (got ${JSON.stringify(raw.length > 200 ? `${raw.slice(0, 200)}...` : raw)})`);
  }

  #policyArn(policyName: string): string {
    return iotArn(this.#scope, 'policy', policyName);
  }

  #summary(policyName: string): PolicySummary {
    return { policyName, policyArn: this.#policyArn(policyName) };
  }
}

function targetKey(target: string): string {
  return `target:${target}`;
}

function policyKey(policyName: string): string {
  return `policy:${policyName}`;
}

function splitKey(key: string): ['target' | 'policy', string] {
  const at = key.indexOf(':');
  return [key.slice(0, at) === 'target' ? 'target' : 'policy', key.slice(at + 1)];
}

function invalid(member: string, value: string, constraint: string): Error {
  const shown = value.length > 256 ? `${value.slice(0, 256)}...` : value;
  return AwsErrors.invalidRequest(`1 validation error detected: Value '${shown}' at '${member}' failed to satisfy constraint: ${constraint}`);
}

function requirePolicyName(value: unknown): string {
  if (typeof value !== 'string') throw AwsErrors.invalidRequest('policyName is required');
  if (!policyNamePattern.test(value)) {
    throw invalid('policyName', value, 'Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and 128');
  }
  return value;
}

function requireVersionId(value: unknown): string {
  if (typeof value !== 'string' || !versionIdPattern.test(value)) {
    throw invalid('policyVersionId', String(value), 'Member must satisfy regular expression pattern: [0-9]+ (1 to 10 digits)');
  }
  return value;
}

/** Validates the document (MalformedPolicyException says what and where) and returns it as given. */
function requireDocument(value: unknown): string {
  if (typeof value !== 'string') throw AwsErrors.invalidRequest('policyDocument is required (the policy JSON as a string)');
  parsePolicyDocument(value);
  return value;
}

function versionNotFound(policyName: string, versionId: string): Error {
  return AwsErrors.resourceNotFound(`The policy ${policyName} has no version ${versionId}`);
}

function pageSize(value: number | undefined): number {
  if (value === undefined) return defaultPageSize;
  if (!Number.isInteger(value) || value < 1 || value > maxPageSize) throw invalid('pageSize', String(value), `Member must be between 1 and ${maxPageSize}`);
  return value;
}

function markerPosition(marker: string | undefined, scope: string): string | undefined {
  return marker === undefined || marker === '' ? undefined : decodePageToken(marker, scope, 'marker');
}

function requireAuthInfos<T>(infos: readonly T[] | undefined): readonly T[] {
  if (!Array.isArray(infos) || infos.length === 0) throw AwsErrors.invalidRequest('authInfos is required: 1 to 10 items');
  if (infos.length > maxAuthInfos) throw AwsErrors.invalidRequest(`authInfos has ${infos.length} items; at most ${maxAuthInfos} are allowed`);
  return infos;
}

function requireActionType(value: unknown, member: string): AuthActionType {
  if (typeof value === 'string' && (authActionTypes as readonly string[]).includes(value)) return value as AuthActionType;
  throw invalid(member, String(value), `Member must satisfy enum value set: [${authActionTypes.join(', ')}]`);
}

function requireAction(value: unknown, index: number): IotAction {
  const i = typeof value === 'string' ? actionIndex(value) : -1;
  if (i < 0) throw AwsErrors.invalidRequest(`authInfos[${index}].action ${JSON.stringify(value)} is not an IoT policy action (${iotActions.join(', ')})`);
  return iotActions[i]!;
}

function requireResources(value: unknown, index: number): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((r): r is string => typeof r === 'string' && r.length > 0)) {
    throw AwsErrors.invalidRequest(`authInfos[${index}].resources must be a non-empty list of resource ARNs`);
  }
  return value;
}

function actionOfType(type: AuthActionType): IotAction {
  switch (type) {
    case 'PUBLISH':
      return 'iot:Publish';
    case 'SUBSCRIBE':
      return 'iot:Subscribe';
    case 'RECEIVE':
      return 'iot:Receive';
    case 'CONNECT':
      return 'iot:Connect';
  }
}

function decisionOf(e: Explanation): AuthDecision {
  return e.decision.allowed ? 'ALLOWED' : e.decision.reason === 'explicit-deny' ? 'EXPLICIT_DENY' : 'IMPLICIT_DENY';
}
