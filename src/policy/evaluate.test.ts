// Proves the policy engine decides as spec/policy.md says AWS IoT does, row by row over a table of policies (the spec's canonical policies A–F and the AWS developer-guide examples it cites), connections and requests: explicit deny over allow, NotAction/NotResource, `*`/`?` globs, `+`/`#` literal, every policy variable, unresolved variables, conditions, thing attachment, and the `${iot:ClientId}` = `+` caveat; and that the answer never depends on policy or statement order.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  actionResourceType,
  compilePolicies,
  decide,
  decideName,
  isIotAction,
  parsePolicyDocument,
  type PolicyContext,
  type PolicyVersionInput,
  type RequestContext,
} from './index.js';

const P = 'arn:aws:iot:us-east-1:123456789012:';
const client = (id: string): string => `${P}client/${id}`;
const topic = (name: string): string => `${P}topic/${name}`;
const filter = (f: string): string => `${P}topicfilter/${f}`;
const thing = (name: string): string => `${P}thing/${name}`;

type Json = Record<string, unknown>;
const doc = (...statements: Json[]): Json => ({ Version: '2012-10-17', Statement: statements });
const allow = (Action: string | string[], Resource: string | string[], Condition?: Json): Json =>
  Condition === undefined ? { Effect: 'Allow', Action, Resource } : { Effect: 'Allow', Action, Resource, Condition };
const deny = (Action: string | string[], Resource: string | string[], Condition?: Json): Json =>
  Condition === undefined ? { Effect: 'Deny', Action, Resource } : { Effect: 'Deny', Action, Resource, Condition };

