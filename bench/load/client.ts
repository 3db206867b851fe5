/**
 * A raw MQTT client for the load generator: a `net` socket plus a minimal incremental parser that
 * only finds packet boundaries and hands each packet (in place, no copy) to `onPacket`.
 *
 * All sockets of the process read into one shared 64 KiB buffer (`onread`), so reading allocates
 * nothing; a packet that straddles two reads is completed in a small per-client carry buffer.
 * `onChunkEnd` runs after each read has been parsed: scenarios use it to send one batched write
 * (new PUBLISHes, PUBACKs) per read instead of one write per packet.
 */
import * as net from 'node:net';
import { CONNACK, PINGRESP, SUBACK, connectPacket, subscribePacket } from './packets.js';

/** (buffer, offset of the packet, length of its fixed header, total length of the packet) */
export type PacketHandler = (buf: Buffer, start: number, headerLen: number, total: number) => void;

const SHARED_READ = Buffer.allocUnsafe(64 * 1024);
const noop: PacketHandler = () => {};

// Set by packetLength(): length of the fixed header of the packet just measured.
let lastHeaderLen = 0;

/** Total length of the packet starting at `off`, or -1 if its fixed header is not complete yet. */
function packetLength(buf: Buffer, off: number, end: number): number {
  let mult = 1;
  let value = 0;
  let i = off + 1;
  for (;;) {
    if (i >= end) return -1;
    const b = buf[i++]!;
    value += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) break;
    mult *= 128;
    if (mult > 2097152) throw new Error('malformed remaining length');
  }
  lastHeaderLen = i - off;
  return lastHeaderLen + value;
}

export interface ConnectOptions {
  keepalive?: number;
  timeoutMs?: number;
}

/** Process-wide I/O counters (diagnostics: the generator's cost is mostly its write syscalls). */
export const ioStats = { writes: 0, reads: 0, ackWrites: 0, acks: 0 };

export class Client {
  readonly socket: net.Socket;
  onPacket: PacketHandler = noop;
  onChunkEnd: (() => void) | null = null;
  /** Called once if the connection closes (before `close()` is called by the scenario). */
  onUnexpectedClose: (() => void) | null = null;
  closed = false;
  error: Error | null = null;
  private closing = false;
  private carry: Buffer | null = null;
  private carryLen = 0;

  constructor(port: number) {
    this.socket = net.connect({
      host: '127.0.0.1',
      port,
      onread: {
        buffer: SHARED_READ,
        callback: (n: number): boolean => {
          ioStats.reads++;
          this.feed(SHARED_READ, 0, n);
          return true;
        },
      },
    });
    this.socket.setNoDelay(true);
    this.socket.on('error', (err) => {
      this.error ??= err;
    });
    this.socket.on('close', () => {
      this.closed = true;
      if (!this.closing) this.onUnexpectedClose?.();
    });
  }

  write(buf: Buffer): void {
    if (!this.closed) {
      ioStats.writes++;
      this.socket.write(buf);
    }
  }

  close(): void {
    this.closing = true;
    this.socket.destroy();
  }

  private ensureCarry(size: number): Buffer {
    let c = this.carry;
    if (c === null || c.length < size) {
      const n = Buffer.allocUnsafe(Math.max(size, 512));
      if (c !== null) c.copy(n, 0, 0, this.carryLen);
      this.carry = c = n;
    }
    return c;
  }

