/**
 * Conformance test support: a real broker on an ephemeral TCP port, and a raw-socket MQTT client that
 * writes exact bytes (mqtt-packet's `generate`, or hex for malformed input) and reads the broker's
 * packets one by one. Shared by the MQTT 3.1.1, MQTT 5, bad-input and restart suites: keep the API
 * stable (add, don't change).
 *
 *   const b = await startBroker('mqtt');
 *   const c = await RawClient.open(b.port);
 *   const connack = await c.connect({ clientId: 'a' });      // sends CONNECT, expects CONNACK
 *   c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 1 }] });
 *   const suback = await c.expectPacket('suback');
 *   c.sendHex('f000');                                       // reserved packet type 15
 *   await c.expectClose();
 *   await assertHealthy(b.port);
 *   await b.close();
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import mqttPacket from 'mqtt-packet';
import type {
  Packet,
  PacketCmd,
  IConnectPacket,
  IConnackPacket,
  IPublishPacket,
  ISubackPacket,
  ISubscription,
  QoS,
} from 'mqtt-packet';
import { createBroker, brokerOptionsFor } from '../../../src/mqtt/index.js';
import type { Broker, BrokerHooks, BrokerLimits, BrokerFeatures, Profile } from '../../../src/mqtt/index.js';
import { openSqliteStore } from '../../../src/store/index.js';
import type { Store } from '../../../src/store/index.js';

export type { Packet, PacketCmd, QoS };

/* ------------------------------------------------------------------------------------------------ */
/* Broker                                                                                            */
/* ------------------------------------------------------------------------------------------------ */

export interface StartBrokerOptions {
  readonly limits?: Partial<BrokerLimits>;
  readonly features?: Partial<BrokerFeatures>;
  readonly hooks?: BrokerHooks;
  /** A store opened by the caller (the caller closes it). */
  readonly store?: Store;
  /** Opens a SQLite store at this path (closed by `close()`); ignored when `store` is given. */
  readonly sqlitePath?: string;
  /** Listen on this port instead of an ephemeral one (restart tests). */
  readonly port?: number;
}

export interface TestBroker {
  readonly port: number;
  readonly broker: Broker;
  readonly server: Server;
  /** The store in use, if any. */
  readonly store: Store | undefined;
  /** Open sockets the broker accepted (for tests that need to see the server side). */
  readonly sockets: Set<Socket>;
  /** Graceful: stops listening, `broker.close()`, closes an owned store. Idempotent. */
  close(): Promise<void>;
}

/** Starts a broker with the profile's options (plus overrides) on 127.0.0.1, port 0 by default. */
export async function startBroker(profile: Profile, opts: StartBrokerOptions = {}): Promise<TestBroker> {
  const ownedStore = opts.store === undefined && opts.sqlitePath !== undefined ? openSqliteStore({ path: opts.sqlitePath }) : undefined;
  const store = opts.store ?? ownedStore;
  const overrides: { limits?: Partial<BrokerLimits>; features?: Partial<BrokerFeatures> } = {};
  if (opts.limits) overrides.limits = opts.limits;
  if (opts.features) overrides.features = opts.features;
  const broker = await createBroker({
    options: brokerOptionsFor(profile, overrides),
    ...(opts.hooks ? { hooks: opts.hooks } : {}),
    ...(store ? { store: { sessions: store.sessions, retained: store.retained } } : {}),
  });
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    broker.accept(s, { transport: 'tcp', ...(s.remoteAddress ? { remoteAddress: s.remoteAddress } : {}) });
  });
  server.listen(opts.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  let closing: Promise<void> | undefined;
  return {
    port: address.port,
    broker,
    server,
    store,
    sockets,
    close() {
      closing ??= (async () => {
        server.close();
        await broker.close();
        for (const s of sockets) s.destroy();
        if (ownedStore) await ownedStore.close();
      })();
      return closing;
    },
  };
}

/* ------------------------------------------------------------------------------------------------ */
/* Raw client                                                                                        */
/* ------------------------------------------------------------------------------------------------ */

type PacketOf<C extends PacketCmd> = Extract<Packet, { cmd: C }>;

