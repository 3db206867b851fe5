// Proves that AWS's own IoTClient drives every policy operation of the real server (spec/http-api.md 3.5) end to end — shapes, versions (at most 5, default switching, deletes refused while attached or with extra versions), targets with base64 markers and the SDK paginators, GetEffectivePolicies, TestAuthorization's AWS-shaped answers — with every error arriving as the SDK's own exception class and status, and that the explain route names the deciding statement with its variables substituted, or says no statement allowed it.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateKeysAndCertificateCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateThingCommand,
  DeleteCertificateCommand,
  DeleteConflictException,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DetachPolicyCommand,
  GetEffectivePoliciesCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  InvalidRequestException,
  LimitExceededException,
  ListAttachedPoliciesCommand,
  ListPoliciesCommand,
  ListPolicyVersionsCommand,
  ListTargetsForPolicyCommand,
  MalformedPolicyException,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  SetDefaultPolicyVersionCommand,
  TestAuthorizationCommand,
  UpdateCertificateCommand,
  VersionsLimitExceededException,
  paginateListAttachedPolicies,
  paginateListPolicies,
  paginateListTargetsForPolicy,
} from '@aws-sdk/client-iot';
import type { IoTClient } from '@aws-sdk/client-iot';
import { explainAuthorization } from '../../src/cli/policy.js';
import { adminCredentials, adminIotClient, rejectsWith } from './helpers/aws.js';
import { startTestServer } from './helpers/server.js';
import type { TestServer } from './helpers/server.js';

const arnPrefix = 'arn:aws:iot:us-east-1:000000000000';

