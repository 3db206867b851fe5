/**
 * policy/: AWS IoT policies (spec/policy.md). So far the engine:
 *  - documents: `parsePolicyDocument(text)` validates as AWS does (JSON, Version, Statement,
 *    Effect, Action/NotAction, Resource/NotResource ARNs, Condition, `${...}` variables, 2048
 *    non-whitespace characters) and throws MalformedPolicyException saying what and where;
 *    `validatePolicyDocument` is the non-throwing form;
 *  - compilation: `compilePolicies(versions, context)` binds the default versions of every policy
 *    that applies to a principal to one connection's `PolicyContext` (client id, thing, certificate,
 *    source IP) — variables substituted, connection conditions decided — once per connection;
 *  - decisions: `decide(compiled, action, resourceArn, request?)` (explicit Deny wins, then Allow,
 *    else default deny), allocation-free; `decideName(compiled, action, name)` is the same for the
 *    server's own ARN of the action's type without building it (topic, filter, client id);
 *    `explain` and `describeDecision` say which statement decided and why the others did not
 *    apply ("every denial explained");
 *  - caching: a `DecisionCache` per connection (bounded, per action), invalidated in O(1) by
 *    bumping the shared `PolicyGeneration`.
 *
 *
 * And the service (`createPolicyService`): AWS IoT's policy operations (CreatePolicy … DeletePolicy,
 * versions with at most 5 per policy, AttachPolicy/DetachPolicy to certificate ARNs and access key
 * ids, ListAttachedPolicies, ListTargetsForPolicy, GetEffectivePolicies, TestAuthorization and its
 * explaining twin; spec/http-api.md 3.5) over the store's PolicyStore, change events (`onChange`), and
 * the live policy sets (`livePoliciesForTarget`, `livePolicy`) that core/'s per-connection decision
 * caches compile from, brought up to date (and their generations bumped) before a write returns.
 *
 * Resources are matched as AWS does: `*`/`?` globs over the whole ARN, case-sensitive; MQTT `+`
 * and `#` are literal characters; a statement needing an unresolved variable does not apply.
 *
 * It refuses: MQTT packets and hooks (core/ adapts decisions to the broker), HTTP, certificates'
 * crypto (identity/ supplies certificate facts), the registry (registry/ supplies thing facts).
 * Who a connection is (certificate facts, thing) is asked through options core wires
 * (`connectionContext`, `certificateExists`).
 */
export { iotActions, isIotAction, actionResourceType } from './actions.js';
export type { IotAction } from './actions.js';
export { parsePolicyDocument, validatePolicyDocument, maxPolicyDocumentChars } from './document.js';
export type { PolicyDocument, PolicyStatement, PolicyValidation, PolicyLanguageVersion, Effect } from './document.js';
export { policyResourceTypes } from './validate.js';
export { conditionOperators } from './conditions.js';
export type { ConditionOperator, ConditionClause } from './conditions.js';
export { dnFields, altNameKinds } from './context.js';
export type {
  PolicyContext,
  PolicyThingFacts,
  PolicyCertificateFacts,
  DnField,
  DnFacts,
  AltNameKind,
  AltNameFacts,
  RequestContext,
} from './context.js';
export { compilePolicies, CompiledPolicySet } from './compile.js';
export type { PolicyVersionInput, StatementRef, DecidingStatement, Decision, DecisionReason } from './compile.js';
export { decide, decideName, explain, describeDecision, isCacheable } from './evaluate.js';
export type { Explanation, StatementTrace, StatementOutcome } from './evaluate.js';
export { DecisionCache, PolicyGeneration } from './decision-cache.js';
export type { DecisionCacheOptions } from './decision-cache.js';
export { createPolicyService, maxPolicyVersions, maxPoliciesPerTarget, defaultPageSize as defaultPolicyPageSize, maxPageSize as maxPolicyPageSize } from './service.js';
export type { PolicyService, PolicyServiceOptions } from './service.js';
export { authActionTypes } from './model.js';
export type * from './model.js';
