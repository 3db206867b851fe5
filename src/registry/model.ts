/**
 * The registry's public values: the inputs and outputs of its operations (shaped and named like the
 * AWS IoT API's, spec/http-api.md 3.1, 3.2, 3.4), the change events, and what the broker's connect
 * path gets from `thingForConnection`. Plain data; timestamps are Dates.
 */
import type { ThingPrincipalType } from '../store/index.js';
import type { Tag } from '../tagging/index.js';

export type { ThingPrincipalType };

export const thingPrincipalTypes: readonly ThingPrincipalType[] = ['EXCLUSIVE_THING', 'NON_EXCLUSIVE_THING'];

export interface AttributePayload {
  /** Attribute name → value. In an UpdateThing merge, an empty value deletes that attribute. */
  readonly attributes?: Readonly<Record<string, string>>;
  /** UpdateThing: true merges into the stored attributes, false (default) replaces them. Ignored on create. */
  readonly merge?: boolean;
}

export interface CreateThingInput {
  readonly thingName: string;
  readonly thingTypeName?: string;
  readonly attributePayload?: AttributePayload;
  readonly billingGroupName?: string;
}

export interface CreateThingOutput {
  readonly thingName: string;
  readonly thingArn: string;
  readonly thingId: string;
}

export interface ThingDescription {
  /** Always the thing name (AWS's DescribeThing says so). */
  readonly defaultClientId: string;
  readonly thingName: string;
  readonly thingId: string;
  readonly thingArn: string;
  readonly thingTypeName?: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly version: number;
  readonly billingGroupName?: string;
}

export interface UpdateThingInput {
  readonly thingName: string;
  readonly thingTypeName?: string;
  readonly attributePayload?: AttributePayload;
  /** When given, the update happens only if the thing is at this version (else VersionConflictException). */
  readonly expectedVersion?: number;
  /** Removes the thing's type; not together with thingTypeName. */
  readonly removeThingType?: boolean;
}

export interface DeleteThingInput {
  readonly thingName: string;
  readonly expectedVersion?: number;
}

/** Page inputs shared by the List operations: nextToken is opaque, maxResults 1-250 (default 50). */
export interface PageInput {
  readonly nextToken?: string;
  readonly maxResults?: number;
}

export interface ListThingsInput extends PageInput {
  readonly attributeName?: string;
  readonly attributeValue?: string;
  readonly thingTypeName?: string;
  /** attributeValue is a prefix of the attribute's value. */
  readonly usePrefixAttributeValue?: boolean;
}

export interface ThingSummary {
  readonly thingName: string;
  readonly thingTypeName?: string;
  readonly thingArn: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly version: number;
}

export interface ListThingsOutput {
  readonly things: readonly ThingSummary[];
  /** Present only when another page exists. */
  readonly nextToken?: string;
}

export interface ThingTypeProperties {
  /** At most 2028 characters. */
  readonly thingTypeDescription?: string;
  /** At most 3 attribute names. */
  readonly searchableAttributes?: readonly string[];
  /** Kept and returned as given (AWS: `{ propagatingAttributes: [...] }`). */
  readonly mqtt5Configuration?: unknown;
}

/** A tag as the API carries it (tagging/'s). */
export type { Tag };

export interface CreateThingTypeInput {
  readonly thingTypeName: string;
  readonly thingTypeProperties?: ThingTypeProperties;
  /** Stored as the type's tags (at most 50; tagging/ checks them). */
  readonly tags?: readonly Tag[];
}

export interface CreateThingTypeOutput {
  readonly thingTypeName: string;
  readonly thingTypeArn: string;
  readonly thingTypeId: string;
}

export interface ThingTypeMetadata {
  readonly deprecated: boolean;
  readonly deprecationDate?: Date;
  readonly creationDate: Date;
}

export interface ThingTypeDescription {
  readonly thingTypeName: string;
  readonly thingTypeId: string;
  readonly thingTypeArn: string;
  readonly thingTypeProperties: ThingTypeProperties;
  readonly thingTypeMetadata: ThingTypeMetadata;
}

