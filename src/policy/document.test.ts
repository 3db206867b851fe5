// Proves parsePolicyDocument accepts what AWS IoT accepts and refuses malformed documents with MalformedPolicyException (400) whose message says what is wrong and where, over a table of malformed documents (bad JSON, Version, Statement, Effect, Action, Resource ARNs, wildcards in odd places, variables, Conditions, size) and a table of accepted ones with their warnings.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { isServiceError } from '../shared/index.js';
import { maxPolicyDocumentChars, parsePolicyDocument, validatePolicyDocument } from './index.js';

const R = 'arn:aws:iot:us-east-1:123456789012:topic/a';
type Json = Record<string, unknown>;
const st = (extra: Json = {}, omit: string[] = []): Json => {
  const base: Json = { Effect: 'Allow', Action: 'iot:Publish', Resource: R, ...extra };
  for (const k of omit) delete base[k];
  return base;
};
const doc = (...statements: Json[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const cond = (condition: unknown): string => doc(st({ Condition: condition }));
const res = (resource: unknown): string => doc(st({ Resource: resource }));
const act = (action: unknown): string => doc(st({ Action: action }));

/** A document whose size without whitespace is exactly `chars`, padded with whitespace too. */
function sized(chars: number): string {
  const base = doc(st({ Resource: `${R}/` }));
  const pad = 'x'.repeat(chars - base.length);
  return doc(st({ Resource: `${R}/${pad}` })).replace(/,/g, ',\n    ');
}

const malformed: readonly { readonly name: string; readonly text: string; readonly fragments: readonly string[] }[] = [
  { name: 'empty document', text: '', fragments: ['the document is empty'] },
  { name: 'whitespace only', text: '  \n\t ', fragments: ['the document is empty'] },
  { name: 'bad JSON', text: '{"Version": "2012-10-17", "Statement": [', fragments: ['not valid JSON'] },
  { name: 'trailing comma', text: '{"Version": "2012-10-17",}', fragments: ['not valid JSON'] },
  { name: 'array at the top', text: '[]', fragments: ['must be a JSON object, got an array'] },
  { name: 'string at the top', text: '"policy"', fragments: ['must be a JSON object, got a string'] },
  { name: 'too large', text: sized(maxPolicyDocumentChars + 1), fragments: ['2049 characters without whitespace', 'limit is 2048'] },
  { name: 'missing Version', text: JSON.stringify({ Statement: [st()] }), fragments: ['missing Version'] },
  { name: 'unknown Version', text: JSON.stringify({ Version: '2012-10-18', Statement: [st()] }), fragments: ['Version: must be "2012-10-17" or "2008-10-17", got "2012-10-18"'] },
  { name: 'numeric Version', text: JSON.stringify({ Version: 2012, Statement: [st()] }), fragments: ['Version: must be', 'got 2012'] },
  { name: 'lowercase member name', text: JSON.stringify({ version: '2012-10-17', Version: '2012-10-17', Statement: [st()] }), fragments: ['unknown member "version" (did you mean "Version"?)'] },
  { name: 'unknown top-level member', text: JSON.stringify({ Version: '2012-10-17', Statement: [st()], Policy: 1 }), fragments: ['unknown member "Policy"'] },
  { name: 'Id not a string', text: JSON.stringify({ Version: '2012-10-17', Id: 7, Statement: [st()] }), fragments: ['Id: must be a string'] },
  { name: 'missing Statement', text: JSON.stringify({ Version: '2012-10-17' }), fragments: ['missing Statement'] },
  { name: 'empty Statement array', text: JSON.stringify({ Version: '2012-10-17', Statement: [] }), fragments: ['Statement: must contain at least one statement'] },
  { name: 'Statement a string', text: JSON.stringify({ Version: '2012-10-17', Statement: 'allow all' }), fragments: ['Statement: must be an object or an array of objects, got a string'] },
  { name: 'statement not an object', text: JSON.stringify({ Version: '2012-10-17', Statement: [st(), 42] }), fragments: ['Statement[1]: a statement must be an object, got a number'] },
  { name: 'missing Effect', text: doc(st({}, ['Effect'])), fragments: ['Statement[0]: missing Effect'] },
  { name: 'Effect in lowercase', text: doc(st(), st({ Effect: 'allow' })), fragments: ['Statement[1].Effect: must be "Allow" or "Deny", got "allow"'] },
  { name: 'Effect a boolean', text: doc(st({ Effect: true })), fragments: ['Statement[0].Effect', 'got true'] },
  { name: 'lowercase statement member', text: doc(st({ effect: 'Allow' })), fragments: ['Statement[0]: unknown member "effect" (did you mean "Effect"?)'] },
  { name: 'unknown statement member', text: doc(st({ Resources: [R] })), fragments: ['Statement[0]: unknown member "Resources"'] },
  { name: 'Principal', text: doc(st({ Principal: '*' })), fragments: ['Statement[0].Principal', 'has no Principal'] },
  { name: 'Sid not a string', text: doc(st({ Sid: 5 })), fragments: ['Statement[0].Sid: must be a string'] },
  { name: 'both Action and NotAction', text: doc(st({ NotAction: 'iot:Receive' })), fragments: ['Statement[0]: has both Action and NotAction'] },
  { name: 'missing Action', text: doc(st({}, ['Action'])), fragments: ['Statement[0]: missing Action (or NotAction)'] },
  { name: 'empty Action array', text: act([]), fragments: ['Statement[0].Action: must not be an empty array'] },
  { name: 'Action a number', text: act(42), fragments: ['Statement[0].Action: must be a string or an array of strings, got a number'] },
  { name: 'Action element not a string', text: act(['iot:Publish', 7]), fragments: ['Statement[0].Action[1]: must be a string, got a number'] },
  { name: 'misspelt action', text: act(['iot:Connect', 'iot:Publsh']), fragments: ['Statement[0].Action[1]: unknown action "iot:Publsh"'] },
  { name: 'control-plane action', text: act('iot:CreateThing'), fragments: ['unknown action "iot:CreateThing"'] },
  { name: 'action without service prefix', text: act('Publish'), fragments: ['"Publish" is not an action'] },
  { name: 'action of another service', text: act('s3:GetObject'), fragments: ['IoT policies grant only iot: actions'] },
  { name: 'wildcard in the service prefix', text: act('io*:Publish'), fragments: ['the service prefix may not contain wildcards'] },
  { name: 'empty action name', text: act('iot:'), fragments: ['missing action name after "iot:"'] },
  { name: 'action pattern matching nothing', text: act('iot:Pub*ish*x'), fragments: ['matches no IoT policy action'] },
  { name: 'variable in an action', text: act('iot:${iot:ClientId}'), fragments: ['an action name has only letters'] },
  { name: 'both Resource and NotResource', text: doc(st({ NotResource: R })), fragments: ['Statement[0]: has both Resource and NotResource'] },
  { name: 'missing Resource', text: doc(st({}, ['Resource'])), fragments: ['Statement[0]: missing Resource (or NotResource)'] },
  { name: 'empty Resource array', text: res([]), fragments: ['Statement[0].Resource: must not be an empty array'] },
  { name: 'empty resource string', text: res(['']), fragments: ['Statement[0].Resource[0]: must not be empty'] },
  { name: 'resource not an ARN', text: res('topic/a'), fragments: ['Statement[0].Resource: "topic/a" is not an ARN'] },
  { name: 'double star is not "*"', text: res('**'), fragments: ['"**" is not an ARN'] },
  { name: 'ARN with five parts', text: res('arn:aws:iot:us-east-1:topic/a'), fragments: ['is not an ARN (it has 5 of the 6'] },
  { name: 'wildcard partition', text: res('arn:*:iot:us-east-1:123456789012:topic/a'), fragments: ['partition "*" is not valid'] },
  { name: 'unknown partition', text: res('arn:amazon:iot:us-east-1:123456789012:topic/a'), fragments: ['partition "amazon" is not valid'] },
  { name: 'another service', text: res(['arn:aws:s3:::bucket/key']), fragments: ['Statement[0].Resource[0]', 'iot ARNs (service "s3")'] },
  { name: 'service wildcard that cannot be iot', text: res('arn:aws:s*:us-east-1:123456789012:topic/a'), fragments: ['service "s*"'] },
  { name: 'unknown resource type', text: res('arn:aws:iot:us-east-1:123456789012:topics/a'), fragments: ['unknown resource type "topics"'] },
  { name: 'control-plane resource type', text: res('arn:aws:iot:us-east-1:123456789012:cert/abc'), fragments: ['unknown resource type "cert"'] },
  { name: 'type without a name', text: res('arn:aws:iot:us-east-1:123456789012:topic'), fragments: ['missing "/<name>" after the resource type "topic"'] },
  { name: 'empty name', text: res('arn:aws:iot:us-east-1:123456789012:topicfilter/'), fragments: ['empty topicfilter name'] },
  { name: 'unterminated variable', text: res(`${R}/\${iot:ClientId`), fragments: ['unterminated policy variable'] },
  { name: 'empty variable', text: res(`${R}/\${}`), fragments: ['empty policy variable'] },
  { name: 'Condition not an object', text: cond('Bool'), fragments: ['Statement[0].Condition: must be an object'] },
  { name: 'empty Condition', text: cond({}), fragments: ['Statement[0].Condition: must not be empty'] },
  { name: 'unknown operator', text: cond({ StringEqualz: { 'iot:ClientId': 'a' } }), fragments: ['Statement[0].Condition.StringEqualz', 'unsupported condition operator "StringEqualz"'] },
  { name: 'unknown set qualifier', text: cond({ 'ForSomeValues:StringEquals': { 'iot:ClientId': 'a' } }), fragments: ['unknown set qualifier "ForSomeValues"'] },
  { name: 'Null with IfExists', text: cond({ NullIfExists: { 'iot:ClientId': 'true' } }), fragments: ['Null takes neither IfExists'] },
  { name: 'operator block not an object', text: cond({ StringEquals: 'a' }), fragments: ['Condition.StringEquals: must be a non-empty object'] },
  { name: 'unknown condition key', text: cond({ StringEquals: { 'iot:Connection.Thing.Attribute[x]': 'a' } }), fragments: ['Condition.StringEquals["iot:Connection.Thing.Attribute[x]"]', 'unknown condition key'] },
  { name: 'condition value an object', text: cond({ StringEquals: { 'iot:ClientId': { a: 1 } } }), fragments: ['a condition value must be a string, number or boolean, got an object'] },
  { name: 'Bool value not a boolean', text: cond({ Bool: { 'iot:Connection.Thing.IsAttached': 'yes' } }), fragments: ['Bool takes "true" or "false", got "yes"'] },
  { name: 'bad CIDR', text: cond({ IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '10.0.0.0/33'] } }), fragments: ['["aws:SourceIp"][1]', '"10.0.0.0/33" is not an IP address or CIDR range'] },
  { name: 'empty values without qualifier', text: cond({ StringEquals: { 'iot:ClientId': [] } }), fragments: ['an empty list of values only makes sense with ForAllValues:/ForAnyValue:'] },
  { name: 'unterminated variable in a condition value', text: cond({ StringEquals: { 'iot:ClientId': '${iot:Connection.Thing.ThingName' } }), fragments: ['unterminated policy variable'] },
  {
    name: 'every problem is reported',
    text: doc(st({ Effect: 'Permit' }), st({ Action: 'iot:Nope' }), st({ Resource: 'nope' })),
    fragments: ['Statement[0].Effect', 'Statement[1].Action: unknown action "iot:Nope"', 'Statement[2].Resource: "nope" is not an ARN'],
  },
];

