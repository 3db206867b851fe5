// Proves that AWS's own IoTClient tags every resource of the real server (spec/http-api.md 3.7): TagResource, UntagResource and ListTagsForResource on things, thing types, policies, topic rules, certificates and CA certificates; tags given at creation (CreatePolicy, CreateThingType, RegisterCACertificate, CreateTopicRule's x-amz-tagging) listed; the errors as the SDK's own exception classes; a deleted and re-created resource starting untagged; and paging with the SDK paginator.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateKeysAndCertificateCommand,
  CreatePolicyCommand,
  CreateThingCommand,
  CreateThingTypeCommand,
  CreateTopicRuleCommand,
  DeleteCACertificateCommand,
  DeleteCertificateCommand,
  DeletePolicyCommand,
  DeleteThingCommand,
  DeleteThingTypeCommand,
  DeleteTopicRuleCommand,
  DeprecateThingTypeCommand,
  GetPolicyCommand,
  GetTopicRuleCommand,
  InvalidRequestException,
  IoTClient,
  LimitExceededException,
  ListTagsForResourceCommand,
  RegisterCACertificateCommand,
  RegisterCertificateCommand,
  ResourceNotFoundException,
  TagResourceCommand,
  UntagResourceCommand,
  paginateListTagsForResource,
} from '@aws-sdk/client-iot';
import type { Tag } from '@aws-sdk/client-iot';
import { createApi, staticAccessKeys, tagRoutes } from '../../src/api/index.js';
import type { Api, ApiLogger } from '../../src/api/index.js';
import { loadOrCreateCa } from '../../src/identity/index.js';
import type { CertificateAuthority } from '../../src/identity/index.js';
import { createRegistryService } from '../../src/registry/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/index.js';
import { createTaggingService } from '../../src/tagging/index.js';
import { listenHttp } from '../../src/transport/index.js';
import type { ListenerHandle } from '../../src/transport/index.js';
import { adminIotClient, rejectsWith } from './helpers/aws.js';
import { startTestServer } from './helpers/server.js';
import type { TestServer } from './helpers/server.js';

const arnPrefix = 'arn:aws:iot:us-east-1:000000000000';
const policyDocument = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iot:Connect', Resource: '*' }] });
const rulePayload = (topic: string) => ({ sql: `SELECT * FROM '${topic}'`, actions: [{ republish: { roleArn: 'arn:aws:iam::000000000000:role/r', topic: 'out' } }] });

