/**
 * The registry service: things, thing types and thing–principal attachments with AWS IoT's
 * semantics (spec/http-api.md 3.1, 3.2, 3.4), over a RegistryStore.
 *
 * Every write is one store batch that starts with check ops on what the decision was based on
 * (read → decide → write "if still so"). When a check fails because someone changed the thing in
 * between, the operation starts over from the read, which then decides again (for instance a
 * concurrent CreateThing of the same configuration becomes the idempotent answer, an UpdateThing
 * with expectedVersion becomes VersionConflictException). So there are no lost updates and no half
 * writes. Writes of this process to the same thing (or thing type) also queue behind each other
 * (KeyedQueue), so ten concurrent merges into one thing cost ten writes, not a storm of retries;
 * the checks then only matter for changes made across keys or by another process.
 *
 * After each commit the service invalidates its connection-binding cache and then tells its
 * listeners (RegistryEvent), in commit order.
 *
 * CreateThingType's tags are checked with the rest of its input and stored (tagging/) once the type
 * exists; the store deletes a thing's or thing type's tags together with it.
 *
 * Simplifications, each documented where it happens: billing groups do not exist yet (a
 * billingGroupName is ResourceNotFoundException); DeleteThingType needs the type to be deprecated but
 * not for 5 minutes as AWS does.
 */
import { randomUUID } from 'node:crypto';
import { AwsErrors, iotArn, type AccountScope, KeyedQueue } from '../shared/index.js';
import { isStoreError } from '../store/index.js';
import type { RegistryOp, RegistryStore, TagStore, ThingRecord, ThingTypePropertiesRecord, ThingTypeRecord } from '../store/index.js';
import { checkTags, maxTagsPerResource, putCreationTags } from '../tagging/index.js';
import type { TagPair } from '../tagging/index.js';
import { ConnectionThingCache } from './connection-cache.js';
import type {
  AttachThingPrincipalInput,
  AttributePayload,
  ConnectionThing,
  CreateThingInput,
  CreateThingOutput,
  CreateThingTypeInput,
  CreateThingTypeOutput,
  DeleteThingInput,
  DeprecateThingTypeInput,
  DetachThingPrincipalInput,
  ListPrincipalThingsInput,
  ListPrincipalThingsOutput,
  ListPrincipalThingsV2Output,
  ListThingPrincipalsInput,
  ListThingPrincipalsOutput,
  ListThingPrincipalsV2Output,
  ListThingsInput,
  ListThingsOutput,
  ListThingTypesInput,
  ListThingTypesOutput,
  PageInput,
  RegistryEvent,
  RegistryListener,
  ThingDescription,
  ThingPrincipalType,
  ThingSnapshot,
  ThingSummary,
  ThingTypeDescription,
  ThingTypeProperties,
  UpdateThingInput,
} from './model.js';
import { thingPrincipalTypes } from './model.js';
import { decodePageToken, decodeSeqToken, encodePageToken } from './page-token.js';
import {
  Problems,
  defaultPageSize,
  maxAttributesWithType,
  maxAttributesWithoutType,
  maxPageSize,
  maxSearchableAttributes,
  parsePrincipal,
  requireName,
  rules,
} from './validation.js';

export interface RegistryServiceOptions {
  /** The opened Store (its `registry` part, and `tags` for CreateThingType's tags). */
  readonly store: { readonly registry: RegistryStore; readonly tags: TagStore };
  /** Region and account of every ARN the registry forms and accepts. */
  readonly scope: AccountScope;
  /** Wall-clock ms; default Date.now. */
  readonly clock?: () => number;
  /** A first change listener (more with onChange). */
  readonly events?: RegistryListener;
  /**
   * Whether a principal exists (identity's business; core wires it). Absent: any well-formed
   * principal is accepted. Consulted by AttachThingPrincipal, DetachThingPrincipal and
   * ListPrincipalThings, which answer ResourceNotFoundException for an unknown principal.
   */
  readonly principalExists?: (principal: string) => Promise<boolean>;
  /** Where a throwing listener is reported. */
  readonly logger?: { warn(obj: object, msg?: string): void };
  /** Entries of the thingForConnection cache (default 100 000; 0 disables it). */
  readonly connectionCacheSize?: number;
  /** New thing and thing type ids (default crypto.randomUUID). */
  readonly newId?: () => string;
}

/** The registry's operations; every error is a ServiceError (shared/) with the AWS exception name. */
export interface RegistryService {
  createThing(input: CreateThingInput): Promise<CreateThingOutput>;
  describeThing(thingName: string): Promise<ThingDescription>;
  updateThing(input: UpdateThingInput): Promise<void>;
  deleteThing(input: DeleteThingInput): Promise<void>;
  listThings(input?: ListThingsInput): Promise<ListThingsOutput>;

  createThingType(input: CreateThingTypeInput): Promise<CreateThingTypeOutput>;
  describeThingType(thingTypeName: string): Promise<ThingTypeDescription>;
  listThingTypes(input?: ListThingTypesInput): Promise<ListThingTypesOutput>;
  deprecateThingType(input: DeprecateThingTypeInput): Promise<void>;
  deleteThingType(thingTypeName: string): Promise<void>;

