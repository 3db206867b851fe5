/**
 * Plain records that the stores carry. No MQTT or AWS types: the broker and the AWS rooms convert
 * their own values to and from these at their edges.
 */

/** MQTT 5 properties that travel with an application message (forwarded to subscribers). */
export interface MessagePropertiesRecord {
  readonly payloadFormatIndicator?: boolean;
  readonly contentType?: string;
  readonly responseTopic?: string;
  readonly correlationData?: Buffer;
  /** Order-preserving list of [name, value] pairs. */
  readonly userProperties?: ReadonlyArray<readonly [string, string]>;
}

/** An application message as stored (retained, queued for an offline session, inflight). */
export interface MessageRecord {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  /** Wall-clock ms when the broker accepted the message. */
  readonly createdAtMs: number;
  /** Wall-clock ms after which the message must not be delivered (MQTT 5 message expiry); absent = never. */
  readonly expiresAtMs?: number;
  readonly properties?: MessagePropertiesRecord;
}

export interface SubscriptionRecord {
  /** The filter exactly as subscribed, including any `$share/<group>/` prefix. */
  readonly topicFilter: string;
  readonly qos: 0 | 1 | 2;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  readonly subscriptionId?: number;
}

/** A persistent session's own state (its subscriptions and messages are kept beside it). */
export interface SessionRecord {
  readonly clientId: string;
  /** 4 = MQTT 3.1.1, 5 = MQTT 5.0 (a session is resumed only by the same version, spec/mqtt.md section 6). */
  readonly protocolVersion: 3 | 4 | 5;
  readonly sessionExpiryIntervalSec: number;
  /** Wall-clock ms when the client went away; null while connected. */
  readonly disconnectedAtMs: number | null;
  /** Stable id of this session across resumes (lifecycle events' sessionIdentifier). */
  readonly sessionIdentifier: string;
}

/**
 * One message owed to a session, in delivery order (`seq` ascending, unique per client).
 * state 'queued': not yet sent; 'sent': PUBLISH sent with `packetId`, awaiting PUBACK/PUBREC;
 * 'released': QoS 2 PUBREC received and PUBREL sent, awaiting PUBCOMP (payload no longer needed).
 */
export interface SessionMessageRecord {
  readonly clientId: string;
  readonly seq: number;
  readonly state: 'queued' | 'sent' | 'released';
  readonly packetId: number | null;
  readonly message: MessageRecord;
}

/** Everything needed to rebuild one persistent session after a restart. */
export interface StoredSession {
  readonly session: SessionRecord;
  readonly subscriptions: readonly SubscriptionRecord[];
  readonly messages: readonly SessionMessageRecord[];
  /** QoS 2 packet ids received from the client and not yet released (PUBREL pending). */
  readonly awaitingRel: readonly number[];
}

export type SessionOp =
  | { readonly op: 'putSession'; readonly session: SessionRecord }
  /** Deletes the session and everything it owns (subscriptions, messages, awaitingRel). */
  | { readonly op: 'deleteSession'; readonly clientId: string }
  | { readonly op: 'putSubscription'; readonly clientId: string; readonly subscription: SubscriptionRecord }
  | { readonly op: 'deleteSubscription'; readonly clientId: string; readonly topicFilter: string }
  /** Inserts or replaces the message with this (clientId, seq). */
  | { readonly op: 'putMessage'; readonly message: SessionMessageRecord }
  /** Changes only state and packetId of an existing message (cheap: no payload rewrite). */
  | {
      readonly op: 'updateMessage';
      readonly clientId: string;
      readonly seq: number;
      readonly state: SessionMessageRecord['state'];
      readonly packetId: number | null;
    }
  | { readonly op: 'deleteMessage'; readonly clientId: string; readonly seq: number }
  | { readonly op: 'putAwaitingRel'; readonly clientId: string; readonly packetId: number }
  | { readonly op: 'deleteAwaitingRel'; readonly clientId: string; readonly packetId: number };

export type RetainedOp =
  | { readonly op: 'put'; readonly message: MessageRecord }
  | { readonly op: 'delete'; readonly topic: string };