describe('tag routes with the AWS SDK v3 IoTClient, against the real server', () => {
  let ts: TestServer;
  let iot: IoTClient;
  let caDir: string;
  let customerCa: CertificateAuthority;
  let secondCa: CertificateAuthority;
  let thirdCa: CertificateAuthority;

  const tagsOf = async (resourceArn: string): Promise<Tag[]> => (await iot.send(new ListTagsForResourceCommand({ resourceArn }))).tags ?? [];

  before(async () => {
    ts = await startTestServer({ config: { httpPort: 0 } });
    iot = await adminIotClient(ts);
    caDir = await mkdtemp(join(tmpdir(), 'thingcore-tags-ca-'));
    customerCa = await loadOrCreateCa(join(caDir, 'customer'));
    secondCa = await loadOrCreateCa(join(caDir, 'second'));
    thirdCa = await loadOrCreateCa(join(caDir, 'third'));
  });

  after(async () => {
    iot.destroy();
    await ts.close();
    await rm(caDir, { recursive: true, force: true });
  });

  it('TagResource, ListTagsForResource and UntagResource on every taggable resource type', async () => {
    await iot.send(new CreateThingCommand({ thingName: 'tagged-thing' }));
    await iot.send(new CreateThingTypeCommand({ thingTypeName: 'tagged-type' }));
    await iot.send(new CreatePolicyCommand({ policyName: 'tagged-policy', policyDocument }));
    await iot.send(new CreateTopicRuleCommand({ ruleName: 'tagged_rule', topicRulePayload: rulePayload('tags/1') }));
    const cert = await iot.send(new CreateKeysAndCertificateCommand({ setAsActive: false }));
    const ca = await iot.send(new RegisterCACertificateCommand({ caCertificate: customerCa.certificatePem }));
    const arns = [
      `${arnPrefix}:thing/tagged-thing`,
      `${arnPrefix}:thingtype/tagged-type`,
      `${arnPrefix}:policy/tagged-policy`,
      `${arnPrefix}:rule/tagged_rule`,
      cert.certificateArn ?? '',
      ca.certificateArn ?? '',
    ];
    for (const resourceArn of arns) {
      assert.deepStrictEqual(await tagsOf(resourceArn), [], resourceArn);
      const tagged = await iot.send(new TagResourceCommand({ resourceArn, tags: [{ Key: 'env', Value: 'dev' }, { Key: 'team', Value: 'iot' }, { Key: 'flag' }] }));
      assert.equal(tagged.$metadata.httpStatusCode, 200);
      // Re-tagging a key replaces its value.
      await iot.send(new TagResourceCommand({ resourceArn, tags: [{ Key: 'env', Value: 'prod' }] }));
      assert.deepStrictEqual(await tagsOf(resourceArn), [{ Key: 'env', Value: 'prod' }, { Key: 'flag', Value: '' }, { Key: 'team', Value: 'iot' }], resourceArn);
      const untagged = await iot.send(new UntagResourceCommand({ resourceArn, tagKeys: ['team', 'flag', 'not-there'] }));
      assert.equal(untagged.$metadata.httpStatusCode, 200);
      const listed = await iot.send(new ListTagsForResourceCommand({ resourceArn }));
      assert.deepStrictEqual(listed.tags, [{ Key: 'env', Value: 'prod' }], resourceArn);
      assert.equal(listed.nextToken, undefined);
    }
  });

  it('tags given at creation are stored: CreatePolicy, CreateThingType, RegisterCACertificate, CreateTopicRule (x-amz-tagging)', async () => {
    await iot.send(new CreatePolicyCommand({ policyName: 'born-tagged', policyDocument, tags: [{ Key: 'owner', Value: 'ops' }, { Key: 'tier', Value: 'gold' }] }));
    assert.deepStrictEqual(await tagsOf(`${arnPrefix}:policy/born-tagged`), [{ Key: 'owner', Value: 'ops' }, { Key: 'tier', Value: 'gold' }]);

    await iot.send(new CreateThingTypeCommand({ thingTypeName: 'born-tagged', tags: [{ Key: 'kind', Value: 'sensor' }] }));
    assert.deepStrictEqual(await tagsOf(`${arnPrefix}:thingtype/born-tagged`), [{ Key: 'kind', Value: 'sensor' }]);

    const ca = await iot.send(new RegisterCACertificateCommand({ caCertificate: secondCa.certificatePem, tags: [{ Key: 'issuer', Value: 'second' }] }));
    assert.deepStrictEqual(await tagsOf(ca.certificateArn ?? ''), [{ Key: 'issuer', Value: 'second' }]);

    await iot.send(new CreateTopicRuleCommand({ ruleName: 'born_tagged', tags: 'k=v&k2=v2&space=a+b%2Fc', topicRulePayload: rulePayload('tags/2') }));
    assert.deepStrictEqual(await tagsOf(`${arnPrefix}:rule/born_tagged`), [{ Key: 'k', Value: 'v' }, { Key: 'k2', Value: 'v2' }, { Key: 'space', Value: 'a b/c' }]);

    // Bad tags refuse the create call before anything is created.
    await rejectsWith(iot.send(new CreatePolicyCommand({ policyName: 'bad-tags', policyDocument, tags: [{ Key: 'aws:x', Value: 'v' }] })), InvalidRequestException, 400);
    await rejectsWith(iot.send(new GetPolicyCommand({ policyName: 'bad-tags' })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new CreateTopicRuleCommand({ ruleName: 'bad_tags', tags: '=v', topicRulePayload: rulePayload('tags/3') })), InvalidRequestException, 400);
    await rejectsWith(iot.send(new GetTopicRuleCommand({ ruleName: 'bad_tags' })), ResourceNotFoundException, 404);
    const fiftyOne = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    await rejectsWith(iot.send(new CreateThingTypeCommand({ thingTypeName: 'too-many', tags: fiftyOne })), InvalidRequestException, 400);
  });

  it('errors: unknown resources, bad ARNs, bad keys, the aws: prefix, more than 50 tags', async () => {
    for (const resourceArn of [`${arnPrefix}:thing/ghost`, `${arnPrefix}:policy/ghost`, `${arnPrefix}:rule/ghost`, `${arnPrefix}:cert/${'0'.repeat(64)}`, 'arn:aws:iot:eu-west-1:000000000000:thing/tagged-thing']) {
      await rejectsWith(iot.send(new TagResourceCommand({ resourceArn, tags: [{ Key: 'k', Value: 'v' }] })), ResourceNotFoundException, 404);
      await rejectsWith(iot.send(new UntagResourceCommand({ resourceArn, tagKeys: ['k'] })), ResourceNotFoundException, 404);
      await rejectsWith(iot.send(new ListTagsForResourceCommand({ resourceArn })), ResourceNotFoundException, 404);
    }
    for (const resourceArn of ['', 'not-an-arn', `${arnPrefix}:thinggroup/g`, 'arn:aws:s3:::bucket']) {
      await rejectsWith(iot.send(new ListTagsForResourceCommand({ resourceArn })), InvalidRequestException, 400);
      await rejectsWith(iot.send(new TagResourceCommand({ resourceArn, tags: [{ Key: 'k', Value: 'v' }] })), InvalidRequestException, 400);
    }

    await iot.send(new CreateThingCommand({ thingName: 'limits' }));
    const resourceArn = `${arnPrefix}:thing/limits`;
    const bad = await rejectsWith(iot.send(new TagResourceCommand({ resourceArn, tags: [{ Key: '', Value: 'v' }] })), InvalidRequestException, 400);
    assert.match(bad.message, /tags\.1\.member\.Key/);
    await rejectsWith(iot.send(new TagResourceCommand({ resourceArn, tags: [{ Key: 'k'.repeat(129), Value: 'v' }] })), InvalidRequestException, 400);
    await rejectsWith(iot.send(new TagResourceCommand({ resourceArn, tags: [{ Key: 'k', Value: 'v'.repeat(257) }] })), InvalidRequestException, 400);
    const reserved = await rejectsWith(iot.send(new TagResourceCommand({ resourceArn, tags: [{ Key: 'aws:createdBy', Value: 'me' }] })), InvalidRequestException, 400);
    assert.match(reserved.message, /aws:/);
    await rejectsWith(iot.send(new UntagResourceCommand({ resourceArn, tagKeys: ['aws:createdBy'] })), InvalidRequestException, 400);

    const keys = (from: number, n: number): Tag[] => Array.from({ length: n }, (_, i) => ({ Key: `k${from + i}`, Value: 'v' }));
    await iot.send(new TagResourceCommand({ resourceArn, tags: keys(0, 50) }));
    const limit = await rejectsWith(iot.send(new TagResourceCommand({ resourceArn, tags: keys(50, 1) })), LimitExceededException, 410);
    assert.match(limit.message, /at most 50/);
    await rejectsWith(iot.send(new TagResourceCommand({ resourceArn: `${arnPrefix}:thing/tagged-thing`, tags: keys(0, 51) })), LimitExceededException, 410);
    await iot.send(new TagResourceCommand({ resourceArn, tags: [{ Key: 'k0', Value: 'replaced' }] }));
    const all = await tagsOf(resourceArn);
    assert.equal(all.length, 50);
    assert.ok(all.some((t) => t.Key === 'k0' && t.Value === 'replaced'));
  });

  it('a deleted resource takes its tags along: created again, it starts untagged', async () => {
    await iot.send(new CreateThingCommand({ thingName: 'phoenix' }));
    await iot.send(new CreateThingTypeCommand({ thingTypeName: 'phoenix', tags: [{ Key: 'k', Value: 'v' }] }));
    await iot.send(new CreatePolicyCommand({ policyName: 'phoenix', policyDocument, tags: [{ Key: 'k', Value: 'v' }] }));
    await iot.send(new CreateTopicRuleCommand({ ruleName: 'phoenix', tags: 'k=v', topicRulePayload: rulePayload('tags/4') }));
    const cert = await iot.send(new CreateKeysAndCertificateCommand({ setAsActive: false }));
    const ca = await iot.send(new RegisterCACertificateCommand({ caCertificate: thirdCa.certificatePem, tags: [{ Key: 'k', Value: 'v' }] }));
    const thingArn = `${arnPrefix}:thing/phoenix`;
    const certArn = cert.certificateArn ?? '';
    const arns = [thingArn, `${arnPrefix}:thingtype/phoenix`, `${arnPrefix}:policy/phoenix`, `${arnPrefix}:rule/phoenix`, certArn, ca.certificateArn ?? ''];
    await iot.send(new TagResourceCommand({ resourceArn: thingArn, tags: [{ Key: 'k', Value: 'v' }] }));
    await iot.send(new TagResourceCommand({ resourceArn: certArn, tags: [{ Key: 'k', Value: 'v' }] }));
    for (const resourceArn of arns) assert.deepStrictEqual(await tagsOf(resourceArn), [{ Key: 'k', Value: 'v' }], resourceArn);

    await iot.send(new DeleteThingCommand({ thingName: 'phoenix' }));
    await iot.send(new DeprecateThingTypeCommand({ thingTypeName: 'phoenix' }));
    await iot.send(new DeleteThingTypeCommand({ thingTypeName: 'phoenix' }));
    await iot.send(new DeletePolicyCommand({ policyName: 'phoenix' }));
    await iot.send(new DeleteTopicRuleCommand({ ruleName: 'phoenix' }));
    await iot.send(new DeleteCertificateCommand({ certificateId: cert.certificateId }));
    await iot.send(new DeleteCACertificateCommand({ certificateId: thirdCa.certificateId }));
    for (const resourceArn of arns) await rejectsWith(iot.send(new ListTagsForResourceCommand({ resourceArn })), ResourceNotFoundException, 404);

    await iot.send(new CreateThingCommand({ thingName: 'phoenix' }));
    await iot.send(new CreateThingTypeCommand({ thingTypeName: 'phoenix' }));
    await iot.send(new CreatePolicyCommand({ policyName: 'phoenix', policyDocument }));
    await iot.send(new CreateTopicRuleCommand({ ruleName: 'phoenix', topicRulePayload: rulePayload('tags/4') }));
    // The same certificate (same DER, so the same id) and CA registered again.
    const again = await iot.send(new RegisterCertificateCommand({ certificatePem: cert.certificatePem }));
    assert.equal(again.certificateArn, cert.certificateArn);
    await iot.send(new RegisterCACertificateCommand({ caCertificate: thirdCa.certificatePem }));
    for (const resourceArn of arns) assert.deepStrictEqual(await tagsOf(resourceArn), [], resourceArn);
  });
});

