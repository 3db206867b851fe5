// Proves every decision names the statement that decided with its variables substituted, every denial can be explained statement by statement (missing context values included), and the per-connection decision cache serves repeated decisions, stays bounded, never caches per-request conditions, and is invalidated for all connections by one generation bump.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  compilePolicies,
  decide,
  DecisionCache,
  describeDecision,
  explain,
  parsePolicyDocument,
  PolicyGeneration,
  type CompiledPolicySet,
  type PolicyContext,
} from './index.js';

const P = 'arn:aws:iot:us-east-1:123456789012:';
const scope = { region: 'us-east-1', accountId: '123456789012' };
const device: PolicyContext = { clientId: 'sensor-1', thing: { thingName: 'sensor-1', attributes: {} } };
const stranger: PolicyContext = { clientId: 'sensor-2' };

const deviceDoc = parsePolicyDocument(
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'OwnTopics',
        Effect: 'Allow',
        Action: ['iot:Publish', 'iot:Receive'],
        Resource: [`${P}topic/devices/\${iot:Connection.Thing.ThingName}/*`, `${P}topic/broadcast`],
      },
      { Effect: 'Deny', Action: 'iot:Publish', Resource: `${P}topic/devices/*/admin` },
      { Effect: 'Allow', Action: 'iot:Connect', Resource: `${P}client/\${iot:ClientId}`, Condition: { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } } },
      { Effect: 'Allow', Action: 'iot:Subscribe', NotResource: `${P}topicfilter/secret/*` },
    ],
  }),
);
const extraDoc = parsePolicyDocument(
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iot:Connect', Resource: '*', Condition: { 'ForAllValues:StringEquals': { 'iot:ConnectAttributes': [] } } }] }),
);

function compile(ctx: PolicyContext, withExtra = false): CompiledPolicySet {
  const policies = [{ policyName: 'device', policyVersionId: '3', document: deviceDoc }];
  if (withExtra) policies.push({ policyName: 'clean-only', policyVersionId: '1', document: extraDoc });
  return compilePolicies(policies, ctx, scope);
}

describe('decision traces', () => {
  it('an allow names its statement and the substituted resource', () => {
    const d = decide(compile(device), 'iot:Publish', `${P}topic/devices/sensor-1/temp`);
    assert.deepEqual(d, {
      allowed: true,
      reason: 'allowed',
      decidingStatement: {
        policyName: 'device',
        policyVersionId: '3',
        statementIndex: 0,
        sid: 'OwnTopics',
        effect: 'Allow',
        resourceElement: 'Resource',
        substitutedResource: `${P}topic/devices/sensor-1/*`,
      },
    });
    const second = decide(compile(device), 'iot:Receive', `${P}topic/broadcast`);
    assert.equal(second.decidingStatement?.substitutedResource, `${P}topic/broadcast`);
  });

  it('an explicit deny names the Deny statement', () => {
    const d = decide(compile(device), 'iot:Publish', `${P}topic/devices/sensor-1/admin`);
    assert.equal(d.reason, 'explicit-deny');
    assert.equal(d.allowed, false);
    assert.equal(d.decidingStatement?.statementIndex, 1);
    assert.equal(d.decidingStatement?.effect, 'Deny');
    assert.equal(
      describeDecision(d, 'iot:Publish', `${P}topic/devices/sensor-1/admin`),
      `iot:Publish on ${P}topic/devices/sensor-1/admin denied explicitly by policy "device" version 3 Statement[1], Resource ${P}topic/devices/*/admin`,
    );
  });

  it('a NotResource statement reports the patterns it excludes', () => {
    const d = decide(compile(device), 'iot:Subscribe', `${P}topicfilter/devices/sensor-1/#`);
    assert.equal(d.decidingStatement?.resourceElement, 'NotResource');
    assert.equal(d.decidingStatement?.substitutedResource, `${P}topicfilter/secret/*`);
  });

  it('a default deny lists the context values the connection lacked', () => {
    const d = decide(compile(stranger), 'iot:Publish', `${P}topic/devices/sensor-2/temp`);
    assert.deepEqual(d, { allowed: false, reason: 'no-matching-allow', missingContextValues: ['iot:Connection.Thing.ThingName'] });
    assert.equal(
      describeDecision(d, 'iot:Publish', `${P}topic/devices/sensor-2/temp`),
      `iot:Publish on ${P}topic/devices/sensor-2/temp denied: no statement allows it (statements needing iot:Connection.Thing.ThingName did not apply: not available for this connection)`,
    );
    const plain = decide(compile(device), 'iot:Publish', `${P}topic/elsewhere`);
    assert.deepEqual(plain, { allowed: false, reason: 'no-matching-allow' });
  });

  it('explain says why each statement did or did not apply', () => {
    const e = explain(compile(stranger), 'iot:Connect', `${P}client/sensor-2`);
    assert.equal(e.decision.allowed, false);
    assert.deepEqual(
      e.statements.map((s) => [s.statement.statementIndex, s.outcome]),
      [
        [0, 'action-not-covered'],
        [1, 'action-not-covered'],
        [2, 'condition-failed'],
        [3, 'action-not-covered'],
      ],
    );
    assert.match(e.statements[2]!.detail, /Bool iot:Connection\.Thing\.IsAttached \["true"\] \(context: "false"\)/);

    const unresolved = explain(compile(stranger), 'iot:Publish', `${P}topic/devices/sensor-2/x`);
    assert.equal(unresolved.statements[0]!.outcome, 'unresolved-variables');
    assert.match(unresolved.statements[0]!.detail, /unresolved \$\{iot:Connection\.Thing\.ThingName\}/);
    assert.deepEqual(unresolved.missingContextValues, ['iot:Connection.Thing.ThingName']);

    const notMatched = explain(compile(device), 'iot:Publish', `${P}topic/devices/sensor-2/x`);
    assert.equal(notMatched.statements[0]!.outcome, 'resource-not-matched');
    assert.deepEqual(notMatched.statements[0]!.substitutedResources, [`${P}topic/devices/sensor-1/*`, `${P}topic/broadcast`]);

    const excluded = explain(compile(device), 'iot:Subscribe', `${P}topicfilter/secret/a`);
    assert.equal(excluded.statements[3]!.outcome, 'resource-not-matched');
    assert.match(excluded.statements[3]!.detail, /excluded by NotResource/);

    const matched = explain(compile(device), 'iot:Publish', `${P}topic/devices/sensor-1/admin`);
    assert.deepEqual(
      matched.statements.map((s) => s.outcome),
      ['matched', 'matched', 'action-not-covered', 'action-not-covered'],
    );
    assert.equal(matched.decision.reason, 'explicit-deny');
  });

  it('explain reports per-request conditions', () => {
    const set = compile(device, true);
    const persistent = explain(set, 'iot:Connect', `${P}client/other`, { connectAttributes: ['PersistentConnect'] });
    assert.equal(persistent.decision.allowed, false);
    assert.equal(persistent.statements[4]!.outcome, 'condition-failed');
    assert.match(persistent.statements[4]!.detail, /ForAllValues:StringEquals iot:ConnectAttributes \[\] \(request: \["PersistentConnect"\]\)/);
    assert.equal(explain(set, 'iot:Connect', `${P}client/other`, {}).decision.allowed, true);
  });

  it('an unknown action is denied', () => {
    assert.deepEqual(decide(compile(device), 'iot:CreateThing', `${P}thing/x`), { allowed: false, reason: 'no-matching-allow' });
    assert.equal(explain(compile(device), 'iot:CreateThing', `${P}thing/x`).statements.every((s) => s.outcome === 'action-not-covered'), true);
  });
});