// ─── Registry (things, thing types, thing–principal attachments) ────────────────────────────────

/** A thing as the registry stores it. Names are case-sensitive. */
export interface ThingRecord {
  readonly thingName: string;
  /** UUID, fixed at creation. */
  readonly thingId: string;
  readonly thingTypeName?: string;
  /** Attribute name → value, in the order given. */
  readonly attributes: Readonly<Record<string, string>>;
  /** 1 at creation, +1 per successful update. */
  readonly version: number;
  readonly billingGroupName?: string;
  /** Wall-clock ms. */
  readonly creationDateMs: number;
}

export interface ThingTypePropertiesRecord {
  readonly thingTypeDescription?: string;
  readonly searchableAttributes?: readonly string[];
  /** Kept as given (AWS's mqtt5Configuration: { propagatingAttributes: [...] }). */
  readonly mqtt5Configuration?: unknown;
}

export interface ThingTypeRecord {
  readonly thingTypeName: string;
  /** UUID, fixed at creation. */
  readonly thingTypeId: string;
  readonly thingTypeProperties: ThingTypePropertiesRecord;
  readonly deprecated: boolean;
  /** Wall-clock ms when it was deprecated; absent while not deprecated. */
  readonly deprecationDateMs?: number;
  /** Wall-clock ms. */
  readonly creationDateMs: number;
}

export type ThingPrincipalType = 'EXCLUSIVE_THING' | 'NON_EXCLUSIVE_THING';

/** One thing–principal attachment (many to many; at most one row per pair). */
export interface ThingPrincipalRecord {
  readonly thingName: string;
  /** The principal as given: a certificate ARN, or another principal form the registry accepts. */
  readonly principal: string;
  readonly thingPrincipalType: ThingPrincipalType;
  /** Wall-clock ms of the attachment. */
  readonly attachedAtMs: number;
  /** Store-assigned, increasing in attachment order; the listing order and cursor of attachments. */
  readonly seq: number;
}

/** A page query over things, ordered by thingName (binary, ascending). */
export interface ThingQuery {
  /** Only names strictly after this one. */
  readonly afterThingName?: string;
  readonly limit: number;
  readonly thingTypeName?: string;
  /** With attributeValue: the thing has this attribute with this value (or value prefix). */
  readonly attributeName?: string;
  readonly attributeValue?: string;
  /** attributeValue is a prefix of the value rather than the whole value. */
  readonly attributeValueIsPrefix?: boolean;
}

/** A page query over thing types, ordered by thingTypeName. */
export interface ThingTypeQuery {
  readonly afterThingTypeName?: string;
  readonly limit: number;
  readonly thingTypeName?: string;
}

/** A page query over attachments, in attachment order (seq ascending). */
export interface AttachmentQuery {
  /** Only attachments with a seq strictly above this one. */
  readonly afterSeq?: number;
  readonly limit: number;
  readonly thingPrincipalType?: ThingPrincipalType;
}

/**
 * A registry write. `check*` ops are conditions: when one does not hold, the whole batch is rolled
 * back and `apply` rejects with StoreError 'ConditionFailed' (whose `condition` names the failed op),
 * so compare-and-set and "create unless it exists" need no separate read.
 */