  attachThingPrincipal(input: AttachThingPrincipalInput): Promise<void>;
  detachThingPrincipal(input: DetachThingPrincipalInput): Promise<void>;
  listThingPrincipals(input: Omit<ListThingPrincipalsInput, 'thingPrincipalType'>): Promise<ListThingPrincipalsOutput>;
  listThingPrincipalsV2(input: ListThingPrincipalsInput): Promise<ListThingPrincipalsV2Output>;
  listPrincipalThings(input: Omit<ListPrincipalThingsInput, 'thingPrincipalType'>): Promise<ListPrincipalThingsOutput>;
  listPrincipalThingsV2(input: ListPrincipalThingsInput): Promise<ListPrincipalThingsV2Output>;

  /**
   * The thing a connection of `principal` (a certificate ARN, …) with MQTT client id `clientId` is
   * bound to (spec/mqtt.md section 16), or undefined: with an EXCLUSIVE_THING attachment, the
   * principal's one thing whatever the client id; otherwise the thing named `clientId` when it is
   * attached to the principal. Cached in memory (misses too), invalidated by this service's writes.
   * `principal` must be in the form attachments store it: for a certificate,
   * `iotArn(scope, 'cert', certificateId)` with the lower-case id identity computes. Never throws a
   * ServiceError (it does not validate; an unknown principal simply has no thing).
   */
  thingForConnection(principal: string, clientId: string): Promise<ConnectionThing | undefined>;
  /** Adds a change listener; returns the function that removes it. Listener errors are logged, never thrown. */
  onChange(listener: RegistryListener): () => void;
}

export function createRegistryService(options: RegistryServiceOptions): RegistryService {
  return new Registry(options);
}

/** How often a write is re-decided after a concurrent change (made elsewhere) before giving up. */
const maxAttempts = 10;
const RETRY = Symbol('retry');
type Attempt<T> = T | typeof RETRY;

class Registry implements RegistryService {
  readonly #store: RegistryStore;
  readonly #tags: TagStore;
  readonly #scope: AccountScope;
  readonly #clock: () => number;
  readonly #principalExists: ((principal: string) => Promise<boolean>) | undefined;
  readonly #logger: { warn(obj: object, msg?: string): void } | undefined;
  readonly #newId: () => string;
  readonly #listeners = new Set<RegistryListener>();
  readonly #cache: ConnectionThingCache;
  /** Writes of this process to one thing (key `thing:<name>`) or thing type (`type:<name>`) run one at a time. */
  readonly #queue = new KeyedQueue();

  constructor(options: RegistryServiceOptions) {
    this.#store = options.store.registry;
    this.#tags = options.store.tags;
    this.#scope = options.scope;
    this.#clock = options.clock ?? Date.now;
    this.#principalExists = options.principalExists;
    this.#logger = options.logger;
    this.#newId = options.newId ?? randomUUID;
    this.#cache = new ConnectionThingCache(options.connectionCacheSize ?? 100_000);
    if (options.events !== undefined) this.#listeners.add(options.events);
  }

  // ─── Things ────────────────────────────────────────────────────────────────────────────────────

