/**
 * S5 helper thread: opens its share of the idle connections (the generator's cost per connection
 * is mostly the kernel's loopback handshake, paid in connect(); two threads keep the generator from
 * limiting the connect rate of a fast broker), holds them, answers the main thread's requests.
 *
 * workerData: { port, first, count, concurrency }
 * messages in:  'ping' (PINGREQ on a sample of its connections) | 'close'
 * messages out: { type: 'connected', ok, failed, firstError, connectMs } | { type: 'pongs', sent, got }
 *               | { type: 'closed', disconnects }
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { type Client, boundedAll, openClient } from './client.js';
import { PINGREQ, PINGRESP } from './packets.js';

interface Job {
  port: number;
  first: number;
  count: number;
  concurrency: number;
}

const job = workerData as Job;
const port = parentPort;
if (port === null) throw new Error('s5-worker must run as a worker thread');

const clients: Client[] = [];
let disconnects = 0;
let closing = false;

async function connectAll(): Promise<void> {
  const connectMs = new Float64Array(job.count).fill(NaN);
  const results = await boundedAll(job.count, job.concurrency, async (i) => {
    const t = performance.now();
    const c = await openClient(job.port, `bench-idle-${job.first + i}`, { keepalive: 60, timeoutMs: 15_000 });
    connectMs[i] = performance.now() - t;
    return c;
  });
  let failed = 0;
  let firstError = '';
  for (const r of results) {
    if (r.status === 'fulfilled') {
      const c = r.value;
      c.onUnexpectedClose = () => {
        if (!closing) disconnects++;
      };
      clients.push(c);
    } else {
      failed++;
      if (firstError === '') firstError = r.reason instanceof Error ? r.reason.message : String(r.reason);
    }
  }
  port!.postMessage({ type: 'connected', ok: clients.length, failed, firstError, connectMs }, [connectMs.buffer]);
}

port.on('message', (msg: unknown) => {
  if (msg === 'ping') {
    const step = Math.max(1, Math.floor(clients.length / 50));
    let sent = 0;
    let got = 0;
    for (let i = 0; i < clients.length; i += step) {
      const c = clients[i]!;
      c.onPacket = (buf, s) => {
        if (buf[s]! >> 4 === PINGRESP) got++;
      };
      c.write(PINGREQ);
      sent++;
    }
    const deadline = performance.now() + 5000;
    const check = (): void => {
      if (got >= sent || performance.now() > deadline) port!.postMessage({ type: 'pongs', sent, got });
      else setTimeout(check, 10);
    };
    check();
  } else if (msg === 'close') {
    closing = true;
    for (const c of clients) c.close();
    port!.postMessage({ type: 'closed', disconnects });
    port!.close();
  }
});

void connectAll();
