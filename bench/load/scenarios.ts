/**
 * The five scenarios. Each runs inside the generator process against one freshly started broker,
 * and returns a ScenarioResult (see measure.ts). Publishers and subscribers live in this one
 * process, so flow control (windows) and latency timestamps need no cross-process clock.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { type Client, boundedAll, ioStats, openClient, openClients } from './client.js';
import { PAYLOAD_SEQ, PAYLOAD_STREAM, PAYLOAD_TIME, PUBACK, PUBLISH, PublishTemplate } from './packets.js';
import {
  type CpuWindow,
  type IntervalCpu,
  type ScenarioContext,
  type ScenarioResult,
  type Snapshot,
  SeqTracker,
  cpuBetween,
  sleep,
  snapshot,
} from './measure.js';
import { rssBytesOfTree, tcpExtCounter } from './procstat.js';

const SETUP_CONCURRENCY = 50;

/** Offset of the payload of the PUBLISH at `s` (fixed header length hl). */
function payloadOffset(buf: Buffer, s: number, hl: number): number {
  const p = s + hl;
  const topicLen = (buf[p]! << 8) | buf[p + 1]!;
  return p + 2 + topicLen + ((buf[s]! & 0x06) !== 0 ? 2 : 0);
}

/** Packet id of the QoS>0 PUBLISH at `s`. */
function publishId(buf: Buffer, s: number, hl: number): number {
  const p = s + hl;
  const o = p + 2 + ((buf[p]! << 8) | buf[p + 1]!);
  return (buf[o]! << 8) | buf[o + 1]!;
}

/**
 * Waits until `remaining()` reaches 0, or stops decreasing for `idleMs`, or `maxMs` passed.
 * Used after the publishers stop, so that messages still in flight are not counted as lost.
 */
async function drain(remaining: () => number, maxMs: number, idleMs: number): Promise<void> {
  const end = performance.now() + maxMs;
  let last = remaining();
  let lastChange = performance.now();
  while (last > 0 && performance.now() < end) {
    await sleep(20);
    const r = remaining();
    if (r !== last) {
      last = r;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > idleMs) break;
  }
}

/**
 * Collects PUBACKs for one read into a scratch buffer shared by all subscribers; flushed with one
 * write per read. Sharing is safe because a read is parsed and flushed (onChunkEnd) synchronously,
 * before any other socket's read is processed: at most one batcher holds acks at any time.
 */
class AckBatcher {
  private static scratch = Buffer.allocUnsafe(64 * 1024);
  private n = 0;
  add(id: number): void {
    const o = this.n;
    const s = AckBatcher.scratch;
    s[o] = 0x40;
    s[o + 1] = 0x02;
    s[o + 2] = id >> 8;
    s[o + 3] = id & 0xff;
    this.n = o + 4;
  }
  flush(c: Client): void {
    if (this.n === 0) return;
    ioStats.ackWrites++;
    ioStats.acks += this.n >> 2;
    c.write(Buffer.from(AckBatcher.scratch.subarray(0, this.n)));
    this.n = 0;
  }
  /** Flush before the scratch can overflow (a 64 KiB read holds fewer than 64 KiB / 4 PUBLISHes). */
  get full(): boolean {
    return this.n > AckBatcher.scratch.length - 64;
  }
}

interface Common {
  ctx: ScenarioContext;
  clients: Client[];
  disconnects: number;
  notes: string[];
}

function track(common: Common, cs: Client[]): void {
  for (const c of cs) {
    common.clients.push(c);
    c.onUnexpectedClose = () => {
      common.disconnects++;
    };
  }
}