  async createThing(input: CreateThingInput): Promise<CreateThingOutput> {
    const problems = new Problems();
    problems.string('thingName', input.thingName, rules.thingName, true);
    problems.string('thingTypeName', input.thingTypeName, rules.thingTypeName, false);
    problems.string('billingGroupName', input.billingGroupName, rules.billingGroupName, false);
    const payload = readAttributePayload(problems, input.attributePayload);
    problems.throwIfAny();
    const { thingName, thingTypeName, billingGroupName } = input;
    // `merge` is ignored on create (spec 3.1); empty values are stored as given.
    const attributes = payload.attributes ?? new Map<string, string>();
    this.#checkAttributeCount(thingName, attributes.size, thingTypeName);

    if (billingGroupName !== undefined) {
      // Billing groups are not implemented, so none exists.
      throw AwsErrors.resourceNotFound(`Billing group ${billingGroupName} does not exist`);
    }

    return this.#retrying('CreateThing', `thing:${thingName}`, async () => {
      const existing = await this.#store.getThing(thingName);
      if (existing !== undefined) {
        // Idempotent for the same configuration: type, attributes, billing group (spec 3.1, S5).
        if (existing.thingTypeName === thingTypeName && existing.billingGroupName === billingGroupName && sameAttributes(existing.attributes, attributes)) {
          return { thingName, thingArn: this.#thingArn(thingName), thingId: existing.thingId };
        }
        throw AwsErrors.resourceAlreadyExists(`Thing ${thingName} already exists with different configuration`, {
          resourceId: existing.thingId,
          resourceArn: this.#thingArn(thingName),
        });
      }
      const ops: RegistryOp[] = [];
      if (thingTypeName !== undefined) {
        await this.#usableThingType(thingTypeName, 'create');
        ops.push({ op: 'checkThingType', thingTypeName, exists: true, deprecated: false });
      }
      const thing: ThingRecord = {
        thingName,
        thingId: this.#newId(),
        ...(thingTypeName === undefined ? {} : { thingTypeName }),
        attributes: toRecord(attributes),
        version: 1,
        creationDateMs: this.#clock(),
      };
      ops.push({ op: 'checkThing', thingName, exists: false }, { op: 'putThing', thing });
      if ((await this.#applyChecked(ops)) === RETRY) return RETRY;
      this.#cache.invalidateThing(thingName);
      this.#emit({ type: 'thing-created', thingName, thing: snapshot(thing), timestamp: new Date(thing.creationDateMs) });
      return { thingName, thingArn: this.#thingArn(thingName), thingId: thing.thingId };
    });
  }

  async describeThing(thingName: string): Promise<ThingDescription> {
    requireName('thingName', thingName, rules.thingName);
    const thing = await this.#store.getThing(thingName);
    if (thing === undefined) throw thingNotFound(thingName);
    return {
      defaultClientId: thing.thingName,
      thingName: thing.thingName,
      thingId: thing.thingId,
      thingArn: this.#thingArn(thing.thingName),
      ...(thing.thingTypeName === undefined ? {} : { thingTypeName: thing.thingTypeName }),
      attributes: { ...thing.attributes },
      version: thing.version,
      ...(thing.billingGroupName === undefined ? {} : { billingGroupName: thing.billingGroupName }),
    };
  }

  async updateThing(input: UpdateThingInput): Promise<void> {
    const problems = new Problems();
    problems.string('thingName', input.thingName, rules.thingName, true);
    problems.string('thingTypeName', input.thingTypeName, rules.thingTypeName, false);
    problems.boolean('removeThingType', input.removeThingType);
    problems.integer('expectedVersion', input.expectedVersion);
    const payload = readAttributePayload(problems, input.attributePayload);
    problems.throwIfAny();
    const { thingName, thingTypeName, expectedVersion } = input;
    const removeThingType = input.removeThingType === true;
    if (removeThingType && thingTypeName !== undefined) {
      throw AwsErrors.invalidRequest('removeThingType and thingTypeName cannot both be given: remove the type, or set a new one');
    }

    await this.#retrying('UpdateThing', `thing:${thingName}`, async () => {
      const current = await this.#store.getThing(thingName);
      if (current === undefined) throw thingNotFound(thingName);
      if (expectedVersion !== undefined && current.version !== expectedVersion) {
        throw versionConflict(thingName, expectedVersion, current.version);
      }
      const ops: RegistryOp[] = [{ op: 'checkThing', thingName, exists: true, version: current.version }];
      const newType = removeThingType ? undefined : (thingTypeName ?? current.thingTypeName);
      if (thingTypeName !== undefined && thingTypeName !== current.thingTypeName) {
        await this.#usableThingType(thingTypeName, 'update');
        ops.push({ op: 'checkThingType', thingTypeName, exists: true, deprecated: false });
      }
      const attributes = nextAttributes(current.attributes, payload);
      this.#checkAttributeCount(thingName, attributes.size, newType);
      const thing: ThingRecord = {
        thingName,
        thingId: current.thingId,
        ...(newType === undefined ? {} : { thingTypeName: newType }),
        attributes: toRecord(attributes),
        version: current.version + 1,
        ...(current.billingGroupName === undefined ? {} : { billingGroupName: current.billingGroupName }),
        creationDateMs: current.creationDateMs,
      };
      ops.push({ op: 'putThing', thing });
      if ((await this.#applyChecked(ops)) === RETRY) return RETRY;
      this.#cache.invalidateThing(thingName);
      this.#emit({ type: 'thing-updated', thingName, thing: snapshot(thing), previous: snapshot(current), timestamp: new Date(this.#clock()) });
      return undefined;
    });
  }

  async deleteThing(input: DeleteThingInput): Promise<void> {
    const problems = new Problems();
    problems.string('thingName', input.thingName, rules.thingName, true);
    problems.integer('expectedVersion', input.expectedVersion);
    problems.throwIfAny();
    const { thingName, expectedVersion } = input;

    await this.#retrying('DeleteThing', `thing:${thingName}`, async () => {
      const current = await this.#store.getThing(thingName);
      // "returns successfully ... if you specify a thing that doesn't exist" (spec 3.1, S5).
      if (current === undefined) return undefined;
      if (expectedVersion !== undefined && current.version !== expectedVersion) {
        throw versionConflict(thingName, expectedVersion, current.version);
      }
      const attached = await this.#store.listThingPrincipals(thingName, { limit: 1 });
      if (attached.length > 0) {
        // AWS refuses too (spec 3.1; the exact exception is unconfirmed, IRE as the spec suggests).
        throw AwsErrors.invalidRequest(
          `Cannot delete thing ${thingName}: it still has attached principals (for example ${attached[0]!.principal}); detach them first`,
        );
      }
      const ops: RegistryOp[] = [
        { op: 'checkThing', thingName, exists: true, version: current.version },
        { op: 'checkThingHasNoPrincipals', thingName },
        { op: 'deleteThing', thingName },
      ];
      if ((await this.#applyChecked(ops)) === RETRY) return RETRY;
      this.#cache.invalidateThing(thingName);
      this.#emit({ type: 'thing-deleted', thingName, thing: snapshot(current), timestamp: new Date(this.#clock()) });
      return undefined;
    });
  }

  async listThings(input: ListThingsInput = {}): Promise<ListThingsOutput> {
    const problems = new Problems();
    const size = readPageSize(problems, input);
    problems.string('attributeName', input.attributeName, rules.attributeName, false);
    problems.string('attributeValue', input.attributeValue, rules.attributeValue, false);
    problems.string('thingTypeName', input.thingTypeName, rules.thingTypeName, false);
    problems.boolean('usePrefixAttributeValue', input.usePrefixAttributeValue);
    problems.throwIfAny();
    const { attributeName, attributeValue, thingTypeName } = input;
    if (attributeValue !== undefined && attributeName === undefined) {
      throw AwsErrors.invalidRequest('attributeValue needs attributeName: say which attribute should have this value');
    }
    const after = pageToken(input) === undefined ? undefined : decodePageToken(pageToken(input)!, 'ListThings');
    const rows = await this.#store.listThings({
      limit: size + 1,
      ...(after === undefined ? {} : { afterThingName: after }),
      ...(thingTypeName === undefined ? {} : { thingTypeName }),
      ...(attributeName === undefined ? {} : { attributeName }),
      ...(attributeValue === undefined ? {} : { attributeValue }),
      ...(input.usePrefixAttributeValue === true ? { attributeValueIsPrefix: true } : {}),
    });
    const { items, next } = page(rows, size, (t) => t.thingName);
    return {
      things: items.map((t): ThingSummary => ({
        thingName: t.thingName,
        ...(t.thingTypeName === undefined ? {} : { thingTypeName: t.thingTypeName }),
        thingArn: this.#thingArn(t.thingName),
        attributes: { ...t.attributes },
        version: t.version,
      })),
      ...(next === undefined ? {} : { nextToken: encodePageToken('ListThings', next) }),
    };
  }

