// Proves the tagging service over a real (in-memory) store: ARNs resolve to the six taggable resource types of this account and region only, tags merge and replace, the 50-tag limit counts what is already there, untagging is idempotent, listings page by key with tokens bound to their resource, and creation tags vanish with a resource deleted meanwhile.
import { beforeEach, afterEach, describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import { isServiceError } from '../shared/index.js';
import { openSqliteStore } from '../store/index.js';
import type { CaCertificateRecord, CertificateRecord, RuleRecord, Store, ThingRecord, ThingTypeRecord } from '../store/index.js';
import { createTaggingService, putCreationTags } from './service.js';
import type { TaggingService } from './service.js';
import { taggedResourceOf } from './resource.js';

const scope = { region: 'us-east-1', accountId: '000000000000' };
const arn = (rest: string): string => `arn:aws:iot:us-east-1:000000000000:${rest}`;
const is = (code: string, pattern?: RegExp) => (err: unknown) => isServiceError(err, code) && (pattern === undefined || pattern.test(err.message));

// Just enough of each resource for the store to hold it.
const t0 = 1_700_000_000_000;
const certificateIdOf = (n: number): string => n.toString(16).padStart(64, '0');
const thingRecord = (thingName: string): ThingRecord => ({ thingName, thingId: `id-${thingName}`, attributes: {}, version: 1, creationDateMs: t0 });
const thingTypeRecord = (thingTypeName: string): ThingTypeRecord => ({ thingTypeName, thingTypeId: `id-${thingTypeName}`, thingTypeProperties: {}, deprecated: false, creationDateMs: t0 });
const ruleRecord = (ruleName: string): RuleRecord => ({ ruleName, document: '{}', ruleDisabled: false, createdAtMs: t0, lastModifiedAtMs: t0 });
const certificateFields = { certificatePem: 'PEM', ownedBy: scope.accountId, creationDateMs: t0, lastModifiedDateMs: t0, customerVersion: 1, generationId: 'g', notBeforeMs: t0, notAfterMs: t0, certificateMode: 'DEFAULT' } as const;
const certificateRecord = (n: number): CertificateRecord => ({ ...certificateFields, certificateId: certificateIdOf(n), status: 'INACTIVE' });
const caCertificateRecord = (n: number): CaCertificateRecord => ({ ...certificateFields, certificateId: certificateIdOf(n), status: 'INACTIVE', autoRegistrationStatus: 'DISABLE' });
const createPolicy = (policyName: string) =>
  store.policies.apply([
    { op: 'putPolicy', policy: { policyName, defaultVersionId: '1', nextVersionId: 2, creationDateMs: t0, lastModifiedDateMs: t0, generationId: 'g' } },
    { op: 'putPolicyVersion', version: { policyName, versionId: '1', document: '{}', creationDateMs: t0 } },
  ]);

let store: Store;
let tagging: TaggingService;

beforeEach(() => {
  store = openSqliteStore({ path: ':memory:' });
  tagging = createTaggingService({ store, scope });
});
afterEach(() => store.close());

async function tagsOf(resourceArn: string): Promise<Array<[string, string]>> {
  return (await tagging.listTagsForResource({ resourceArn })).tags.map((t) => [t.Key, t.Value]);
}

describe('taggedResourceOf', () => {
  it('maps the six ARN shapes to the store key; certificate ids lower-cased', () => {
    const id = 'AB'.repeat(32);
    assert.deepStrictEqual(taggedResourceOf(scope, arn('thing/sensor:1')), { resourceType: 'thing', resourceId: 'sensor:1' });
    assert.deepStrictEqual(taggedResourceOf(scope, arn('thingtype/t')), { resourceType: 'thingtype', resourceId: 't' });
    assert.deepStrictEqual(taggedResourceOf(scope, arn('policy/p+=,.@-')), { resourceType: 'policy', resourceId: 'p+=,.@-' });
    assert.deepStrictEqual(taggedResourceOf(scope, arn('rule/r_1')), { resourceType: 'rule', resourceId: 'r_1' });
    assert.deepStrictEqual(taggedResourceOf(scope, arn(`cert/${id}`)), { resourceType: 'cert', resourceId: id.toLowerCase() });
    assert.deepStrictEqual(taggedResourceOf(scope, arn(`cacert/${id}`)), { resourceType: 'cacert', resourceId: id.toLowerCase() });
  });

  it('a missing, malformed or untaggable ARN is InvalidRequestException; another account or region ResourceNotFoundException', () => {
    for (const bad of [undefined, null, '']) assert.throws(() => taggedResourceOf(scope, bad), is('InvalidRequestException', /'resourceArn'.*must not be null/));
    assert.throws(() => taggedResourceOf(scope, 42), is('InvalidRequestException', /must be a string/));
    for (const bad of ['thing/x', 'arn:aws:s3:::bucket', 'arn:aws:iot:us-east-1:000000000000:thing', 'arn:aws-cn:iot:cn-north-1:000000000000:thing/x']) {
      assert.throws(() => taggedResourceOf(scope, bad), is('InvalidRequestException', /expected an AWS IoT ARN/), bad);
    }
    assert.throws(() => taggedResourceOf(scope, arn('thinggroup/g')), is('InvalidRequestException', /thing, thingtype, policy, rule, cert, cacert \(not thinggroup\)/));
    assert.throws(() => taggedResourceOf(scope, arn('topic/a/b')), is('InvalidRequestException'));
    assert.throws(() => taggedResourceOf(scope, arn('thing/')), is('InvalidRequestException', /names no resource/));
    assert.throws(() => taggedResourceOf(scope, 'arn:aws:iot:eu-west-1:000000000000:thing/x'), is('ResourceNotFoundException', /account 000000000000 in us-east-1/));
    assert.throws(() => taggedResourceOf(scope, 'arn:aws:iot:us-east-1:123456789012:thing/x'), is('ResourceNotFoundException'));
  });
});

describe('TagResource / UntagResource / ListTagsForResource', () => {
  it('tags every resource type; re-tagging a key replaces its value; untag removes keys, absent ones too', async () => {
    await store.registry.apply([{ op: 'putThingType', thingType: thingTypeRecord('type1') }, { op: 'putThing', thing: thingRecord('thing1') }]);
    await createPolicy('pol1');
    await store.rules.apply([{ op: 'putRule', rule: ruleRecord('rule1') }]);
    await store.certificates.apply([
      { op: 'putCertificate', certificate: certificateRecord(1) },
      { op: 'putCaCertificate', caCertificate: caCertificateRecord(2) },
    ]);
    const arns = [arn('thing/thing1'), arn('thingtype/type1'), arn('policy/pol1'), arn('rule/rule1'), arn(`cert/${certificateIdOf(1)}`), arn(`cacert/${certificateIdOf(2).toUpperCase()}`)];
    for (const resourceArn of arns) {
      assert.deepStrictEqual(await tagsOf(resourceArn), []);
      await tagging.tagResource({ resourceArn, tags: [{ Key: 'env', Value: 'dev' }, { Key: 'team' }] });
      await tagging.tagResource({ resourceArn, tags: [{ Key: 'env', Value: 'prod' }, { Key: 'Env', Value: 'x' }] });
      assert.deepStrictEqual(await tagsOf(resourceArn), [['Env', 'x'], ['env', 'prod'], ['team', '']], resourceArn);
      await tagging.untagResource({ resourceArn, tagKeys: ['team', 'Env', 'never-there'] });
      assert.deepStrictEqual(await tagsOf(resourceArn), [['env', 'prod']], resourceArn);
    }
  });

  it('a resource that does not exist is ResourceNotFoundException for all three', async () => {
    for (const resourceArn of [arn('thing/ghost'), arn('thingtype/ghost'), arn('policy/ghost'), arn('rule/ghost'), arn(`cert/${certificateIdOf(9)}`), arn(`cacert/${certificateIdOf(9)}`)]) {
      await assert.rejects(tagging.tagResource({ resourceArn, tags: [{ Key: 'k', Value: 'v' }] }), is('ResourceNotFoundException', /does not exist/), resourceArn);
      await assert.rejects(tagging.untagResource({ resourceArn, tagKeys: ['k'] }), is('ResourceNotFoundException'), resourceArn);
      await assert.rejects(tagging.listTagsForResource({ resourceArn }), is('ResourceNotFoundException'), resourceArn);
    }
  });

  it('bad tags and keys are InvalidRequestException and change nothing', async () => {
    await store.registry.apply([{ op: 'putThing', thing: thingRecord('t') }]);
    const resourceArn = arn('thing/t');
    await tagging.tagResource({ resourceArn, tags: [{ Key: 'keep', Value: '1' }] });
    await assert.rejects(tagging.tagResource({ resourceArn, tags: [{ Key: 'ok' }, { Key: 'aws:x', Value: 'v' }] }), is('InvalidRequestException', /aws:/));
    await assert.rejects(tagging.tagResource({ resourceArn, tags: [{ Key: '' }] }), is('InvalidRequestException'));
    await assert.rejects(tagging.tagResource({ resourceArn, tags: undefined as never }), is('InvalidRequestException', /'tags'.*must not be null/));
    await assert.rejects(tagging.untagResource({ resourceArn, tagKeys: ['aws:keep'] }), is('InvalidRequestException'));
    await assert.rejects(tagging.untagResource({ resourceArn, tagKeys: undefined as never }), is('InvalidRequestException', /'tagKeys'/));
    assert.deepStrictEqual(await tagsOf(resourceArn), [['keep', '1']]);
  });

  it('at most 50 tags per resource: counted with what is there, a replaced key not twice; LimitExceededException changes nothing', async () => {
    await store.registry.apply([{ op: 'putThing', thing: thingRecord('t') }]);
    const resourceArn = arn('thing/t');
    const keys = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ Key: `k${String(from + i).padStart(2, '0')}`, Value: 'v' }));
    await tagging.tagResource({ resourceArn, tags: keys(0, 40) });
    await tagging.tagResource({ resourceArn, tags: [...keys(30, 10), ...keys(40, 10)] }); // 10 replaced, 10 new: 50
    assert.equal((await tagsOf(resourceArn)).length, 50);
    await tagging.tagResource({ resourceArn, tags: keys(0, 50) }); // all replaced
    await assert.rejects(tagging.tagResource({ resourceArn, tags: keys(50, 1) }), is('LimitExceededException', /at most 50/));
    await assert.rejects(tagging.tagResource({ resourceArn: arn('thing/t'), tags: [{ Key: 'k00', Value: 'changed' }, ...keys(60, 1)] }), is('LimitExceededException'));
    const after = await tagsOf(resourceArn);
    assert.equal(after.length, 50);
    assert.deepStrictEqual(after[0], ['k00', 'v'], 'nothing of the refused call was kept');
    await tagging.untagResource({ resourceArn, tagKeys: ['k00'] });
    await tagging.tagResource({ resourceArn, tags: keys(60, 1) });
  });

  it('pages by key with tokens that resume only their own resource', async () => {
    const small = createTaggingService({ store, scope, listPageSize: 2 });
    await store.registry.apply([{ op: 'putThing', thing: thingRecord('a') }, { op: 'putThing', thing: thingRecord('b') }]);
    await small.tagResource({ resourceArn: arn('thing/a'), tags: ['e', 'd', 'c', 'b', 'a'].map((Key) => ({ Key, Value: Key })) });
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await small.listTagsForResource({ resourceArn: arn('thing/a'), ...(nextToken === undefined ? {} : { nextToken }) });
      seen.push(...page.tags.map((t) => t.Key));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken !== undefined);
    assert.deepStrictEqual(seen, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(pages, 3);
    const first = await small.listTagsForResource({ resourceArn: arn('thing/a') });
    assert.ok(first.nextToken !== undefined && /^[A-Za-z0-9+/]+={0,2}$/.test(first.nextToken));
    await assert.rejects(small.listTagsForResource({ resourceArn: arn('thing/b'), nextToken: first.nextToken }), is('InvalidRequestException', /nextToken/));
    await assert.rejects(small.listTagsForResource({ resourceArn: arn('thing/a'), nextToken: 'garbage!' }), is('InvalidRequestException'));
    assert.equal((await small.listTagsForResource({ resourceArn: arn('thing/a'), nextToken: '' })).tags.length, 2, 'an empty token is the first page');
    // The default page (250) holds any resource's tags (50 at most): no token.
    assert.equal((await tagging.listTagsForResource({ resourceArn: arn('thing/a') })).nextToken, undefined);
  });
});

describe('putCreationTags', () => {
  it("stores a new resource's tags; a resource already gone is not an error and gets none", async () => {
    await store.rules.apply([{ op: 'putRule', rule: ruleRecord('r') }]);
    await putCreationTags(store.tags, { resourceType: 'rule', resourceId: 'r' }, [['a', '1'], ['b', '']]);
    assert.deepStrictEqual(await tagsOf(arn('rule/r')), [['a', '1'], ['b', '']]);
    await putCreationTags(store.tags, { resourceType: 'rule', resourceId: 'gone' }, [['a', '1']]);
    assert.deepStrictEqual(await store.tags.listTags({ resourceType: 'rule', resourceId: 'gone' }, { limit: 10 }), []);
    await putCreationTags(store.tags, { resourceType: 'rule', resourceId: 'gone' }, []);
  });
});
