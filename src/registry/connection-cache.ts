/**
 * The in-memory cache behind `thingForConnection` (the broker's connect path asks it once per
 * CONNECT). Keyed by (principal, client id); holds misses too, because most connections of a fleet
 * without things would otherwise cost two store reads each.
 *
 * Invalidation, called by the service after each committed change:
 *   - attach/detach of principal P        → every entry of P;
 *   - update/delete of thing T            → every entry that resolved to T, or whose client id is T
 *                                            (a miss for client id T may turn into a hit).
 * Creating a thing changes no binding (nothing is attached to it yet), so it invalidates nothing.
 *
 * A load that was running while an invalidation happened must not store what it read (it may have
 * read before the commit): every invalidation bumps `generation`, and a load stores its result only
 * when the generation is the one it started with. That is coarse (any change discards all loads in
 * flight) and cheap; changes are rare next to connects.
 *
 * Bounded: beyond `maxEntries` the oldest entry goes (Map iteration order is insertion order).
 * Per process: changes made by another process (a future clustered node) are not seen here.
 */
import type { ConnectionThing } from './model.js';

interface Entry {
  readonly principal: string;
  readonly clientId: string;
  readonly value: ConnectionThing | undefined;
}

export class ConnectionThingCache {
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Entry>();
  /** principal → keys. */
  readonly #byPrincipal = new Map<string, Set<string>>();
  /** thing name (resolved thing or client id) → keys. */
  readonly #byThing = new Map<string, Set<string>>();
  #generation = 0;

  constructor(maxEntries: number) {
    this.#maxEntries = Math.max(0, maxEntries);
  }

  get generation(): number {
    return this.#generation;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** `{ hit: false }` when not cached; `value` may be undefined (a cached miss). */
  get(principal: string, clientId: string): { hit: true; value: ConnectionThing | undefined } | { hit: false } {
    const entry = this.#entries.get(key(principal, clientId));
    return entry === undefined ? { hit: false } : { hit: true, value: entry.value };
  }

  /** Stores a load's result unless an invalidation happened since `generation` was read. */
  set(principal: string, clientId: string, value: ConnectionThing | undefined, generation: number): void {
    if (generation !== this.#generation || this.#maxEntries === 0) return;
    const k = key(principal, clientId);
    this.#remove(k);
    this.#entries.set(k, { principal, clientId, value });
    index(this.#byPrincipal, principal, k);
    index(this.#byThing, clientId, k);
    if (value !== undefined && value.thingName !== clientId) index(this.#byThing, value.thingName, k);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#remove(oldest.value);
    }
  }

  invalidatePrincipal(principal: string): void {
    this.#generation++;
    for (const k of [...(this.#byPrincipal.get(principal) ?? [])]) this.#remove(k);
  }

  invalidateThing(thingName: string): void {
    this.#generation++;
    for (const k of [...(this.#byThing.get(thingName) ?? [])]) this.#remove(k);
  }

  clear(): void {
    this.#generation++;
    this.#entries.clear();
    this.#byPrincipal.clear();
    this.#byThing.clear();
  }

  #remove(k: string): void {
    const entry = this.#entries.get(k);
    if (entry === undefined) return;
    this.#entries.delete(k);
    unindex(this.#byPrincipal, entry.principal, k);
    unindex(this.#byThing, entry.clientId, k);
    if (entry.value !== undefined) unindex(this.#byThing, entry.value.thingName, k);
  }
}

/** NUL cannot occur in a principal or an MQTT client id, so the pair maps to one key unambiguously. */
function key(principal: string, clientId: string): string {
  return `${principal}\u0000${clientId}`;
}

function index(map: Map<string, Set<string>>, name: string, k: string): void {
  let set = map.get(name);
  if (set === undefined) {
    set = new Set();
    map.set(name, set);
  }
  set.add(k);
}

function unindex(map: Map<string, Set<string>>, name: string, k: string): void {
  const set = map.get(name);
  if (set === undefined) return;
  set.delete(k);
  if (set.size === 0) map.delete(name);
}