  // ─── Thing types ───────────────────────────────────────────────────────────────────────────────

  async createThingType(input: CreateThingTypeInput): Promise<CreateThingTypeOutput> {
    const problems = new Problems();
    problems.string('thingTypeName', input.thingTypeName, rules.thingTypeName, true);
    const properties = readThingTypeProperties(problems, input.thingTypeProperties);
    const tags = readTags(problems, input.tags);
    problems.throwIfAny();
    const { thingTypeName } = input;

    return this.#retrying('CreateThingType', `type:${thingTypeName}`, async () => {
      const existing = await this.#store.getThingType(thingTypeName);
      if (existing !== undefined) {
        throw AwsErrors.resourceAlreadyExists(`Thing type ${thingTypeName} already exists`, {
          resourceId: existing.thingTypeId,
          resourceArn: this.#thingTypeArn(thingTypeName),
        });
      }
      const thingType: ThingTypeRecord = {
        thingTypeName,
        thingTypeId: this.#newId(),
        thingTypeProperties: properties,
        deprecated: false,
        creationDateMs: this.#clock(),
      };
      const ops: RegistryOp[] = [{ op: 'checkThingType', thingTypeName, exists: false }, { op: 'putThingType', thingType }];
      if ((await this.#applyChecked(ops)) === RETRY) return RETRY;
      this.#emit({ type: 'thing-type-created', thingTypeName, thingType: this.#describeType(thingType), timestamp: new Date(thingType.creationDateMs) });
      await putCreationTags(this.#tags, { resourceType: 'thingtype', resourceId: thingTypeName }, tags);
      return { thingTypeName, thingTypeArn: this.#thingTypeArn(thingTypeName), thingTypeId: thingType.thingTypeId };
    });
  }

  async describeThingType(thingTypeName: string): Promise<ThingTypeDescription> {
    requireName('thingTypeName', thingTypeName, rules.thingTypeName);
    const thingType = await this.#store.getThingType(thingTypeName);
    if (thingType === undefined) throw thingTypeNotFound(thingTypeName);
    return this.#describeType(thingType);
  }

  async listThingTypes(input: ListThingTypesInput = {}): Promise<ListThingTypesOutput> {
    const problems = new Problems();
    const size = readPageSize(problems, input);
    problems.string('thingTypeName', input.thingTypeName, rules.thingTypeName, false);
    problems.throwIfAny();
    const token = pageToken(input);
    const after = token === undefined ? undefined : decodePageToken(token, 'ListThingTypes');
    const rows = await this.#store.listThingTypes({
      limit: size + 1,
      ...(after === undefined ? {} : { afterThingTypeName: after }),
      ...(input.thingTypeName === undefined ? {} : { thingTypeName: input.thingTypeName }),
    });
    const { items, next } = page(rows, size, (t) => t.thingTypeName);
    return {
      thingTypes: items.map((t) => {
        const { thingTypeId: _id, ...definition } = this.#describeType(t);
        return definition;
      }),
      ...(next === undefined ? {} : { nextToken: encodePageToken('ListThingTypes', next) }),
    };
  }

