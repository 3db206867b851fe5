/**
 * Per-connection decision caches and their invalidation (ARCHITECTURE.md policy/, STYLE.md 8.2).
 *
 * One `PolicyGeneration` is shared by all connections; any change that can alter a decision (a
 * policy version, a default version, an attachment, a thing group, a thing's attributes or
 * attachment, a certificate) calls `bump()`: O(1), no walk over connections. Each connection's
 * `DecisionCache` remembers the generation its compiled set and entries belong to; on its next
 * decision it sees the number moved, asks its `compile` callback for a fresh set and drops its
 * entries (NATS genid, EMQX authz cache). Nothing is re-checked until the connection asks again.
 *
 *   generation 7 ──bump()──▶ 8
 *   conn A: {gen 7, set, entries}  ─decide()─▶ 7 ≠ 8 → compile(), clear, gen 8, decide
 *   conn B: idle, stays at 7 until it next decides
 *
 * Entries: one Map per action keyed by resource name (the topic, filter or client id as the hook
 * got it: no ARN is built and no key concatenated on the hot path), each bounded by `maxEntries`;
 * past the bound the oldest entry goes (Map keeps insertion order).
 * Decisions that consulted per-request keys (iot:Connect conditions) are never cached.
 */
import { actionIndex, iotActions } from './actions.js';
import type { CompiledPolicySet, Decision } from './compile.js';
import type { RequestContext } from './context.js';
import { decideName } from './evaluate.js';

/** A counter every decision cache watches; bump it on any policy, attachment or certificate change. */
export class PolicyGeneration {
  #value = 0;
  get current(): number {
    return this.#value;
  }
  bump(): number {
    return ++this.#value;
  }
}

export interface DecisionCacheOptions {
  readonly generation: PolicyGeneration;
  /** Builds the connection's compiled set; called at first use and after each generation change. Must be synchronous. */
  readonly compile: () => CompiledPolicySet;
  /** Cached decisions per action (default 256; 0 disables caching). */
  readonly maxEntries?: number;
}

const unknownAction: Decision = Object.freeze({ allowed: false, reason: 'no-matching-allow' });

export class DecisionCache {
  readonly #generation: PolicyGeneration;
  readonly #compile: () => CompiledPolicySet;
  readonly #maxEntries: number;
  #seen = -1;
  #compiled: CompiledPolicySet | undefined;
  #maps: Map<string, Decision>[] = [];
  /** Counters for metrics and tests. */
  hits = 0;
  misses = 0;
  compiles = 0;

  constructor(options: DecisionCacheOptions) {
    this.#generation = options.generation;
    this.#compile = options.compile;
    this.#maxEntries = options.maxEntries ?? 256;
  }

  /** The compiled set for the current generation (compiling if the generation moved). */
  get compiled(): CompiledPolicySet {
    const g = this.#generation.current;
    if (g !== this.#seen || this.#compiled === undefined) this.#refresh(g);
    return this.#compiled!;
  }

  #refresh(g: number): void {
    this.#compiled = this.#compile();
    this.#seen = g;
    this.#maps = iotActions.map(() => new Map<string, Decision>());
    this.compiles++;
  }

  /**
   * `decideName` (evaluate.ts) on this connection's compiled set, cached: `resourceName` is the
   * topic (Publish, Receive, RetainPublish), the literal topic filter (Subscribe), the client id
   * (Connect) or the thing[/shadow] name (shadow actions).
   */
  decideName(action: string, resourceName: string, request?: RequestContext): Decision {
    const g = this.#generation.current;
    if (g !== this.#seen || this.#compiled === undefined) this.#refresh(g);
    const compiled = this.#compiled!;
    const i = actionIndex(action);
    if (i < 0) return unknownAction;
    if (this.#maxEntries === 0 || !compiled.plans[i]!.cacheable) return decideName(compiled, action, resourceName, request);
    const map = this.#maps[i]!;
    const hit = map.get(resourceName);
    if (hit !== undefined) {
      this.hits++;
      return hit;
    }
    this.misses++;
    const d = decideName(compiled, action, resourceName, request);
    if (map.size >= this.#maxEntries) map.delete(map.keys().next().value!);
    map.set(resourceName, d);
    return d;
  }

  /** Drops this connection's compiled set and entries (the next decision recompiles). */
  invalidate(): void {
    this.#compiled = undefined;
  }

  /** Cached decisions, all actions together. */
  get size(): number {
    let n = 0;
    for (const m of this.#maps) n += m.size;
    return n;
  }
}
