/**
 * The registry's routes (spec/http-api.md 3.1 things, 3.2 thing types, 3.4 thing ↔ principal): the
 * wire in and out, nothing else. Every check and rule is the registry's (it validates its inputs
 * itself, reporting all problems of a request at once), so handlers only read the members the model
 * names, call the service and shape its answer: absent optional members are left out, timestamps
 * are epoch seconds.
 */
// Not '../index.js': api/index.ts re-exports this module, and importing the files directly (as
// endpoint.ts does) keeps the module graph free of a cycle.
import { defineRoutes } from '../routing.js';
import type { RouteModule, RouteRequest } from '../routing.js';
import { isPlainObject, jsonBody } from '../body.js';
import type { JsonBodyReader } from '../body.js';
import { epochSeconds } from '../time.js';
import { AwsErrors } from '../../shared/index.js';
import { thingPrincipalTypes } from '../../registry/index.js';
import type { AttributePayload, RegistryService, Tag, ThingTypeDescription, ThingTypeProperties } from '../../registry/index.js';

/** The header AttachThingPrincipal & co. carry the principal in (its raw ARN, spec 3.4). */
const principalHeader = 'x-amzn-principal';

export function thingRoutes(registry: RegistryService): RouteModule {
  return defineRoutes('things', (r) => {
    // ─── 3.1 Things ──────────────────────────────────────────────────────────────────────────────
    r.post(
      '/things/:thingName',
      async (req) => {
        const body = jsonBody(req);
        const thingTypeName = body.string('thingTypeName');
        const billingGroupName = body.string('billingGroupName');
        const attributePayload = readAttributePayload(body);
        return registry.createThing({
          thingName: req.params.thingName,
          ...(thingTypeName === undefined ? {} : { thingTypeName }),
          ...(attributePayload === undefined ? {} : { attributePayload }),
          ...(billingGroupName === undefined ? {} : { billingGroupName }),
        });
      },
      { operation: 'CreateThing' },
    );

    r.get('/things/:thingName', (req) => registry.describeThing(req.params.thingName), { operation: 'DescribeThing' });

    r.get(
      '/things',
      async (req) => {
        const q = req.query;
        const maxResults = q.int('maxResults');
        const usePrefixAttributeValue = q.bool('usePrefixAttributeValue');
        const out = await registry.listThings({
          ...optional('nextToken', q.string('nextToken')),
          ...optional('maxResults', maxResults),
          ...optional('attributeName', q.string('attributeName')),
          ...optional('attributeValue', q.string('attributeValue')),
          ...optional('thingTypeName', q.string('thingTypeName')),
          ...optional('usePrefixAttributeValue', usePrefixAttributeValue),
        });
        return { things: out.things, nextToken: out.nextToken };
      },
      { operation: 'ListThings' },
    );

    r.patch(
      '/things/:thingName',
      async (req) => {
        const body = jsonBody(req);
        const thingTypeName = body.string('thingTypeName');
        const expectedVersion = body.int('expectedVersion');
        const removeThingType = body.bool('removeThingType');
        const attributePayload = readAttributePayload(body);
        await registry.updateThing({
          thingName: req.params.thingName,
          ...optional('thingTypeName', thingTypeName),
          ...optional('attributePayload', attributePayload),
          ...optional('expectedVersion', expectedVersion),
          ...optional('removeThingType', removeThingType),
        });
        return undefined;
      },
      { operation: 'UpdateThing' },
    );

    r.delete(
      '/things/:thingName',
      async (req) => {
        const expectedVersion = req.query.int('expectedVersion');
        await registry.deleteThing({ thingName: req.params.thingName, ...optional('expectedVersion', expectedVersion) });
        return undefined;
      },
      { operation: 'DeleteThing' },
    );

    // ─── 3.2 Thing types ─────────────────────────────────────────────────────────────────────────
    r.post(
      '/thing-types/:thingTypeName',
      async (req) => {
        const body = jsonBody(req);
        const thingTypeProperties = readThingTypeProperties(body.object('thingTypeProperties'));
        const tags = body.array('tags');
        return registry.createThingType({
          thingTypeName: req.params.thingTypeName,
          ...optional('thingTypeProperties', thingTypeProperties),
          // Each element is checked by the registry (Key/Value patterns); here it is only passed on.
          ...optional('tags', tags as readonly Tag[] | undefined),
        });
      },
      { operation: 'CreateThingType' },
    );

    r.get(
      '/thing-types/:thingTypeName',
      async (req) => toWireThingType(await registry.describeThingType(req.params.thingTypeName)),
      { operation: 'DescribeThingType' },
    );

    r.get(
      '/thing-types',
      async (req) => {
        const q = req.query;
        const out = await registry.listThingTypes({
          ...optional('nextToken', q.string('nextToken')),
          ...optional('maxResults', q.int('maxResults')),
          ...optional('thingTypeName', q.string('thingTypeName')),
        });
        return { thingTypes: out.thingTypes.map(toWireThingType), nextToken: out.nextToken };
      },
      { operation: 'ListThingTypes' },
    );

    r.post(
      '/thing-types/:thingTypeName/deprecate',
      async (req) => {
        const undoDeprecate = jsonBody(req).bool('undoDeprecate');
        await registry.deprecateThingType({ thingTypeName: req.params.thingTypeName, ...optional('undoDeprecate', undoDeprecate) });
        return undefined;
      },
      { operation: 'DeprecateThingType' },
    );

    r.delete(
      '/thing-types/:thingTypeName',
      async (req) => {
        await registry.deleteThingType(req.params.thingTypeName);
        return undefined;
      },
      { operation: 'DeleteThingType' },
    );

    // ─── 3.4 Thing ↔ principal ───────────────────────────────────────────────────────────────────
    r.put(
      '/things/:thingName/principals',
      async (req) => {
        const thingPrincipalType = req.query.enumValue('thingPrincipalType', thingPrincipalTypes);
        await registry.attachThingPrincipal({
          thingName: req.params.thingName,
          principal: principalOf(req),
          ...optional('thingPrincipalType', thingPrincipalType),
        });
        return undefined;
      },
      { operation: 'AttachThingPrincipal' },
    );

    r.delete(
      '/things/:thingName/principals',
      async (req) => {
        await registry.detachThingPrincipal({ thingName: req.params.thingName, principal: principalOf(req) });
        return undefined;
      },
      { operation: 'DetachThingPrincipal' },
    );

    r.get(
      '/things/:thingName/principals',
      async (req) => {
        const out = await registry.listThingPrincipals({ thingName: req.params.thingName, ...pageOf(req) });
        return { principals: out.principals, nextToken: out.nextToken };
      },
      { operation: 'ListThingPrincipals' },
    );

    r.get(
      '/things/:thingName/principals-v2',
      async (req) => {
        const thingPrincipalType = req.query.enumValue('thingPrincipalType', thingPrincipalTypes);
        const out = await registry.listThingPrincipalsV2({
          thingName: req.params.thingName,
          ...pageOf(req),
          ...optional('thingPrincipalType', thingPrincipalType),
        });
        return { thingPrincipalObjects: out.thingPrincipalObjects, nextToken: out.nextToken };
      },
      { operation: 'ListThingPrincipalsV2' },
    );

    r.get(
      '/principals/things',
      async (req) => {
        const out = await registry.listPrincipalThings({ principal: principalOf(req), ...pageOf(req) });
        return { things: out.things, nextToken: out.nextToken };
      },
      { operation: 'ListPrincipalThings' },
    );

    r.get(
      '/principals/things-v2',
      async (req) => {
        const thingPrincipalType = req.query.enumValue('thingPrincipalType', thingPrincipalTypes);
        const out = await registry.listPrincipalThingsV2({
          principal: principalOf(req),
          ...pageOf(req),
          ...optional('thingPrincipalType', thingPrincipalType),
        });
        return { principalThingObjects: out.principalThingObjects, nextToken: out.nextToken };
      },
      { operation: 'ListPrincipalThingsV2' },
    );
  });
}

