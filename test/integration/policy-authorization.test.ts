// Proves core's policy authorization against a real policy service (SQLite in memory) with a fake registry, identity and broker: every denial is logged with principal, action, resource ARN and the deciding statement or "no statement allowed it", at most 10 a second per connection with the rest counted; the admin key and --dev anonymous clients are allowed everything; decisions come from the per-connection cache and change exactly when the policy service reports a change; and connections no longer allowed to connect are closed.
import { describe, it, beforeEach, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { openSqliteStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/index.js';
import { createPolicyService } from '../../src/policy/index.js';
import type { PolicyService } from '../../src/policy/index.js';
import { createAuthorization, ConnectionAuthorization } from '../../src/core/authorization.js';
import type { Authorization } from '../../src/core/authorization.js';
import type { AuthenticateResult, ClientInfo, ConnectInfo, Logger } from '../../src/mqtt/index.js';
import type { RegistryEvent } from '../../src/registry/index.js';

const scope = { region: 'us-east-1', accountId: '000000000000' };
const P = 'arn:aws:iot:us-east-1:000000000000';
const certificateId = 'a'.repeat(64);
const certificateArn = `${P}:cert/${certificateId}`;

interface LogLine {
  readonly level: string;
  readonly obj: Record<string, unknown>;
  readonly msg: string | undefined;
}

function recordingLogger(lines: LogLine[]): Logger {
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const doc = (statements: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements });

describe('core authorization over the policy service', () => {
  let store: Store;
  let policies: PolicyService;
  let auth: Authorization;
  let lines: LogLine[];
  let now: number;
  let registryListeners: Array<(e: RegistryEvent) => void>;
  let thingAttributes: Record<string, string>;
  let closedWith: Array<{ clientIds: string[]; reasonCode: number }>;
  let clients: ClientInfo[];
  let stop: () => void;

  beforeEach(() => {
    store = openSqliteStore({ path: ':memory:' });
    policies = createPolicyService({ store, scope });
    lines = [];
    now = 1_000_000;
    registryListeners = [];
    thingAttributes = { role: 'viewer' };
    closedWith = [];
    clients = [];
    auth = createAuthorization({
      policies,
      registry: {
        thingForConnection: async (_principal, clientId) => (clientId === 'sensor-1' ? { thingName: 'sensor-1', attributes: { ...thingAttributes }, exclusive: false } : undefined),
        onChange: (listener) => {
          registryListeners.push(listener);
          return () => undefined;
        },
      },
      identity: { onStatusChange: () => () => undefined, describeCertificate: () => Promise.reject(new Error('not used')) },
      scope,
      dev: false,
      isAdminAccessKey: (id) => id === 'AKIAADMINADMINADMIN1',
      logger: recordingLogger(lines),
      clock: () => now,
    });
    stop = auth.start({
      disconnectClients: (select, reasonCode) => {
        const chosen = clients.filter(select);
        closedWith.push({ clientIds: chosen.map((c) => c.clientId), reasonCode });
        return chosen.length;
      },
    });
  });

  afterEach(async () => {
    stop();
    await store.close();
  });

  const inner = (result: AuthenticateResult) => () => result;
  const certificateResult: AuthenticateResult = {
    ok: true,
    principal: { kind: 'certificate', id: certificateId },
    attachment: {
      certificateId,
      certificateArn,
      facts: { subject: { CommonName: ['sensor-1'] }, issuer: {}, subjectAlternativeName: {}, issuerAlternativeName: {}, serialNumber: '01', notBeforeMs: 0, notAfterMs: 1 },
    },
  };

  function connectInfo(clientId: string, transport: 'tls' | 'tcp' | 'wss' = 'tls'): ConnectInfo {
    return { clientId, clientIdAssigned: false, protocolVersion: 5, cleanStart: true, keepAliveSec: 60, peer: { transport, remoteAddress: '10.0.0.7' } };
  }

  /** Runs the wrapped authenticate and, when accepted, "connects" the client (the broker's connected event). */
  async function connect(clientId: string, result: AuthenticateResult = certificateResult, transport: 'tls' | 'tcp' | 'wss' = 'tls'): Promise<ClientInfo | AuthenticateResult> {
    const r = await auth.authenticate(inner(result))(connectInfo(clientId, transport));
    if (!r.ok) return r;
    const client: ClientInfo = { clientId, connectionId: clients.length + 1, protocolVersion: 5, principal: r.principal, peer: { transport }, attachment: r.attachment, sessionIdentifier: 's' };
    clients.push(client);
    auth.onEvent({ type: 'connected', client, sessionPresent: false });
    return client;
  }

  async function connected(clientId: string, result?: AuthenticateResult, transport?: 'tls' | 'tcp' | 'wss'): Promise<ClientInfo> {
    const c = await connect(clientId, result, transport);
    assert.ok(!('ok' in c), `expected ${clientId} to connect, got ${JSON.stringify(c)}`);
    return c;
  }

  async function devicePolicy(): Promise<void> {
    await policies.createPolicy({
      policyName: 'device',
      policyDocument: doc([
        { Effect: 'Allow', Action: 'iot:Connect', Resource: `${P}:client/\${iot:Connection.Thing.ThingName}` },
        { Effect: 'Allow', Action: ['iot:Publish', 'iot:Receive', 'iot:Subscribe'], Resource: [`${P}:topic/devices/\${iot:ClientId}/*`, `${P}:topicfilter/devices/\${iot:ClientId}/*`] },
        { Sid: 'NoAdmin', Effect: 'Deny', Action: 'iot:Publish', Resource: `${P}:topic/devices/*/admin` },
        { Effect: 'Allow', Action: 'iot:Publish', Resource: `${P}:topic/role/*`, Condition: { StringEquals: { 'iot:Connection.Thing.Attributes[role]': 'admin' } } },
      ]),
    });
    await policies.attachPolicy({ policyName: 'device', target: certificateArn });
  }

  it('logs each denial with principal, action, resource and the deciding statement, at most 10 a second, counting the rest', async () => {
    await devicePolicy();
    const client = await connected('sensor-1');
    assert.equal(auth.hooks.authorizePublish(client, 'devices/sensor-1/temp', 1), true);
    assert.equal(auth.hooks.authorizePublish(client, 'devices/sensor-1/admin', 1), false);
    const explicit = lines.find((l) => l.obj['action'] === 'iot:Publish');
    assert.deepEqual(
      { ...explicit?.obj },
      { clientId: 'sensor-1', principal: certificateArn, action: 'iot:Publish', resource: `${P}:topic/devices/sensor-1/admin`, statement: 'policy "device" version 1 Statement[2] (Sid NoAdmin)' },
    );
    assert.match(explicit?.msg ?? '', /^denied: iot:Publish on .*devices\/sensor-1\/admin denied explicitly by policy "device" version 1 Statement\[2\] \(Sid NoAdmin\), Resource .*topic\/devices\/\*\/admin$/);

    lines.length = 0;
    for (let i = 0; i < 25; i++) assert.equal(auth.hooks.authorizeReceive(client, `elsewhere/${i}`), false);
    const denials = lines.filter((l) => l.obj['action'] === 'iot:Receive');
    assert.equal(denials.length, 9, 'the window opened by the first denial above allows 10 in all');
    assert.equal(denials[0]?.obj['statement'], 'no statement allowed it');
    assert.match(denials[0]?.msg ?? '', /denied: no statement allows it/);
    now += 1000;
    assert.equal(auth.hooks.authorizeSubscribe(client, 'other/#', 1), false);
    const summary = lines.find((l) => l.obj['suppressed'] !== undefined);
    assert.equal(summary?.obj['suppressed'], 16);
    assert.equal(lines.filter((l) => l.obj['action'] === 'iot:Subscribe').length, 1, 'a new second logs again');
  });

  it('refuses iot:Connect with 0x87 and a reason naming the decision; the admin key and --dev anonymous clients are allowed everything', async () => {
    await devicePolicy();
    const refused = await connect('sensor-2');
    assert.ok('ok' in refused && !refused.ok);
    assert.equal(refused.reasonCode, 0x87);
    assert.match(refused.reason ?? '', /iot:Connect on .*client\/sensor-2 denied: no statement allows it/);

    const admin = await connected('ws-admin', { ok: true, principal: { kind: 'accessKey', id: 'AKIAADMINADMINADMIN1' } }, 'wss');
    assert.equal(auth.hooks.authorizeSubscribe(admin, '#', 1), true);
    assert.ok(admin.attachment instanceof ConnectionAuthorization && admin.attachment.allowedEverything !== undefined);
    const other = await connect('ws-other', { ok: true, principal: { kind: 'accessKey', id: 'AKIAOTHEROTHEROTHER1' } }, 'wss');
    assert.ok('ok' in other && !other.ok, 'another access key has no policy: refused');

    const anonymous = await connect('anon', { ok: true, principal: { kind: 'anonymous', id: 'anonymous' } }, 'tcp');
    assert.ok('ok' in anonymous && !anonymous.ok, 'without --dev and --anonymous-policy, anonymous is refused');
    const fake = { ...admin, attachment: { not: 'ours' } };
    assert.equal(auth.hooks.authorizePublish(fake, 'x', 0), false, 'a connection without our attachment is refused (fail closed)');
  });

  it('decisions are cached per connection and change exactly when the policy service reports a change', async () => {
    await devicePolicy();
    const client = await connected('sensor-1');
    const state = client.attachment as ConnectionAuthorization;
    assert.equal(auth.hooks.authorizeReceive(client, 'devices/sensor-1/cmd'), true);
    assert.equal(auth.hooks.authorizeReceive(client, 'devices/sensor-1/cmd'), true);
    assert.equal(state.cache?.hits, 1);
    const compiles = state.cache?.compiles;
    await policies.createPolicy({ policyName: 'unrelated', policyDocument: doc([{ Effect: 'Allow', Action: 'iot:Connect', Resource: '*' }]) });
    assert.equal(auth.hooks.authorizeReceive(client, 'devices/sensor-1/cmd'), true);
    assert.equal(state.cache?.compiles, compiles, 'a change to a policy this connection does not hold recompiles nothing');
    await policies.createPolicyVersion({
      policyName: 'device',
      setAsDefault: true,
      policyDocument: doc([
        { Effect: 'Allow', Action: 'iot:Connect', Resource: `${P}:client/sensor-1` },
        { Effect: 'Deny', Action: 'iot:Receive', Resource: `${P}:topic/devices/sensor-1/cmd` },
      ]),
    });
    assert.equal(auth.hooks.authorizeReceive(client, 'devices/sensor-1/cmd'), false, 'the new default version applies as soon as the call returned');
    assert.equal(state.cache?.compiles, (compiles ?? 0) + 1);
  });

  it('closes the connections no longer allowed to connect (policy detached, thing attributes changed), and only those', async () => {
    await devicePolicy();
    await policies.createPolicy({
      policyName: 'viewers-only',
      policyDocument: doc([{ Effect: 'Deny', Action: 'iot:Connect', Resource: '*', Condition: { StringEquals: { 'iot:Connection.Thing.Attributes[role]': 'banned' } } }]),
    });
    await policies.attachPolicy({ policyName: 'viewers-only', target: certificateArn });
    const client = await connected('sensor-1');
    assert.equal(auth.hooks.authorizePublish(client, 'role/x', 1), false);

    thingAttributes = { role: 'admin' };
    for (const l of registryListeners) l({ type: 'thing-updated', thingName: 'sensor-1' } as RegistryEvent);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(auth.hooks.authorizePublish(client, 'role/x', 1), true, 'the thing is bound again with its new attributes');
    assert.deepEqual(closedWith, []);

    thingAttributes = { role: 'banned' };
    for (const l of registryListeners) l({ type: 'thing-updated', thingName: 'sensor-1' } as RegistryEvent);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(closedWith, [{ clientIds: ['sensor-1'], reasonCode: 0x87 }]);
    assert.ok(lines.some((l) => /no longer allowed to connect .*denied explicitly/.test(l.msg ?? '')));

    closedWith.length = 0;
    thingAttributes = { role: 'viewer' };
    clients.length = 0;
    auth.onEvent({ type: 'disconnected', client, cause: 'not-authorized', clientInitiated: false });
    const again = await connected('sensor-1');
    await policies.detachPolicy({ policyName: 'device', target: certificateArn });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(closedWith, [{ clientIds: ['sensor-1'], reasonCode: 0x87 }]);
    assert.equal(auth.hooks.authorizePublish(again, 'devices/sensor-1/temp', 1), false);
  });
});