export type RegistryOp =
  /** Inserts or replaces the thing (attachments stay; renaming is not a thing). */
  | { readonly op: 'putThing'; readonly thing: ThingRecord }
  /** Deletes the thing and its attachments; nothing when absent. */
  | { readonly op: 'deleteThing'; readonly thingName: string }
  /** Inserts or replaces the thing type. */
  | { readonly op: 'putThingType'; readonly thingType: ThingTypeRecord }
  /** Deletes the thing type; nothing when absent. Fails the batch while a thing still has the type. */
  | { readonly op: 'deleteThingType'; readonly thingTypeName: string }
  /**
   * Attaches, or changes the type of an existing attachment (which keeps its seq and attachedAtMs).
   * Fails the batch when the thing does not exist.
   */
  | {
      readonly op: 'attachPrincipal';
      readonly thingName: string;
      readonly principal: string;
      readonly thingPrincipalType: ThingPrincipalType;
      readonly attachedAtMs: number;
    }
  /** Nothing when absent. */
  | { readonly op: 'detachPrincipal'; readonly thingName: string; readonly principal: string }
  /** Holds when the thing is absent (exists: false), or present and — when given — at `version`. */
  | { readonly op: 'checkThing'; readonly thingName: string; readonly exists: boolean; readonly version?: number }
  /** Holds when the thing type is absent (exists: false), or present and — when given — in that deprecated state. */
  | { readonly op: 'checkThingType'; readonly thingTypeName: string; readonly exists: boolean; readonly deprecated?: boolean }
  /** Holds when the thing has no attached principal. */
  | { readonly op: 'checkThingHasNoPrincipals'; readonly thingName: string }
  /** Holds when no thing has this type. */
  | { readonly op: 'checkThingTypeUnused'; readonly thingTypeName: string }
  /**
   * Holds when the principal is attached to no thing other than `thingName` (with `exclusiveOnly`:
   * to no other thing with an EXCLUSIVE_THING attachment).
   */
  | {
      readonly op: 'checkPrincipalNotAttachedElsewhere';
      readonly principal: string;
      readonly thingName: string;
      readonly exclusiveOnly: boolean;
    };

// ─── Identity (certificates and CA certificates) ────────────────────────────────────────────────

/** spec/http-api.md section 2. */
export type CertificateStatus = 'ACTIVE' | 'INACTIVE' | 'REVOKED' | 'PENDING_TRANSFER' | 'REGISTER_INACTIVE' | 'PENDING_ACTIVATION';
export type CaCertificateStatus = 'ACTIVE' | 'INACTIVE';
export type CertificateMode = 'DEFAULT' | 'SNI_ONLY';
export type AutoRegistrationStatus = 'ENABLE' | 'DISABLE';

/** A registered device certificate. Never holds a private key. */
export interface CertificateRecord {
  /** Lowercase hex SHA-256 of the DER; the primary key. */
  readonly certificateId: string;
  readonly certificatePem: string;
  readonly status: CertificateStatus;
  /** The registered CA it was registered with; absent for CA-less certificates and those the built-in CA issued. */
  readonly caCertificateId?: string;
  /** Account id. */
  readonly ownedBy: string;
  /** Wall-clock ms. */
  readonly creationDateMs: number;
  /** Wall-clock ms. */
  readonly lastModifiedDateMs: number;
  /** 1 at registration, +1 per change. */
  readonly customerVersion: number;
  /** Changes on every write (compare-and-set token). */
  readonly generationId: string;
  /** The certificate's validity window, ms. */
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  readonly certificateMode: CertificateMode;
}

/** RegisterCACertificate's registrationConfig (just-in-time provisioning), kept as given. */
export interface RegistrationConfigRecord {
  readonly templateBody?: string;
  readonly roleArn?: string;
  readonly templateName?: string;
}

/** A registered CA certificate. */
export interface CaCertificateRecord {
  readonly certificateId: string;
  readonly certificatePem: string;
  readonly status: CaCertificateStatus;
  readonly autoRegistrationStatus: AutoRegistrationStatus;
  readonly registrationConfig?: RegistrationConfigRecord;
  readonly ownedBy: string;
  readonly creationDateMs: number;
  readonly lastModifiedDateMs: number;
  readonly customerVersion: number;
  readonly generationId: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  readonly certificateMode: CertificateMode;
}

/** Where a certificate listing stands: the (creationDateMs, certificateId) of the last item seen. */
export interface CertificatePosition {
  readonly creationDateMs: number;
  readonly certificateId: string;
}

/**
 * A page of certificates ordered by (creationDateMs, certificateId), ascending or descending; ties on
 * the creation date are broken by id, so the order is total and a page boundary never skips or repeats.
 */
