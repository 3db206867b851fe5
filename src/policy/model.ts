/**
 * The policy service's inputs, outputs and events (spec/http-api.md 3.5, spec/policy.md sections 8
 * and 12). Member names are the AWS API's; times are Dates (api/ turns them into epoch seconds).
 */
import type { PolicyVersionInput } from './compile.js';
import type { PolicyGeneration } from './decision-cache.js';
import type { StatementTrace } from './evaluate.js';
import type { Tag } from '../tagging/index.js';

export interface PolicySummary {
  readonly policyName: string;
  readonly policyArn: string;
}

export interface CreatePolicyInput {
  readonly policyName: string;
  /** The document as JSON text; kept and echoed back exactly as given. */
  readonly policyDocument: string;
  /** Stored as the policy's tags (at most 50; tagging/ checks them). */
  readonly tags?: readonly Tag[];
}

export interface CreatePolicyOutput {
  readonly policyName: string;
  readonly policyArn: string;
  readonly policyDocument: string;
  readonly policyVersionId: string;
}

export interface PolicyDescription {
  readonly policyName: string;
  readonly policyArn: string;
  /** The default version's document. */
  readonly policyDocument: string;
  readonly defaultVersionId: string;
  readonly creationDate: Date;
  readonly lastModifiedDate: Date;
  readonly generationId: string;
}

export interface ListPoliciesInput {
  readonly marker?: string;
  /** 1–250; default 25. */
  readonly pageSize?: number;
  /** Policies are listed by name: ascending unless this is false. */
  readonly isAscendingOrder?: boolean;
}

export interface ListPoliciesOutput {
  readonly policies: PolicySummary[];
  readonly nextMarker?: string;
}

export interface CreatePolicyVersionInput {
  readonly policyName: string;
  readonly policyDocument: string;
  readonly setAsDefault?: boolean;
}

export interface CreatePolicyVersionOutput {
  readonly policyArn: string;
  readonly policyDocument: string;
  readonly policyVersionId: string;
  readonly isDefaultVersion: boolean;
}

export interface PolicyVersionDescription {
  readonly policyArn: string;
  readonly policyName: string;
  readonly policyDocument: string;
  readonly policyVersionId: string;
  readonly isDefaultVersion: boolean;
  readonly creationDate: Date;
  readonly lastModifiedDate: Date;
  readonly generationId: string;
}

export interface PolicyVersionSummary {
  readonly versionId: string;
  readonly isDefaultVersion: boolean;
  readonly createDate: Date;
}

export interface AttachPolicyInput {
  readonly policyName: string;
  /** A certificate ARN of this account, or an access key id (a WebSocket client's principal). */
  readonly target: string;
}

export interface ListAttachedPoliciesInput {
  readonly target: string;
  /** Thing groups are not supported, so there is nothing to recurse into: accepted and ignored. */
  readonly recursive?: boolean;
  readonly marker?: string;
  readonly pageSize?: number;
}

export interface ListAttachedPoliciesOutput {
  readonly policies: PolicySummary[];
  readonly nextMarker?: string;
}

export interface ListTargetsForPolicyInput {
  readonly policyName: string;
  readonly marker?: string;
  readonly pageSize?: number;
}

export interface ListTargetsForPolicyOutput {
  readonly targets: string[];
  readonly nextMarker?: string;
}

export interface GetEffectivePoliciesInput {
  readonly principal?: string;
  readonly cognitoIdentityPoolId?: string;
  /** Selects thing-group policies on AWS; there are no thing groups here, so it only has to be well-formed. */
  readonly thingName?: string;
}

export interface EffectivePolicy {
  readonly policyName: string;
  readonly policyArn: string;
  readonly policyDocument: string;
}

/** TestAuthorization's four simulated actions (spec/policy.md section 12). */
export const authActionTypes = ['PUBLISH', 'SUBSCRIBE', 'RECEIVE', 'CONNECT'] as const;
export type AuthActionType = (typeof authActionTypes)[number];

export interface AuthInfo {
  readonly actionType: AuthActionType;
  readonly resources: readonly string[];
}