/** Warm-up, then a measurement window (optionally split in intervals) of `count()`. */
async function measureWindow(
  ctx: ScenarioContext,
  count: () => number,
  intervalSeconds?: number,
  hooks?: { afterStart?: () => void; beforeEnd?: () => void },
): Promise<{ rate: number; intervals: number[]; intervalCpu: IntervalCpu[]; cpu: CpuWindow }> {
  await sleep(ctx.warmup * 1000);
  const a: Snapshot = snapshot(ctx.brokerPid);
  const c0 = count();
  hooks?.afterStart?.();
  const intervals: number[] = [];
  const intervalCpu: IntervalCpu[] = [];
  if (intervalSeconds !== undefined && intervalSeconds > 0) {
    const n = Math.max(1, Math.round(ctx.seconds / intervalSeconds));
    let prevCount = c0;
    let prev = a;
    for (let k = 1; k <= n; k++) {
      const target = a.t + k * intervalSeconds * 1000;
      await sleep(Math.max(0, target - performance.now()));
      const c = count();
      const snap = snapshot(ctx.brokerPid);
      const w = cpuBetween(prev, snap);
      intervals.push((c - prevCount) / w.wallSeconds);
      intervalCpu.push({
        generator: w.generatorCpuSeconds / w.wallSeconds,
        broker: w.brokerCpuSeconds / w.wallSeconds,
        other: w.otherCpuSeconds / w.wallSeconds,
      });
      prevCount = c;
      prev = snap;
    }
  } else {
    await sleep(ctx.seconds * 1000);
  }
  hooks?.beforeEnd?.();
  const b = snapshot(ctx.brokerPid);
  const c1 = count();
  const cpu = cpuBetween(a, b);
  return { rate: (c1 - c0) / cpu.wallSeconds, intervals, intervalCpu, cpu };
}

// ---------------------------------------------------------------------------------------------
// S1: fan-in, QoS 0. N publishers on bench/<i>, one subscriber on bench/+.
// Each publisher keeps at most W messages beyond what the subscriber has received from it.

export async function s1FanIn(ctx: ScenarioContext): Promise<ScenarioResult> {
  const P = 100;
  const W = ctx.window;
  const minBatch = Math.max(1, Math.floor(W / 2));
  const common: Common = { ctx, clients: [], disconnects: 0, notes: [] };
  try {
    const sub = await openClient(ctx.port, 'bench-s1-sub');
    track(common, [sub]);
    await sub.subscribe(['bench/+'], 0);
    const pubs = await openClients(ctx.port, P, SETUP_CONCURRENCY, (i) => `bench-s1-pub-${i}`);
    track(common, pubs);
    const tmpl = pubs.map((_, i) => new PublishTemplate(`bench/${i}`, 0, i, W));
    const sent = new Float64Array(P);
    const forced = new Float64Array(P); // window floor after a stall (messages dropped by the broker)
    const tr = new SeqTracker(P);
    let running = true;
    let stalls = 0;
    const touched = new Uint8Array(P);
    const touchedList: number[] = [];

    const refill = (i: number): void => {
      const acked = Math.max(tr.expected[i]!, forced[i]!);
      const outstanding = sent[i]! - acked;
      if (outstanding > W - minBatch) return;
      const n = W - outstanding;
      pubs[i]!.write(tmpl[i]!.batch(n, sent[i]!));
      sent[i] = sent[i]! + n;
    };

    sub.onPacket = (buf, s, hl) => {
      if (buf[s]! >> 4 !== PUBLISH) return;
      const p = payloadOffset(buf, s, hl);
      const stream = buf.readUInt32BE(p + PAYLOAD_STREAM);
      if (stream >= P) return;
      if (tr.accept(stream, buf.readUInt32BE(p + PAYLOAD_SEQ)) && touched[stream] === 0) {
        touched[stream] = 1;
        touchedList.push(stream);
      }
    };
    sub.onChunkEnd = () => {
      for (const i of touchedList) {
        touched[i] = 0;
        if (running) refill(i);
      }
      touchedList.length = 0;
    };

    // Stall watchdog: a QoS 0 message the broker dropped would otherwise close a window for good.
    const lastExp = new Float64Array(P);
    const lastMove = new Float64Array(P).fill(performance.now());
    const watchdog = setInterval(() => {
      const now = performance.now();
      for (let i = 0; i < P; i++) {
        const e = tr.expected[i]!;
        if (e !== lastExp[i]) {
          lastExp[i] = e;
          lastMove[i] = now;
        } else if (running && sent[i]! > Math.max(e, forced[i]!) && now - lastMove[i]! > 2000) {
          stalls++;
          forced[i] = sent[i]!;
          lastMove[i] = now;
          refill(i);
        }
      }
    }, 250);

    try {
      for (let i = 0; i < P; i++) refill(i);
      const m = await measureWindow(ctx, () => tr.received);
      running = false;
      const remaining = (): number => {
        let r = 0;
        for (let i = 0; i < P; i++) r += sent[i]! - tr.expected[i]!;
        return r;
      };
      await drain(remaining, 3000, 1000);
      const totalSent = sent.reduce((a, b) => a + b, 0);
      if (stalls > 0) common.notes.push(`${stalls} publisher window stall(s): broker dropped QoS 0 messages`);
      return {
        scenario: 'S1',
        title: `fan-in QoS 0: ${P} publishers -> 1 subscriber on bench/+ (window ${W})`,
        metrics: [
          { key: 'rate', label: 'delivered msg/s', value: m.rate, unit: 'msg/s', higherIsBetter: true },
        ],
        lost: tr.gaps + remaining(),
        duplicated: tr.duplicated,
        disconnects: common.disconnects,
        cpu: m.cpu,
        notes: [...common.notes, `sent ${totalSent}, received ${tr.received}`],
      };
    } finally {
      clearInterval(watchdog);
    }
  } finally {
    for (const c of common.clients) c.close();
  }
}