let idCounter = 0;
/** A unique client id / topic segment for this process. */
export function uid(prefix = 'c'): string {
  idCounter += 1;
  return `${prefix}-${process.pid}-${idCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ConnectOptions extends Partial<Omit<IConnectPacket, 'cmd'>> {
  /** Accept a CONNACK with a non-zero code instead of throwing. */
  readonly allowFailure?: boolean;
  readonly timeoutMs?: number;
}

/**
 * A byte-level MQTT client. Every packet the broker sends is queued; `expectPacket` takes the next
 * one and fails if its type differs. Nothing is answered automatically (no PUBACK, no PINGREQ).
 */
export class RawClient {
  readonly socket: Socket;
  /** Decoded packets not yet taken. */
  readonly queue: Packet[] = [];
  /** Every packet ever received, in order. */
  readonly received: Packet[] = [];
  /** Set when the broker's bytes did not parse. */
  parseError: Error | undefined;
  closed = false;
  /** Bytes written to the socket so far. */
  bytesWritten = 0;
  protocolVersion: 3 | 4 | 5;
  private parser: ReturnType<typeof mqttPacket.parser>;
  private waiters: Array<() => void> = [];
  private nextId = 1;

  private constructor(socket: Socket, protocolVersion: 3 | 4 | 5) {
    this.socket = socket;
    this.protocolVersion = protocolVersion;
    this.parser = this.makeParser();
    socket.on('data', (chunk: Buffer) => this.parser.parse(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Opens a TCP connection (nothing sent yet). */
  static async open(port: number, opts: { protocolVersion?: 3 | 4 | 5; host?: string } = {}): Promise<RawClient> {
    const socket = netConnect({ port, host: opts.host ?? '127.0.0.1' });
    socket.setNoDelay(true);
    await once(socket, 'connect');
    return new RawClient(socket, opts.protocolVersion ?? 4);
  }

  /** Opens a connection and completes CONNECT/CONNACK (code 0 expected unless allowFailure). */
  static async connect(port: number, opts: ConnectOptions = {}): Promise<RawClient> {
    const c = await RawClient.open(port, { protocolVersion: opts.protocolVersion ?? 4 });
    await c.connect(opts);
    return c;
  }

  private makeParser(): ReturnType<typeof mqttPacket.parser> {
    const p = mqttPacket.parser({ protocolVersion: this.protocolVersion });
    p.on('packet', (packet: Packet) => {
      this.queue.push(packet);
      this.received.push(packet);
      this.wake();
    });
    p.on('error', (err: Error) => {
      this.parseError = err;
      this.wake();
    });
    return p;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private waitForEvent(deadline: number): Promise<boolean> {
    return new Promise((resolve) => {
      const left = deadline - Date.now();
      if (left <= 0) return resolve(false);
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(false);
      }, left);
      const done = () => {
        clearTimeout(t);
        resolve(true);
      };
      this.waiters.push(done);
    });
  }

  /** A fresh packet identifier (1..65535). */
  packetId(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 65535 ? 1 : this.nextId + 1;
    return id;
  }

  /** Encodes with mqtt-packet (protocol version of this client) and writes. */
  send(packet: Packet): void {
    if (packet.cmd === 'connect' && packet.protocolVersion !== undefined && packet.protocolVersion !== this.protocolVersion) {
      this.protocolVersion = packet.protocolVersion;
      this.parser = this.makeParser();
    }
    this.sendRaw(mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }));
  }

  /** Writes bytes as given. */
  sendRaw(bytes: Buffer): boolean {
    if (this.socket.destroyed) return false;
    this.bytesWritten += bytes.length;
    return this.socket.write(bytes);
  }

  /** Writes hex bytes (spaces allowed): `c.sendHex('10 0c 00 04 4d 51 54 54 ...')`. */
  sendHex(hex: string): boolean {
    return this.sendRaw(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
  }

  /** Next packet within the timeout, whatever its type; throws on timeout or close. */
  async nextPacket(timeoutMs = 2000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = this.queue.shift();
      if (p) return p;
      if (this.parseError) throw new Error(`broker sent unparsable bytes: ${this.parseError.message}`);
      if (this.closed) throw new Error('connection closed while waiting for a packet');
      if (!(await this.waitForEvent(deadline))) throw new Error(`no packet within ${timeoutMs} ms`);
    }
  }

  /** Next packet, which must be of type `cmd`. */
  async expectPacket<C extends PacketCmd>(cmd: C, timeoutMs = 2000): Promise<PacketOf<C>> {
    let p: Packet;
    try {
      p = await this.nextPacket(timeoutMs);
    } catch (err) {
      throw new Error(`expected ${cmd}: ${(err as Error).message}`);
    }
    if (p.cmd !== cmd) throw new Error(`expected ${cmd}, got ${p.cmd}: ${describe(p)}`);
    return p as PacketOf<C>;
  }

  /** No packet arrives (and the connection stays open, unless allowClose) during `ms`. */
  async expectNoPacket(ms = 300, opts: { allowClose?: boolean } = {}): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const p = this.queue[0];
      if (p) throw new Error(`expected no packet, got ${p.cmd}: ${describe(p)}`);
      if (this.closed && !opts.allowClose) throw new Error('expected no packet, but the connection closed');
      if (!(await this.waitForEvent(deadline))) return;
    }
  }

  /**
   * The broker closes the connection within the timeout. Packets received before the close (e.g. an
   * MQTT 5 DISCONNECT or CONNACK with a failure code) are returned, and taken from the queue.
   */
  async expectClose(timeoutMs = 2000): Promise<Packet[]> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (!(await this.waitForEvent(deadline))) {
        const pending = this.queue.map(describe).join(', ');
        throw new Error(`connection still open after ${timeoutMs} ms${pending ? ` (received: ${pending})` : ''}`);
      }
    }
    return this.queue.splice(0);
  }

  /** Waits until the connection is closed or the timeout passes; true if closed. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) if (!(await this.waitForEvent(deadline))) return false;
    return true;
  }

  /** Sends CONNECT (3.1.1 by default, clean session) and returns the CONNACK. */
  async connect(opts: ConnectOptions = {}): Promise<IConnackPacket> {
    const { allowFailure, timeoutMs, ...fields } = opts;
    const packet: IConnectPacket = {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: this.protocolVersion,
      clean: true,
      keepalive: 60,
      clientId: uid(),
      ...fields,
    };
    this.send(packet);
    const connack = await this.expectPacket('connack', timeoutMs ?? 2000);
    const code = connack.reasonCode ?? connack.returnCode ?? 0;
    if (code !== 0 && !allowFailure) throw new Error(`CONNACK refused with code 0x${code.toString(16)}`);
    return connack;
  }

  /** SUBSCRIBE and its SUBACK (the next packet must be the SUBACK). Returns the granted codes. */
  async subscribe(filters: string | ReadonlyArray<string | ISubscription>, qos: QoS = 0): Promise<number[]> {
    const list = typeof filters === 'string' ? [filters] : filters;
    const subscriptions = list.map((f): ISubscription => (typeof f === 'string' ? { topic: f, qos } : f));
    const messageId = this.packetId();
    this.send({ cmd: 'subscribe', messageId, subscriptions });
    const suback: ISubackPacket = await this.expectPacket('suback');
    if (suback.messageId !== messageId) throw new Error(`SUBACK for ${suback.messageId}, expected ${messageId}`);
    return (suback.granted as Array<number | { qos: number }>).map((g) => (typeof g === 'number' ? g : g.qos));
  }

  /** UNSUBSCRIBE and its UNSUBACK. */
  async unsubscribe(filters: string | readonly string[]): Promise<void> {
    const messageId = this.packetId();
    this.send({ cmd: 'unsubscribe', messageId, unsubscriptions: typeof filters === 'string' ? [filters] : [...filters] });
    const unsuback = await this.expectPacket('unsuback');
    if (unsuback.messageId !== messageId) throw new Error(`UNSUBACK for ${unsuback.messageId}, expected ${messageId}`);
  }

  /**
   * PUBLISH; for QoS 1 waits for the PUBACK, for QoS 2 completes PUBREC/PUBREL/PUBCOMP (the next
   * packets must be those acks). Returns the packet id used (0 for QoS 0).
   */
  async publish(
    topic: string,
    payload: string | Buffer,
    opts: { qos?: QoS; retain?: boolean; dup?: boolean; messageId?: number; properties?: IPublishPacket['properties'] } = {},
  ): Promise<number> {
    const qos = opts.qos ?? 0;
    const messageId = qos > 0 ? (opts.messageId ?? this.packetId()) : undefined;
    const packet: IPublishPacket = {
      cmd: 'publish',
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos,
      retain: opts.retain ?? false,
      dup: opts.dup ?? false,
      ...(messageId !== undefined ? { messageId } : {}),
      ...(opts.properties ? { properties: opts.properties } : {}),
    };
    this.send(packet);
    if (qos === 1) {
      const ack = await this.expectPacket('puback');
      if (ack.messageId !== messageId) throw new Error(`PUBACK for ${ack.messageId}, expected ${messageId}`);
    } else if (qos === 2) {
      const rec = await this.expectPacket('pubrec');
      if (rec.messageId !== messageId) throw new Error(`PUBREC for ${rec.messageId}, expected ${messageId}`);
      this.send({ cmd: 'pubrel', messageId: messageId! });
      const comp = await this.expectPacket('pubcomp');
      if (comp.messageId !== messageId) throw new Error(`PUBCOMP for ${comp.messageId}, expected ${messageId}`);
    }
    return messageId ?? 0;
  }

  /** Next PUBLISH, with its payload as a string for convenience. */
  async expectPublish(timeoutMs = 2000): Promise<IPublishPacket & { text: string }> {
    const p = await this.expectPacket('publish', timeoutMs);
    return Object.assign(p, { text: Buffer.from(p.payload).toString() });
  }

  /** Acknowledges an inbound QoS 1 (PUBACK) or QoS 2 (PUBREC, PUBREL expected, PUBCOMP) PUBLISH. */
  async ack(p: IPublishPacket): Promise<void> {
    if (p.qos === 1) this.send({ cmd: 'puback', messageId: p.messageId! });
    else if (p.qos === 2) {
      this.send({ cmd: 'pubrec', messageId: p.messageId! });
      const rel = await this.expectPacket('pubrel');
      if (rel.messageId !== p.messageId) throw new Error(`PUBREL for ${rel.messageId}, expected ${p.messageId}`);
      this.send({ cmd: 'pubcomp', messageId: p.messageId! });
    }
  }

  /** Sends DISCONNECT and ends the socket; waits for the close. */
  async disconnect(): Promise<void> {
    if (!this.closed) {
      this.send({ cmd: 'disconnect' });
      this.socket.end();
      await this.waitClosed(2000);
    }
    this.destroy();
  }

  /** Closes the socket abruptly (no DISCONNECT: an abnormal close for the broker). */
  destroy(): void {
    this.socket.destroy();
  }
}

/** A short description of a packet for error messages. */
export function describe(p: Packet): string {
  const o: Record<string, unknown> = { ...p };
  if ('payload' in p && p.payload != null) o.payload = Buffer.from(p.payload).toString('utf8').slice(0, 40);
  return JSON.stringify(o);
}

/**
 * A healthy client round trip on the broker: subscribe to a fresh topic, publish at QoS 1 to it,
 * receive the message. Fails the test if the broker stopped serving.
 */
export async function assertHealthy(port: number, opts: { protocolVersion?: 4 | 5 } = {}): Promise<void> {
  const c = await RawClient.connect(port, { protocolVersion: opts.protocolVersion ?? 4 });
  try {
    const topic = `health/${uid('t')}`;
    const granted = await c.subscribe(topic, 1);
    if (granted[0] !== 1) throw new Error(`health SUBACK ${granted[0]}`);
    c.send({ cmd: 'publish', topic, payload: Buffer.from('ping'), qos: 1, retain: false, dup: false, messageId: 4242 });
    // The PUBACK and the delivery may come in either order.
    const got = new Set<string>();
    while (got.size < 2) {
      const p = await c.nextPacket(2000);
      if (p.cmd === 'puback' && p.messageId === 4242) got.add('puback');
      else if (p.cmd === 'publish' && p.topic === topic) {
        got.add('publish');
        if (p.qos === 1) c.send({ cmd: 'puback', messageId: p.messageId! });
      } else throw new Error(`health: unexpected ${describe(p)}`);
    }
  } finally {
    await c.disconnect();
  }
}

/** Collects `n` PUBLISH packets (acknowledging QoS 1/2), failing after timeoutMs. */
export async function collectPublishes(c: RawClient, n: number, timeoutMs = 3000): Promise<IPublishPacket[]> {
  const out: IPublishPacket[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    const p = await c.expectPacket('publish', Math.max(1, deadline - Date.now()));
    out.push(p);
    if (p.qos === 1) c.send({ cmd: 'puback', messageId: p.messageId! });
    else if (p.qos === 2) c.send({ cmd: 'pubrec', messageId: p.messageId! });
  }
  return out;
}