export interface ListThingTypesInput extends PageInput {
  /** Exact name. */
  readonly thingTypeName?: string;
}

export interface ListThingTypesOutput {
  /** Each without thingTypeId, as AWS's ThingTypeDefinition. */
  readonly thingTypes: ReadonlyArray<Omit<ThingTypeDescription, 'thingTypeId'>>;
  readonly nextToken?: string;
}

export interface DeprecateThingTypeInput {
  readonly thingTypeName: string;
  /** true: make it usable again. */
  readonly undoDeprecate?: boolean;
}

export interface AttachThingPrincipalInput {
  readonly thingName: string;
  /** A certificate ARN (`arn:aws:iot:<region>:<account>:cert/<certificateId>`), Cognito identity id or access key id. */
  readonly principal: string;
  /** Default NON_EXCLUSIVE_THING. */
  readonly thingPrincipalType?: ThingPrincipalType;
}

export interface DetachThingPrincipalInput {
  readonly thingName: string;
  readonly principal: string;
}

export interface ListThingPrincipalsInput extends PageInput {
  readonly thingName: string;
  /** V2 only. */
  readonly thingPrincipalType?: ThingPrincipalType;
}

export interface ListPrincipalThingsInput extends PageInput {
  readonly principal: string;
  /** V2 only. */
  readonly thingPrincipalType?: ThingPrincipalType;
}

export interface ListThingPrincipalsOutput {
  readonly principals: readonly string[];
  readonly nextToken?: string;
}

export interface ListThingPrincipalsV2Output {
  readonly thingPrincipalObjects: ReadonlyArray<{ readonly principal: string; readonly thingPrincipalType: ThingPrincipalType }>;
  readonly nextToken?: string;
}

export interface ListPrincipalThingsOutput {
  readonly things: readonly string[];
  readonly nextToken?: string;
}

export interface ListPrincipalThingsV2Output {
  readonly principalThingObjects: ReadonlyArray<{ readonly thingName: string; readonly thingPrincipalType: ThingPrincipalType }>;
  readonly nextToken?: string;
}

/**
 * The thing a connection is bound to (spec/mqtt.md section 16): the source of the
 * `iot:Connection.Thing.*` policy variables and of `thingName` in lifecycle events.
 */
export interface ConnectionThing {
  readonly thingName: string;
  readonly thingTypeName?: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** true: bound through an EXCLUSIVE_THING attachment (the client id need not equal the thing name). */
  readonly exclusive: boolean;
}

/** A thing as the change events carry it (what `$aws/events/thing/...` messages need). */
export interface ThingSnapshot {
  readonly thingName: string;
  readonly thingId: string;
  readonly thingTypeName?: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly version: number;
}

/**
 * A committed registry change, delivered after the store accepted it, in commit order. For the
 * policy layer (invalidate caches) and core (publish `$aws/events/...` when enabled).
 */
export type RegistryEvent =
  | { readonly type: 'thing-created'; readonly thingName: string; readonly thing: ThingSnapshot; readonly timestamp: Date }
  | {
      readonly type: 'thing-updated';
      readonly thingName: string;
      readonly thing: ThingSnapshot;
      readonly previous: ThingSnapshot;
      readonly timestamp: Date;
    }
  | { readonly type: 'thing-deleted'; readonly thingName: string; readonly thing: ThingSnapshot; readonly timestamp: Date }
  | {
      readonly type: 'thing-type-created' | 'thing-type-updated' | 'thing-type-deleted';
      readonly thingTypeName: string;
      readonly thingType: ThingTypeDescription;
      readonly timestamp: Date;
    }
  | {
      readonly type: 'principal-attached' | 'principal-detached';
      readonly thingName: string;
      readonly principal: string;
      readonly thingPrincipalType: ThingPrincipalType;
      readonly timestamp: Date;
    };

export type RegistryListener = (event: RegistryEvent) => void;