export interface CertificateQuery {
  readonly limit: number;
  readonly order: 'asc' | 'desc';
  /** Only certificates strictly after this position in `order`. */
  readonly after?: CertificatePosition;
  /** Only certificates registered with this CA. */
  readonly caCertificateId?: string;
}

/** A page of CA certificates, ordered as CertificateQuery. */
export interface CaCertificateQuery {
  readonly limit: number;
  readonly order: 'asc' | 'desc';
  readonly after?: CertificatePosition;
  /** Only CAs whose registrationConfig names this provisioning template. */
  readonly templateName?: string;
}

/**
 * A certificate-store write. `check*` ops are conditions, as in RegistryOp: when one does not hold the
 * batch is rolled back and `apply` rejects with StoreError 'ConditionFailed' (its `opIndex` naming it).
 */
export type CertificateOp =
  /** Inserts or replaces the certificate. */
  | { readonly op: 'putCertificate'; readonly certificate: CertificateRecord }
  /** Nothing when absent. */
  | { readonly op: 'deleteCertificate'; readonly certificateId: string }
  /** Inserts or replaces the CA certificate (its device certificates are not touched). */
  | { readonly op: 'putCaCertificate'; readonly caCertificate: CaCertificateRecord }
  /** Nothing when absent; device certificates registered with it stay. */
  | { readonly op: 'deleteCaCertificate'; readonly certificateId: string }
  /** Holds when the certificate is absent (exists: false), or present and — when given — at `generationId`. */
  | { readonly op: 'checkCertificate'; readonly certificateId: string; readonly exists: boolean; readonly generationId?: string }
  /** The same for a CA certificate. */
  | { readonly op: 'checkCaCertificate'; readonly certificateId: string; readonly exists: boolean; readonly generationId?: string };

// ─── Shadows (device shadow documents, their tombstones and history) ───────────────────────────

/**
 * A shadow's current row: the live document, or the tombstone a delete leaves so that a shadow
 * re-created soon after continues the version (spec/shadow.md 5.4). `shadowName` is '' for the
 * classic (unnamed) shadow. The store never interprets `document`.
 */
export interface ShadowRecord {
  readonly thingName: string;
  /** '' = the classic shadow. */
  readonly shadowName: string;
  /** The document's version; for a tombstone, the version the deleted document had. */
  readonly version: number;
  /** JSON text of the document (the shadow room's format); null for a tombstone. */
  readonly document: string | null;
  /** Wall-clock ms of the write (for a tombstone: of the delete). */
  readonly updatedAtMs: number;
}

/** One accepted version of a shadow, kept in its history. */
export interface ShadowHistoryRecord {
  readonly thingName: string;
  readonly shadowName: string;
  readonly version: number;
  /** JSON text of the document at this version. */
  readonly document: string;
  /** Wall-clock ms when this version was written. */
  readonly updatedAtMs: number;
}

/** What the current row must be for a ShadowWrite to happen. */
export interface ShadowExpectation {
  readonly version: number;
  /** true: the row is a tombstone; false: a live document. */
  readonly deleted: boolean;
}

/** How much history to keep after a live write. */
export interface ShadowHistoryRetention {
  /** Keep at most this many newest versions; 0 keeps none (and appends nothing). */
  readonly maxVersions: number;
  /** Also drop versions written before this wall-clock ms. */
  readonly notBeforeMs?: number;
}

/**
 * One conditional shadow write. It happens only when the current row matches `expected` (null: there
 * is no row at all); otherwise it is skipped with the outcome 'conflict' and the other writes of the
 * batch still happen. A live write with `history` appends its version to the history and prunes it;
 * history entries at or above the written version (left by an earlier incarnation) are dropped
 * first. A tombstone write drops the shadow's whole history.
 */
export interface ShadowWrite {
  readonly shadow: ShadowRecord;
  readonly expected: ShadowExpectation | null;
  readonly history?: ShadowHistoryRetention;
}

export type ShadowWriteOutcome = 'written' | 'conflict';

/** A page of a thing's live named shadows, by shadowName (binary, ascending). */
export interface NamedShadowQuery {
  /** Only names strictly after this one. */
  readonly afterShadowName?: string;
  readonly limit: number;
}