/** `{ [name]: value }` when the value is present, `{}` otherwise (exactOptionalPropertyTypes). */
function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}

function principalOf(req: RouteRequest<unknown>): string {
  return req.headers.requiredString(principalHeader);
}

function pageOf(req: RouteRequest<unknown>): { nextToken?: string; maxResults?: number } {
  return { ...optional('nextToken', req.query.string('nextToken')), ...optional('maxResults', req.query.int('maxResults')) };
}

/**
 * `attributePayload` as sent. The attribute map is taken from the parsed JSON as is rather than
 * through `stringMap()`, which copies by assignment and so would drop an attribute named
 * `__proto__`; the registry checks every name and value.
 */
function readAttributePayload(body: JsonBodyReader): AttributePayload | undefined {
  const payload = body.object('attributePayload');
  if (payload === undefined) return undefined;
  const merge = payload.bool('merge');
  const attributes = payload.unknown('attributes');
  if (attributes !== undefined && attributes !== null && !isPlainObject(attributes)) {
    throw AwsErrors.invalidRequest("Invalid value for 'attributePayload.attributes': expected an object of strings");
  }
  return {
    ...(attributes === undefined || attributes === null ? {} : { attributes: attributes as Readonly<Record<string, string>> }),
    ...optional('merge', merge),
  };
}

function readThingTypeProperties(properties: JsonBodyReader | undefined): ThingTypeProperties | undefined {
  if (properties === undefined) return undefined;
  const thingTypeDescription = properties.string('thingTypeDescription');
  const searchableAttributes = properties.stringArray('searchableAttributes');
  const mqtt5Configuration = properties.unknown('mqtt5Configuration');
  return {
    ...optional('thingTypeDescription', thingTypeDescription),
    ...optional('searchableAttributes', searchableAttributes),
    ...(mqtt5Configuration === undefined || mqtt5Configuration === null ? {} : { mqtt5Configuration }),
  };
}

/** Dates → epoch seconds (spec 1.3). */
function toWireThingType(t: Omit<ThingTypeDescription, 'thingTypeId'> & { thingTypeId?: string }): object {
  const m = t.thingTypeMetadata;
  return {
    thingTypeName: t.thingTypeName,
    thingTypeId: t.thingTypeId,
    thingTypeArn: t.thingTypeArn,
    thingTypeProperties: t.thingTypeProperties,
    thingTypeMetadata: {
      deprecated: m.deprecated,
      deprecationDate: m.deprecationDate === undefined ? undefined : epochSeconds(m.deprecationDate),
      creationDate: epochSeconds(m.creationDate),
    },
  };
}
