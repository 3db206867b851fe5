/**
 * policy's routes (spec/http-api.md 3.5: policies, versions, targets, GetEffectivePolicies,
 * TestAuthorization): the wire in and out, nothing else. The policy service validates its inputs
 * (names, documents — MalformedPolicyException says what and where —, targets, page sizes) and owns
 * every rule; handlers read the members the model names, call it and shape its answer: timestamps as
 * epoch seconds, absent optional members left out, `policyDocument` as the JSON text it was given.
 *
 * Note the odd verbs of the model: DetachPolicy is POST on the path AttachPolicy PUTs;
 * ListAttachedPolicies, ListTargetsForPolicy and GetEffectivePolicies are POST reads.
 *
 * One Thingcore extension, not an AWS operation:
 *
 *   POST /test-authorization/explain?clientId=<id>
 *   {"principal": "<cert ARN or access key id>", "authInfos": [{"action": "iot:Publish", "resources": ["devices/a/temp"]}],
 *    "policyNamesToAdd"?: [...], "policyNamesToSkip"?: [...]}
 *   → {"principal", "clientId"?, "policies": [{policyName, policyVersionId}], "allowedEverything"?,
 *      "results": [{"action", "resource", "authDecision", "summary", "decidingStatement"?, "statements": [...],
 *                   "missingContextValues"}]}
 *
 * TestAuthorization's input, except that an authInfo may name any IoT action (`action`) instead of
 * an `actionType`, and a resource may be a bare name (topic, topic filter, client id, thing[/shadow])
 * completed to this server's ARN of the action's resource type. `summary` is one line naming the
 * deciding statement with its variables substituted, or saying that no statement allowed it;
 * `statements` says for every statement why it did or did not apply (`thingcore policy explain`).
 */
// Not '../index.js': api/index.ts re-exports this module, and importing the files directly (as
// things.ts does) keeps the module graph free of a cycle.
import { defineRoutes } from '../routing.js';
import type { RouteModule, RouteRequest } from '../routing.js';
import { isPlainObject, jsonBody } from '../body.js';
import { epochSeconds } from '../time.js';
import { AwsErrors } from '../../shared/index.js';
import type { AuthInfo, ExplainAuthInfo, PolicyService } from '../../policy/index.js';
import type { Tag } from '../../tagging/index.js';

