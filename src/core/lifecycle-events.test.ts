// Proves that broker events become AWS lifecycle messages with exactly AWS's fields and topics,
// version numbers shared by a connect and its disconnect, and no events for `#`/`+` client ids.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { ClientInfo, ServerMessage } from '../mqtt/index.js';
import { createLifecycleEvents, disconnectReasons } from './index.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function client(clientId: string, connectionId: number, remoteAddress = '::ffff:192.0.2.10'): ClientInfo {
  return {
    clientId,
    connectionId,
    protocolVersion: 5,
    principal: { kind: 'certificate', id: 'c'.repeat(64) },
    peer: { transport: 'tls', remoteAddress, remotePort: 5000 },
    attachment: undefined,
    sessionIdentifier: `session-${connectionId}`,
  };
}

function setup(start = 1_700_000_000_000) {
  const published: ServerMessage[] = [];
  let t = start;
  const events = createLifecycleEvents({
    publish: async (m) => {
      published.push(m);
    },
    logger: silent,
    now: () => t,
  });
  const payloads = () => published.map((m) => ({ topic: m.topic, body: JSON.parse(m.payload.toString()) as Record<string, unknown> }));
  return { events, published, payloads, advance: (ms: number) => (t += ms), now: () => t };
}

describe('lifecycle events', () => {
  it('publishes connected and disconnected with AWS fields, in AWS order', () => {
    const { events, payloads, now, advance } = setup();
    const c = client('sensor-1', 1);
    events.onEvent({ type: 'connected', client: c, sessionPresent: false });
    advance(10);
    events.onEvent({ type: 'disconnected', client: c, cause: 'client-disconnect', clientInitiated: true });
    const [connected, disconnected] = payloads();
    assert.equal(connected?.topic, '$aws/events/presence/connected/sensor-1');
    assert.deepEqual(Object.keys(connected?.body ?? {}), [
      'clientId', 'timestamp', 'eventType', 'sessionIdentifier', 'principalIdentifier', 'ipAddress', 'versionNumber',
    ]);
    assert.deepEqual(connected?.body, {
      clientId: 'sensor-1',
      timestamp: now() - 10,
      eventType: 'connected',
      sessionIdentifier: 'session-1',
      principalIdentifier: 'c'.repeat(64),
      ipAddress: '192.0.2.10',
      versionNumber: 0,
    });
    assert.equal(disconnected?.topic, '$aws/events/presence/disconnected/sensor-1');
    assert.deepEqual(Object.keys(disconnected?.body ?? {}), [
      'clientId', 'timestamp', 'eventType', 'sessionIdentifier', 'principalIdentifier',
      'clientInitiatedDisconnect', 'disconnectReason', 'versionNumber',
    ]);
    assert.equal(disconnected?.body['disconnectReason'], 'CLIENT_INITIATED_DISCONNECT');
    assert.equal(disconnected?.body['clientInitiatedDisconnect'], true);
    assert.equal(disconnected?.body['versionNumber'], 0);
    events.close();
  });

  it('numbers connects per client id; a takeover disconnect keeps the old number', () => {
    const { events, payloads } = setup();
    const first = client('dev', 1);
    const second = client('dev', 2);
    events.onEvent({ type: 'connected', client: first, sessionPresent: false });
    events.onEvent({ type: 'connected', client: second, sessionPresent: false });
    events.onEvent({ type: 'disconnected', client: first, cause: 'taken-over', clientInitiated: false });
    events.onEvent({ type: 'disconnected', client: second, cause: 'connection-lost', clientInitiated: false });
    events.onEvent({ type: 'connected', client: client('other', 3), sessionPresent: false });
    assert.deepEqual(
      payloads().map((p) => [p.body['eventType'], p.body['clientId'], p.body['versionNumber'], p.body['disconnectReason']]),
      [
        ['connected', 'dev', 0, undefined],
        ['connected', 'dev', 1, undefined],
        ['disconnected', 'dev', 0, 'DUPLICATE_CLIENTID'],
        ['disconnected', 'dev', 1, 'CONNECTION_LOST'],
        ['connected', 'other', 0, undefined],
      ],
    );
    events.close();
  });

  it('starts a client id again at 0 after an hour without a connection', () => {
    const { events, payloads, advance } = setup();
    const c = client('dev', 1);
    events.onEvent({ type: 'connected', client: c, sessionPresent: false });
    events.onEvent({ type: 'disconnected', client: c, cause: 'client-disconnect', clientInitiated: true });
    events.onEvent({ type: 'connected', client: client('dev', 2), sessionPresent: false });
    events.onEvent({ type: 'disconnected', client: client('dev', 2), cause: 'client-disconnect', clientInitiated: true });
    advance(60 * 60 * 1000 + 1);
    events.onEvent({ type: 'connected', client: client('dev', 3), sessionPresent: false });
    assert.deepEqual(payloads().filter((p) => p.body['eventType'] === 'connected').map((p) => p.body['versionNumber']), [0, 1, 0]);
    events.close();
  });

  it('publishes connect_failed with the reason, principal and address', () => {
    const { events, payloads } = setup();
    events.onEvent({
      type: 'connect-failed',
      clientId: 'intruder',
      peer: { transport: 'tcp', remoteAddress: '198.51.100.1' },
      principal: { kind: 'anonymous', id: 'anonymous' },
      reasonCode: 0x87,
    });
    const [failed] = payloads();
    assert.equal(failed?.topic, '$aws/events/presence/connect_failed/intruder');
    assert.deepEqual(Object.keys(failed?.body ?? {}), [
      'clientId', 'timestamp', 'eventType', 'connectFailureReason', 'principalIdentifier', 'sessionIdentifier', 'ipAddress',
    ]);
    assert.equal(failed?.body['connectFailureReason'], 'AUTHORIZATION_FAILED');
    assert.equal(failed?.body['principalIdentifier'], 'anonymous');
    assert.equal(failed?.body['ipAddress'], '198.51.100.1');
    events.close();
  });

  it('publishes subscribed/unsubscribed with the request topics and no address or version', () => {
    const { events, payloads, published } = setup();
    const c = client('sub', 1);
    events.onEvent({ type: 'subscribed', client: c, topicFilters: ['foo/bar', 'device/+/data'] });
    events.onEvent({ type: 'unsubscribed', client: c, topicFilters: ['foo/bar'] });
    const [subscribed, unsubscribed] = payloads();
    assert.equal(subscribed?.topic, '$aws/events/subscriptions/subscribed/sub');
    assert.deepEqual(Object.keys(subscribed?.body ?? {}), [
      'clientId', 'timestamp', 'eventType', 'sessionIdentifier', 'principalIdentifier', 'topics',
    ]);
    assert.deepEqual(subscribed?.body['topics'], ['foo/bar', 'device/+/data']);
    assert.equal(unsubscribed?.topic, '$aws/events/subscriptions/unsubscribed/sub');
    assert.equal(unsubscribed?.body['eventType'], 'unsubscribed');
    assert.equal(published[0]?.qos, 1);
    assert.equal(published[0]?.retain, undefined);
    events.close();
  });

  it('publishes nothing for client ids containing # or +', () => {
    const { events, published } = setup();
    for (const id of ['a/#', 'a+b']) {
      events.onEvent({ type: 'connected', client: client(id, 1), sessionPresent: false });
      events.onEvent({ type: 'subscribed', client: client(id, 1), topicFilters: ['x'] });
      events.onEvent({ type: 'disconnected', client: client(id, 1), cause: 'client-disconnect', clientInitiated: true });
    }
    assert.equal(published.length, 0);
    events.close();
  });

  it('maps every disconnect cause to an AWS disconnectReason', () => {
    assert.deepEqual(Object.values(disconnectReasons).sort(), [
      'API_INITIATED_DISCONNECT', 'AUTH_ERROR', 'CLIENT_ERROR', 'CLIENT_INITIATED_DISCONNECT', 'CONNECTION_LOST',
      'DUPLICATE_CLIENTID', 'MQTT_KEEP_ALIVE_TIMEOUT', 'SERVER_ERROR', 'SERVER_INITIATED_DISCONNECT', 'THROTTLED',
    ]);
  });
});
