// One question: how long does a policy decision take on a compiled set, with and without the per-connection cache?
// Run: node dist/bench/policy-decide.bench.js   (about 3 s; prints ns/op, NATS-style aligned names)
//
// Policies: the spec's canonical device policy (spec/policy.md 13.A: Connect, Publish, Subscribe,
// Receive on the thing's own topics and shadows), alone ("typical"), and together with nine more
// policies of five statements each with general globs and an explicit Deny ("large": 50
// statements). Requests are MQTT decisions as authorizePublish/Receive make them: the topic ARN is
// built per decision (string concatenation included in the timing).
import { performance } from 'node:perf_hooks';
import {
  compilePolicies,
  decide,
  decideName,
  DecisionCache,
  parsePolicyDocument,
  PolicyGeneration,
  type PolicyContext,
  type PolicyVersionInput,
} from '../src/policy/index.js';

const MEASURE_MS = 200;
const P = 'arn:aws:iot:us-east-1:123456789012:';
const topicPrefix = `${P}topic/`;

const deviceDoc = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: 'iot:Connect', Resource: `${P}client/\${iot:Connection.Thing.ThingName}`, Condition: { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } } },
    { Effect: 'Allow', Action: 'iot:Publish', Resource: [`${P}topic/devices/\${iot:Connection.Thing.ThingName}/*`, `${P}topic/$aws/things/\${iot:Connection.Thing.ThingName}/shadow/*`] },
    { Effect: 'Allow', Action: 'iot:Subscribe', Resource: [`${P}topicfilter/devices/\${iot:Connection.Thing.ThingName}/*`, `${P}topicfilter/$aws/things/\${iot:Connection.Thing.ThingName}/shadow/*`] },
    { Effect: 'Allow', Action: 'iot:Receive', Resource: [`${P}topic/devices/\${iot:Connection.Thing.ThingName}/*`, `${P}topic/$aws/things/\${iot:Connection.Thing.ThingName}/shadow/*`] },
  ],
};

function fillerDoc(n: number): object {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['iot:Publish', 'iot:Receive'], Resource: [`${P}topic/fleet/r${n}/*/telemetry/*`, `${P}topic/fleet/r${n}/??/status`] },
      { Effect: 'Allow', Action: 'iot:Subscribe', Resource: `${P}topicfilter/fleet/r${n}/*` },
      { Effect: 'Deny', Action: 'iot:Publish', Resource: `${P}topic/fleet/r${n}/*/admin/*` },
      { Effect: 'Allow', Action: 'iot:*', Resource: `${P}topic/apps/app${n}/*`, Condition: { StringLike: { 'iot:ClientId': `app${n}-*` } } },
      { Effect: 'Allow', Action: 'iot:Publish', Resource: [`${P}topic/logs/\${iot:ClientId}`, `${P}topic/logs/\${iot:ClientId}/*`] },
    ],
  };
}

const ctx: PolicyContext = {
  clientId: 'sensor-1',
  sourceIp: '10.0.0.1',
  thing: { thingName: 'sensor-1', attributes: { room: 'kitchen' } },
  certificate: { certificateId: 'a'.repeat(64), subject: { CommonName: ['sensor-1'] } },
};

const scope = { region: 'us-east-1', accountId: '123456789012' };
const version = (name: string, doc: object): PolicyVersionInput => ({ policyName: name, policyVersionId: '1', document: parsePolicyDocument(JSON.stringify(doc)) });
const typicalPolicies = [version('device', deviceDoc)];
const largePolicies = [...typicalPolicies, ...Array.from({ length: 9 }, (_, n) => version(`fleet${n}`, fillerDoc(n)))];

let sink = 0;

function measure(op: (i: number) => void): { ops: number; nsPerOp: number } {
  for (let i = 0; i < 50_000; i++) op(i); // warm-up (JIT)
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MEASURE_MS) {
    for (let k = 0; k < 10_000; k++) op(ops + k);
    ops += 10_000;
    elapsed = performance.now() - start;
  }
  return { ops, nsPerOp: (elapsed * 1e6) / ops };
}