  async deprecateThingType(input: DeprecateThingTypeInput): Promise<void> {
    const problems = new Problems();
    problems.string('thingTypeName', input.thingTypeName, rules.thingTypeName, true);
    problems.boolean('undoDeprecate', input.undoDeprecate);
    problems.throwIfAny();
    const { thingTypeName } = input;
    const deprecate = input.undoDeprecate !== true;

    await this.#retrying('DeprecateThingType', `type:${thingTypeName}`, async () => {
      const current = await this.#store.getThingType(thingTypeName);
      if (current === undefined) throw thingTypeNotFound(thingTypeName);
      // Already in the asked state: nothing changes (a second deprecation keeps the first date).
      if (current.deprecated === deprecate) return undefined;
      const { deprecationDateMs: _old, ...rest } = current;
      const thingType: ThingTypeRecord = deprecate ? { ...rest, deprecated: true, deprecationDateMs: this.#clock() } : { ...rest, deprecated: false };
      const ops: RegistryOp[] = [
        { op: 'checkThingType', thingTypeName, exists: true, deprecated: current.deprecated },
        { op: 'putThingType', thingType },
      ];
      if ((await this.#applyChecked(ops)) === RETRY) return RETRY;
      this.#emit({ type: 'thing-type-updated', thingTypeName, thingType: this.#describeType(thingType), timestamp: new Date(this.#clock()) });
      return undefined;
    });
  }

  async deleteThingType(thingTypeName: string): Promise<void> {
    requireName('thingTypeName', thingTypeName, rules.thingTypeName);
    await this.#retrying('DeleteThingType', `type:${thingTypeName}`, async () => {
      const current = await this.#store.getThingType(thingTypeName);
      if (current === undefined) throw thingTypeNotFound(thingTypeName);
      // AWS wants the type deprecated for 5 minutes first; we want it deprecated (no waiting).
      if (!current.deprecated) {
        throw AwsErrors.invalidRequest(`Thing type ${thingTypeName} must be deprecated (DeprecateThingType) before it can be deleted`);
      }
      const user = await this.#store.listThings({ thingTypeName, limit: 1 });
      if (user.length > 0) {
        throw AwsErrors.invalidRequest(
          `Cannot delete thing type ${thingTypeName}: things still have it (for example ${user[0]!.thingName}); change their type first`,
        );
      }
      const ops: RegistryOp[] = [
        { op: 'checkThingType', thingTypeName, exists: true, deprecated: true },
        { op: 'checkThingTypeUnused', thingTypeName },
        { op: 'deleteThingType', thingTypeName },
      ];
      if ((await this.#applyChecked(ops)) === RETRY) return RETRY;
      this.#emit({ type: 'thing-type-deleted', thingTypeName, thingType: this.#describeType(current), timestamp: new Date(this.#clock()) });
      return undefined;
    });
  }

  // ─── Thing ↔ principal ───────────────────────────────────────────────────────────────────────

  async attachThingPrincipal(input: AttachThingPrincipalInput): Promise<void> {
    const problems = new Problems();
    problems.string('thingName', input.thingName, rules.thingName, true);
    problems.enumValue('thingPrincipalType', input.thingPrincipalType, thingPrincipalTypes);
    problems.throwIfAny();
    const { thingName } = input;
    const { principal } = parsePrincipal('principal', input.principal, this.#scope);
    const thingPrincipalType: ThingPrincipalType = input.thingPrincipalType ?? 'NON_EXCLUSIVE_THING';
    const exclusive = thingPrincipalType === 'EXCLUSIVE_THING';

    await this.#retrying('AttachThingPrincipal', `thing:${thingName}`, async () => {
      if ((await this.#store.getThing(thingName)) === undefined) throw thingNotFound(thingName);
      await this.#requirePrincipal(principal);
      const existing = await this.#store.getAttachment(thingName, principal);
      // Attaching again is a no-op (spec 3.4, suggested); another type changes the type.
      if (existing?.thingPrincipalType === thingPrincipalType) return undefined;
      const ops: RegistryOp[] = [
        { op: 'checkThing', thingName, exists: true },
        // EXCLUSIVE_THING: the principal may have no other thing; NON_EXCLUSIVE_THING: no other exclusive one.
        { op: 'checkPrincipalNotAttachedElsewhere', principal, thingName, exclusiveOnly: !exclusive },
        { op: 'attachPrincipal', thingName, principal, thingPrincipalType, attachedAtMs: this.#clock() },
      ];
      try {
        await this.#store.apply(ops);
      } catch (err: unknown) {
        if (!isStoreError(err, 'ConditionFailed')) throw err;
        if (err.opIndex !== 1) return RETRY;
        throw await this.#attachedElsewhere(principal, thingName, exclusive);
      }
      this.#cache.invalidatePrincipal(principal);
      this.#emit({ type: 'principal-attached', thingName, principal, thingPrincipalType, timestamp: new Date(this.#clock()) });
      return undefined;
    });
  }

  async detachThingPrincipal(input: DetachThingPrincipalInput): Promise<void> {
    requireName('thingName', input.thingName, rules.thingName);
    const { thingName } = input;
    const { principal } = parsePrincipal('principal', input.principal, this.#scope);
    await this.#retrying('DetachThingPrincipal', `thing:${thingName}`, async () => {
      if ((await this.#store.getThing(thingName)) === undefined) throw thingNotFound(thingName);
      await this.#requirePrincipal(principal);
      const existing = await this.#store.getAttachment(thingName, principal);
      if (existing === undefined) return undefined; // not attached: nothing to do
      await this.#store.apply([{ op: 'detachPrincipal', thingName, principal }]);
      this.#cache.invalidatePrincipal(principal);
      this.#emit({
        type: 'principal-detached',
        thingName,
        principal,
        thingPrincipalType: existing.thingPrincipalType,
        timestamp: new Date(this.#clock()),
      });
      return undefined;
    });
  }

  async listThingPrincipals(input: Omit<ListThingPrincipalsInput, 'thingPrincipalType'>): Promise<ListThingPrincipalsOutput> {
    const { items, nextToken } = await this.#thingPrincipals(input, undefined, 'ListThingPrincipals');
    return { principals: items.map((a) => a.principal), ...(nextToken === undefined ? {} : { nextToken }) };
  }

  async listThingPrincipalsV2(input: ListThingPrincipalsInput): Promise<ListThingPrincipalsV2Output> {
    const { items, nextToken } = await this.#thingPrincipals(input, input.thingPrincipalType, 'ListThingPrincipalsV2');
    return {
      thingPrincipalObjects: items.map((a) => ({ principal: a.principal, thingPrincipalType: a.thingPrincipalType })),
      ...(nextToken === undefined ? {} : { nextToken }),
    };
  }

  async listPrincipalThings(input: Omit<ListPrincipalThingsInput, 'thingPrincipalType'>): Promise<ListPrincipalThingsOutput> {
    const { items, nextToken } = await this.#principalThings(input, undefined, 'ListPrincipalThings');
    return { things: items.map((a) => a.thingName), ...(nextToken === undefined ? {} : { nextToken }) };
  }

  async listPrincipalThingsV2(input: ListPrincipalThingsInput): Promise<ListPrincipalThingsV2Output> {
    const { items, nextToken } = await this.#principalThings(input, input.thingPrincipalType, 'ListPrincipalThingsV2');
    return {
      principalThingObjects: items.map((a) => ({ thingName: a.thingName, thingPrincipalType: a.thingPrincipalType })),
      ...(nextToken === undefined ? {} : { nextToken }),
    };
  }

  async #thingPrincipals(input: ListThingPrincipalsInput, type: unknown, listing: string) {
    const problems = new Problems();
    const size = readPageSize(problems, input);
    problems.string('thingName', input.thingName, rules.thingName, true);
    problems.enumValue('thingPrincipalType', type, thingPrincipalTypes);
    problems.throwIfAny();
    const token = pageToken(input);
    const afterSeq = token === undefined ? undefined : decodeSeqToken(token, listing);
    if ((await this.#store.getThing(input.thingName)) === undefined) throw thingNotFound(input.thingName);
    const rows = await this.#store.listThingPrincipals(input.thingName, {
      limit: size + 1,
      ...(afterSeq === undefined ? {} : { afterSeq }),
      ...(type === undefined ? {} : { thingPrincipalType: type as ThingPrincipalType }),
    });
    const { items, next } = page(rows, size, (a) => String(a.seq));
    return { items, nextToken: next === undefined ? undefined : encodePageToken(listing, next) };
  }

  async #principalThings(input: ListPrincipalThingsInput, type: unknown, listing: string) {
    const problems = new Problems();
    const size = readPageSize(problems, input);
    problems.enumValue('thingPrincipalType', type, thingPrincipalTypes);
    problems.throwIfAny();
    const { principal } = parsePrincipal('principal', input.principal, this.#scope);
    const token = pageToken(input);
    const afterSeq = token === undefined ? undefined : decodeSeqToken(token, listing);
    await this.#requirePrincipal(principal);
    const rows = await this.#store.listPrincipalThings(principal, {
      limit: size + 1,
      ...(afterSeq === undefined ? {} : { afterSeq }),
      ...(type === undefined ? {} : { thingPrincipalType: type as ThingPrincipalType }),
    });
    const { items, next } = page(rows, size, (a) => String(a.seq));
    return { items, nextToken: next === undefined ? undefined : encodePageToken(listing, next) };
  }