// ---- Policies -------------------------------------------------------------------------------
// A. spec 13.A: device = thing; own topics and shadows.
const policyA = doc(
  allow('iot:Connect', `${P}client/\${iot:Connection.Thing.ThingName}`, { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } }),
  allow('iot:Publish', [`${P}topic/devices/\${iot:Connection.Thing.ThingName}/*`, `${P}topic/$aws/things/\${iot:Connection.Thing.ThingName}/shadow/*`]),
  allow('iot:Subscribe', [
    `${P}topicfilter/devices/\${iot:Connection.Thing.ThingName}/*`,
    `${P}topicfilter/$aws/things/\${iot:Connection.Thing.ThingName}/shadow/*`,
  ]),
  allow('iot:Receive', [`${P}topic/devices/\${iot:Connection.Thing.ThingName}/*`, `${P}topic/$aws/things/\${iot:Connection.Thing.ThingName}/shadow/*`]),
);
// B. spec 13.B: fixed client ids, own prefix, one explicit deny.
const policyB = doc(
  allow(['iot:Connect'], [client('client1'), client('client2')]),
  allow(['iot:Publish'], [`${P}topic/\${iot:ClientId}/*`]),
  deny(['iot:Publish'], [`${P}topic/\${iot:ClientId}/bar`]),
);
// C. spec 13.C: subscribe allowed, delivery revoked.
const policyC = doc(allow('iot:Subscribe', filter('device/update')), deny('iot:Receive', topic('device/update')));
// D. spec 13.D: certificate attribute gate.
const policyD = doc(
  allow('iot:Publish', topic('admin/*'), { 'ForAnyValue:StringEquals': { 'iot:Certificate.Subject.CommonName.List': 'Administrator' } }),
);
// E. spec 13.E: retained messages.
const policyE = doc(allow('iot:Connect', client('device1')), allow(['iot:Publish', 'iot:RetainPublish'], topic('device/sample/configuration')));
// F. spec 13.F: development allow-all.
const policyF = doc(allow('iot:*', '*'));
// AWS pub-sub-policy example: the deny pitfall and its Receive/NotResource fix.
const pitfall = doc(
  allow('iot:Subscribe', filter('a/*')),
  deny('iot:Subscribe', filter('a/restricted/*')),
  { Effect: 'Allow', Action: 'iot:Receive', NotResource: topic('a/restricted/*') },
);
// AWS pub-sub-policy examples: MQTT wildcards are literal in topicfilter resources.
const filters = doc(
  allow('iot:Subscribe', [filter('some/+/topic'), filter('star/*/topic'), filter('sensors/#'), filter('some/sensor???/topic')]),
  allow('iot:Publish', topic('pub/#')),
);
const notAction = doc({ Effect: 'Allow', NotAction: 'iot:Publish', Resource: '*' });
const notActionDeny = doc(allow('iot:*', '*'), { Effect: 'Deny', NotAction: ['iot:Connect', 'iot:Receive'], Resource: topic('secret/*') });
const notResourceDeny = doc(allow('iot:Publish', '*'), { Effect: 'Deny', Action: 'iot:Publish', NotResource: [topic('ok/*'), topic('$aws/*')] });
const wildcards = doc(
  allow('iot:Connect', 'arn:aws:iot:*:*:client/${iot:ClientId}'),
  allow('iot:Publish', [topic('x/*/end'), topic('q/??'), topic('Case/Sensitive'), topic('lit/a${*}b'), topic('dollar/$($)x')]),
  allow('iot:Receive', `${P}*`),
);
const actionPatterns = doc(allow('iot:*Shadow', thing('*')), allow('IOT:PUBLISH', topic('upper/*')), allow('iot:?eceive', topic('r/*')));
const shadows = doc(
  allow(['iot:GetThingShadow', 'iot:UpdateThingShadow'], [`${P}thing/\${iot:Connection.Thing.ThingName}`, `${P}thing/\${iot:Connection.Thing.ThingName}/*`]),
  allow('iot:ListNamedShadowsForThing', thing('*')),
  allow('iot:ListRetainedMessages', '*'),
);
const variablesA = doc(
  allow('iot:Publish', `${P}topic/type/\${iot:Connection.Thing.ThingTypeName}/*`),
  allow('iot:Publish', `${P}topic/room/\${iot:Connection.Thing.Attributes[room]}/*`),
  allow('iot:Publish', `${P}topic/cert/\${iot:CertificateId}`),
  allow('iot:Publish', `${P}topic/cn/\${iot:Certificate.Subject.CommonName}`),
  allow('iot:Publish', `${P}topic/ou1/\${iot:Certificate.Subject.OrganizationalUnit.1}`),
  allow('iot:Publish', `${P}topic/org/\${iot:Certificate.Subject.Organization}`),
  allow('iot:Publish', `${P}topic/issuer/\${iot:Certificate.Issuer.CommonName}`),
  allow('iot:Publish', `${P}topic/dns/\${iot:Certificate.Subject.AlternativeName.DNSName}`),
  allow('iot:Publish', `${P}topic/ian/\${iot:Certificate.Issuer.AlternativeName.RFC822Name}`),
);
const variablesB = doc(
  allow('iot:Publish', `${P}topic/serial/\${iot:Certificate.SerialNumber}`),
  allow('iot:Publish', `${P}topic/domain/\${iot:DomainName}`),
  allow('iot:Publish', `${P}topic/ip/\${aws:SourceIp}`),
  allow('iot:Publish', `${P}topic/cognito/\${cognito-identity.amazonaws.com:sub}`),
  allow('iot:Publish', `${P}topic/gq/\${iot:Certificate.Subject.GenerationQualifier}`),
  allow('iot:Publish', `${P}topic/title4/\${iot:Certificate.Subject.Title.4}`),
  allow('iot:Publish', `${P}topic/list/\${iot:Certificate.Subject.OrganizationalUnit.List}`),
  allow('iot:Publish', `${P}topic/unknown/\${iot:NoSuchVariable}`),
  allow('iot:Publish', `${P}topic/lower/\${IOT:CLIENTID}`),
);
const variables = [variablesA, variablesB];
const unresolvedDeny = doc(allow('iot:Publish', topic('*')), deny('iot:Publish', `${P}topic/\${iot:Connection.Thing.ThingName}/*`));
const unresolvedMixed = doc(allow('iot:Publish', [`${P}topic/\${iot:Connection.Thing.ThingName}/*`, topic('public/*')]));
const conditionsA = doc(
  allow('iot:Publish', topic('eq/*'), { StringEquals: { 'iot:ClientId': ['alpha', 'beta'] } }),
  allow('iot:Publish', topic('neq/*'), { StringNotEquals: { 'iot:Connection.Thing.ThingTypeName': 'banned' } }),
  allow('iot:Publish', topic('like/*'), { StringLike: { 'iot:ClientId': 'al*' } }),
  allow('iot:Publish', topic('notlike/*'), { StringNotLike: { 'iot:ClientId': 'al*' } }),
  allow('iot:Publish', topic('icase/*'), { StringEqualsIgnoreCase: { 'iot:ClientId': 'ALPHA' } }),
  allow('iot:Publish', topic('ip/*'), { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '2001:db8::/32'] } }),
  allow('iot:Publish', topic('notip/*'), { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }),
);
const conditionsB = doc(
  allow('iot:Publish', topic('null/*'), { Null: { 'iot:Connection.Thing.ThingName': 'true' } }),
  allow('iot:Publish', topic('ifexists/*'), { StringEqualsIfExists: { 'iot:Connection.Thing.Attributes[zone]': 'z1' } }),
  allow('iot:Publish', topic('and/*'), { StringEquals: { 'iot:ClientId': 'alpha', 'iot:Connection.Thing.ThingName': 'sensor-1' } }),
  allow('iot:Publish', topic('var/*'), { StringEquals: { 'iot:ClientId': '${iot:Connection.Thing.ThingName}' } }),
  allow('iot:Publish', topic('avail/*'), { 'ForAnyValue:StringLike': { 'iot:Certificate.AvailableKeys': 'iot:Certificate.Subject.Country' } }),
);
const conditions = [conditionsA, conditionsB];
const connectAttributes = (op: string, values: string[], effect: 'Allow' | 'Deny' = 'Allow'): Json => {
  const st = { Effect: effect, Action: 'iot:Connect', Resource: client('c1'), Condition: { [op]: { 'iot:ConnectAttributes': values } } };
  return effect === 'Allow' ? doc(st) : doc(allow('iot:Connect', client('c1')), st);
};
const willTopic = doc(allow('iot:Connect', '*', { ArnLike: { 'iot:LastWillTopic': [`${P}topic/will/\${iot:ClientId}`] } }));
const ifExistsWill = doc(allow('iot:Connect', '*', { ArnEqualsIfExists: { 'iot:LastWillTopic': `${P}topic/will/c1` } }));
const clientIdFilter = doc(
  allow('iot:Connect', client('sensor-*')),
  allow('iot:Subscribe', `${P}topicfilter/my/\${iot:ClientId}/topic`),
);
const ownThing = doc(allow('iot:Publish', `${P}topic/devices/\${iot:Connection.Thing.ThingName}/*`));
const v2008 = { Version: '2008-10-17', Statement: [allow('iot:Publish', `${P}topic/\${iot:ClientId}/*`)] };
const singleStatement = { Version: '2012-10-17', Statement: allow('iot:Publish', topic('single')) };
const denyOnly = doc(deny('iot:Publish', topic('x')));
const otherAccount = doc(allow('iot:Publish', 'arn:aws:iot:eu-west-1:999999999999:topic/a'));

// ---- Connections ----------------------------------------------------------------------------
const sensor1: PolicyContext = {
  principal: `${P}cert/${'a'.repeat(64)}`,
  clientId: 'sensor-1',
  sourceIp: '10.1.2.3',
  domainName: 'iot.example.com',
  thing: { thingName: 'sensor-1', thingTypeName: 'thermostat', attributes: { room: 'kitchen', floor: '2' } },
  certificate: {
    certificateId: 'a'.repeat(64),
    serialNumber: '92:12:85:cb',
    subject: {
      CommonName: ['sensor-1'],
      Organization: ['Acme, Inc.'],
      OrganizationalUnit: ['Fleet', 'Kitchen', 'Night'],
      Country: ['US'],
      GenerationQualifier: ['x'.repeat(1025)],
      Title: ['t0', 't1', 't2', 't3', 't4', 't5'],
    },
    issuer: { CommonName: ['Thingcore Root CA'] },
    subjectAlternativeName: { DNSName: ['sensor-1.local'] },
    issuerAlternativeName: { RFC822Name: ['ca@example.com'] },
  },
  cognitoIdentityId: 'us-east-1:abcd',
};
/** Same certificate, client id sensor-2, no thing bound (non-exclusive attachment to sensor-1). */
const sensor2: PolicyContext = { ...withoutThing(sensor1), clientId: 'sensor-2' };
/** Exclusive attachment: thing sensor-1 bound although the client id differs. */
const exclusive: PolicyContext = { ...sensor1, clientId: 'other-id' };
const admin: PolicyContext = {
  clientId: 'admin-console',
  certificate: { certificateId: 'b'.repeat(64), subject: { CommonName: ['Operator', 'Administrator'] } },
};
const plain = (clientId: string, extra: Partial<PolicyContext> = {}): PolicyContext => ({ clientId, ...extra });
/** An HTTP data-plane request: no client id, no thing. */
const http: PolicyContext = { principal: `${P}cert/${'c'.repeat(64)}`, sourceIp: '192.0.2.1' };