export function policyRoutes(policies: PolicyService): RouteModule {
  return defineRoutes('policies', (r) => {
    r.post(
      '/policies/:policyName',
      async (req) => {
        const body = jsonBody(req);
        // Each element is checked by the policy service (tagging/'s rules); here it is only passed on.
        const tags = body.array('tags') as readonly Tag[] | undefined;
        return policies.createPolicy({ policyName: req.params.policyName, policyDocument: body.requiredString('policyDocument'), ...optional('tags', tags) });
      },
      { operation: 'CreatePolicy' },
    );

    r.get(
      '/policies/:policyName',
      async (req) => {
        const p = await policies.getPolicy(req.params.policyName);
        return { ...p, creationDate: epochSeconds(p.creationDate), lastModifiedDate: epochSeconds(p.lastModifiedDate) };
      },
      { operation: 'GetPolicy' },
    );

    r.get(
      '/policies',
      (req) =>
        policies.listPolicies({
          ...optional('marker', req.query.string('marker')),
          ...optional('pageSize', req.query.int('pageSize')),
          ...optional('isAscendingOrder', req.query.bool('isAscendingOrder')),
        }),
      { operation: 'ListPolicies' },
    );

    r.delete(
      '/policies/:policyName',
      async (req) => {
        await policies.deletePolicy(req.params.policyName);
        return undefined;
      },
      { operation: 'DeletePolicy' },
    );

    r.post(
      '/policies/:policyName/version',
      async (req) =>
        policies.createPolicyVersion({
          policyName: req.params.policyName,
          policyDocument: jsonBody(req).requiredString('policyDocument'),
          ...optional('setAsDefault', req.query.bool('setAsDefault')),
        }),
      { operation: 'CreatePolicyVersion' },
    );

    r.get(
      '/policies/:policyName/version',
      async (req) => {
        const out = await policies.listPolicyVersions(req.params.policyName);
        return { policyVersions: out.policyVersions.map((v) => ({ ...v, createDate: epochSeconds(v.createDate) })) };
      },
      { operation: 'ListPolicyVersions' },
    );

    r.get(
      '/policies/:policyName/version/:policyVersionId',
      async (req) => {
        const v = await policies.getPolicyVersion(req.params.policyName, req.params.policyVersionId);
        return { ...v, creationDate: epochSeconds(v.creationDate), lastModifiedDate: epochSeconds(v.lastModifiedDate) };
      },
      { operation: 'GetPolicyVersion' },
    );

    r.patch(
      '/policies/:policyName/version/:policyVersionId',
      async (req) => {
        await policies.setDefaultPolicyVersion(req.params.policyName, req.params.policyVersionId);
        return undefined;
      },
      { operation: 'SetDefaultPolicyVersion' },
    );

    r.delete(
      '/policies/:policyName/version/:policyVersionId',
      async (req) => {
        await policies.deletePolicyVersion(req.params.policyName, req.params.policyVersionId);
        return undefined;
      },
      { operation: 'DeletePolicyVersion' },
    );

    r.put(
      '/target-policies/:policyName',
      async (req) => {
        await policies.attachPolicy({ policyName: req.params.policyName, target: jsonBody(req).requiredString('target') });
        return undefined;
      },
      { operation: 'AttachPolicy' },
    );

    r.post(
      '/target-policies/:policyName',
      async (req) => {
        await policies.detachPolicy({ policyName: req.params.policyName, target: jsonBody(req).requiredString('target') });
        return undefined;
      },
      { operation: 'DetachPolicy' },
    );

    r.post(
      '/attached-policies/:target',
      (req) =>
        policies.listAttachedPolicies({
          target: req.params.target,
          ...optional('recursive', req.query.bool('recursive')),
          ...optional('marker', req.query.string('marker')),
          ...optional('pageSize', req.query.int('pageSize')),
        }),
      { operation: 'ListAttachedPolicies' },
    );

    r.post(
      '/policy-targets/:policyName',
      (req) =>
        policies.listTargetsForPolicy({
          policyName: req.params.policyName,
          ...optional('marker', req.query.string('marker')),
          ...optional('pageSize', req.query.int('pageSize')),
        }),
      { operation: 'ListTargetsForPolicy' },
    );

    r.post(
      '/effective-policies',
      (req) => {
        const body = jsonBody(req);
        return policies.getEffectivePolicies({
          ...optional('principal', body.string('principal')),
          ...optional('cognitoIdentityPoolId', body.string('cognitoIdentityPoolId')),
          ...optional('thingName', req.query.string('thingName')),
        });
      },
      { operation: 'GetEffectivePolicies' },
    );

    r.post(
      '/test-authorization',
      (req) => policies.testAuthorization({ ...readAuthorizationRequest(req), authInfos: readAuthInfos(req) as unknown as AuthInfo[] }),
      { operation: 'TestAuthorization' },
    );

    r.post(
      '/test-authorization/explain',
      (req) => policies.explainAuthorization({ ...readAuthorizationRequest(req), authInfos: readAuthInfos(req) }),
      { operation: 'ExplainAuthorization' },
    );
  });
}

/** The members TestAuthorization and its explaining twin share (authInfos apart). */
function readAuthorizationRequest(req: RouteRequest): {
  principal?: string;
  cognitoIdentityPoolId?: string;
  clientId?: string;
  policyNamesToAdd?: string[];
  policyNamesToSkip?: string[];
} {
  const body = jsonBody(req);
  return {
    ...optional('principal', body.string('principal')),
    ...optional('cognitoIdentityPoolId', body.string('cognitoIdentityPoolId')),
    ...optional('clientId', req.query.string('clientId')),
    ...optional('policyNamesToAdd', body.stringArray('policyNamesToAdd')),
    ...optional('policyNamesToSkip', body.stringArray('policyNamesToSkip')),
  };
}

/** authInfos as objects of strings; the service checks the values (enum, counts, ARNs). */
function readAuthInfos(req: RouteRequest): ExplainAuthInfo[] {
  const raw = jsonBody(req).array('authInfos');
  if (raw === undefined) throw AwsErrors.invalidRequest('authInfos is required: 1 to 10 items');
  return raw.map((item, i) => {
    if (!isPlainObject(item)) throw AwsErrors.invalidRequest(`authInfos[${i}] must be an object`);
    const info = jsonBody({ body: item });
    const actionType = info.string('actionType');
    const action = info.string('action');
    return {
      ...(actionType === undefined ? {} : { actionType: actionType as ExplainAuthInfo['actionType'] & string }),
      ...(action === undefined ? {} : { action }),
      resources: info.stringArray('resources') ?? [],
    };
  });
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]: V });
}