  // ─── The connect path ────────────────────────────────────────────────────────────────────────

  async thingForConnection(principal: string, clientId: string): Promise<ConnectionThing | undefined> {
    const cached = this.#cache.get(principal, clientId);
    if (cached.hit) return cached.value;
    const generation = this.#cache.generation;
    const [exclusive] = await this.#store.listPrincipalThings(principal, { limit: 1, thingPrincipalType: 'EXCLUSIVE_THING' });
    let thingName: string | undefined;
    if (exclusive !== undefined) {
      thingName = exclusive.thingName;
    } else if (clientId !== '' && (await this.#store.getAttachment(clientId, principal)) !== undefined) {
      thingName = clientId;
    }
    const thing = thingName === undefined ? undefined : await this.#store.getThing(thingName);
    const value: ConnectionThing | undefined =
      thing === undefined
        ? undefined
        : Object.freeze({
            thingName: thing.thingName,
            ...(thing.thingTypeName === undefined ? {} : { thingTypeName: thing.thingTypeName }),
            attributes: Object.freeze({ ...thing.attributes }),
            exclusive: exclusive !== undefined,
          });
    this.#cache.set(principal, clientId, value, generation);
    return value;
  }

  onChange(listener: RegistryListener): () => void {
    // A wrapper, so that the same function added twice is removed one at a time.
    const entry: RegistryListener = (event) => listener(event);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  // ─── Helpers ─────────────────────────────────────────────────────────────────────────────────

  #thingArn(thingName: string): string {
    return iotArn(this.#scope, 'thing', thingName);
  }

  #thingTypeArn(thingTypeName: string): string {
    return iotArn(this.#scope, 'thingtype', thingTypeName);
  }

  #describeType(t: ThingTypeRecord): ThingTypeDescription {
    return {
      thingTypeName: t.thingTypeName,
      thingTypeId: t.thingTypeId,
      thingTypeArn: this.#thingTypeArn(t.thingTypeName),
      thingTypeProperties: describeProperties(t.thingTypeProperties),
      thingTypeMetadata: {
        deprecated: t.deprecated,
        ...(t.deprecationDateMs === undefined ? {} : { deprecationDate: new Date(t.deprecationDateMs) }),
        creationDate: new Date(t.creationDateMs),
      },
    };
  }

  /** The type exists (else RNF) and is not deprecated (else IRE). */
  async #usableThingType(thingTypeName: string, action: 'create' | 'update'): Promise<void> {
    const thingType = await this.#store.getThingType(thingTypeName);
    if (thingType === undefined) throw thingTypeNotFound(thingTypeName);
    if (thingType.deprecated) {
      throw AwsErrors.invalidRequest(
        action === 'create'
          ? `Can not create new thing with deprecated thing type: ${thingTypeName}`
          : `Can not update thing to deprecated thing type: ${thingTypeName}`,
      );
    }
  }

