// Proves that AWS's own IoTClient drives the registry's HTTP routes (things, thing types, thing–principal attachments) end to end: request encodings, response shapes with epoch-second dates and no absent members, paging over 250 things with the SDK paginators, and AWS errors mapped to the SDK's exception classes.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import {
  AttachThingPrincipalCommand,
  CreateThingCommand,
  CreateThingTypeCommand,
  DeleteThingCommand,
  DeleteThingTypeCommand,
  DeprecateThingTypeCommand,
  DescribeThingCommand,
  DescribeThingTypeCommand,
  DetachThingPrincipalCommand,
  InvalidRequestException,
  IoTClient,
  ListPrincipalThingsCommand,
  ListPrincipalThingsV2Command,
  ListThingPrincipalsCommand,
  ListThingPrincipalsV2Command,
  ListThingsCommand,
  ListThingTypesCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  UpdateThingCommand,
  VersionConflictException,
  paginateListPrincipalThings,
  paginateListThings,
  paginateListThingTypes,
} from '@aws-sdk/client-iot';
import { createApi, staticAccessKeys } from '../../src/api/index.js';
import type { Api, ApiLogger } from '../../src/api/index.js';
import { thingRoutes } from '../../src/api/routes/things.js';
import { createRegistryService } from '../../src/registry/index.js';
import type { RegistryService } from '../../src/registry/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/index.js';
import { listenHttp } from '../../src/transport/index.js';
import type { ListenerHandle } from '../../src/transport/index.js';
import { rejectsWith } from './helpers/aws.js';

const silent: ApiLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const key = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const cert = (n: number): string => `arn:aws:iot:us-east-1:000000000000:cert/${n.toString(16).padStart(64, 'c')}`;