describe('malformed policy documents', () => {
  it('has at least 30 rows with distinct names', () => {
    assert.ok(malformed.length >= 30, `${malformed.length} rows`);
    assert.equal(new Set(malformed.map((r) => r.name)).size, malformed.length);
  });
  for (const row of malformed) {
    it(row.name, () => {
      assert.throws(
        () => parsePolicyDocument(row.text),
        (err: unknown) => {
          assert.ok(isServiceError(err, 'MalformedPolicyException'), String(err));
          assert.equal(err.httpStatus, 400);
          assert.match(err.message, /^The policy document is not valid: /);
          for (const f of row.fragments) assert.ok(err.message.includes(f), `expected ${JSON.stringify(f)} in: ${err.message}`);
          return true;
        },
      );
    });
  }
});

const accepted: readonly { readonly name: string; readonly text: string; readonly warnings?: readonly string[] }[] = [
  { name: 'exactly 2048 characters without whitespace', text: sized(maxPolicyDocumentChars) },
  { name: 'Statement as a single object', text: JSON.stringify({ Version: '2012-10-17', Statement: st() }) },
  { name: 'Version 2008-10-17', text: JSON.stringify({ Version: '2008-10-17', Statement: [st()] }) },
  { name: 'Id and Sid', text: JSON.stringify({ Version: '2012-10-17', Id: 'p', Statement: [st({ Sid: 'AllowPublish' })] }) },
  { name: 'Action *', text: act('*') },
  { name: 'Action iot:*', text: act('iot:*') },
  { name: 'action name in any case', text: act('IOT:publish') },
  { name: 'wildcards in action names', text: act(['iot:*Shadow', 'iot:?eceive', 'iot:Get*']) },
  { name: 'NotAction and NotResource', text: doc({ Effect: 'Deny', NotAction: 'iot:Connect', NotResource: R }) },
  { name: 'Resource *', text: res('*') },
  { name: 'wildcard region and account', text: doc(st({ Action: 'iot:Connect', Resource: 'arn:aws:iot:*:*:client/${iot:ClientId}' })) },
  { name: 'wildcard resource type', text: res('arn:aws:iot:us-east-1:123456789012:*') },
  { name: 'wildcard service matching iot', text: res('arn:aws:io?:us-east-1:123456789012:topic/a') },
  { name: 'wildcards and MQTT characters in names', text: res(['arn:aws:iot:us-east-1:123456789012:topicfilter/a/+/#', 'arn:aws:iot:us-east-1:123456789012:topic/a/*/b?']) },
  { name: 'literal escapes', text: res([`${R}/\${*}\${?}\${$}`, `${R}/$(*)$(?)$($)`]) },
  { name: 'thing resource with a named shadow', text: doc(st({ Action: 'iot:GetThingShadow', Resource: 'arn:aws:iot:us-east-1:123456789012:thing/t1/named' })) },
  { name: 'every documented variable', text: res([
    `${R}/\${iot:ClientId}/\${iot:Connection.Thing.ThingName}/\${iot:Connection.Thing.ThingTypeName}`,
    `${R}/\${iot:Connection.Thing.Attributes[room]}/\${iot:Connection.Thing.IsAttached}/\${iot:CertificateId}`,
    `${R}/\${iot:Certificate.Subject.CommonName}/\${iot:Certificate.Issuer.Organization.2}/\${iot:Certificate.SerialNumber}`,
    `${R}/\${iot:Certificate.Subject.AlternativeName.DNSName}/\${iot:Certificate.Issuer.AlternativeName.IPAddress}`,
    `${R}/\${aws:SourceIp}/\${iot:DomainName}/\${cognito-identity.amazonaws.com:sub}`,
  ]) },
  { name: 'condition values as number and boolean', text: cond({ Bool: { 'iot:Connection.Thing.IsAttached': true }, StringEquals: { 'iot:Connection.Thing.Attributes[n]': 3 } }) },
  { name: 'condition keys in any case', text: cond({ stringequals: { 'IOT:CLIENTID': 'a' } }) },
  { name: 'empty value list with a qualifier', text: cond({ 'ForAllValues:StringEquals': { 'iot:ConnectAttributes': [] } }) },
  { name: 'IPv6 and IPv4 ranges', text: cond({ NotIpAddress: { 'aws:SourceIp': ['2001:db8::/32', '192.0.2.7'] } }) },
  { name: 'ArnLike on LastWillTopic', text: cond({ ArnLike: { 'iot:LastWillTopic': `${R}/will/\${iot:ClientId}` } }) },
  {
    name: 'unknown variable: accepted with a warning',
    text: res(`${R}/\${iot:Thing.Name}`),
    warnings: ['Statement[0].Resource: unknown policy variable "${iot:Thing.Name}"'],
  },
  {
    name: 'Subscribe on a topic/ ARN: warning',
    text: doc(st({ Action: 'iot:Subscribe', Resource: 'arn:aws:iot:us-east-1:123456789012:topic/a/#' })),
    warnings: ['Statement[0]: iot:Subscribe is checked against topicfilter/ ARNs'],
  },
  {
    name: 'ListNamedShadowsForThing on a thing: warning',
    text: doc(st({ Action: 'iot:ListNamedShadowsForThing', Resource: 'arn:aws:iot:us-east-1:123456789012:thing/t' })),
    warnings: ['iot:ListNamedShadowsForThing is checked against the resource "*" only'],
  },
  {
    name: 'variables under 2008-10-17: warning',
    text: JSON.stringify({ Version: '2008-10-17', Statement: [st({ Resource: `${R}/\${iot:ClientId}` })] }),
    warnings: ['Version 2008-10-17 has no policy variables'],
  },
];

