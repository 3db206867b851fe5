/** Shared types and measurement helpers for the scenarios. */
import { performance } from 'node:perf_hooks';
import { cpuSecondsOfTree, ownCpuSeconds, systemCpuSeconds } from './procstat.js';
import { ioStats } from './client.js';

export interface ScenarioContext {
  port: number;
  /** broker process id (CPU and memory are read from /proc for it and its descendants) */
  brokerPid: number;
  /** measurement window, seconds (S1, S2, S3, S4) */
  seconds: number;
  /** warm-up before the window, seconds */
  warmup: number;
  /** S3 reporting interval, seconds */
  interval: number;
  /** messages in flight per publisher beyond what its subscriber(s) received (S1, S2) */
  window: number;
  /** S5 connection count */
  connections: number;
  /** S5 outstanding connects (all threads together) */
  connectConcurrency: number;
  /** S5 generator threads opening connections */
  connectThreads: number;
  /** S4 total rate, msg/s */
  rate: number;
  log: (msg: string) => void;
}

export interface Metric {
  key: string;
  label: string;
  value: number;
  unit: string;
  /** true: higher is better (throughput); false: lower is better (latency, memory) */
  higherIsBetter: boolean;
}

export interface IntervalCpu {
  generator: number;
  broker: number;
  other: number;
}

export interface CpuWindow {
  wallSeconds: number;
  generatorCpuSeconds: number;
  brokerCpuSeconds: number;
  /** CPU seconds of other processes on the machine (disturbance: other people's builds, tests) */
  otherCpuSeconds: number;
  /** irq + softirq CPU seconds of the machine, mostly loopback TCP processing; this time is also
   *  counted in the CPU time of the process it interrupted (generator, broker) */
  irqCpuSeconds: number;
  /** generator socket writes and reads in the window */
  generatorWrites: number;
  generatorReads: number;
}

export interface ScenarioResult {
  scenario: string;
  title: string;
  metrics: Metric[];
  lost: number;
  duplicated: number;
  /** connections that closed unexpectedly */
  disconnects: number;
  /** S3: msg/s delivered in each interval */
  intervals?: number[];
  /** S3: CPU use (cores) of generator, broker and other processes in each interval */
  intervalCpu?: IntervalCpu[];
  cpu: CpuWindow;
  notes: string[];
  /** set by run.ts: other processes used noticeable CPU during the window */
  noisy?: boolean;
  /** set by run.ts: the generator used most of a core during the window */
  generatorBound?: boolean;
}

export interface Snapshot {
  t: number;
  gen: number;
  broker: number;
  tasks: number;
  irq: number;
  writes: number;
  reads: number;
}

export function snapshot(brokerPid: number): Snapshot {
  const sys = systemCpuSeconds();
  return {
    t: performance.now(),
    gen: ownCpuSeconds(),
    broker: cpuSecondsOfTree(brokerPid),
    tasks: sys.tasks,
    irq: sys.irq,
    writes: ioStats.writes,
    reads: ioStats.reads,
  };
}

export function cpuBetween(a: Snapshot, b: Snapshot): CpuWindow {
  const gen = b.gen - a.gen;
  const broker = b.broker - a.broker;
  return {
    wallSeconds: (b.t - a.t) / 1000,
    generatorCpuSeconds: gen,
    brokerCpuSeconds: broker,
    // Per-process times include the softirq work done in their context, so "other" is all busy
    // time of the machine minus ours.
    otherCpuSeconds: Math.max(0, b.tasks + b.irq - a.tasks - a.irq - gen - broker),
    irqCpuSeconds: b.irq - a.irq,
    generatorWrites: b.writes - a.writes,
    generatorReads: b.reads - a.reads,
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Per-stream sequence check: messages of one stream arrive in order (MQTT orders messages of one
 * publisher on one topic), so a sequence number above the expected one is a gap (lost), below it a
 * duplicate. `expected[i]` is the next sequence number stream i should deliver.
 */
export class SeqTracker {
  readonly expected: Float64Array;
  received = 0;
  gaps = 0;
  duplicated = 0;

  constructor(streams: number) {
    this.expected = new Float64Array(streams);
  }

  /** Returns true if the message is new (in order or after a gap). */
  accept(stream: number, seq: number): boolean {
    const e = this.expected[stream]!;
    if (seq === e) {
      this.expected[stream] = e + 1;
      this.received++;
      return true;
    }
    if (seq > e) {
      this.gaps += seq - e;
      this.expected[stream] = seq + 1;
      this.received++;
      return true;
    }
    this.duplicated++;
    return false;
  }
}