function report(name: string, result: { ops: number; nsPerOp: number }): void {
  console.log(`${name.padEnd(52)} ${String(result.ops).padStart(10)} ops ${result.nsPerOp.toFixed(1).padStart(10)} ns/op`);
}

const ownTopics = Array.from({ length: 16 }, (_, i) => `devices/sensor-1/metric${i}`);
const shadowTopics = ['$aws/things/sensor-1/shadow/update', '$aws/things/sensor-1/shadow/name/cfg/update/accepted'];
const foreignTopics = Array.from({ length: 16 }, (_, i) => `devices/sensor-${i + 2}/metric`);
const mixed = [...ownTopics, ...shadowTopics, ...foreignTopics];

function run(label: string, policies: readonly PolicyVersionInput[]): void {
  const compiled = compilePolicies(policies, ctx, scope);
  console.log(`-- ${label}: ${policies.length} policies, ${compiled.statements.length} statements`);
  report(`Benchmark_compile_${label}`, measure(() => {
    sink += compilePolicies(policies, ctx, scope).statements.length;
  }));
  report(`Benchmark_noop_baseline`, measure((i) => {
    sink += i;
  }));
  // decideName: what the MQTT hooks call (topic in, no ARN built).
  report(`Benchmark_decideName_${label}_publish_allowed`, measure((i) => {
    if (decideName(compiled, 'iot:Publish', ownTopics[i & 15]!).allowed) sink++;
  }));
  report(`Benchmark_decideName_${label}_publish_denied`, measure((i) => {
    if (decideName(compiled, 'iot:Publish', foreignTopics[i & 15]!).allowed) sink++;
  }));
  report(`Benchmark_decideName_${label}_receive_mixed`, measure((i) => {
    if (decideName(compiled, 'iot:Receive', mixed[i % mixed.length]!).allowed) sink++;
  }));
  const wire = mixed.map((t) => Buffer.from(t));
  report(`Benchmark_decideName_${label}_receive_fresh_string`, measure((i) => {
    if (decideName(compiled, 'iot:Receive', wire[i % wire.length]!.toString('utf8')).allowed) sink++;
  }));
  report(`Benchmark_decode_topic_only`, measure((i) => {
    sink += wire[i % wire.length]!.toString('utf8').length;
  }));
  // decide: the whole-ARN API, with the ARN built per call.
  report(`Benchmark_decide_${label}_publish_allowed_arn`, measure((i) => {
    if (decide(compiled, 'iot:Publish', topicPrefix + ownTopics[i & 15]!).allowed) sink++;
  }));
  report(`Benchmark_decide_${label}_publish_denied_arn`, measure((i) => {
    if (decide(compiled, 'iot:Publish', topicPrefix + foreignTopics[i & 15]!).allowed) sink++;
  }));
  // The per-connection cache.
  const cache = new DecisionCache({ generation: new PolicyGeneration(), compile: () => compiled });
  report(`Benchmark_cache_${label}_receive_mixed_hit`, measure((i) => {
    if (cache.decideName('iot:Receive', mixed[i % mixed.length]!).allowed) sink++;
  }));
  report(`Benchmark_cache_${label}_receive_hit_fresh_string`, measure((i) => {
    if (cache.decideName('iot:Receive', wire[i % wire.length]!.toString('utf8')).allowed) sink++;
  }));
  const churn = new DecisionCache({ generation: new PolicyGeneration(), compile: () => compiled, maxEntries: 256 });
  report(`Benchmark_cache_${label}_publish_miss_evict`, measure((i) => {
    if (churn.decideName('iot:Publish', `devices/sensor-1/req/${i}`).allowed) sink++;
  }));
}

console.log(`policy-decide.bench: node ${process.version}, ${process.platform}/${process.arch}`);
run('typical', typicalPolicies);
run('large', largePolicies);
if (sink === -1) console.log('unreachable'); // keeps the results observable