export interface TestAuthorizationInput {
  /** A certificate ARN or an access key id. */
  readonly principal?: string;
  readonly cognitoIdentityPoolId?: string;
  /** `iot:ClientId`, and (with the certificate) the thing the connection would be bound to. */
  readonly clientId?: string;
  readonly authInfos: readonly AuthInfo[];
  /** Evaluated as if attached (they must exist). */
  readonly policyNamesToAdd?: readonly string[];
  /** Evaluated as if not attached. */
  readonly policyNamesToSkip?: readonly string[];
}

export type AuthDecision = 'ALLOWED' | 'EXPLICIT_DENY' | 'IMPLICIT_DENY';

export interface AuthResult {
  readonly authInfo: AuthInfo;
  readonly allowed: { readonly policies: PolicySummary[] };
  readonly denied: {
    readonly implicitDeny: { readonly policies: PolicySummary[] };
    readonly explicitDeny: { readonly policies: PolicySummary[] };
  };
  readonly authDecision: AuthDecision;
  readonly missingContextValues: string[];
}

/**
 * The explain request (Thingcore extension, `POST /test-authorization/explain`): TestAuthorization's
 * input, where each authInfo may name any IoT action (`action: 'iot:GetThingShadow'`) instead of an
 * actionType, and a resource may be a bare name (`devices/a/temp`) that is completed to this
 * server's ARN of the action's resource type.
 */
export interface ExplainAuthorizationInput extends Omit<TestAuthorizationInput, 'authInfos'> {
  readonly authInfos: readonly ExplainAuthInfo[];
}

export interface ExplainAuthInfo {
  readonly actionType?: AuthActionType;
  /** An IoT action name (any case), e.g. `iot:Publish`; wins over actionType. */
  readonly action?: string;
  readonly resources: readonly string[];
}

/** One decision, explained: which statement decided (variables substituted) or why none did. */
export interface ResourceExplanation {
  readonly action: string;
  readonly resource: string;
  readonly authDecision: AuthDecision;
  /** One line: `iot:Publish on arn:… allowed by policy "p" version 2 Statement[0], Resource arn:…/devices/sensor-1/*`. */
  readonly summary: string;
  /** The deciding statement, absent when no statement allowed it. */
  readonly decidingStatement?: {
    readonly policyName: string;
    readonly policyVersionId: string;
    readonly statementIndex: number;
    readonly sid?: string;
    readonly effect: 'Allow' | 'Deny';
    readonly resourceElement: 'Resource' | 'NotResource';
    readonly substitutedResource: string;
  };
  /** Every statement of every evaluated policy, and why it did or did not apply. */
  readonly statements: readonly StatementTrace[];
  readonly missingContextValues: readonly string[];
}

export interface ExplainAuthorizationOutput {
  readonly principal: string;
  readonly clientId?: string;
  /** The default versions that were evaluated. */
  readonly policies: ReadonlyArray<{ readonly policyName: string; readonly policyVersionId: string }>;
  /** Set when the principal is allowed everything (the admin access key): no policy is evaluated. */
  readonly allowedEverything?: string;
  readonly results: readonly ResourceExplanation[];
}

/** What changed; emitted after the live policy sets are current again (cache invalidation, events). */
export type PolicyEvent =
  | { readonly type: 'policy-created'; readonly policyName: string }
  | { readonly type: 'policy-deleted'; readonly policyName: string }
  | { readonly type: 'policy-version-created'; readonly policyName: string; readonly policyVersionId: string; readonly isDefaultVersion: boolean }
  | { readonly type: 'policy-version-deleted'; readonly policyName: string; readonly policyVersionId: string }
  | { readonly type: 'default-version-changed'; readonly policyName: string; readonly policyVersionId: string; readonly previousVersionId: string }
  | { readonly type: 'policy-attached'; readonly policyName: string; readonly target: string }
  | { readonly type: 'policy-detached'; readonly policyName: string; readonly target: string };

export type PolicyListener = (event: PolicyEvent) => void;

/**
 * The default versions of the policies that apply to one target (or of one named policy), kept
 * current by the service: a write that changes them replaces `policies` and bumps `generation`
 * before its API call returns. Synchronous to read, so a connection's DecisionCache can recompile
 * without awaiting. Held by connections; dropped (garbage-collected) when none holds it.
 */
export interface LivePolicies {
  readonly policies: readonly PolicyVersionInput[];
  readonly generation: PolicyGeneration;
}