/** A page of a shadow's history, newest version first. */
export interface ShadowHistoryQuery {
  /** Only versions strictly below this one. */
  readonly beforeVersion?: number;
  readonly limit: number;
}

// ─── Policies (IoT policies, their versions and their targets) ─────────────────────────────────

/** A named IoT policy (policy/). Its documents live in its versions; exactly one is the default. */
export interface PolicyRecord {
  /** 1–128 of `[\w+=,.@-]`; the primary key (binary, case-sensitive). */
  readonly policyName: string;
  /** Decimal id of the operative version; names a PolicyVersionRecord of this policy. */
  readonly defaultVersionId: string;
  /** The id the next CreatePolicyVersion gets: ids are never reused, even after a delete. */
  readonly nextVersionId: number;
  /** Wall-clock ms. */
  readonly creationDateMs: number;
  /** Wall-clock ms of the last change (new version, default switched, version deleted). */
  readonly lastModifiedDateMs: number;
  /** Changes on every write (compare-and-set token). */
  readonly generationId: string;
}

/** One immutable version of a policy. */
export interface PolicyVersionRecord {
  readonly policyName: string;
  /** Decimal string: "1", "2", … */
  readonly versionId: string;
  /** The document exactly as the user gave it (the store never parses it). */
  readonly document: string;
  /** Wall-clock ms. */
  readonly creationDateMs: number;
}

/** A policy attached to a target (a certificate ARN, an access key id, …; the store never interprets it). */
export interface PolicyTargetRecord {
  readonly policyName: string;
  readonly target: string;
  /** Wall-clock ms of the attachment. */
  readonly attachedAtMs: number;
  /** Store-assigned, increasing in attachment order, never reused; the cursor of ListTargetsForPolicy. */
  readonly seq: number;
}

/** A page of policies ordered by policyName (binary). */
export interface PolicyQuery {
  readonly limit: number;
  readonly order: 'asc' | 'desc';
  /** Only policies strictly after this name in `order`. */
  readonly afterPolicyName?: string;
}

/** A page of a policy's targets in attachment order. */
export interface PolicyTargetQuery {
  readonly limit: number;
  /** Only attachments with a seq strictly above this one. */
  readonly afterSeq?: number;
}

/** A page of the policies attached to one target, by policyName (binary, ascending). */
export interface TargetPolicyQuery {
  readonly limit: number;
  /** Only policies strictly after this name. */
  readonly afterPolicyName?: string;
}

/** A policy's default version, as the connect path wants it: one row per policy attached to a target. */
export interface EffectivePolicyRecord {
  readonly policyName: string;
  readonly versionId: string;
  readonly document: string;
}

/**
 * A policy-store write. `checkPolicy` is a condition, as in RegistryOp: when it does not hold the
 * batch is rolled back and `apply` rejects with StoreError 'ConditionFailed' (its `opIndex` naming it).
 * Integrity: a version's or attachment's policy must exist, and a policy that still has targets
 * cannot be deleted (the batch fails with 'ApplyFailed').
 */
export type PolicyOp =
  /** Inserts or replaces the policy row (its versions and targets stay). */
  | { readonly op: 'putPolicy'; readonly policy: PolicyRecord }
  /** Deletes the policy and every version of it; nothing when absent. */
  | { readonly op: 'deletePolicy'; readonly policyName: string }
  /** Inserts or replaces one version. */
  | { readonly op: 'putPolicyVersion'; readonly version: PolicyVersionRecord }
  /** Nothing when absent. */
  | { readonly op: 'deletePolicyVersion'; readonly policyName: string; readonly versionId: string }
  /** Attaches; nothing when already attached (the first attachment keeps its seq and time). */
  | { readonly op: 'attachPolicy'; readonly policyName: string; readonly target: string; readonly attachedAtMs: number }
  /** Nothing when not attached. */
  | { readonly op: 'detachPolicy'; readonly policyName: string; readonly target: string }
  /** Detaches every policy from the target (a deleted certificate). */
  | { readonly op: 'detachTarget'; readonly target: string }
  /** Holds when the policy is absent (exists: false), or present and — when given — at `generationId`. */
  | { readonly op: 'checkPolicy'; readonly policyName: string; readonly exists: boolean; readonly generationId?: string };