const doc = (statements: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const allowConnect = doc([{ Effect: 'Allow', Action: 'iot:Connect', Resource: '*' }]);

describe('policy routes with the AWS SDK v3 IoTClient, against the real server', () => {
  let ts: TestServer;
  let iot: IoTClient;

  before(async () => {
    ts = await startTestServer({ config: { httpPort: 0 } });
    iot = await adminIotClient(ts);
  });

  after(async () => {
    iot.destroy();
    await ts.close();
  });

  async function certificate(): Promise<{ certificateId: string; certificateArn: string }> {
    const c = await iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
    return { certificateId: c.certificateId ?? '', certificateArn: c.certificateArn ?? '' };
  }

  it('CreatePolicy and GetPolicy: shapes, the document echoed as given, errors by class', async () => {
    const text = `{ "Version": "2012-10-17",\n  "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}] }`;
    const created = await iot.send(new CreatePolicyCommand({ policyName: 'shape', policyDocument: text, tags: [{ Key: 'k', Value: 'v' }] }));
    const { $metadata, ...body } = created;
    assert.equal($metadata.httpStatusCode, 200);
    assert.deepEqual(body, { policyName: 'shape', policyArn: `${arnPrefix}:policy/shape`, policyDocument: text, policyVersionId: '1' });

    const got = await iot.send(new GetPolicyCommand({ policyName: 'shape' }));
    assert.equal(got.policyDocument, text);
    assert.equal(got.defaultVersionId, '1');
    assert.equal(got.policyArn, `${arnPrefix}:policy/shape`);
    assert.ok(got.creationDate instanceof Date && Math.abs(got.creationDate.getTime() - Date.now()) < 60_000);
    assert.ok(got.lastModifiedDate instanceof Date);
    assert.match(got.generationId ?? '', /\S/);

    const dup = await rejectsWith(iot.send(new CreatePolicyCommand({ policyName: 'shape', policyDocument: allowConnect })), ResourceAlreadyExistsException, 409);
    assert.match(dup.message, /name already exists \(name=shape\)/);
    assert.equal(dup.resourceId, 'shape');
    const malformed = await rejectsWith(
      iot.send(new CreatePolicyCommand({ policyName: 'bad', policyDocument: doc([{ Effect: 'Permit', Action: 'iot:Connect', Resource: '*' }]) })),
      MalformedPolicyException,
      400,
    );
    assert.match(malformed.message, /Statement\[0\]\.Effect/);
    await rejectsWith(iot.send(new CreatePolicyCommand({ policyName: 'bad', policyDocument: '{not json' })), MalformedPolicyException, 400);
    await rejectsWith(iot.send(new CreatePolicyCommand({ policyName: 'bad name!', policyDocument: allowConnect })), InvalidRequestException, 400);
    await rejectsWith(iot.send(new GetPolicyCommand({ policyName: 'nope' })), ResourceNotFoundException, 404);
  });

  it('ListPolicies: name order both ways, base64 markers, the SDK paginator', async () => {
    for (const n of ['list-c', 'list-a', 'list-b']) await iot.send(new CreatePolicyCommand({ policyName: n, policyDocument: allowConnect }));
    const first = await iot.send(new ListPoliciesCommand({ pageSize: 2 }));
    assert.equal(first.policies?.length, 2);
    assert.match(first.nextMarker ?? '', /^[A-Za-z0-9+/]+={0,2}$/);
    const names: string[] = [];
    for await (const page of paginateListPolicies({ client: iot, pageSize: 1 }, {})) names.push(...(page.policies ?? []).map((p) => p.policyName ?? ''));
    const ours = names.filter((n) => n.startsWith('list-'));
    assert.deepEqual(ours, ['list-a', 'list-b', 'list-c']);
    assert.deepEqual([...names].sort(), names, 'ascending by name');
    const desc = await iot.send(new ListPoliciesCommand({ ascendingOrder: false, pageSize: 250 }));
    assert.deepEqual(desc.policies?.map((p) => p.policyName), [...names].reverse());
    assert.equal(desc.nextMarker, undefined);
    assert.deepEqual(desc.policies?.find((p) => p.policyName === 'list-a'), { policyName: 'list-a', policyArn: `${arnPrefix}:policy/list-a` });
    await rejectsWith(iot.send(new ListPoliciesCommand({ marker: 'Zm9v' })), InvalidRequestException, 400);
    await rejectsWith(iot.send(new ListPoliciesCommand({ pageSize: 251 })), InvalidRequestException, 400);
  });

  it('versions: create (default or not), get, list, set default, delete; at most 5; the default cannot be deleted', async () => {
    await iot.send(new CreatePolicyCommand({ policyName: 'ver', policyDocument: allowConnect }));
    const v2doc = doc([{ Effect: 'Allow', Action: 'iot:Publish', Resource: '*' }]);
    const v2 = await iot.send(new CreatePolicyVersionCommand({ policyName: 'ver', policyDocument: v2doc }));
    const { $metadata: v2metadata, ...v2body } = v2;
    assert.equal(v2metadata.httpStatusCode, 200);
    assert.deepEqual(v2body, { policyArn: `${arnPrefix}:policy/ver`, policyDocument: v2doc, policyVersionId: '2', isDefaultVersion: false });
    assert.equal((await iot.send(new GetPolicyCommand({ policyName: 'ver' }))).defaultVersionId, '1');
    const v3 = await iot.send(new CreatePolicyVersionCommand({ policyName: 'ver', policyDocument: allowConnect, setAsDefault: true }));
    assert.equal(v3.isDefaultVersion, true);
    const got = await iot.send(new GetPolicyVersionCommand({ policyName: 'ver', policyVersionId: '2' }));
    assert.equal(got.policyDocument, v2doc);
    assert.equal(got.isDefaultVersion, false);
    assert.equal(got.policyName, 'ver');
    assert.ok(got.creationDate instanceof Date && got.lastModifiedDate instanceof Date);
    const listed = await iot.send(new ListPolicyVersionsCommand({ policyName: 'ver' }));
    assert.deepEqual(listed.policyVersions?.map((v) => [v.versionId, v.isDefaultVersion]), [['1', false], ['2', false], ['3', true]]);
    assert.ok(listed.policyVersions?.every((v) => v.createDate instanceof Date));
    await iot.send(new CreatePolicyVersionCommand({ policyName: 'ver', policyDocument: allowConnect }));
    await iot.send(new CreatePolicyVersionCommand({ policyName: 'ver', policyDocument: allowConnect }));
    const sixth = await rejectsWith(iot.send(new CreatePolicyVersionCommand({ policyName: 'ver', policyDocument: allowConnect })), VersionsLimitExceededException, 409);
    assert.match(sixth.message, /maximum of 5 versions/);

    await iot.send(new SetDefaultPolicyVersionCommand({ policyName: 'ver', policyVersionId: '2' }));
    assert.equal((await iot.send(new GetPolicyCommand({ policyName: 'ver' }))).policyDocument, v2doc);
    await iot.send(new SetDefaultPolicyVersionCommand({ policyName: 'ver', policyVersionId: '2' })); // idempotent
    await rejectsWith(iot.send(new DeletePolicyVersionCommand({ policyName: 'ver', policyVersionId: '2' })), DeleteConflictException, 409);
    await iot.send(new DeletePolicyVersionCommand({ policyName: 'ver', policyVersionId: '1' }));
    const six = await iot.send(new CreatePolicyVersionCommand({ policyName: 'ver', policyDocument: allowConnect }));
    assert.equal(six.policyVersionId, '6', 'version ids are never reused');

    await rejectsWith(iot.send(new GetPolicyVersionCommand({ policyName: 'ver', policyVersionId: '1' })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new SetDefaultPolicyVersionCommand({ policyName: 'ver', policyVersionId: '42' })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new CreatePolicyVersionCommand({ policyName: 'nope', policyDocument: allowConnect })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new ListPolicyVersionsCommand({ policyName: 'nope' })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new CreatePolicyVersionCommand({ policyName: 'ver', policyDocument: '{"Version":"2012-10-17"}' })), MalformedPolicyException, 400);
    await rejectsWith(iot.send(new GetPolicyVersionCommand({ policyName: 'ver', policyVersionId: 'x' })), InvalidRequestException, 400);

    const deleting = await rejectsWith(iot.send(new DeletePolicyCommand({ policyName: 'ver' })), DeleteConflictException, 409);
    assert.match(deleting.message, /versions other than the default/);
    for (const id of ['3', '4', '5', '6']) await iot.send(new DeletePolicyVersionCommand({ policyName: 'ver', policyVersionId: id }));
    await iot.send(new DeletePolicyCommand({ policyName: 'ver' }));
    await rejectsWith(iot.send(new GetPolicyCommand({ policyName: 'ver' })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new DeletePolicyCommand({ policyName: 'ver' })), ResourceNotFoundException, 404);
  });

  it('targets: attach/detach to certificate ARNs and access keys, list both ways, at most 10 per target, delete refused while attached', async () => {
    const cert = await certificate();
    await iot.send(new CreatePolicyCommand({ policyName: 'tgt', policyDocument: allowConnect }));
    await iot.send(new AttachPolicyCommand({ policyName: 'tgt', target: cert.certificateArn }));
    await iot.send(new AttachPolicyCommand({ policyName: 'tgt', target: cert.certificateArn })); // again: no-op
    await iot.send(new AttachPolicyCommand({ policyName: 'tgt', target: 'AKIAEXAMPLEWEBSOCKET1' }));
    const others = await Promise.all([1, 2, 3].map(() => certificate()));
    for (const c of others) await iot.send(new AttachPolicyCommand({ policyName: 'tgt', target: c.certificateArn }));

    const targets: string[] = [];
    for await (const page of paginateListTargetsForPolicy({ client: iot, pageSize: 2 }, { policyName: 'tgt' })) targets.push(...(page.targets ?? []));
    assert.deepEqual(targets, [cert.certificateArn, 'AKIAEXAMPLEWEBSOCKET1', ...others.map((c) => c.certificateArn)]);
    const firstPage = await iot.send(new ListTargetsForPolicyCommand({ policyName: 'tgt', pageSize: 1 }));
    assert.match(firstPage.nextMarker ?? '', /^[A-Za-z0-9+/]+={0,2}$/);

    const deleting = await rejectsWith(iot.send(new DeletePolicyCommand({ policyName: 'tgt' })), DeleteConflictException, 409);
    assert.match(deleting.message, /attached/);

    const names = ['tgt-b', 'tgt-a', 'tgt-c'];
    for (const n of names) {
      await iot.send(new CreatePolicyCommand({ policyName: n, policyDocument: allowConnect }));
      await iot.send(new AttachPolicyCommand({ policyName: n, target: cert.certificateArn }));
    }
    const attached: string[] = [];
    for await (const page of paginateListAttachedPolicies({ client: iot, pageSize: 1 }, { target: cert.certificateArn, recursive: true })) {
      attached.push(...(page.policies ?? []).map((p) => p.policyName ?? ''));
    }
    assert.deepEqual(attached, ['tgt', 'tgt-a', 'tgt-b', 'tgt-c']);
    const one = await iot.send(new ListAttachedPoliciesCommand({ target: cert.certificateArn, pageSize: 10 }));
    assert.deepEqual(one.policies?.[0], { policyName: 'tgt', policyArn: `${arnPrefix}:policy/tgt` });

    for (let i = 0; i < 6; i++) {
      await iot.send(new CreatePolicyCommand({ policyName: `tgt-x${i}`, policyDocument: allowConnect }));
      await iot.send(new AttachPolicyCommand({ policyName: `tgt-x${i}`, target: cert.certificateArn }));
    }
    await iot.send(new CreatePolicyCommand({ policyName: 'tgt-eleventh', policyDocument: allowConnect }));
    await rejectsWith(iot.send(new AttachPolicyCommand({ policyName: 'tgt-eleventh', target: cert.certificateArn })), LimitExceededException, 410);

    await rejectsWith(iot.send(new AttachPolicyCommand({ policyName: 'nope', target: cert.certificateArn })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new AttachPolicyCommand({ policyName: 'tgt', target: `${arnPrefix}:cert/${'0'.repeat(64)}` })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new AttachPolicyCommand({ policyName: 'tgt', target: 'not a target' })), InvalidRequestException, 400);
    await rejectsWith(iot.send(new AttachPolicyCommand({ policyName: 'tgt', target: `${arnPrefix}:thinggroup/g` })), InvalidRequestException, 400);
    await rejectsWith(iot.send(new AttachPolicyCommand({ policyName: 'tgt', target: `arn:aws:iot:eu-west-1:111111111111:cert/${cert.certificateId}` })), InvalidRequestException, 400);
    await rejectsWith(iot.send(new ListAttachedPoliciesCommand({ target: `${arnPrefix}:cert/${'1'.repeat(64)}` })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new ListTargetsForPolicyCommand({ policyName: 'nope' })), ResourceNotFoundException, 404);

    await iot.send(new DetachPolicyCommand({ policyName: 'tgt', target: cert.certificateArn }));
    await iot.send(new DetachPolicyCommand({ policyName: 'tgt', target: cert.certificateArn })); // again: no-op
    await iot.send(new AttachPolicyCommand({ policyName: 'tgt-eleventh', target: cert.certificateArn }));
    for (const target of ['AKIAEXAMPLEWEBSOCKET1', ...others.map((c) => c.certificateArn)]) await iot.send(new DetachPolicyCommand({ policyName: 'tgt', target }));
    await iot.send(new DeletePolicyCommand({ policyName: 'tgt' }));
  });

  it('GetEffectivePolicies lists the default documents of the attached policies', async () => {
    const cert = await certificate();
    const v2 = doc([{ Effect: 'Allow', Action: 'iot:Publish', Resource: '*' }]);
    await iot.send(new CreatePolicyCommand({ policyName: 'eff-b', policyDocument: allowConnect }));
    await iot.send(new CreatePolicyCommand({ policyName: 'eff-a', policyDocument: allowConnect }));
    await iot.send(new CreatePolicyVersionCommand({ policyName: 'eff-a', policyDocument: v2, setAsDefault: true }));
    for (const n of ['eff-b', 'eff-a']) await iot.send(new AttachPolicyCommand({ policyName: n, target: cert.certificateArn }));
    const out = await iot.send(new GetEffectivePoliciesCommand({ principal: cert.certificateArn, thingName: 'any-thing' }));
    assert.deepEqual(out.effectivePolicies, [
      { policyName: 'eff-a', policyArn: `${arnPrefix}:policy/eff-a`, policyDocument: v2 },
      { policyName: 'eff-b', policyArn: `${arnPrefix}:policy/eff-b`, policyDocument: allowConnect },
    ]);
    assert.deepEqual((await iot.send(new GetEffectivePoliciesCommand({ principal: (await certificate()).certificateArn }))).effectivePolicies, []);
    await rejectsWith(iot.send(new GetEffectivePoliciesCommand({})), InvalidRequestException, 400);
    await rejectsWith(iot.send(new GetEffectivePoliciesCommand({ principal: `${arnPrefix}:cert/${'2'.repeat(64)}` })), ResourceNotFoundException, 404);
  });

  it('TestAuthorization: ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY with the policies that decided, missing context values, policies added and skipped', async () => {
    const cert = await certificate();
    await iot.send(new CreatePolicyCommand({
      policyName: 'ta-own',
      policyDocument: doc([
        { Effect: 'Allow', Action: ['iot:Publish', 'iot:Receive'], Resource: `${arnPrefix}:topic/\${iot:ClientId}/*` },
        { Effect: 'Deny', Action: 'iot:Publish', Resource: `${arnPrefix}:topic/\${iot:ClientId}/bar` },
        { Effect: 'Allow', Action: 'iot:Subscribe', Resource: `${arnPrefix}:topicfilter/things/\${iot:Connection.Thing.ThingName}/*` },
      ]),
    }));
    await iot.send(new CreatePolicyCommand({ policyName: 'ta-connect', policyDocument: doc([{ Effect: 'Allow', Action: 'iot:Connect', Resource: `${arnPrefix}:client/client1` }]) }));
    await iot.send(new CreatePolicyCommand({ policyName: 'ta-extra', policyDocument: doc([{ Effect: 'Allow', Action: 'iot:Publish', Resource: `${arnPrefix}:topic/extra` }]) }));
    for (const n of ['ta-own', 'ta-connect']) await iot.send(new AttachPolicyCommand({ policyName: n, target: cert.certificateArn }));
    const p = (name: string) => ({ policyName: name, policyArn: `${arnPrefix}:policy/${name}` });

    const out = await iot.send(new TestAuthorizationCommand({
      principal: cert.certificateArn,
      clientId: 'client1',
      authInfos: [
        { actionType: 'PUBLISH', resources: [`${arnPrefix}:topic/client1/foo`] },
        { actionType: 'PUBLISH', resources: [`${arnPrefix}:topic/client1/bar`] },
        { actionType: 'PUBLISH', resources: [`${arnPrefix}:topic/client2/foo`] },
        { actionType: 'CONNECT', resources: [`${arnPrefix}:client/client1`] },
        { actionType: 'SUBSCRIBE', resources: [`${arnPrefix}:topicfilter/things/t/a`] },
        { actionType: 'RECEIVE', resources: [`${arnPrefix}:topic/client1/x`, `${arnPrefix}:topic/client1/y`] },
      ],
    }));
    const results = out.authResults ?? [];
    assert.deepEqual(results.map((r) => r.authDecision), ['ALLOWED', 'EXPLICIT_DENY', 'IMPLICIT_DENY', 'ALLOWED', 'IMPLICIT_DENY', 'ALLOWED']);
    assert.deepEqual(results[0]?.authInfo, { actionType: 'PUBLISH', resources: [`${arnPrefix}:topic/client1/foo`] });
    assert.deepEqual(results[0]?.allowed?.policies, [p('ta-own')]);
    assert.deepEqual(results[0]?.denied?.implicitDeny?.policies, []);
    assert.deepEqual(results[1]?.denied?.explicitDeny?.policies, [p('ta-own')]);
    assert.deepEqual(results[2]?.denied?.implicitDeny?.policies, [p('ta-connect'), p('ta-own')]);
    assert.deepEqual(results[3]?.allowed?.policies, [p('ta-connect')]);
    assert.deepEqual(results[4]?.missingContextValues, ['iot:Connection.Thing.ThingName']);
    assert.deepEqual(results[0]?.missingContextValues, []);

    const added = await iot.send(new TestAuthorizationCommand({
      principal: cert.certificateArn,
      clientId: 'client1',
      policyNamesToAdd: ['ta-extra'],
      policyNamesToSkip: ['ta-own'],
      authInfos: [{ actionType: 'PUBLISH', resources: [`${arnPrefix}:topic/extra`] }, { actionType: 'PUBLISH', resources: [`${arnPrefix}:topic/client1/foo`] }],
    }));
    assert.deepEqual(added.authResults?.map((r) => r.authDecision), ['ALLOWED', 'IMPLICIT_DENY']);
    assert.deepEqual(added.authResults?.[0]?.allowed?.policies, [p('ta-extra')]);

    await rejectsWith(iot.send(new TestAuthorizationCommand({ principal: `${arnPrefix}:cert/${'3'.repeat(64)}`, authInfos: [{ actionType: 'CONNECT', resources: ['*'] }] })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new TestAuthorizationCommand({ principal: cert.certificateArn, policyNamesToAdd: ['nope'], authInfos: [{ actionType: 'CONNECT', resources: ['*'] }] })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new TestAuthorizationCommand({ principal: cert.certificateArn, authInfos: [] })), InvalidRequestException, 400);
    await rejectsWith(
      iot.send(new TestAuthorizationCommand({ principal: cert.certificateArn, authInfos: Array.from({ length: 11 }, () => ({ actionType: 'CONNECT' as const, resources: ['*'] })) })),
      InvalidRequestException,
      400,
    );
  });

  it('the explain route names the deciding statement with variables substituted, or says no statement allowed it', async () => {
    const cert = await certificate();
    await iot.send(new CreateThingCommand({ thingName: 'lamp-1' }));
    await iot.send(new AttachThingPrincipalCommand({ thingName: 'lamp-1', principal: cert.certificateArn }));
    await iot.send(new CreatePolicyCommand({
      policyName: 'ex-thing',
      policyDocument: doc([
        { Sid: 'Own', Effect: 'Allow', Action: 'iot:Publish', Resource: `${arnPrefix}:topic/devices/\${iot:Connection.Thing.ThingName}/*` },
        { Effect: 'Deny', Action: 'iot:Publish', Resource: `${arnPrefix}:topic/devices/*/admin` },
      ]),
    }));
    await iot.send(new AttachPolicyCommand({ policyName: 'ex-thing', target: cert.certificateArn }));

    const answer = await explainAuthorization(iot, {
      principal: cert.certificateArn,
      clientId: 'lamp-1',
      authInfos: [{ action: 'iot:Publish', resources: ['devices/lamp-1/temp', 'devices/lamp-1/admin', 'devices/lamp-2/temp'] }],
    });
    assert.equal(answer.principal, cert.certificateArn);
    assert.deepEqual(answer.policies, [{ policyName: 'ex-thing', policyVersionId: '1' }]);
    const [allowed, denied, nobody] = answer.results;
    assert.equal(allowed?.authDecision, 'ALLOWED');
    assert.equal(allowed?.resource, `${arnPrefix}:topic/devices/lamp-1/temp`);
    assert.match(allowed?.summary ?? '', /allowed by policy "ex-thing" version 1 Statement\[0\] \(Sid Own\), Resource arn:aws:iot:us-east-1:000000000000:topic\/devices\/lamp-1\/\*/);
    assert.equal(denied?.authDecision, 'EXPLICIT_DENY');
    assert.match(denied?.summary ?? '', /denied explicitly by policy "ex-thing" version 1 Statement\[1\]/);
    assert.equal(nobody?.authDecision, 'IMPLICIT_DENY');
    assert.match(nobody?.summary ?? '', /no statement allows it/);
    assert.deepEqual(nobody?.statements.map((s) => s.outcome), ['resource-not-matched', 'resource-not-matched']);

    const stranger = await explainAuthorization(iot, { principal: cert.certificateArn, clientId: 'not-the-thing', authInfos: [{ action: 'iot:Publish', resources: ['devices/lamp-1/temp'] }] });
    assert.equal(stranger.results[0]?.statements[0]?.outcome, 'unresolved-variables');
    assert.deepEqual(stranger.results[0]?.missingContextValues, ['iot:Connection.Thing.ThingName']);

    const admin = (await adminCredentials(ts.dataDir)).accessKeyId;
    const everything = await explainAuthorization(iot, { principal: admin, authInfos: [{ action: 'iot:Subscribe', resources: ['#'] }] });
    assert.equal(everything.results[0]?.authDecision, 'ALLOWED');
    assert.match(everything.allowedEverything ?? '', /admin access key/);
    await rejectsWith(explainAuthorization(iot, { principal: cert.certificateArn, authInfos: [{ action: 'iot:Fly', resources: ['x'] }] }), InvalidRequestException, 400);
  });

  it('DeleteCertificate is refused while policies are attached, and forceDelete detaches them', async () => {
    const cert = await certificate();
    await iot.send(new CreatePolicyCommand({ policyName: 'del-cert', policyDocument: allowConnect }));
    await iot.send(new AttachPolicyCommand({ policyName: 'del-cert', target: cert.certificateArn }));
    await iot.send(new UpdateCertificateCommand({ certificateId: cert.certificateId, newStatus: 'INACTIVE' }));
    await rejectsWith(iot.send(new DeleteCertificateCommand({ certificateId: cert.certificateId })), DeleteConflictException, 409);
    await iot.send(new DeleteCertificateCommand({ certificateId: cert.certificateId, forceDelete: true }));
    assert.deepEqual((await iot.send(new ListTargetsForPolicyCommand({ policyName: 'del-cert' }))).targets, []);
    await iot.send(new DeletePolicyCommand({ policyName: 'del-cert' }));
  });
});