  #checkAttributeCount(thingName: string, count: number, thingTypeName: string | undefined): void {
    const max = thingTypeName === undefined ? maxAttributesWithoutType : maxAttributesWithType;
    if (count > max) {
      throw AwsErrors.invalidRequest(
        thingTypeName === undefined
          ? `Thing ${thingName} would have ${count} attributes; a thing without a thing type can have at most ${max}`
          : `Thing ${thingName} would have ${count} attributes; a thing with a thing type can have at most ${max}`,
      );
    }
  }

  async #requirePrincipal(principal: string): Promise<void> {
    if (this.#principalExists !== undefined && !(await this.#principalExists(principal))) {
      throw AwsErrors.resourceNotFound(`The principal ${principal} does not exist`);
    }
  }

  /** The InvalidRequestException for an attachment the exclusive rules forbid, naming the other thing. */
  async #attachedElsewhere(principal: string, thingName: string, exclusive: boolean) {
    const others = await this.#store.listPrincipalThings(principal, { limit: 2, ...(exclusive ? {} : { thingPrincipalType: 'EXCLUSIVE_THING' as const }) });
    const other = others.find((a) => a.thingName !== thingName);
    const where = other === undefined ? 'another thing' : `thing ${other.thingName}`;
    return AwsErrors.invalidRequest(
      exclusive
        ? `Principal ${principal} cannot be attached exclusively to thing ${thingName}: it is already attached to ${where}`
        : `Principal ${principal} cannot be attached to thing ${thingName}: it is attached exclusively to ${where}`,
    );
  }

  /** Applies; RETRY when a check op failed (someone changed what the decision was based on). */
  async #applyChecked(ops: readonly RegistryOp[]): Promise<void | typeof RETRY> {
    try {
      await this.#store.apply(ops);
      return undefined;
    } catch (err: unknown) {
      if (isStoreError(err, 'ConditionFailed')) return RETRY;
      throw err;
    }
  }

  /** Runs `attempt` in the queue of `key` (a thing or a thing type) until it does not ask to retry. */
  #retrying<T>(operation: string, key: `thing:${string}` | `type:${string}`, attempt: () => Promise<Attempt<T>>): Promise<T> {
    return this.#queue.run(key, async () => {
      for (let i = 0; i < maxAttempts; i++) {
        const result = await attempt();
        if (result !== RETRY) return result;
      }
      throw AwsErrors.conflictingResourceUpdate(`${operation}: ${key} kept changing concurrently; try again`);
    });
  }

  #emit(event: RegistryEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (err: unknown) {
        this.#logger?.warn({ err, event: event.type }, 'registry change listener threw');
      }
    }
  }
}

// ─── Pure helpers ──────────────────────────────────────────────────────────────────────────────

function thingNotFound(thingName: string) {
  return AwsErrors.resourceNotFound(`Thing ${thingName} cannot be found.`);
}

function thingTypeNotFound(thingTypeName: string) {
  return AwsErrors.resourceNotFound(`Thing type ${thingTypeName} cannot be found.`);
}

function versionConflict(thingName: string, expected: number, actual: number) {
  return AwsErrors.versionConflict(`The version for thing ${thingName} does not match the expected version: expected ${expected}, it is ${actual}.`);
}

function snapshot(thing: ThingRecord): ThingSnapshot {
  return {
    thingName: thing.thingName,
    thingId: thing.thingId,
    ...(thing.thingTypeName === undefined ? {} : { thingTypeName: thing.thingTypeName }),
    attributes: { ...thing.attributes },
    version: thing.version,
  };
}

interface CheckedPayload {
  readonly attributes?: Map<string, string>;
  readonly merge: boolean;
}