// ---------------------------------------------------------------------------------------------
// S2: fan-out, QoS 0. One publisher on bench/fanout, N subscribers on it.
// The publisher keeps at most W messages beyond what the slowest subscriber has received.

export async function s2FanOut(ctx: ScenarioContext): Promise<ScenarioResult> {
  const S = 100;
  const W = ctx.window;
  const minBatch = Math.max(1, Math.floor(W / 2));
  const common: Common = { ctx, clients: [], disconnects: 0, notes: [] };
  try {
    const subs = await openClients(ctx.port, S, SETUP_CONCURRENCY, (i) => `bench-s2-sub-${i}`);
    track(common, subs);
    await boundedAll(S, SETUP_CONCURRENCY, (i) => subs[i]!.subscribe(['bench/fanout'], 0)).then((rs) => {
      for (const r of rs) if (r.status === 'rejected') throw r.reason;
    });
    const pub = await openClient(ctx.port, 'bench-s2-pub');
    track(common, [pub]);
    const tmpl = new PublishTemplate('bench/fanout', 0, 0, W);
    let sent = 0;
    let running = true;
    let stalls = 0;
    // One SeqTracker "stream" per subscriber (they all receive stream 0).
    const tr = new SeqTracker(S);
    const forced = new Float64Array(S);
    const seen = new Float64Array(S); // per-subscriber window position at its last read
    let minAcked = 0;

    const ackedOf = (k: number): number => Math.max(tr.expected[k]!, forced[k]!);
    const recomputeMin = (): void => {
      let m = Infinity;
      for (let k = 0; k < S; k++) {
        const a = ackedOf(k);
        if (a < m) m = a;
      }
      minAcked = m;
    };
    const refill = (): void => {
      const outstanding = sent - minAcked;
      if (outstanding > W - minBatch) return;
      const n = W - outstanding;
      pub.write(tmpl.batch(n, sent));
      sent += n;
    };

    subs.forEach((sub, k) => {
      sub.onPacket = (buf, s, hl) => {
        if (buf[s]! >> 4 !== PUBLISH) return;
        const p = payloadOffset(buf, s, hl);
        tr.accept(k, buf.readUInt32BE(p + PAYLOAD_SEQ));
      };
      sub.onChunkEnd = () => {
        const was = seen[k]!;
        seen[k] = ackedOf(k);
        if (was <= minAcked) {
          recomputeMin();
          if (running) refill();
        }
      };
    });

    const lastMin = { v: -1, t: performance.now() };
    const watchdog = setInterval(() => {
      const now = performance.now();
      if (minAcked !== lastMin.v) {
        lastMin.v = minAcked;
        lastMin.t = now;
      } else if (running && sent > minAcked && now - lastMin.t > 2000) {
        stalls++;
        for (let k = 0; k < S; k++) if (ackedOf(k) < sent) forced[k] = sent;
        for (let k = 0; k < S; k++) seen[k] = ackedOf(k);
        recomputeMin();
        lastMin.t = now;
        refill();
      }
    }, 250);

    try {
      refill();
      const m = await measureWindow(ctx, () => tr.received);
      running = false;
      const remaining = (): number => {
        let r = 0;
        for (let k = 0; k < S; k++) r += sent - tr.expected[k]!;
        return r;
      };
      await drain(remaining, 3000, 1000);
      if (stalls > 0) common.notes.push(`${stalls} window stall(s): broker dropped QoS 0 messages`);
      return {
        scenario: 'S2',
        title: `fan-out QoS 0: 1 publisher -> ${S} subscribers on one topic (window ${W})`,
        metrics: [
          { key: 'rate', label: 'deliveries/s (all subscribers)', value: m.rate, unit: 'msg/s', higherIsBetter: true },
        ],
        lost: tr.gaps + remaining(),
        duplicated: tr.duplicated,
        disconnects: common.disconnects,
        cpu: m.cpu,
        notes: [...common.notes, `published ${sent}, deliveries ${tr.received}`],
      };
    } finally {
      clearInterval(watchdog);
    }
  } finally {
    for (const c of common.clients) c.close();
  }
}

