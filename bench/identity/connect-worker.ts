/**
 * One thread of the mutual-TLS connect generator (bench/mtls-connect.ts). Keeps `slots` connects
 * in flight until told to stop; each one:
 *
 *   tls.connect (client certificate, full handshake: no `session` is ever passed, so nothing is
 *   resumed) ─► secureConnect ─► pre-encoded MQTT 3.1.1 CONNECT (unique client id, clean session,
 *   keep-alive 60) ─► CONNACK ─► DISCONNECT + end ─► close ─► next connect in this slot.
 *
 * Records, per completed connect, the time of the CONNACK (epoch ms, so the main thread can keep
 * only its measurement window), the latency from tls.connect() to CONNACK and to secureConnect.
 * The SecureContexts (key, certificate, CA) are built once per certificate, not per connect.
 */
import { performance } from 'node:perf_hooks';
import * as tls from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';

export interface ConnectWorkerData {
  port: number;
  ca: string;
  credentials: { key: string; cert: string }[];
  slots: number;
  thread: number;
  threads: number;
  /** distinguishes runs (client ids stay unique across brokers and attempts) */
  run: number;
  timeoutMs: number;
  /** verify the broker's certificate chain and name on every connect (else only on this thread's first) */
  verifyServer: boolean;
}

export interface ConnectWorkerResult {
  /** epoch ms of each CONNACK (return code 0) */
  ends: Float64Array;
  /** ms from tls.connect() to CONNACK */
  latency: Float64Array;
  /** ms from tls.connect() to secureConnect (TCP + TLS handshake) */
  handshake: Float64Array;
  /** epoch ms and reason of each failed connect */
  failTimes: Float64Array;
  failReasons: string[];
  /** protocol / cipher of the first handshake, and whether any connect was resumed */
  protocol: string;
  cipher: string;
  resumed: number;
  /** TLS session tickets the broker sent, counted on the first `ticketSample` connects of this thread */
  tickets: number;
  ticketSample: number;
  /** outcome of the first connect of this thread, which always verifies the broker's certificate: 'ok' or the error */
  serverCheck: string;
}

const DISCONNECT = Buffer.from([0xe0, 0x00]);
const ID_DIGITS = 10;

/** MQTT 3.1.1 CONNECT, clean session, keep-alive 60, client id `<prefix><10 digits>` patched per connect. */
function connectTemplate(prefix: string): { packet: Buffer; idDigitsAt: number } {
  const id = Buffer.from(prefix + '0'.repeat(ID_DIGITS), 'latin1');
  const variable = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c]);
  const remaining = variable.length + 2 + id.length;
  if (remaining > 127) throw new Error('client id too long');
  const packet = Buffer.concat([Buffer.from([0x10, remaining]), variable, Buffer.from([0x00, id.length]), id]);
  return { packet, idDigitsAt: packet.length - ID_DIGITS };
}

class Grow {
  private buf = new Float64Array(1 << 12);
  n = 0;
  push(v: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = v;
  }
  take(): Float64Array {
    return this.buf.slice(0, this.n);
  }
}

function run(data: ConnectWorkerData): void {
  const port = parentPort;
  if (port === null) throw new Error('connect-worker must run in a worker thread');
  // With the CA, Node checks the broker's chain and name (checkServerIdentity over
  // getPeerCertificate(true), ~0.45 ms of generator CPU per connect); without it, and with
  // rejectUnauthorized false, the handshake is the same on the broker's side but the generator
  // skips that check.
  const verifying = data.credentials.map((c) => tls.createSecureContext({ key: c.key, cert: c.cert, ca: data.ca }));
  const plain = data.verifyServer ? verifying : data.credentials.map((c) => tls.createSecureContext({ key: c.key, cert: c.cert }));
  let serverCheck = 'not done';
  // Listening for 'session' makes Node hand every ticket to JS (a little client work): sample only.
  const ticketSample = 20;
  let tickets = 0;
  const { packet: template, idDigitsAt } = connectTemplate(`b${data.run}t${data.thread}-`);
  const ends = new Grow();
  const latency = new Grow();
  const handshake = new Grow();
  const failTimes = new Grow();
  const failReasons: string[] = [];
  let protocol = '';
  let cipher = '';
  let resumed = 0;
  let counter = 0;
  let stopping = false;
  let inFlight = 0;
  let onIdle: (() => void) | null = null;
  const epochNow = (): number => performance.timeOrigin + performance.now();

  const next = (): void => {
    if (stopping) {
      if (inFlight === 0) onIdle?.();
      return;
    }
    inFlight++;
    const n = counter++;
    const verify = n === 0 || data.verifyServer;
    const ctx = (verify ? verifying : plain)[(n * data.threads + data.thread) % plain.length]!;
    const pkt = Buffer.from(template);
    pkt.write(String(n).padStart(ID_DIGITS, '0'), idDigitsAt, 'latin1');
    const t0 = performance.now();
    let tHs = 0;
    let settled = false;
    const sock = tls.connect({ host: '127.0.0.1', port: data.port, secureContext: ctx, rejectUnauthorized: verify });
    sock.setNoDelay(true);
    if (n < ticketSample) sock.on('session', () => tickets++);
    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      if (n === 0) serverCheck = reason;
      failTimes.push(epochNow());
      failReasons.push(reason);
      sock.destroy();
    };
    const timer = setTimeout(() => fail('timeout'), data.timeoutMs);
    sock.once('secureConnect', () => {
      tHs = performance.now();
      if (protocol === '') {
        protocol = sock.getProtocol() ?? '?';
        cipher = sock.getCipher().name;
      }
      if (sock.isSessionReused()) resumed++;
      if (n === 0) serverCheck = sock.authorized ? 'ok' : String(sock.authorizationError);
      sock.write(pkt);
    });
    let head: Buffer | null = null;
    sock.on('data', (chunk: Buffer) => {
      if (settled) return;
      head = head === null ? chunk : Buffer.concat([head, chunk]);
      if (head.length < 4) return;
      if (head[0] !== 0x20 || head[1] !== 0x02) return fail(`not a CONNACK (0x${head[0]!.toString(16)})`);
      if (head[3] !== 0) return fail(`CONNACK return code ${head[3]}`);
      const t = performance.now();
      settled = true;
      ends.push(performance.timeOrigin + t);
      latency.push(t - t0);
      handshake.push(tHs - t0);
      sock.end(DISCONNECT);
    });
    sock.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    sock.once('close', () => {
      clearTimeout(timer);
      if (!settled) fail('closed before CONNACK');
      inFlight--;
      next();
    });
  };

  port.on('message', (msg: string) => {
    if (msg === 'go') {
      for (let i = 0; i < data.slots; i++) next();
    } else if (msg === 'stop') {
      stopping = true;
      const finish = (): void => {
        const result: ConnectWorkerResult = {
          ends: ends.take(),
          latency: latency.take(),
          handshake: handshake.take(),
          failTimes: failTimes.take(),
          failReasons,
          protocol,
          cipher,
          resumed,
          serverCheck,
          tickets,
          ticketSample: Math.min(ticketSample, counter),
        };
        port.postMessage(result);
      };
      if (inFlight === 0) finish();
      else onIdle = finish;
    }
  });
  port.postMessage('ready');
}

run(workerData as ConnectWorkerData);
