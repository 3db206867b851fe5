// One question: how long does Router.match take with 10k and 100k filters, on a cache hit and a miss?
// Run: node [--expose-gc] dist/bench/topic-trie.bench.js   (about 4 s; prints ns/op, NATS-style aligned names)
//
// The filter set imitates a device fleet: per device, exact telemetry filters (most subscriptions on
// an IoT broker are exact), a `+` filter and a `#` filter, plus a few broad fleet-wide wildcards and
// some shared groups, so a topic typically matches a handful of subscriptions on several trie nodes.
import { performance } from 'node:perf_hooks';
import type { Router, Subscription } from '../src/mqtt/router/router.js';
import { TopicTrie } from '../src/mqtt/router/topic-trie.js';

const REGIONS = 8;
const METRICS = ['temperature', 'humidity', 'pressure', 'battery'];
const MEASURE_MS = 200;

function sub(clientId: string, topicFilter: string, shareName?: string): Subscription {
  const base = { clientId, topicFilter, qos: 1 as const, noLocal: false, retainAsPublished: false, retainHandling: 0 as const };
  return shareName === undefined ? base : { ...base, shareName };
}

function devicesFor(filters: number): number {
  return Math.ceil(filters / 7); // 7 filters per device, see build()
}

function build(filters: number, cacheSize: number): Router {
  const router = new TopicTrie({ hashMatchesParent: false, cacheSize });
  const devices = devicesFor(filters);
  let added = 0;
  for (let d = 0; d < devices && added < filters; d++) {
    const prefix = `fleet/r${d % REGIONS}/dev${d}`;
    const client = `dev${d}`;
    for (const metric of METRICS) {
      router.add(sub(client, `${prefix}/telemetry/${metric}`));
      added++;
    }
    router.add(sub(`app${d % 50}`, `${prefix}/+/temperature`));
    router.add(sub(`app${d % 50}`, `${prefix}/#`));
    router.add(sub(`worker${d % 4}`, `${prefix}/telemetry/+`, `g${d % 10}`));
    added += 3;
  }
  // A few broad subscriptions: every topic matches one or two of them.
  for (let r = 0; r < REGIONS; r++) router.add(sub(`region${r}`, `fleet/r${r}/+/telemetry/battery`));
  router.add(sub('audit', 'fleet/#', 'auditors'));
  router.add(sub('audit2', 'fleet/#', 'auditors'));
  return router;
}

function topicsFor(filters: number, count: number): string[] {
  const devices = devicesFor(filters);
  const topics: string[] = [];
  for (let i = 0; i < count; i++) {
    const d = (i * 7919) % devices; // spread over the fleet
    topics.push(`fleet/r${d % REGIONS}/dev${d}/telemetry/${METRICS[i % METRICS.length]}`);
  }
  return topics;
}

let sink = 0;

/** Runs op(i) in batches until MEASURE_MS have passed; returns ns per op. */
function measure(op: (i: number) => void): { ops: number; nsPerOp: number } {
  for (let i = 0; i < 20_000; i++) op(i); // warm-up (JIT)
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MEASURE_MS) {
    for (let k = 0; k < 5_000; k++) op(ops + k);
    ops += 5_000;
    elapsed = performance.now() - start;
  }
  return { ops, nsPerOp: (elapsed * 1e6) / ops };
}

function report(name: string, result: { ops: number; nsPerOp: number }): void {
  console.log(`${name.padEnd(52)} ${String(result.ops).padStart(10)} ops ${result.nsPerOp.toFixed(1).padStart(10)} ns/op`);
}

function count(router: Router, topic: string): void {
  const result = router.match(topic);
  sink += result.subscriptions.length + result.shared.length;
}

function run(filters: number): void {
  const label = filters >= 1000 ? `${filters / 1000}k` : String(filters);
  // Heap growth is only meaningful after a full GC: run with --expose-gc to see it.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const start = performance.now();
  const cached = build(filters, 4096);
  const buildMs = performance.now() - start;
  gc?.();
  const heap = gc === undefined ? '' : `, ${((process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024).toFixed(1)} MB heap`;
  console.log(`-- ${cached.size} subscriptions, built in ${buildMs.toFixed(0)} ms${heap}`);

  // Hit: 1000 distinct topics, all resident in a 4096-entry cache.
  const hot = topicsFor(filters, 1000);
  report(`Benchmark_match_${label}_filters_cache_hit`, measure((i) => count(cached, hot[i % hot.length] as string)));

  // Hit with a topic string fresh from the wire each time (its hash is not yet computed), against
  // the cost of the decode alone.
  const wire = hot.map((t) => Buffer.from(t));
  report(
    `Benchmark_decode_topic_only_${label}`,
    measure((i) => {
      sink += (wire[i % wire.length] as Buffer).toString('utf8').length;
    }),
  );
  report(
    `Benchmark_match_${label}_filters_cache_hit_fresh_string`,
    measure((i) => count(cached, (wire[i % wire.length] as Buffer).toString('utf8'))),
  );

  // Miss: 20 000 distinct topics cycled through the 4096-entry cache, so every lookup misses, walks
  // the trie, inserts and evicts.
  const cold = topicsFor(filters, 20_000);
  report(`Benchmark_match_${label}_filters_cache_miss`, measure((i) => count(cached, cold[i % cold.length] as string)));

  // No cache at all: the bare trie walk and result build.
  const uncached = build(filters, 0);
  report(`Benchmark_match_${label}_filters_no_cache`, measure((i) => count(uncached, cold[i % cold.length] as string)));

  // Subscribe/unsubscribe churn on exact filters (keeps the cache warm: targeted invalidation).
  report(
    `Benchmark_add_remove_exact_${label}_filters`,
    measure((i) => {
      const filter = `fleet/churn/dev${i % 1000}/cmd`;
      cached.add(sub(`churn${i % 1000}`, filter));
      cached.remove(`churn${i % 1000}`, filter);
    }),
  );
}

console.log(`topic-trie.bench: node ${process.version}, ${process.platform}/${process.arch}`);
for (const filters of [10_000, 100_000]) run(filters);
if (sink === -1) console.log('unreachable'); // keeps the results observable