function readAttributePayload(problems: Problems, payload: AttributePayload | undefined): CheckedPayload {
  if (payload === undefined || payload === null) return { merge: false };
  if (typeof payload !== 'object' || Array.isArray(payload)) {
    problems.add('attributePayload', payload, 'Member must be a structure');
    return { merge: false };
  }
  problems.boolean('attributePayload.merge', payload.merge);
  const attributes = problems.attributes('attributePayload.attributes', payload.attributes);
  return { ...(attributes === undefined ? {} : { attributes }), merge: payload.merge === true };
}

/**
 * UpdateThing's attributes (spec 3.1): no attributes given → unchanged; merge → the given ones
 * override, an empty value deletes; otherwise the given map replaces the stored one.
 */
function nextAttributes(current: Readonly<Record<string, string>>, payload: CheckedPayload): Map<string, string> {
  const result = new Map(Object.entries(current));
  if (payload.attributes === undefined) return result;
  if (!payload.merge) return new Map(payload.attributes);
  for (const [name, value] of payload.attributes) {
    if (value === '') result.delete(name);
    else result.set(name, value);
  }
  return result;
}

/** An object built with own data properties (an attribute may be called `__proto__`). */
function toRecord(map: ReadonlyMap<string, string>): Record<string, string> {
  return Object.fromEntries(map);
}

function sameAttributes(stored: Readonly<Record<string, string>>, given: ReadonlyMap<string, string>): boolean {
  const entries = Object.entries(stored);
  return entries.length === given.size && entries.every(([k, v]) => given.get(k) === v);
}

function readThingTypeProperties(problems: Problems, value: ThingTypeProperties | undefined): ThingTypePropertiesRecord {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.add('thingTypeProperties', value, 'Member must be a structure');
    return {};
  }
  const out: { -readonly [K in keyof ThingTypePropertiesRecord]: ThingTypePropertiesRecord[K] } = {};
  if (problems.string('thingTypeProperties.thingTypeDescription', value.thingTypeDescription, rules.thingTypeDescription, false)) {
    out.thingTypeDescription = value.thingTypeDescription;
  }
  const searchable: unknown = value.searchableAttributes;
  if (searchable !== undefined && searchable !== null) {
    if (!Array.isArray(searchable)) {
      problems.add('thingTypeProperties.searchableAttributes', searchable, 'Member must be a list');
    } else {
      if (searchable.length > maxSearchableAttributes) {
        problems.add('thingTypeProperties.searchableAttributes', searchable, `Member must have length less than or equal to ${maxSearchableAttributes}`);
      }
      searchable.forEach((name: unknown, i) => problems.string(`thingTypeProperties.searchableAttributes.${i + 1}.member`, name, rules.attributeName, true));
      out.searchableAttributes = [...(searchable as string[])];
    }
  }
  const mqtt5: unknown = value.mqtt5Configuration;
  if (mqtt5 !== undefined && mqtt5 !== null) {
    if (typeof mqtt5 !== 'object' || Array.isArray(mqtt5)) problems.add('thingTypeProperties.mqtt5Configuration', mqtt5, 'Member must be a structure');
    else out.mqtt5Configuration = JSON.parse(JSON.stringify(mqtt5)) as unknown;
  }
  return out;
}

function describeProperties(p: ThingTypePropertiesRecord): ThingTypeProperties {
  return {
    ...(p.thingTypeDescription === undefined ? {} : { thingTypeDescription: p.thingTypeDescription }),
    ...(p.searchableAttributes === undefined ? {} : { searchableAttributes: [...p.searchableAttributes] }),
    ...(p.mqtt5Configuration === undefined ? {} : { mqtt5Configuration: p.mqtt5Configuration }),
  };
}

/** CreateThingType's tags (tagging/'s checks), their problems reported with the other members'. */
function readTags(problems: Problems, value: unknown): TagPair[] {
  const { tags, problems: found } = checkTags('tags', value, { maxCount: maxTagsPerResource });
  for (const p of found) problems.addMessage(p);
  return tags;
}

function readPageSize(problems: Problems, input: PageInput): number {
  if (typeof input !== 'object' || input === null) return defaultPageSize;
  problems.integer('maxResults', input.maxResults, 1, maxPageSize);
  if (input.nextToken !== undefined && typeof input.nextToken !== 'string') problems.add('nextToken', input.nextToken, 'Member must be a string');
  return typeof input.maxResults === 'number' && Number.isSafeInteger(input.maxResults) ? input.maxResults : defaultPageSize;
}

/** The token, or undefined for the first page (the SDKs send an empty token as "none"). */
function pageToken(input: PageInput): string | undefined {
  return input.nextToken === undefined || input.nextToken === '' ? undefined : input.nextToken;
}

/** Splits `size + 1` fetched rows into the page and the position of its last item (when more exist). */
function page<T>(rows: readonly T[], size: number, positionOf: (item: T) => string): { items: T[]; next: string | undefined } {
  if (rows.length <= size) return { items: [...rows], next: undefined };
  const items = rows.slice(0, size);
  const last = items[items.length - 1];
  return { items, next: last === undefined ? undefined : positionOf(last) };
}