describe('registry routes with the AWS SDK v3 IoTClient', () => {
  let store: Store;
  let registry: RegistryService;
  let api: Api;
  let listener: ListenerHandle;
  let endpoint: string;
  let iot: IoTClient;

  before(async () => {
    store = openSqliteStore({ path: ':memory:' });
    registry = createRegistryService({ store, scope: { region: 'us-east-1', accountId: '000000000000' } });
    api = await createApi({ logger: silent, credentials: staticAccessKeys([key]), routes: [thingRoutes(registry)] });
    listener = await listenHttp({ host: '127.0.0.1', port: 0, onConnection: (stream) => stream.destroy(), onRequest: api.handle });
    endpoint = `http://127.0.0.1:${listener.port}`;
    iot = new IoTClient({ endpoint, region: 'us-east-1', credentials: key, maxAttempts: 1 });
  });

  after(async () => {
    iot.destroy();
    await listener.close({ graceMs: 200 });
    await api.close();
    await store.close();
  });

  it('CreateThing / DescribeThing / UpdateThing / DeleteThing with AWS semantics and shapes', async () => {
    const created = await iot.send(new CreateThingCommand({ thingName: 'sensor:1', attributePayload: { attributes: { room: 'hall', floor: '2' } } }));
    assert.equal(created.thingName, 'sensor:1');
    assert.equal(created.thingArn, 'arn:aws:iot:us-east-1:000000000000:thing/sensor:1');
    assert.match(created.thingId ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Idempotent with the same configuration.
    const again = await iot.send(new CreateThingCommand({ thingName: 'sensor:1', attributePayload: { attributes: { floor: '2', room: 'hall' } } }));
    assert.equal(again.thingId, created.thingId);

    const described = await iot.send(new DescribeThingCommand({ thingName: 'sensor:1' }));
    const { $metadata, ...body } = described;
    assert.equal($metadata.httpStatusCode, 200);
    assert.deepStrictEqual(body, {
      defaultClientId: 'sensor:1',
      thingName: 'sensor:1',
      thingId: created.thingId,
      thingArn: created.thingArn,
      attributes: { room: 'hall', floor: '2' },
      version: 1,
    });

    await iot.send(new UpdateThingCommand({ thingName: 'sensor:1', attributePayload: { attributes: { floor: '', color: 'red' }, merge: true } }));
    await iot.send(new UpdateThingCommand({ thingName: 'sensor:1', expectedVersion: 2, attributePayload: { attributes: { only: 'this' } } }));
    const updated = await iot.send(new DescribeThingCommand({ thingName: 'sensor:1' }));
    assert.deepStrictEqual(updated.attributes, { only: 'this' });
    assert.equal(updated.version, 3);

    await rejectsWith(iot.send(new UpdateThingCommand({ thingName: 'sensor:1', expectedVersion: 1 })), VersionConflictException, 409);
    await rejectsWith(iot.send(new DeleteThingCommand({ thingName: 'sensor:1', expectedVersion: 2 })), VersionConflictException, 409);
    const conflict = await rejectsWith(iot.send(new CreateThingCommand({ thingName: 'sensor:1' })), ResourceAlreadyExistsException, 409);
    assert.equal(conflict.resourceId, created.thingId);
    assert.equal(conflict.resourceArn, created.thingArn);
    await rejectsWith(iot.send(new UpdateThingCommand({ thingName: 'ghost' })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new DescribeThingCommand({ thingName: 'ghost' })), ResourceNotFoundException, 404);

    await iot.send(new DeleteThingCommand({ thingName: 'sensor:1', expectedVersion: 3 }));
    await iot.send(new DeleteThingCommand({ thingName: 'sensor:1' })); // missing: still 200
    await rejectsWith(iot.send(new DescribeThingCommand({ thingName: 'sensor:1' })), ResourceNotFoundException, 404);
  });

  it('bad names, attributes, limits and tokens are InvalidRequestException', async () => {
    const ire = (call: Promise<unknown>) => rejectsWith(call, InvalidRequestException, 400);
    await ire(iot.send(new CreateThingCommand({ thingName: 'bad name' })));
    await ire(iot.send(new CreateThingCommand({ thingName: 'x'.repeat(129) })));
    await ire(iot.send(new CreateThingCommand({ thingName: 'ok', attributePayload: { attributes: { 'bad key': 'v' } } })));
    await ire(iot.send(new CreateThingCommand({ thingName: 'ok', attributePayload: { attributes: { a: '1', b: '2', c: '3', d: '4' } } })));
    await ire(iot.send(new ListThingsCommand({ maxResults: 251 })));
    await ire(iot.send(new ListThingsCommand({ maxResults: 0 })));
    await ire(iot.send(new ListThingsCommand({ nextToken: 'not-a-token' })));
    await ire(iot.send(new CreateThingCommand({ thingName: 'ok', thingTypeName: 'ghost', billingGroupName: 'b g' })));
    await rejectsWith(iot.send(new CreateThingCommand({ thingName: 'ok', thingTypeName: 'ghost' })), ResourceNotFoundException, 404);
  });

  it('ListThings pages over 250 things with paginateListThings: every thing once, in order, with and without filters', async () => {
    await iot.send(new CreateThingTypeCommand({ thingTypeName: 'lamp' }));
    const names: string[] = [];
    for (let i = 0; i < 250; i++) {
      const thingName = `bulk-${String((i * 37) % 250).padStart(3, '0')}`;
      names.push(thingName);
      await registry.createThing({
        thingName,
        ...(i % 2 === 0 ? { thingTypeName: 'lamp' } : {}),
        attributePayload: { attributes: { site: i % 3 === 0 ? 'berlin-1' : i % 3 === 1 ? 'berlin-2' : 'bern' } },
      });
    }
    names.sort();
    const collect = async (input: Parameters<typeof paginateListThings>[1], pageSize?: number) => {
      const seen: string[] = [];
      let pages = 0;
      for await (const page of paginateListThings({ client: iot, ...(pageSize === undefined ? {} : { pageSize }) }, input)) {
        pages++;
        for (const t of page.things ?? []) seen.push(t.thingName!);
      }
      return { seen, pages };
    };
    const all = await collect({ maxResults: 7 });
    assert.deepStrictEqual(all.seen, names);
    assert.equal(all.pages, Math.ceil(250 / 7));
    const big = await collect({}, 250);
    assert.deepStrictEqual(big.seen, names);
    assert.equal(big.pages, 1);

    const summaries = (await iot.send(new ListThingsCommand({ maxResults: 250 }))).things ?? [];
    const bySite = (predicate: (site: string) => boolean) =>
      summaries.filter((t) => predicate(t.attributes?.['site'] ?? '')).map((t) => t.thingName!);
    const lamps = summaries.filter((t) => t.thingTypeName === 'lamp').map((t) => t.thingName!);
    assert.equal(lamps.length, 125);
    assert.deepStrictEqual((await collect({ thingTypeName: 'lamp', maxResults: 10 })).seen, lamps);
    assert.deepStrictEqual((await collect({ attributeName: 'site', attributeValue: 'bern', maxResults: 9 })).seen, bySite((s) => s === 'bern'));
    assert.deepStrictEqual(
      (await collect({ attributeName: 'site', attributeValue: 'berlin', usePrefixAttributeValue: true, maxResults: 11 })).seen,
      bySite((s) => s.startsWith('berlin')),
    );
    assert.deepStrictEqual((await collect({ attributeName: 'site', attributeValue: 'berlin', maxResults: 11 })).seen, []);

    // The summary shape, and no nextToken member on the last page.
    const lastPage = await iot.send(new ListThingsCommand({ maxResults: 250, thingTypeName: 'lamp' }));
    assert.equal(lastPage.nextToken, undefined);
    const first = lastPage.things?.[0];
    assert.deepStrictEqual(first, {
      thingName: first?.thingName,
      thingTypeName: 'lamp',
      thingArn: `arn:aws:iot:us-east-1:000000000000:thing/${first?.thingName}`,
      attributes: first?.attributes,
      version: 1,
    });
  });

  it('thing types: create, describe (epoch-second dates), list, deprecate and undo, delete', async () => {
    const before = Date.now() / 1000;
    const created = await iot.send(
      new CreateThingTypeCommand({
        thingTypeName: 'thermostat',
        thingTypeProperties: { thingTypeDescription: 'A thermostat', searchableAttributes: ['room'] },
        tags: [{ Key: 'team', Value: 'home' }],
      }),
    );
    assert.equal(created.thingTypeArn, 'arn:aws:iot:us-east-1:000000000000:thingtype/thermostat');
    await rejectsWith(iot.send(new CreateThingTypeCommand({ thingTypeName: 'thermostat' })), ResourceAlreadyExistsException, 409);

    const described = await iot.send(new DescribeThingTypeCommand({ thingTypeName: 'thermostat' }));
    assert.equal(described.thingTypeId, created.thingTypeId);
    assert.deepStrictEqual(described.thingTypeProperties, { thingTypeDescription: 'A thermostat', searchableAttributes: ['room'] });
    assert.equal(described.thingTypeMetadata?.deprecated, false);
    assert.equal(described.thingTypeMetadata?.deprecationDate, undefined);
    const creation = described.thingTypeMetadata?.creationDate;
    assert.ok(creation instanceof Date && creation.getTime() / 1000 >= before - 1 && creation.getTime() / 1000 <= Date.now() / 1000 + 1);

    await iot.send(new DeprecateThingTypeCommand({ thingTypeName: 'thermostat' }));
    const deprecated = await iot.send(new DescribeThingTypeCommand({ thingTypeName: 'thermostat' }));
    assert.equal(deprecated.thingTypeMetadata?.deprecated, true);
    assert.ok(deprecated.thingTypeMetadata?.deprecationDate instanceof Date);
    await rejectsWith(iot.send(new CreateThingCommand({ thingName: 'th-1', thingTypeName: 'thermostat' })), InvalidRequestException, 400);
    await iot.send(new DeprecateThingTypeCommand({ thingTypeName: 'thermostat', undoDeprecate: true }));
    await iot.send(new CreateThingCommand({ thingName: 'th-1', thingTypeName: 'thermostat' }));

    const listed = await iot.send(new ListThingTypesCommand({ thingTypeName: 'thermostat' }));
    assert.deepStrictEqual(listed.thingTypes?.map((t) => [t.thingTypeName, t.thingTypeArn, t.thingTypeMetadata?.deprecated]), [['thermostat', created.thingTypeArn, false]]);
    const allTypes: string[] = [];
    for await (const page of paginateListThingTypes({ client: iot, pageSize: 1 }, {})) allTypes.push(...(page.thingTypes ?? []).map((t) => t.thingTypeName!));
    assert.ok(allTypes.includes('thermostat') && new Set(allTypes).size === allTypes.length);

    await rejectsWith(iot.send(new DeleteThingTypeCommand({ thingTypeName: 'thermostat' })), InvalidRequestException, 400);
    await iot.send(new DeprecateThingTypeCommand({ thingTypeName: 'thermostat' }));
    await rejectsWith(iot.send(new DeleteThingTypeCommand({ thingTypeName: 'thermostat' })), InvalidRequestException, 400);
    await iot.send(new UpdateThingCommand({ thingName: 'th-1', removeThingType: true }));
    await iot.send(new DeleteThingTypeCommand({ thingTypeName: 'thermostat' }));
    await rejectsWith(iot.send(new DescribeThingTypeCommand({ thingTypeName: 'thermostat' })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new DeprecateThingTypeCommand({ thingTypeName: 'thermostat' })), ResourceNotFoundException, 404);
  });

  it('thing ↔ principal: attach (exclusive rules), list both ways V1/V2 with paginators, detach; delete refused while attached', async () => {
    for (const thingName of ['p-a', 'p-b', 'p-c']) await iot.send(new CreateThingCommand({ thingName }));
    await iot.send(new AttachThingPrincipalCommand({ thingName: 'p-a', principal: cert(1) }));
    await iot.send(new AttachThingPrincipalCommand({ thingName: 'p-b', principal: cert(1) }));
    await iot.send(new AttachThingPrincipalCommand({ thingName: 'p-b', principal: cert(1) })); // no-op
    await iot.send(new AttachThingPrincipalCommand({ thingName: 'p-c', principal: cert(2), thingPrincipalType: 'EXCLUSIVE_THING' }));
    await rejectsWith(iot.send(new AttachThingPrincipalCommand({ thingName: 'p-a', principal: cert(2) })), InvalidRequestException, 400);
    await rejectsWith(
      iot.send(new AttachThingPrincipalCommand({ thingName: 'p-c', principal: cert(1), thingPrincipalType: 'EXCLUSIVE_THING' })),
      InvalidRequestException,
      400,
    );
    await rejectsWith(iot.send(new AttachThingPrincipalCommand({ thingName: 'ghost', principal: cert(1) })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new AttachThingPrincipalCommand({ thingName: 'p-a', principal: 'not-an-arn' })), InvalidRequestException, 400);

    assert.deepStrictEqual((await iot.send(new ListThingPrincipalsCommand({ thingName: 'p-b' }))).principals, [cert(1)]);
    assert.deepStrictEqual((await iot.send(new ListPrincipalThingsCommand({ principal: cert(1) }))).things, ['p-a', 'p-b']);
    const v2 = await iot.send(new ListThingPrincipalsV2Command({ thingName: 'p-c' }));
    assert.deepStrictEqual(v2.thingPrincipalObjects, [{ principal: cert(2), thingPrincipalType: 'EXCLUSIVE_THING' }]);
    const p2 = await iot.send(new ListPrincipalThingsV2Command({ principal: cert(1), thingPrincipalType: 'NON_EXCLUSIVE_THING' }));
    assert.deepStrictEqual(p2.principalThingObjects, [
      { thingName: 'p-a', thingPrincipalType: 'NON_EXCLUSIVE_THING' },
      { thingName: 'p-b', thingPrincipalType: 'NON_EXCLUSIVE_THING' },
    ]);
    assert.deepStrictEqual((await iot.send(new ListPrincipalThingsV2Command({ principal: cert(1), thingPrincipalType: 'EXCLUSIVE_THING' }))).principalThingObjects, []);
    const viaPaginator: string[] = [];
    for await (const page of paginateListPrincipalThings({ client: iot, pageSize: 1 }, { principal: cert(1) })) viaPaginator.push(...(page.things ?? []));
    assert.deepStrictEqual(viaPaginator, ['p-a', 'p-b']);
    await rejectsWith(iot.send(new ListThingPrincipalsCommand({ thingName: 'ghost' })), ResourceNotFoundException, 404);

    assert.deepStrictEqual(await registry.thingForConnection(cert(1), 'p-a'), { thingName: 'p-a', attributes: {}, exclusive: false });
    assert.deepStrictEqual(await registry.thingForConnection(cert(2), 'any-client'), { thingName: 'p-c', attributes: {}, exclusive: true });

    await rejectsWith(iot.send(new DeleteThingCommand({ thingName: 'p-a' })), InvalidRequestException, 400);
    await iot.send(new DetachThingPrincipalCommand({ thingName: 'p-a', principal: cert(1) }));
    await iot.send(new DetachThingPrincipalCommand({ thingName: 'p-a', principal: cert(1) }));
    assert.deepStrictEqual((await iot.send(new ListPrincipalThingsCommand({ principal: cert(1) }))).things, ['p-b']);
    await iot.send(new DeleteThingCommand({ thingName: 'p-a' }));
    assert.equal(await registry.thingForConnection(cert(1), 'p-a'), undefined);
  });

  it('the principal header is required; an attribute named __proto__ survives the wire', async () => {
    const status = await rawRequest('PUT', '/things/p-b/principals');
    assert.equal(status.statusCode, 403, 'unsigned requests are refused before anything else');
    await iot.send(new CreateThingCommand({ thingName: 'proto', attributePayload: { attributes: JSON.parse('{"__proto__":"x"}') as Record<string, string> } }));
    const described = await iot.send(new DescribeThingCommand({ thingName: 'proto' }));
    assert.deepStrictEqual(Object.entries(described.attributes ?? {}), [['__proto__', 'x']]);
  });

  function rawRequest(method: string, path: string): Promise<{ statusCode: number | undefined }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(`${endpoint}${path}`, { method }, (res) => {
        res.resume();
        res.on('end', () => resolve({ statusCode: res.statusCode }));
      });
      req.on('error', reject);
      req.end();
    });
  }
});