  private feed(buf: Buffer, off: number, end: number): void {
    if (this.carryLen > 0) {
      // Complete the packet that straddles the previous read.
      while (off < end) {
        const carry = this.ensureCarry(8);
        const total = packetLength(carry, 0, this.carryLen);
        if (total < 0) {
          carry[this.carryLen++] = buf[off++]!;
          continue;
        }
        const hl = lastHeaderLen;
        const c = this.ensureCarry(total);
        const take = Math.min(total - this.carryLen, end - off);
        buf.copy(c, this.carryLen, off, off + take);
        this.carryLen += take;
        off += take;
        if (this.carryLen === total) {
          this.carryLen = 0;
          this.onPacket(c, 0, hl, total);
        }
        break;
      }
    }
    while (off < end) {
      const total = packetLength(buf, off, end);
      if (total < 0 || off + total > end) {
        const c = this.ensureCarry(Math.max(total, end - off, 8));
        buf.copy(c, 0, off, end);
        this.carryLen = end - off;
        break;
      }
      this.onPacket(buf, off, lastHeaderLen, total);
      off += total;
    }
    this.onChunkEnd?.();
  }

  /** Waits for the next packet of type `type` (during setup only: replaces onPacket meanwhile). */
  private expect(type: number, timeoutMs: number, what: string): Promise<{ code: number }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${what}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const onClose = (): void => {
        cleanup();
        reject(new Error(`${what}: connection closed${this.error ? ` (${this.error.message})` : ''}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.socket.off('close', onClose);
        this.onPacket = noop;
      };
      this.socket.on('close', onClose);
      this.onPacket = (b, s, hl, total) => {
        const t = b[s]! >> 4;
        if (t === PINGRESP) return;
        if (t !== type) {
          cleanup();
          reject(new Error(`${what}: unexpected packet type ${t}`));
          return;
        }
        // CONNACK: return code is the 2nd variable-header byte; SUBACK: first granted QoS after the id.
        const code = t === CONNACK ? b[s + hl + 1]! : t === SUBACK ? b[s + hl + 2]! : 0;
        void total;
        cleanup();
        resolve({ code });
      };
    });
  }

  async connect(clientId: string, opts: ConnectOptions = {}): Promise<void> {
    const reply = this.expect(CONNACK, opts.timeoutMs ?? 10_000, `CONNECT ${clientId}`);
    this.write(connectPacket(clientId, opts.keepalive ?? 60));
    const { code } = await reply;
    if (code !== 0) throw new Error(`CONNECT ${clientId} refused, return code ${code}`);
  }

  async subscribe(topics: readonly string[], qos: 0 | 1, timeoutMs = 10_000): Promise<void> {
    const reply = this.expect(SUBACK, timeoutMs, `SUBSCRIBE ${topics.join(',')}`);
    this.write(subscribePacket(topics, qos, 1));
    const { code } = await reply;
    if (code >= 0x80) throw new Error(`SUBSCRIBE ${topics.join(',')} refused (0x${code.toString(16)})`);
  }
}

/** Connects a client and waits for a successful CONNACK; the socket is destroyed on failure. */
export async function openClient(port: number, clientId: string, opts: ConnectOptions = {}): Promise<Client> {
  const c = new Client(port);
  try {
    await c.connect(clientId, opts);
    return c;
  } catch (err) {
    c.close();
    throw err;
  }
}

/** Runs `count` async tasks with at most `concurrency` outstanding; results in index order. */
export async function boundedAll<T>(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<T>,
): Promise<PromiseSettledResult<T>[]> {
  const results: PromiseSettledResult<T>[] = new Array<PromiseSettledResult<T>>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await task(i) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/** Like boundedAll but throws the first failure (after closing the clients that did connect). */
export async function openClients(
  port: number,
  count: number,
  concurrency: number,
  clientId: (i: number) => string,
  opts: ConnectOptions = {},
): Promise<Client[]> {
  const settled = await boundedAll(count, concurrency, (i) => openClient(port, clientId(i), opts));
  const ok: Client[] = [];
  let firstError: unknown = null;
  for (const r of settled) {
    if (r.status === 'fulfilled') ok.push(r.value);
    else firstError ??= r.reason;
  }
  if (firstError !== null) {
    for (const c of ok) c.close();
    throw firstError instanceof Error ? firstError : new Error(String(firstError));
  }
  return ok;
}