function withoutThing(ctx: PolicyContext): PolicyContext {
  const { thing: _thing, ...rest } = ctx;
  return rest;
}

type Expect = 'allow' | 'explicit-deny' | 'implicit-deny';
interface Row {
  readonly name: string;
  readonly policies: readonly Json[];
  readonly ctx: PolicyContext;
  readonly action: string;
  readonly resource: string;
  readonly request?: RequestContext;
  readonly expect: Expect;
  /** Expected deciding statement index (in the policy it belongs to). */
  readonly by?: number;
}

const rows: Row[] = [
  // Canonical policy A (spec 13.A): expected decisions table.
  { name: 'A: CONNECT sensor-1 attached', policies: [policyA], ctx: sensor1, action: 'iot:Connect', resource: client('sensor-1'), expect: 'allow', by: 0 },
  { name: 'A: CONNECT sensor-2 not attached', policies: [policyA], ctx: sensor2, action: 'iot:Connect', resource: client('sensor-2'), expect: 'implicit-deny' },
  { name: 'A: PUBLISH own topic', policies: [policyA], ctx: sensor1, action: 'iot:Publish', resource: topic('devices/sensor-1/temp'), expect: 'allow', by: 1 },
  { name: "A: PUBLISH another device's topic", policies: [policyA], ctx: sensor1, action: 'iot:Publish', resource: topic('devices/sensor-2/temp'), expect: 'implicit-deny' },
  { name: 'A: PUBLISH named shadow (* crosses /)', policies: [policyA], ctx: sensor1, action: 'iot:Publish', resource: topic('$aws/things/sensor-1/shadow/name/cfg/update'), expect: 'allow' },
  { name: 'A: SUBSCRIBE shadow delta', policies: [policyA], ctx: sensor1, action: 'iot:Subscribe', resource: filter('$aws/things/sensor-1/shadow/update/delta'), expect: 'allow', by: 2 },
  { name: 'A: SUBSCRIBE devices/sensor-1/# (* matches #)', policies: [policyA], ctx: sensor1, action: 'iot:Subscribe', resource: filter('devices/sensor-1/#'), expect: 'allow' },
  { name: 'A: SUBSCRIBE devices/+/temp', policies: [policyA], ctx: sensor1, action: 'iot:Subscribe', resource: filter('devices/+/temp'), expect: 'implicit-deny' },
  { name: 'A: deliver devices/sensor-1/cmd', policies: [policyA], ctx: sensor1, action: 'iot:Receive', resource: topic('devices/sensor-1/cmd'), expect: 'allow', by: 3 },
  { name: 'A: deliver another device', policies: [policyA], ctx: sensor1, action: 'iot:Receive', resource: topic('devices/sensor-2/cmd'), expect: 'implicit-deny' },
  { name: 'A: unattached client publishes nowhere', policies: [policyA], ctx: sensor2, action: 'iot:Publish', resource: topic('devices/sensor-2/temp'), expect: 'implicit-deny' },
  { name: 'A: Publish is not Subscribe', policies: [policyA], ctx: sensor1, action: 'iot:Subscribe', resource: topic('devices/sensor-1/temp'), expect: 'implicit-deny' },
  { name: 'A: exclusive thing, client id differs: Connect denied', policies: [policyA], ctx: exclusive, action: 'iot:Connect', resource: client('other-id'), expect: 'implicit-deny' },
  { name: 'A: exclusive thing, client id differs: thing topics allowed', policies: [policyA], ctx: exclusive, action: 'iot:Publish', resource: topic('devices/sensor-1/x'), expect: 'allow' },
  { name: 'A: client id = thing name but that thing is not attached', policies: [policyA], ctx: { ...sensor2, clientId: 'sensor-1' }, action: 'iot:Connect', resource: client('sensor-1'), expect: 'implicit-deny' },

  // B (spec 13.B).
  { name: 'B: connect client1', policies: [policyB], ctx: plain('client1'), action: 'iot:Connect', resource: client('client1'), expect: 'allow' },
  { name: 'B: connect client3', policies: [policyB], ctx: plain('client3'), action: 'iot:Connect', resource: client('client3'), expect: 'implicit-deny' },
  { name: 'B: client1 publishes client1/foo', policies: [policyB], ctx: plain('client1'), action: 'iot:Publish', resource: topic('client1/foo'), expect: 'allow', by: 1 },
  { name: 'B: client1/bar explicit deny', policies: [policyB], ctx: plain('client1'), action: 'iot:Publish', resource: topic('client1/bar'), expect: 'explicit-deny', by: 2 },
  { name: 'B: client1 publishes client2/foo', policies: [policyB], ctx: plain('client1'), action: 'iot:Publish', resource: topic('client2/foo'), expect: 'implicit-deny' },
  { name: 'B: client1/bar/baz is not client1/bar', policies: [policyB], ctx: plain('client1'), action: 'iot:Publish', resource: topic('client1/bar/baz'), expect: 'allow' },

  // C, D, E, F.
  { name: 'C: subscribe succeeds', policies: [policyC], ctx: plain('d'), action: 'iot:Subscribe', resource: filter('device/update'), expect: 'allow' },
  { name: 'C: delivery denied', policies: [policyC], ctx: plain('d'), action: 'iot:Receive', resource: topic('device/update'), expect: 'explicit-deny', by: 1 },
  { name: 'D: CN list contains Administrator', policies: [policyD], ctx: admin, action: 'iot:Publish', resource: topic('admin/reset'), expect: 'allow' },
  { name: 'D: CN list without Administrator', policies: [policyD], ctx: sensor1, action: 'iot:Publish', resource: topic('admin/reset'), expect: 'implicit-deny' },
  { name: 'D: no certificate', policies: [policyD], ctx: plain('x'), action: 'iot:Publish', resource: topic('admin/reset'), expect: 'implicit-deny' },
  { name: 'E: RetainPublish on the configuration topic', policies: [policyE], ctx: plain('device1'), action: 'iot:RetainPublish', resource: topic('device/sample/configuration'), expect: 'allow' },
  { name: 'E: RetainPublish elsewhere', policies: [policyE], ctx: plain('device1'), action: 'iot:RetainPublish', resource: topic('device/sample/other'), expect: 'implicit-deny' },
  { name: 'F: allow-all publish', policies: [policyF], ctx: plain('any'), action: 'iot:Publish', resource: topic('anything/at/all'), expect: 'allow' },
  { name: 'F: allow-all shadow', policies: [policyF], ctx: http, action: 'iot:UpdateThingShadow', resource: thing('t1'), expect: 'allow' },
  { name: 'F: allow-all list named shadows (*)', policies: [policyF], ctx: http, action: 'iot:ListNamedShadowsForThing', resource: '*', expect: 'allow' },
  { name: 'F: unknown action still denied', policies: [policyF], ctx: plain('any'), action: 'iot:CreateThing', resource: thing('t1'), expect: 'implicit-deny' },

  // Explicit deny over allow, across policies; default deny.
  { name: 'deny in another policy wins', policies: [policyF, denyOnly], ctx: plain('c'), action: 'iot:Publish', resource: topic('x'), expect: 'explicit-deny' },
  { name: 'deny-only policy denies the rest implicitly', policies: [denyOnly], ctx: plain('c'), action: 'iot:Publish', resource: topic('y'), expect: 'implicit-deny' },
  { name: 'no policies: default deny', policies: [], ctx: plain('c'), action: 'iot:Connect', resource: client('c'), expect: 'implicit-deny' },
  { name: 'other region/account never matches', policies: [otherAccount], ctx: plain('c'), action: 'iot:Publish', resource: topic('a'), expect: 'implicit-deny' },
  { name: 'single Statement object', policies: [singleStatement], ctx: plain('c'), action: 'iot:Publish', resource: topic('single'), expect: 'allow' },

  // NotAction / NotResource.
  { name: 'NotAction: Subscribe allowed', policies: [notAction], ctx: plain('c'), action: 'iot:Subscribe', resource: filter('a/b'), expect: 'allow' },
  { name: 'NotAction: Publish not covered', policies: [notAction], ctx: plain('c'), action: 'iot:Publish', resource: topic('a/b'), expect: 'implicit-deny' },
  { name: 'Deny NotAction: Publish to secret denied', policies: [notActionDeny], ctx: plain('c'), action: 'iot:Publish', resource: topic('secret/x'), expect: 'explicit-deny', by: 1 },
  { name: 'Deny NotAction: Receive of secret still allowed', policies: [notActionDeny], ctx: plain('c'), action: 'iot:Receive', resource: topic('secret/x'), expect: 'allow' },
  { name: 'Deny NotAction: Publish elsewhere allowed', policies: [notActionDeny], ctx: plain('c'), action: 'iot:Publish', resource: topic('open/x'), expect: 'allow' },
  { name: 'Deny NotResource: outside ok/ denied', policies: [notResourceDeny], ctx: plain('c'), action: 'iot:Publish', resource: topic('bad/x'), expect: 'explicit-deny', by: 1 },
  { name: 'Deny NotResource: inside ok/ allowed', policies: [notResourceDeny], ctx: plain('c'), action: 'iot:Publish', resource: topic('ok/x'), expect: 'allow', by: 0 },
  { name: 'Deny NotResource: second excluded pattern', policies: [notResourceDeny], ctx: plain('c'), action: 'iot:Publish', resource: topic('$aws/things/t/shadow/get'), expect: 'allow' },
  { name: 'pitfall: subscribe a/# passes the deny string', policies: [pitfall], ctx: plain('c'), action: 'iot:Subscribe', resource: filter('a/#'), expect: 'allow' },
  { name: 'pitfall: subscribe a/restricted/x denied', policies: [pitfall], ctx: plain('c'), action: 'iot:Subscribe', resource: filter('a/restricted/x'), expect: 'explicit-deny', by: 1 },
  { name: 'pitfall fix: receive a/x via NotResource', policies: [pitfall], ctx: plain('c'), action: 'iot:Receive', resource: topic('a/x'), expect: 'allow', by: 2 },
  { name: 'pitfall fix: receive a/restricted/x not delivered', policies: [pitfall], ctx: plain('c'), action: 'iot:Receive', resource: topic('a/restricted/x'), expect: 'implicit-deny' },

  // + and # are literal in topicfilter (and topic) resources.
  { name: 'topicfilter/some/+/topic allows the literal filter', policies: [filters], ctx: plain('c'), action: 'iot:Subscribe', resource: filter('some/+/topic'), expect: 'allow' },
  { name: 'topicfilter/some/+/topic does not allow some/a/topic', policies: [filters], ctx: plain('c'), action: 'iot:Subscribe', resource: filter('some/a/topic'), expect: 'implicit-deny' },
  { name: 'topicfilter/star/*/topic allows star/a/topic', policies: [filters], ctx: plain('c'), action: 'iot:Subscribe', resource: filter('star/a/topic'), expect: 'allow' },
  { name: 'topicfilter/star/*/topic allows star/+/topic', policies: [filters], ctx: plain('c'), action: 'iot:Subscribe', resource: filter('star/+/topic'), expect: 'allow' },
  { name: 'topicfilter/star/*/topic allows star/a/b/topic', policies: [filters], ctx: plain('c'), action: 'iot:Subscribe', resource: filter('star/a/b/topic'), expect: 'allow' },
  { name: 'topicfilter/sensors/# allows the literal sensors/#', policies: [filters], ctx: plain('c'), action: 'iot:Subscribe', resource: filter('sensors/#'), expect: 'allow' },
  { name: 'topicfilter/sensors/# does not allow sensors/a', policies: [filters], ctx: plain('c'), action: 'iot:Subscribe', resource: filter('sensors/a'), expect: 'implicit-deny' },
  { name: 'sensor??? rejects a longer level', policies: [filters], ctx: plain('c'), action: 'iot:Subscribe', resource: filter('some/sensor1234/topic'), expect: 'implicit-deny' },
  { name: '? is any character, / included', policies: [filters], ctx: plain('c'), action: 'iot:Subscribe', resource: filter('some/sensor+/+/topic'), expect: 'allow' },
  { name: 'sensor??? matches three characters', policies: [filters], ctx: plain('c'), action: 'iot:Subscribe', resource: filter('some/sensor123/topic'), expect: 'allow' },
  { name: 'topic/pub/# does not allow publishing pub/a', policies: [filters], ctx: plain('c'), action: 'iot:Publish', resource: topic('pub/a'), expect: 'implicit-deny' },

  // Globs.
  { name: 'region/account wildcards with ${iot:ClientId}', policies: [wildcards], ctx: plain('dev-9'), action: 'iot:Connect', resource: client('dev-9'), expect: 'allow' },
  { name: '* in the middle crosses levels', policies: [wildcards], ctx: plain('c'), action: 'iot:Publish', resource: topic('x/a/b/c/end'), expect: 'allow' },
  { name: '* in the middle matches empty', policies: [wildcards], ctx: plain('c'), action: 'iot:Publish', resource: topic('x//end'), expect: 'allow' },
  { name: '* in the middle needs the suffix', policies: [wildcards], ctx: plain('c'), action: 'iot:Publish', resource: topic('x/a/ending'), expect: 'implicit-deny' },
  { name: '?? matches exactly two characters', policies: [wildcards], ctx: plain('c'), action: 'iot:Publish', resource: topic('q/ab'), expect: 'allow' },
  { name: '?? does not match one character', policies: [wildcards], ctx: plain('c'), action: 'iot:Publish', resource: topic('q/a'), expect: 'implicit-deny' },
  { name: '?? does not match three characters', policies: [wildcards], ctx: plain('c'), action: 'iot:Publish', resource: topic('q/abc'), expect: 'implicit-deny' },
  { name: 'resources are case-sensitive', policies: [wildcards], ctx: plain('c'), action: 'iot:Publish', resource: topic('case/sensitive'), expect: 'implicit-deny' },
  { name: '${*} is a literal star', policies: [wildcards], ctx: plain('c'), action: 'iot:Publish', resource: topic('lit/a*b'), expect: 'allow' },
  { name: '${*} is not a wildcard', policies: [wildcards], ctx: plain('c'), action: 'iot:Publish', resource: topic('lit/axyzb'), expect: 'implicit-deny' },
  { name: '$($) is a literal dollar', policies: [wildcards], ctx: plain('c'), action: 'iot:Publish', resource: topic('dollar/$x'), expect: 'allow' },
  { name: 'arn prefix with * matches any resource type', policies: [wildcards], ctx: plain('c'), action: 'iot:Receive', resource: topic('any/thing'), expect: 'allow' },

  // Action names and patterns.
  { name: 'iot:*Shadow covers GetThingShadow', policies: [actionPatterns], ctx: http, action: 'iot:GetThingShadow', resource: thing('t1'), expect: 'allow' },
  { name: 'iot:*Shadow covers DeleteThingShadow', policies: [actionPatterns], ctx: http, action: 'iot:DeleteThingShadow', resource: thing('t1/named'), expect: 'allow' },
  { name: 'iot:*Shadow does not cover ListNamedShadowsForThing', policies: [actionPatterns], ctx: http, action: 'iot:ListNamedShadowsForThing', resource: '*', expect: 'implicit-deny' },
  { name: 'IOT:PUBLISH compares case-insensitively', policies: [actionPatterns], ctx: plain('c'), action: 'iot:Publish', resource: topic('upper/x'), expect: 'allow' },
  { name: 'the request action compares case-insensitively', policies: [actionPatterns], ctx: plain('c'), action: 'IoT:publish', resource: topic('upper/x'), expect: 'allow' },
  { name: 'iot:?eceive covers Receive', policies: [actionPatterns], ctx: plain('c'), action: 'iot:Receive', resource: topic('r/1'), expect: 'allow' },

  // Shadows over HTTP and MQTT things.
  { name: 'shadow: own classic shadow', policies: [shadows], ctx: sensor1, action: 'iot:GetThingShadow', resource: thing('sensor-1'), expect: 'allow' },
  { name: 'shadow: own named shadow', policies: [shadows], ctx: sensor1, action: 'iot:UpdateThingShadow', resource: thing('sensor-1/config'), expect: 'allow' },
  { name: "shadow: another thing's shadow", policies: [shadows], ctx: sensor1, action: 'iot:GetThingShadow', resource: thing('sensor-2'), expect: 'implicit-deny' },
  { name: 'shadow: thing variable unresolved over HTTP', policies: [shadows], ctx: http, action: 'iot:GetThingShadow', resource: thing('sensor-1'), expect: 'implicit-deny' },
  { name: 'shadow: DeleteThingShadow not granted', policies: [shadows], ctx: sensor1, action: 'iot:DeleteThingShadow', resource: thing('sensor-1'), expect: 'implicit-deny' },
  { name: 'ListNamedShadowsForThing is checked against * only', policies: [shadows], ctx: sensor1, action: 'iot:ListNamedShadowsForThing', resource: '*', expect: 'implicit-deny' },
  { name: 'ListRetainedMessages with Resource *', policies: [shadows], ctx: sensor1, action: 'iot:ListRetainedMessages', resource: '*', expect: 'allow' },

  // Every variable.
  { name: 'var ThingTypeName', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('type/thermostat/x'), expect: 'allow', by: 0 },
  { name: 'var ThingTypeName of a thing without type', policies: variables, ctx: { ...sensor1, thing: { thingName: 'sensor-1', attributes: {} } }, action: 'iot:Publish', resource: topic('type//x'), expect: 'implicit-deny' },
  { name: 'var Attributes[room]', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('room/kitchen/t'), expect: 'allow', by: 1 },
  { name: 'var Attributes[room] other value', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('room/garage/t'), expect: 'implicit-deny' },
  { name: 'var CertificateId', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic(`cert/${'a'.repeat(64)}`), expect: 'allow', by: 2 },
  { name: 'var Subject.CommonName', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('cn/sensor-1'), expect: 'allow', by: 3 },
  { name: 'var Subject.OrganizationalUnit.1 is the second value', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('ou1/Kitchen'), expect: 'allow', by: 4 },
  { name: 'var Subject.OrganizationalUnit.1 is not the first', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('ou1/Fleet'), expect: 'implicit-deny' },
  { name: 'var Subject.Organization is backslash-escaped', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('org/Acme\\, Inc.'), expect: 'allow', by: 5 },
  { name: 'var Subject.Organization raw comma does not match', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('org/Acme, Inc.'), expect: 'implicit-deny' },
  { name: 'var Issuer.CommonName', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('issuer/Thingcore Root CA'), expect: 'allow', by: 6 },
  { name: 'var Subject.AlternativeName.DNSName', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('dns/sensor-1.local'), expect: 'allow', by: 7 },
  { name: 'var Issuer.AlternativeName.RFC822Name', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('ian/ca@example.com'), expect: 'allow', by: 8 },
  { name: 'var Certificate.SerialNumber', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('serial/92:12:85:cb'), expect: 'allow', by: 0 },
  { name: 'var DomainName', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('domain/iot.example.com'), expect: 'allow', by: 1 },
  { name: 'var aws:SourceIp', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('ip/10.1.2.3'), expect: 'allow', by: 2 },
  { name: 'var cognito sub', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('cognito/us-east-1:abcd'), expect: 'allow', by: 3 },
  { name: 'var names compare case-insensitively', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('lower/sensor-1'), expect: 'allow', by: 8 },
  { name: 'cert value over 1024 chars is not substituted', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic(`gq/${'x'.repeat(1025)}`), expect: 'implicit-deny' },
  { name: 'cert value index 4 (fifth) substitutes', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('title4/t4'), expect: 'allow', by: 5 },
  { name: 'a .List variable is no single value', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('list/Fleet'), expect: 'implicit-deny' },
  { name: 'unknown variable never resolves', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('unknown/x'), expect: 'implicit-deny' },
  { name: 'literal ${...} text is never matched', policies: variables, ctx: sensor1, action: 'iot:Publish', resource: topic('unknown/${iot:NoSuchVariable}'), expect: 'implicit-deny' },
  { name: 'cert value with a wildcard char is not substituted', policies: variables, ctx: { ...sensor1, certificate: { certificateId: 'd'.repeat(64), subject: { CommonName: ['dev+1'] } } }, action: 'iot:Publish', resource: topic('cn/dev+1'), expect: 'implicit-deny' },
  { name: 'missing cert attribute is unresolved', policies: variables, ctx: { ...sensor1, certificate: { certificateId: 'd'.repeat(64) } }, action: 'iot:Publish', resource: topic('cn/'), expect: 'implicit-deny' },

  // Unresolved variables make the whole statement inert (spec 5 [DECISION]).
  { name: 'unresolved variable in a Deny: the Deny does not apply', policies: [unresolvedDeny], ctx: plain('c'), action: 'iot:Publish', resource: topic('anything/x'), expect: 'allow', by: 0 },
  { name: 'resolved variable in a Deny applies', policies: [unresolvedDeny], ctx: sensor1, action: 'iot:Publish', resource: topic('sensor-1/x'), expect: 'explicit-deny', by: 1 },
  { name: 'unresolved variable disables the statement, other resources too', policies: [unresolvedMixed], ctx: plain('c'), action: 'iot:Publish', resource: topic('public/x'), expect: 'implicit-deny' },
  { name: 'same statement resolved: other resource matches', policies: [unresolvedMixed], ctx: sensor1, action: 'iot:Publish', resource: topic('public/x'), expect: 'allow' },
  { name: 'ClientId absent on an HTTP request', policies: [policyB], ctx: http, action: 'iot:Publish', resource: topic('client1/foo'), expect: 'implicit-deny' },

  // Conditions.
  { name: 'StringEquals one of two values', policies: conditions, ctx: plain('beta'), action: 'iot:Publish', resource: topic('eq/1'), expect: 'allow' },
  { name: 'StringEquals no value matches', policies: conditions, ctx: plain('gamma'), action: 'iot:Publish', resource: topic('eq/1'), expect: 'implicit-deny' },
  { name: 'StringNotEquals on a different value', policies: conditions, ctx: sensor1, action: 'iot:Publish', resource: topic('neq/1'), expect: 'allow' },
  { name: 'StringNotEquals on the banned value', policies: conditions, ctx: { ...sensor1, thing: { thingName: 'sensor-1', thingTypeName: 'banned', attributes: {} } }, action: 'iot:Publish', resource: topic('neq/1'), expect: 'implicit-deny' },
  { name: 'StringNotEquals with the key absent is true (IAM)', policies: conditions, ctx: plain('c'), action: 'iot:Publish', resource: topic('neq/1'), expect: 'allow' },
  { name: 'StringLike al*', policies: conditions, ctx: plain('alpha'), action: 'iot:Publish', resource: topic('like/1'), expect: 'allow' },
  { name: 'StringLike al* fails for beta', policies: conditions, ctx: plain('beta'), action: 'iot:Publish', resource: topic('like/1'), expect: 'implicit-deny' },
  { name: 'StringNotLike al* for beta', policies: conditions, ctx: plain('beta'), action: 'iot:Publish', resource: topic('notlike/1'), expect: 'allow' },
  { name: 'StringNotLike al* for alpha', policies: conditions, ctx: plain('alpha'), action: 'iot:Publish', resource: topic('notlike/1'), expect: 'implicit-deny' },
  { name: 'StringEqualsIgnoreCase', policies: conditions, ctx: plain('Alpha'), action: 'iot:Publish', resource: topic('icase/1'), expect: 'allow' },
  { name: 'IpAddress in 10.0.0.0/8', policies: conditions, ctx: plain('c', { sourceIp: '10.200.1.1' }), action: 'iot:Publish', resource: topic('ip/1'), expect: 'allow' },
  { name: 'IpAddress IPv4-mapped IPv6', policies: conditions, ctx: plain('c', { sourceIp: '::ffff:10.0.0.9' }), action: 'iot:Publish', resource: topic('ip/1'), expect: 'allow' },
  { name: 'IpAddress IPv6 range', policies: conditions, ctx: plain('c', { sourceIp: '2001:db8::42' }), action: 'iot:Publish', resource: topic('ip/1'), expect: 'allow' },
  { name: 'IpAddress outside', policies: conditions, ctx: plain('c', { sourceIp: '192.168.1.1' }), action: 'iot:Publish', resource: topic('ip/1'), expect: 'implicit-deny' },
  { name: 'NotIpAddress outside 10/8', policies: conditions, ctx: plain('c', { sourceIp: '192.168.1.1' }), action: 'iot:Publish', resource: topic('notip/1'), expect: 'allow' },
  { name: 'NotIpAddress inside 10/8', policies: conditions, ctx: plain('c', { sourceIp: '10.0.0.1' }), action: 'iot:Publish', resource: topic('notip/1'), expect: 'implicit-deny' },
  { name: 'Null true: no thing', policies: conditions, ctx: plain('c'), action: 'iot:Publish', resource: topic('null/1'), expect: 'allow' },
  { name: 'Null true: thing present', policies: conditions, ctx: sensor1, action: 'iot:Publish', resource: topic('null/1'), expect: 'implicit-deny' },
  { name: 'IfExists: attribute absent', policies: conditions, ctx: sensor1, action: 'iot:Publish', resource: topic('ifexists/1'), expect: 'allow' },
  { name: 'IfExists: attribute present, other value', policies: conditions, ctx: { ...sensor1, thing: { thingName: 'sensor-1', attributes: { zone: 'z2' } } }, action: 'iot:Publish', resource: topic('ifexists/1'), expect: 'implicit-deny' },
  { name: 'two keys are ANDed (one fails)', policies: conditions, ctx: plain('alpha'), action: 'iot:Publish', resource: topic('and/1'), expect: 'implicit-deny' },
  { name: 'two keys are ANDed (both hold)', policies: conditions, ctx: { ...sensor1, clientId: 'alpha' }, action: 'iot:Publish', resource: topic('and/1'), expect: 'allow' },
  { name: 'condition value with a variable', policies: conditions, ctx: sensor1, action: 'iot:Publish', resource: topic('var/1'), expect: 'allow' },
  { name: 'condition value with an unresolved variable', policies: conditions, ctx: plain('c'), action: 'iot:Publish', resource: topic('var/1'), expect: 'implicit-deny' },
  { name: 'AvailableKeys lists present certificate fields', policies: conditions, ctx: sensor1, action: 'iot:Publish', resource: topic('avail/1'), expect: 'allow' },
  { name: 'AvailableKeys without the field', policies: conditions, ctx: admin, action: 'iot:Publish', resource: topic('avail/1'), expect: 'implicit-deny' },

  // iot:ConnectAttributes (connect-policy.html patterns) and iot:LastWillTopic.
  { name: 'ForAllValues [PersistentConnect]: clean connect', policies: [connectAttributes('ForAllValues:StringEquals', ['PersistentConnect'])], ctx: plain('c1'), action: 'iot:Connect', resource: client('c1'), request: {}, expect: 'allow' },
  { name: 'ForAllValues [PersistentConnect]: persistent', policies: [connectAttributes('ForAllValues:StringEquals', ['PersistentConnect'])], ctx: plain('c1'), action: 'iot:Connect', resource: client('c1'), request: { connectAttributes: ['PersistentConnect'] }, expect: 'allow' },
  { name: 'ForAllValues [PersistentConnect]: with will', policies: [connectAttributes('ForAllValues:StringEquals', ['PersistentConnect'])], ctx: plain('c1'), action: 'iot:Connect', resource: client('c1'), request: { connectAttributes: ['PersistentConnect', 'LastWill'] }, expect: 'implicit-deny' },
  { name: 'ForAllValues []: only default connects', policies: [connectAttributes('ForAllValues:StringEquals', [])], ctx: plain('c1'), action: 'iot:Connect', resource: client('c1'), request: { connectAttributes: [] }, expect: 'allow' },
  { name: 'ForAllValues []: persistent refused', policies: [connectAttributes('ForAllValues:StringEquals', [])], ctx: plain('c1'), action: 'iot:Connect', resource: client('c1'), request: { connectAttributes: ['PersistentConnect'] }, expect: 'implicit-deny' },
  { name: 'ForAnyValue [PersistentConnect]: must be persistent', policies: [connectAttributes('ForAnyValue:StringEquals', ['PersistentConnect'])], ctx: plain('c1'), action: 'iot:Connect', resource: client('c1'), request: {}, expect: 'implicit-deny' },
  { name: 'ForAnyValue [PersistentConnect]: persistent ok', policies: [connectAttributes('ForAnyValue:StringEquals', ['PersistentConnect'])], ctx: plain('c1'), action: 'iot:Connect', resource: client('c1'), request: { connectAttributes: ['PersistentConnect'] }, expect: 'allow' },
  { name: 'Deny ForAnyValue [PersistentConnect]: persistent denied', policies: [connectAttributes('ForAnyValue:StringEquals', ['PersistentConnect'], 'Deny')], ctx: plain('c1'), action: 'iot:Connect', resource: client('c1'), request: { connectAttributes: ['PersistentConnect'] }, expect: 'explicit-deny' },
  { name: 'Deny ForAnyValue [PersistentConnect]: clean allowed', policies: [connectAttributes('ForAnyValue:StringEquals', ['PersistentConnect'], 'Deny')], ctx: plain('c1'), action: 'iot:Connect', resource: client('c1'), request: {}, expect: 'allow' },
  { name: 'ArnLike LastWillTopic with ${iot:ClientId}', policies: [willTopic], ctx: plain('c1'), action: 'iot:Connect', resource: client('c1'), request: { lastWillTopic: topic('will/c1') }, expect: 'allow' },
  { name: 'ArnLike LastWillTopic of another client', policies: [willTopic], ctx: plain('c1'), action: 'iot:Connect', resource: client('c1'), request: { lastWillTopic: topic('will/c2') }, expect: 'implicit-deny' },
  { name: 'ArnLike LastWillTopic without a will', policies: [willTopic], ctx: plain('c1'), action: 'iot:Connect', resource: client('c1'), request: {}, expect: 'implicit-deny' },
  { name: 'ArnEqualsIfExists without a will', policies: [ifExistsWill], ctx: plain('c1'), action: 'iot:Connect', resource: client('c1'), expect: 'allow' },
  { name: 'ArnEqualsIfExists with another will', policies: [ifExistsWill], ctx: plain('c1'), action: 'iot:Connect', resource: client('c1'), request: { lastWillTopic: topic('will/zz') }, expect: 'implicit-deny' },

  // The ${iot:ClientId} = + caveat (use-policy-variables / pub-sub-policy).
  { name: 'caveat: client id + turns my/${iot:ClientId}/topic into my/+/topic', policies: [clientIdFilter], ctx: plain('+'), action: 'iot:Subscribe', resource: filter('my/+/topic'), expect: 'allow' },
  { name: 'caveat: Connect locks the id down', policies: [clientIdFilter], ctx: plain('+'), action: 'iot:Connect', resource: client('+'), expect: 'implicit-deny' },
  { name: 'caveat: normal id subscribes its own filter', policies: [clientIdFilter], ctx: plain('sensor-7'), action: 'iot:Subscribe', resource: filter('my/sensor-7/topic'), expect: 'allow' },
  { name: 'caveat: normal id cannot use +', policies: [clientIdFilter], ctx: plain('sensor-7'), action: 'iot:Subscribe', resource: filter('my/+/topic'), expect: 'implicit-deny' },
  { name: 'a substituted * stays literal', policies: [policyB], ctx: plain('*'), action: 'iot:Publish', resource: topic('client1/foo'), expect: 'implicit-deny' },
  { name: 'a substituted * matches itself', policies: [policyB], ctx: plain('*'), action: 'iot:Publish', resource: topic('*/foo'), expect: 'allow' },

  // Thing attached vs not (non-exclusive: client id must equal the thing name).
  { name: 'own thing: attached', policies: [ownThing], ctx: sensor1, action: 'iot:Publish', resource: topic('devices/sensor-1/t'), expect: 'allow' },
  { name: 'own thing: not attached', policies: [ownThing], ctx: sensor2, action: 'iot:Publish', resource: topic('devices/sensor-2/t'), expect: 'implicit-deny' },

  // Version 2008-10-17: no variables.
  { name: '2008-10-17: ${iot:ClientId} is literal text', policies: [v2008], ctx: plain('client1'), action: 'iot:Publish', resource: topic('client1/x'), expect: 'implicit-deny' },
  { name: '2008-10-17: the literal text matches itself', policies: [v2008], ctx: plain('client1'), action: 'iot:Publish', resource: topic('${iot:ClientId}/x'), expect: 'allow' },
];

