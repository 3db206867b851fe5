/**
 * MQTT 5 raw clients for the conformance files: connected clients that are destroyed after each
 * test (call destroyOpenClients from afterEach), and the check that the broker ended a connection
 * with a DISCONNECT of a given reason code.
 */
import { strict as assert } from 'node:assert';
import type { IConnackPacket } from 'mqtt-packet';
import { RawClient, type ConnectOptions, type Packet } from './broker.js';

const open: RawClient[] = [];

/** Has `c` destroyed with the clients v5() opens (for clients a test opens itself). */
export function closeAfterTest(c: RawClient): RawClient {
  open.push(c);
  return c;
}

/** Destroys every client v5()/v5Connack()/closeAfterTest() took since the last call. */
export function destroyOpenClients(): void {
  for (const c of open.splice(0)) c.destroy();
}

/** An MQTT 5 client with CONNECT/CONNACK done, and the CONNACK. */
export async function v5Connack(port: number, opts: ConnectOptions = {}): Promise<[RawClient, IConnackPacket]> {
  const c = await RawClient.open(port, { protocolVersion: 5 });
  open.push(c);
  const connack = await c.connect({ protocolVersion: 5, ...opts });
  return [c, connack];
}

/** An MQTT 5 client with CONNECT/CONNACK done. */
export async function v5(port: number, opts: ConnectOptions = {}): Promise<RawClient> {
  return (await v5Connack(port, opts))[0];
}

/** The broker sends DISCONNECT with `reasonCode` (and no Session Expiry [MQTT-3.14.2-2]) and closes. */
export async function expectDisconnect(c: RawClient, reasonCode: number, timeoutMs = 2000): Promise<void> {
  const pkts: Packet[] = await c.expectClose(timeoutMs);
  const d = pkts.find((p) => p.cmd === 'disconnect');
  if (!d || d.cmd !== 'disconnect') assert.fail(`expected DISCONNECT 0x${reasonCode.toString(16)}, got [${pkts.map((p) => p.cmd).join(', ')}]`);
  assert.equal(d.reasonCode, reasonCode, `DISCONNECT reason 0x${(d.reasonCode ?? 0).toString(16)}`);
  assert.equal(d.properties?.sessionExpiryInterval, undefined, '[MQTT-3.14.2-2] server DISCONNECT carries no Session Expiry');
}