describe('accepted policy documents', () => {
  for (const row of accepted) {
    it(row.name, () => {
      const d = parsePolicyDocument(row.text);
      const expected = row.warnings ?? [];
      assert.equal(d.warnings.length, expected.length, JSON.stringify(d.warnings));
      expected.forEach((w, i) => assert.ok(d.warnings[i]!.includes(w), `expected ${JSON.stringify(w)} in ${d.warnings[i]}`));
    });
  }

  it('normalizes statements: scalars become lists, NotAction is inverted, conditions are parsed', () => {
    const d = parsePolicyDocument(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: {
          Sid: 's',
          Effect: 'Deny',
          NotAction: ['iot:Connect', 'iot:*Shadow*'],
          Resource: R,
          Condition: { 'ForAnyValue:StringLikeIfExists': { 'iot:Certificate.Subject.organization.list': ['A*', 'B'] } },
        },
      }),
    );
    const s = d.statements[0]!;
    assert.equal(s.path, 'Statement');
    assert.equal(s.sid, 's');
    assert.equal(s.effect, 'Deny');
    assert.deepEqual(s.actionPatterns, ['iot:Connect', 'iot:*Shadow*']);
    assert.ok(s.actions.includes('iot:Publish') && s.actions.includes('iot:Receive'));
    assert.ok(!s.actions.includes('iot:Connect') && !s.actions.includes('iot:GetThingShadow') && !s.actions.includes('iot:ListNamedShadowsForThing'));
    assert.deepEqual(s.resources.map((r) => r.source), [R]);
    const c = s.conditions[0]!;
    assert.deepEqual([c.qualifier, c.operator, c.ifExists, c.key.name, c.key.multi], ['ForAnyValue', 'StringLike', true, 'iot:Certificate.Subject.Organization.List', true]);
    assert.equal(c.values.length, 2);
  });

  it('validatePolicyDocument reports without throwing', () => {
    const bad = validatePolicyDocument(act('iot:Nope'));
    assert.equal(bad.ok, false);
    assert.ok(!bad.ok && bad.errors[0]!.startsWith('Statement[0].Action: unknown action'));
    assert.equal(validatePolicyDocument(act('iot:Publish')).ok, true);
  });
});