describe('DecisionCache', () => {
  it('caches per action and resource, and one bump invalidates every connection', () => {
    const generation = new PolicyGeneration();
    let allowBroadcast = true;
    const doc = (): CompiledPolicySet =>
      compilePolicies(
        [
          {
            policyName: 'p',
            policyVersionId: allowBroadcast ? '1' : '2',
            document: parsePolicyDocument(
              JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: allowBroadcast ? 'Allow' : 'Deny', Action: 'iot:Receive', Resource: `${P}topic/broadcast` }] }),
            ),
          },
        ],
        device,
        scope,
      );
    const a = new DecisionCache({ generation, compile: doc });
    const b = new DecisionCache({ generation, compile: doc });
    const r = 'broadcast';
    assert.equal(a.decideName('iot:Receive', r).allowed, true);
    assert.equal(a.decideName('iot:Receive', r).allowed, true);
    assert.equal(b.decideName('iot:Receive', r).allowed, true);
    assert.deepEqual([a.hits, a.misses, a.compiles], [1, 1, 1]);
    assert.equal(a.decideName('iot:Publish', r).allowed, false, 'actions are cached apart');

    allowBroadcast = false;
    generation.bump();
    const d = a.decideName('iot:Receive', r);
    assert.equal(d.reason, 'explicit-deny');
    assert.equal(d.decidingStatement?.policyVersionId, '2');
    assert.equal(b.decideName('iot:Receive', r).allowed, false);
    assert.deepEqual([a.compiles, b.compiles], [2, 2]);
    assert.equal(a.size, 1);
  });

  it('stays bounded per action, dropping the oldest entry', () => {
    const generation = new PolicyGeneration();
    const set = compile(device);
    const cache = new DecisionCache({ generation, compile: () => set, maxEntries: 4 });
    for (let i = 0; i < 10; i++) cache.decideName('iot:Publish', `devices/sensor-1/${i}`);
    assert.equal(cache.size, 4);
    cache.decideName('iot:Publish', 'devices/sensor-1/9');
    assert.equal(cache.hits, 1);
    cache.decideName('iot:Publish', 'devices/sensor-1/0');
    assert.equal(cache.misses, 11);
  });

  it('never caches decisions that depend on per-request keys', () => {
    const cache = new DecisionCache({ generation: new PolicyGeneration(), compile: () => compile(device, true) });
    assert.equal(cache.decideName('iot:Connect', 'x', {}).allowed, true);
    assert.equal(cache.decideName('iot:Connect', 'x', { connectAttributes: ['LastWill'] }).allowed, false);
    assert.equal(cache.size, 0);
  });

  it('invalidate() recompiles this connection only; maxEntries 0 disables caching', () => {
    const generation = new PolicyGeneration();
    const cache = new DecisionCache({ generation, compile: () => compile(device), maxEntries: 0 });
    cache.decideName('iot:Publish', 'broadcast');
    cache.decideName('iot:Publish', 'broadcast');
    assert.deepEqual([cache.size, cache.hits, cache.compiles], [0, 0, 1]);
    cache.invalidate();
    assert.equal(cache.compiled.context, device);
    assert.equal(cache.compiles, 2);
  });
});