// ---------------------------------------------------------------------------------------------
// QoS 1 publisher/subscriber pairs, shared by S3 (as fast as PUBACKs allow) and S4 (paced).

interface Pairs {
  n: number;
  pubs: Client[];
  subs: Client[];
  tmpl: PublishTemplate[];
  sent: Float64Array;
  tr: SeqTracker;
  /** per publisher: stack of free packet ids, [0, top) */
  freeIds: Uint16Array[];
  top: Uint32Array;
  /** per publisher: PUBACKs received */
  acked: Float64Array;
}

async function openPairs(common: Common, n: number, inflight: number, prefix: string): Promise<Pairs> {
  const { ctx } = common;
  const subs = await openClients(ctx.port, n, SETUP_CONCURRENCY, (i) => `${prefix}-sub-${i}`);
  track(common, subs);
  const rs = await boundedAll(n, SETUP_CONCURRENCY, (i) => subs[i]!.subscribe([`bench/pair/${i}`], 1));
  for (const r of rs) if (r.status === 'rejected') throw r.reason;
  const pubs = await openClients(ctx.port, n, SETUP_CONCURRENCY, (i) => `${prefix}-pub-${i}`);
  track(common, pubs);
  const freeIds: Uint16Array[] = [];
  for (let i = 0; i < n; i++) {
    const ids = new Uint16Array(inflight);
    for (let k = 0; k < inflight; k++) ids[k] = k + 1;
    freeIds.push(ids);
  }
  return {
    n,
    pubs,
    subs,
    tmpl: pubs.map((_, i) => new PublishTemplate(`bench/pair/${i}`, 1, i, inflight)),
    sent: new Float64Array(n),
    tr: new SeqTracker(n),
    freeIds,
    top: new Uint32Array(n).fill(inflight),
    acked: new Float64Array(n),
  };
}