describe('ListTagsForResource paging with the SDK paginator (page size 2)', () => {
  const silent: ApiLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const key = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
  const scope = { region: 'us-east-1', accountId: '000000000000' };
  let store: Store;
  let api: Api;
  let listener: ListenerHandle;
  let iot: IoTClient;

  before(async () => {
    store = openSqliteStore({ path: ':memory:' });
    await createRegistryService({ store, scope }).createThing({ thingName: 'paged' });
    // AWS's page size (250) is more than a resource's 50 tags; a smaller one makes pages to walk.
    api = await createApi({ logger: silent, credentials: staticAccessKeys([key]), routes: [tagRoutes(createTaggingService({ store, scope, listPageSize: 2 }))] });
    listener = await listenHttp({ host: '127.0.0.1', port: 0, onConnection: (stream) => stream.destroy(), onRequest: api.handle });
    iot = new IoTClient({ endpoint: `http://127.0.0.1:${listener.port}`, region: 'us-east-1', credentials: key, maxAttempts: 1 });
  });

  after(async () => {
    iot.destroy();
    await listener.close({ graceMs: 200 });
    await api.close();
    await store.close();
  });

  it('walks every page in key order, and a token of another resource is refused', async () => {
    const resourceArn = `${arnPrefix}:thing/paged`;
    await iot.send(new TagResourceCommand({ resourceArn, tags: ['e', 'c', 'a', 'd', 'b'].map((k) => ({ Key: k, Value: k.toUpperCase() })) }));
    const pages: Tag[][] = [];
    for await (const page of paginateListTagsForResource({ client: iot }, { resourceArn })) pages.push(page.tags ?? []);
    assert.deepStrictEqual(pages.map((p) => p.map((t) => t.Key)), [['a', 'b'], ['c', 'd'], ['e']]);
    assert.deepStrictEqual(pages.flat()[4], { Key: 'e', Value: 'E' });
    const first = await iot.send(new ListTagsForResourceCommand({ resourceArn }));
    assert.ok(first.nextToken !== undefined);
    await rejectsWith(iot.send(new ListTagsForResourceCommand({ resourceArn: `${arnPrefix}:thing/other`, nextToken: first.nextToken })), InvalidRequestException, 400);
  });
});