// ─── Topic rules ────────────────────────────────────────────────────────────────────────────────

/** A topic rule (rules/). The store keeps the rule document as text and never interprets it. */
export interface RuleRecord {
  /** 1–128 of `[a-zA-Z0-9_]`; the primary key (binary, case-sensitive). */
  readonly ruleName: string;
  /** The rule document (sql, description, actions, errorAction, awsIotSqlVersion) as JSON text. */
  readonly document: string;
  /** The statement's FROM topic filter (ListTopicRules' topicPattern and `topic` filter); absent when it has none. */
  readonly topicPattern?: string;
  readonly ruleDisabled: boolean;
  /** Wall-clock ms. */
  readonly createdAtMs: number;
  /** Wall-clock ms of the last change (replace, enable, disable). */
  readonly lastModifiedAtMs: number;
}

/** A page of rules ordered by ruleName (binary, ascending), optionally filtered. */
export interface RuleQuery {
  readonly limit: number;
  /** Only rules strictly after this name. */
  readonly afterRuleName?: string;
  /** Only rules whose topicPattern equals this filter. */
  readonly topicPattern?: string;
  /** Only rules with this ruleDisabled value. */
  readonly ruleDisabled?: boolean;
}

/**
 * A rule-store write. `checkRule` is a condition, as in RegistryOp: when it does not hold the batch
 * is rolled back and `apply` rejects with StoreError 'ConditionFailed' (its `opIndex` naming it).
 */
export type RuleOp =
  /** Inserts or replaces the rule. */
  | { readonly op: 'putRule'; readonly rule: RuleRecord }
  /** Nothing when absent. */
  | { readonly op: 'deleteRule'; readonly ruleName: string }
  /** Holds when the rule exists (exists: true) or does not (exists: false). */
  | { readonly op: 'checkRule'; readonly ruleName: string; readonly exists: boolean };

// ─── Tags ───────────────────────────────────────────────────────────────────────────────────────

/** The resources that carry tags, named by the resource-type word of their ARN (spec/http-api.md section 2). */
export type TaggableResourceType = 'thing' | 'thingtype' | 'policy' | 'rule' | 'cert' | 'cacert';

/**
 * A resource whose tags are meant: `resourceId` is its key in its own store (thing name, thing type
 * name, policy name, rule name, certificate id, CA certificate id), not its ARN, so that tags stay
 * with their resource whatever region and account the server is configured with.
 */
export interface TaggedResource {
  readonly resourceType: TaggableResourceType;
  readonly resourceId: string;
}

/** One tag of a resource; keys are case-sensitive and unique per resource. */
export interface TagRecord {
  readonly key: string;
  /** '' when the tag has no value. */
  readonly value: string;
}

/** A page of one resource's tags, ordered by key (binary, ascending). */
export interface TagQuery {
  readonly limit: number;
  /** Only tags strictly after this key. */
  readonly afterKey?: string;
}

/**
 * A tag-store write. The check ops are conditions, as in RegistryOp: when one does not hold the
 * batch is rolled back and `apply` rejects with StoreError 'ConditionFailed' (its `opIndex` naming it).
 */
export type TagOp =
  /** Inserts the tag or replaces its value. Fails the batch ('ApplyFailed') when the resource does not exist. */
  | { readonly op: 'putTag'; readonly resource: TaggedResource; readonly key: string; readonly value: string }
  /** Nothing when absent. */
  | { readonly op: 'deleteTag'; readonly resource: TaggedResource; readonly key: string }
  /** Holds when the resource exists in its own store. */
  | { readonly op: 'checkResource'; readonly resource: TaggedResource }
  /** Holds when the resource has at most `max` tags (at this point of the batch). */
  | { readonly op: 'checkTagCount'; readonly resource: TaggedResource; readonly max: number };