/** Publisher side: PUBACK frees its packet id. `onAcks(i)` runs once per read that had PUBACKs. */
function handlePubacks(p: Pairs, onAcks: (i: number) => void): void {
  p.pubs.forEach((pub, i) => {
    const ids = p.freeIds[i]!;
    let got = false;
    pub.onPacket = (buf, s) => {
      if (buf[s]! >> 4 !== PUBACK) return;
      const t = p.top[i]!;
      if (t < ids.length) {
        ids[t] = (buf[s + 2]! << 8) | buf[s + 3]!;
        p.top[i] = t + 1;
      }
      p.acked[i] = p.acked[i]! + 1;
      got = true;
    };
    pub.onChunkEnd = () => {
      if (got) {
        got = false;
        onAcks(i);
      }
    };
  });
}

/** Sends n messages from publisher i using n free packet ids (caller checks n <= top). */
function sendFromPair(p: Pairs, i: number, n: number, time?: number): void {
  const t = p.top[i]! - n;
  p.pubs[i]!.write(p.tmpl[i]!.batch(n, p.sent[i]!, p.freeIds[i]!, t, time));
  p.top[i] = t;
  p.sent[i] = p.sent[i]! + n;
}

/** Subscriber side: check sequence, PUBACK everything (one write per read). */
function handleDeliveries(p: Pairs, onMessage?: (buf: Buffer, payload: number) => void): void {
  p.subs.forEach((sub, i) => {
    const acks = new AckBatcher();
    sub.onPacket = (buf, s, hl) => {
      if (buf[s]! >> 4 !== PUBLISH) return;
      const po = payloadOffset(buf, s, hl);
      if ((buf[s]! & 0x06) !== 0) {
        acks.add(publishId(buf, s, hl));
        if (acks.full) acks.flush(sub);
      }
      if (p.tr.accept(i, buf.readUInt32BE(po + PAYLOAD_SEQ)) && onMessage !== undefined) onMessage(buf, po);
    };
    sub.onChunkEnd = () => acks.flush(sub);
  });
}

// S3: N pairs at QoS 1, each publisher keeps INFLIGHT unacknowledged PUBLISHes (a new one per PUBACK).