const scope = { region: 'us-east-1', accountId: '123456789012' };
/** A server in another region: none of the rows' ARNs are its own, so decide() matches whole ARNs. */
const elsewhere = { region: 'eu-north-1', accountId: '000000000000' };

function compile(policies: readonly Json[], ctx: PolicyContext, at = scope): ReturnType<typeof compilePolicies> {
  const inputs: PolicyVersionInput[] = policies.map((p, i) => ({ policyName: `p${i}`, policyVersionId: '1', document: parsePolicyDocument(JSON.stringify(p)) }));
  return compilePolicies(inputs, ctx, at);
}

function reversed(p: Json): Json {
  const st = p.Statement;
  return Array.isArray(st) ? { ...p, Statement: [...st].reverse() } : p;
}

function outcome(allowed: boolean, reason: string): Expect {
  if (allowed) return 'allow';
  return reason === 'explicit-deny' ? 'explicit-deny' : 'implicit-deny';
}

describe('policy decision table', () => {
  it('has at least 80 rows with distinct names', () => {
    assert.ok(rows.length >= 80, `${rows.length} rows`);
    assert.equal(new Set(rows.map((r) => r.name)).size, rows.length);
  });
  for (const row of rows) {
    it(row.name, () => {
      const compiled = compile(row.policies, row.ctx);
      const d = decide(compiled, row.action, row.resource, row.request);
      assert.equal(outcome(d.allowed, d.reason), row.expect, JSON.stringify(d));
      if (row.by !== undefined) assert.equal(d.decidingStatement?.statementIndex, row.by, JSON.stringify(d));
      if (row.expect === 'implicit-deny') assert.equal(d.decidingStatement, undefined);
      // The same answer from whole-ARN matching (a server elsewhere: no name fast path) ...
      const whole = decide(compile(row.policies, row.ctx, elsewhere), row.action, row.resource, row.request);
      assert.deepEqual(whole, d, 'whole-ARN matching');
      // ... and from decideName, when the resource is the server's ARN of the action's type.
      const type = isIotAction(row.action) ? actionResourceType[row.action] : undefined;
      const prefix = `${P}${type}/`;
      if (type !== undefined && type !== '*' && row.resource.startsWith(prefix)) {
        assert.deepEqual(decideName(compiled, row.action, row.resource.slice(prefix.length), row.request), d, 'decideName');
      }
      // Order never matters (spec section 7): reverse the policies and each policy's statements.
      const flipped = decide(compile([...row.policies].reverse().map(reversed), row.ctx), row.action, row.resource, row.request);
      assert.equal(outcome(flipped.allowed, flipped.reason), row.expect, 'reversed order');
    });
  }
});