export async function s3Pairs(ctx: ScenarioContext): Promise<ScenarioResult> {
  const N = 100;
  const INFLIGHT = 64;
  const common: Common = { ctx, clients: [], disconnects: 0, notes: [] };
  try {
    const p = await openPairs(common, N, INFLIGHT, 'bench-s3');
    let running = true;
    let maxBacklog = 0;
    handleDeliveries(p);
    handlePubacks(p, (i) => {
      if (running) sendFromPair(p, i, p.top[i]!);
    });
    const backlog = (): number => {
      let m = 0;
      for (let i = 0; i < N; i++) m = Math.max(m, p.sent[i]! - p.tr.expected[i]!);
      return m;
    };
    const sampler = setInterval(() => {
      maxBacklog = Math.max(maxBacklog, backlog());
    }, 100);
    try {
      for (let i = 0; i < N; i++) sendFromPair(p, i, INFLIGHT);
      const m = await measureWindow(ctx, () => p.tr.received, ctx.interval);
      running = false;
      const remaining = (): number => {
        let r = 0;
        for (let i = 0; i < N; i++) r += p.sent[i]! - p.tr.expected[i]!;
        return r;
      };
      const backlogAtStop = remaining();
      await drain(remaining, 10_000, 3000);
      const totalSent = p.sent.reduce((a, b) => a + b, 0);
      const totalAcked = p.acked.reduce((a, b) => a + b, 0);
      return {
        scenario: 'S3',
        title: `${N} QoS 1 publisher/subscriber pairs, ${INFLIGHT} in flight each`,
        metrics: [
          { key: 'rate', label: 'delivered msg/s', value: m.rate, unit: 'msg/s', higherIsBetter: true },
          { key: 'first', label: 'first interval msg/s', value: m.intervals[0] ?? NaN, unit: 'msg/s', higherIsBetter: true },
          { key: 'last', label: 'last interval msg/s', value: m.intervals[m.intervals.length - 1] ?? NaN, unit: 'msg/s', higherIsBetter: true },
          { key: 'backlog', label: 'max backlog per pair (sent - received)', value: maxBacklog, unit: 'msgs', higherIsBetter: false },
        ],
        lost: p.tr.gaps + remaining(),
        duplicated: p.tr.duplicated,
        disconnects: common.disconnects,
        intervals: m.intervals,
        intervalCpu: m.intervalCpu,
        cpu: m.cpu,
        notes: [
          ...common.notes,
          `sent ${totalSent}, PUBACKed ${totalAcked}, delivered ${p.tr.received}; ${backlogAtStop} undelivered when publishing stopped`,
          `generator socket writes ${ioStats.writes}: ${ioStats.writes - ioStats.ackWrites} PUBLISH batches (${(totalSent / Math.max(1, ioStats.writes - ioStats.ackWrites)).toFixed(1)} msgs each), ${ioStats.ackWrites} PUBACK batches (${(ioStats.acks / Math.max(1, ioStats.ackWrites)).toFixed(1)} acks each)`,
        ],
      };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    for (const c of common.clients) c.close();
  }
}

// ---------------------------------------------------------------------------------------------
// S4: end-to-end latency, QoS 1 pairs at a fixed total rate, paced by a 1 ms timer.

export async function s4Latency(ctx: ScenarioContext): Promise<ScenarioResult> {
  const N = 10;
  const INFLIGHT = 64;
  const rate = ctx.rate;
  const common: Common = { ctx, clients: [], disconnects: 0, notes: [] };
  try {
    const p = await openPairs(common, N, INFLIGHT, 'bench-s4');
    const capacity = Math.ceil(rate * (ctx.seconds + 1) * 1.2) + 1000;
    const samples = new Float64Array(capacity);
    let nSamples = 0;
    let recording = false;
    let recvNow = 0;
    const pending = new Float64Array(N); // messages due but not yet sent (no free packet id)
    let deferred = 0;

    handleDeliveries(p, (buf, po) => {
      if (!recording || nSamples >= capacity) return;
      samples[nSamples++] = recvNow - buf.readDoubleBE(po + PAYLOAD_TIME);
    });
    // The receive time is taken once per read, before its packets are parsed.
    for (const sub of p.subs) {
      const inner = sub.onPacket;
      let first = true;
      sub.onPacket = (buf, s, hl, total) => {
        if (first) {
          recvNow = performance.now();
          first = false;
        }
        inner(buf, s, hl, total);
      };
      const innerEnd = sub.onChunkEnd;
      sub.onChunkEnd = () => {
        first = true;
        innerEnd?.();
      };
    }
    const flushPair = (i: number): void => {
      const want = pending[i]!;
      if (want <= 0) return;
      const n = Math.min(want, p.top[i]!);
      if (n < want) deferred += want - n;
      if (n > 0) {
        sendFromPair(p, i, n, performance.now());
        pending[i] = want - n;
      }
    };
    handlePubacks(p, flushPair);

    let scheduled = 0;
    let rr = 0;
    const t0 = performance.now();
    let running = true;
    const pacer = setInterval(() => {
      if (!running) return;
      const due = Math.floor(((performance.now() - t0) * rate) / 1000) - scheduled;
      if (due <= 0) return;
      scheduled += due;
      for (let k = 0; k < due; k++) {
        pending[rr] = pending[rr]! + 1;
        rr = (rr + 1) % N;
      }
      for (let i = 0; i < N; i++) flushPair(i);
    }, 1);

    let m: Awaited<ReturnType<typeof measureWindow>>;
    try {
      // Latency samples are taken inside the CPU window but not in the first 50 ms after its start
      // snapshot: reading /proc blocks this event loop briefly, which would show up as latency.
      let startRecording: NodeJS.Timeout | undefined;
      m = await measureWindow(ctx, () => p.tr.received, undefined, {
        afterStart: () => {
          startRecording = setTimeout(() => {
            recording = true;
          }, 50);
        },
        beforeEnd: () => {
          clearTimeout(startRecording);
          recording = false;
        },
      });
    } finally {
      running = false;
      clearInterval(pacer);
    }
    const remaining = (): number => {
      let r = 0;
      for (let i = 0; i < N; i++) r += p.sent[i]! - p.tr.expected[i]!;
      return r;
    };
    await drain(remaining, 3000, 1000);
    const lat = samples.subarray(0, nSamples).sort();
    const pct = (q: number): number => (nSamples === 0 ? NaN : lat[Math.min(nSamples - 1, Math.floor(q * nSamples))]!);
    const mean = nSamples === 0 ? NaN : lat.reduce((a, b) => a + b, 0) / nSamples;
    if (deferred > 0) common.notes.push(`${deferred} sends deferred: ${INFLIGHT} PUBLISHes awaiting PUBACK`);
    return {
      scenario: 'S4',
      title: `latency: ${N} QoS 1 pairs at ${rate} msg/s total`,
      metrics: [
        { key: 'p50', label: 'latency p50', value: pct(0.5), unit: 'ms', higherIsBetter: false },
        { key: 'p99', label: 'latency p99', value: pct(0.99), unit: 'ms', higherIsBetter: false },
        { key: 'p999', label: 'latency p99.9', value: pct(0.999), unit: 'ms', higherIsBetter: false },
        { key: 'max', label: 'latency max', value: nSamples === 0 ? NaN : lat[nSamples - 1]!, unit: 'ms', higherIsBetter: false },
        { key: 'mean', label: 'latency mean', value: mean, unit: 'ms', higherIsBetter: false },
        { key: 'rate', label: 'achieved msg/s', value: m.rate, unit: 'msg/s', higherIsBetter: true },
      ],
      lost: p.tr.gaps + remaining(),
      duplicated: p.tr.duplicated,
      disconnects: common.disconnects,
      cpu: m.cpu,
      notes: [...common.notes, `${nSamples} latency samples`],
    };
  } finally {
    for (const c of common.clients) c.close();
  }
}

// ---------------------------------------------------------------------------------------------
// S5: idle connections: connect rate and broker memory per connection.

export async function s5Idle(ctx: ScenarioContext): Promise<ScenarioResult> {
  const N = ctx.connections;
  const C = ctx.connectConcurrency;
  const T = Math.max(1, Math.min(ctx.connectThreads, N));
  const notes: string[] = [];
  const workers: Worker[] = [];
  const inbox: Map<Worker, unknown[]> = new Map();
  const waiters: Map<Worker, ((m: unknown) => void)[]> = new Map();
  const next = (w: Worker, timeoutMs: number): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const q = inbox.get(w)!;
      if (q.length > 0) return resolve(q.shift());
      const timer = setTimeout(() => reject(new Error('S5 worker did not answer')), timeoutMs);
      waiters.get(w)!.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  try {
    await sleep(ctx.warmup * 1000); // let the freshly started broker settle before the baseline
    const rss0 = rssBytesOfTree(ctx.brokerPid);
    const overflows0 = tcpExtCounter('ListenOverflows');
    const a = snapshot(ctx.brokerPid);
    // T threads, each with its share of the connections and of the outstanding connects.
    for (let t = 0; t < T; t++) {
      const first = Math.floor((t * N) / T);
      const count = Math.floor(((t + 1) * N) / T) - first;
      const w = new Worker(new URL('./s5-worker.js', import.meta.url), {
        workerData: { port: ctx.port, first, count, concurrency: Math.max(1, Math.round(C / T)) },
      });
      inbox.set(w, []);
      waiters.set(w, []);
      w.on('message', (m: unknown) => {
        const ws = waiters.get(w)!;
        const fn = ws.shift();
        if (fn !== undefined) fn(m);
        else inbox.get(w)!.push(m);
      });
      w.on('error', (err) => notes.push(`S5 worker error: ${err.message}`));
      workers.push(w);
    }
    const connected = (await Promise.all(workers.map((w) => next(w, 120_000)))) as {
      ok: number;
      failed: number;
      firstError: string;
      connectMs: Float64Array;
    }[];
    const b = snapshot(ctx.brokerPid);
    const overflows = overflows0 < 0 ? -1 : tcpExtCounter('ListenOverflows') - overflows0;
    const cpu = cpuBetween(a, b);
    const ok = connected.reduce((x, r) => x + r.ok, 0);
    const failed = connected.reduce((x, r) => x + r.failed, 0);
    const firstError = connected.find((r) => r.firstError !== '')?.firstError ?? '';
    const times = Float64Array.from(connected.flatMap((r) => [...r.connectMs].filter((v) => Number.isFinite(v)))).sort();
    const q = (x: number): number => (times.length === 0 ? NaN : times[Math.min(times.length - 1, Math.floor(x * times.length))]!);

    // Let the broker finish whatever it does after CONNACK, check a sample of the connections is
    // still served (PINGREQ -> PINGRESP), then read its memory.
    await sleep(1000);
    for (const w of workers) w.postMessage('ping');
    const pongs = (await Promise.all(workers.map((w) => next(w, 10_000)))) as { sent: number; got: number }[];
    await sleep(200);
    const rss1 = rssBytesOfTree(ctx.brokerPid);
    for (const w of workers) w.postMessage('close');
    const closed = (await Promise.all(workers.map((w) => next(w, 10_000)))) as { disconnects: number }[];
    const disconnects = closed.reduce((x, r) => x + r.disconnects, 0);
    const sent = pongs.reduce((x, r) => x + r.sent, 0);
    const got = pongs.reduce((x, r) => x + r.got, 0);

    if (failed > 0) notes.push(`${failed} connection(s) failed: ${firstError}`);
    if (got < sent) notes.push(`only ${got}/${sent} sampled connections answered PINGREQ`);
    if (overflows > 0) {
      notes.push(
        `${overflows} TCP listen-queue overflow(s) during the connects (system-wide TcpExt ListenOverflows): ` +
          `the broker's accept backlog was full and those handshakes had to be retried`,
      );
    }
    return {
      scenario: 'S5',
      title: `${N} idle connections (keep-alive 60 s, ${C} connects outstanding, ${T} generator threads)`,
      metrics: [
        { key: 'rate', label: 'connect rate', value: ok / cpu.wallSeconds, unit: 'conn/s', higherIsBetter: true },
        { key: 'mem', label: 'broker memory per connection', value: ok > 0 ? (rss1 - rss0) / ok / 1024 : NaN, unit: 'KiB', higherIsBetter: false },
        { key: 'rss', label: `broker RSS with ${ok} connections`, value: rss1 / 1048576, unit: 'MiB', higherIsBetter: false },
        { key: 'c50', label: 'connect time (to CONNACK) p50', value: q(0.5), unit: 'ms', higherIsBetter: false },
        { key: 'c99', label: 'connect time (to CONNACK) p99', value: q(0.99), unit: 'ms', higherIsBetter: false },
        { key: 'overflows', label: 'TCP listen-queue overflows', value: overflows, unit: 'count', higherIsBetter: false },
      ],
      lost: 0,
      duplicated: 0,
      disconnects: disconnects + failed,
      cpu,
      notes: [...notes, `RSS before ${(rss0 / 1048576).toFixed(1)} MiB, after ${(rss1 / 1048576).toFixed(1)} MiB`],
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

export const SCENARIOS: Record<string, (ctx: ScenarioContext) => Promise<ScenarioResult>> = {
  S1: s1FanIn,
  S2: s2FanOut,
  S3: s3Pairs,
  S4: s4Latency,
  S5: s5Idle,
};
