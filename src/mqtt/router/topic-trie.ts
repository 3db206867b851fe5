/**
 * The local Router: a trie of topic-filter levels with a per-topic match cache.
 *
 * ## Shape
 *
 * Each node is one filter level. A node has literal children (a Map keyed by level text, the empty
 * level included), and two special children kept in fields, not in the Map, so matching never hashes
 * `'+'` or `'#'`: `plus` (a `+` level) and `hash` (a `#` level, always a leaf). The subscriptions whose
 * filter ends at a node hang on that node: ordinary ones keyed by clientId, shared ones grouped by
 * ShareName (a group is `<shareName>/<topicFilter>`, and its filter is exactly the path to the node, so
 * a group lives on exactly one node).
 *
 * Worked example: filters `a/b`, `a/+`, `a/#`, `+/b`, `#` and `$share/g/a/b` build
 *
 * ```
 * root ─ a ─┬─ b      {ordinary: a/b; group g/a/b}
 *           ├─ (+)    {a/+}
 *           └─ (#)    {a/#}
 *      ├─ (+) ─ b     {+/b}
 *      └─ (#)         {#}
 * ```
 *
 * Matching topic `a/b` (levels `[a, b]`, i = levels consumed):
 * - root, i=0: `#` matches (more levels remain) → `#`; follow `+` and the literal `a`.
 *   - `+`, i=1: no `#` child; its literal child `b` → at i=2 = end → `+/b`.
 *   - `a`, i=1: `#` → `a/#`; `+` → at end → `a/+`; literal `b` → at end → `a/b` and group g/a/b.
 * Result: subscriptions of `#`, `+/b`, `a/#`, `a/+`, `a/b`; shared: group `g/a/b`.
 *
 * Matching `a`: at root `#` matches, `+` leads to the `+` node at the end (which holds nothing), `a`
 * reaches the end. At the end of the topic, a node's own subscriptions match, and so does its `#`
 * child when `hashMatchesParent` (MQTT section 4.7.1.2: `a/#` matches `a`); with it false (AWS,
 * spec/mqtt.md section 9) `a/#` needs at least one more level, so it matches `a/` but not `a`.
 *
 * `$` topics: at the root only, `+` and `#` are not followed when the first level starts with `$`
 * [MQTT-4.7.2-1]; `$SYS/#` still matches `$SYS/x` through the literal child `$SYS`.
 *
 * ## Complexity
 *
 * add/remove: O(L) Map operations for a filter of L levels, plus rebuilding the snapshot array of the
 * one node (or group) that changed, O(subscribers on that filter). remove() prunes every node left
 * empty on the way back up, so the trie's size follows the live subscriptions, not their history.
 *
 * match, uncached: one `split('/')`, then a walk that branches at most three ways per level (literal,
 * `+`, `#`) but only where the trie has such children, so the cost is O(number of trie nodes whose
 * filter prefix matches the topic), independent of the total number of filters; plus O(k) to build
 * the result when k subscriptions on more than one node match (one matching node: its snapshot array
 * is returned as is, no copy).
 *
 * match, cached: one Map lookup on the topic string (two when the entry is in the older
 * generation); no allocation once the entry is in the current generation.
 *
 * ## Cache
 *
 * Two generations of Map<topic, MatchResult>, each holding at most cacheSize / 2 topics (rounded
 * up): new entries go into `current`; when it is full it becomes `previous` and the old `previous` is
 * dropped whole. A hit in `previous` is copied into `current`, so topics in use survive rotation: an
 * approximate LRU at O(1) per operation. Not one Map with delete-the-oldest: V8 leaves a deleted
 * entry as a hole until the table is rebuilt, so finding the oldest live key with `keys().next()`
 * skips an ever longer run of holes (measured: a miss cost twice the uncached walk). Not a strict LRU:
 * moving an entry to the back on every hit costs a delete and an insert on the hot path.
 *
 * Invalidation (the split NATS's sublist makes too):
 * - adding or removing a filter with no wildcard can only change the result for the topic equal to
 *   it: that one entry is deleted (O(1)), so per-device subscribe churn keeps the rest of the cache;
 * - a wildcard filter may change any entry: the cache is cleared.
 *
 * Results (and the arrays inside them) are shared between callers and with the cache, and are frozen:
 * callers must not mutate them, and must not hold them across an add/remove expecting them to change.
 */
import type { MatchResult, Router, RouterOptions, SharedGroupMatch, Subscription } from './router.js';

export const DEFAULT_MATCH_CACHE_SIZE = 4096;

const EMPTY_SUBSCRIPTIONS: readonly Subscription[] = Object.freeze([]);
const EMPTY_SHARED: readonly SharedGroupMatch[] = Object.freeze([]);
const EMPTY_RESULT: MatchResult = Object.freeze({ subscriptions: EMPTY_SUBSCRIPTIONS, shared: EMPTY_SHARED });

const DOLLAR = 0x24;

/** The per-topic match cache (see "Cache" in the header). */
class MatchCache {
  private current = new Map<string, MatchResult>();
  private previous = new Map<string, MatchResult>();

  constructor(private readonly generationSize: number) {}

  /** Entries held, counting a topic copied from previous into current twice (so an upper bound). */
  get size(): number {
    return this.current.size + this.previous.size;
  }

  get(topic: string): MatchResult | undefined {
    const hit = this.current.get(topic);
    if (hit !== undefined) return hit;
    const old = this.previous.get(topic);
    if (old !== undefined) this.set(topic, old);
    return old;
  }

  set(topic: string, result: MatchResult): void {
    if (this.current.size >= this.generationSize) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(topic, result);
  }

  delete(topic: string): void {
    this.current.delete(topic);
    this.previous.delete(topic);
  }

  clear(): void {
    this.current.clear();
    this.previous.clear();
  }
}

/** Members of one shared group, with a frozen snapshot rebuilt lazily after a change. */
class SharedGroup {
  readonly members = new Map<string, Subscription>();
  private snapshot: SharedGroupMatch | undefined;

  constructor(readonly group: string) {}

  match(): SharedGroupMatch {
    if (this.snapshot === undefined) {
      this.snapshot = Object.freeze({ group: this.group, members: Object.freeze([...this.members.values()]) });
    }
    return this.snapshot;
  }

  changed(): void {
    this.snapshot = undefined;
  }
}

class TrieNode {
  /** Literal levels below this one (the empty level included). Created on first use. */
  children: Map<string, TrieNode> | undefined = undefined;
  plus: TrieNode | undefined = undefined;
  /** `#` is always a filter's last level, so this node never has children of its own. */
  hash: TrieNode | undefined = undefined;
  /** Ordinary subscriptions whose filter ends here, by clientId. */
  subscriptions: Map<string, Subscription> | undefined = undefined;
  /** Shared groups whose filter ends here, by shareName. */
  groups: Map<string, SharedGroup> | undefined = undefined;
  private subscriptionsSnapshot: readonly Subscription[] | undefined = undefined;
  private groupsSnapshot: readonly SharedGroupMatch[] | undefined = undefined;
  /** The result when this node is the only one matching a topic (the common exact-filter case). */
  private resultSnapshot: MatchResult | undefined = undefined;

  /** True when this node holds any subscription (ordinary or shared). */
  get hasSubscriptions(): boolean {
    return this.subscriptions !== undefined || this.groups !== undefined;
  }

  get isEmpty(): boolean {
    return !this.hasSubscriptions && this.children === undefined && this.plus === undefined && this.hash === undefined;
  }

  subscriptionList(): readonly Subscription[] {
    if (this.subscriptions === undefined) return EMPTY_SUBSCRIPTIONS;
    this.subscriptionsSnapshot ??= Object.freeze([...this.subscriptions.values()]);
    return this.subscriptionsSnapshot;
  }

  groupList(): readonly SharedGroupMatch[] {
    if (this.groups === undefined) return EMPTY_SHARED;
    if (this.groupsSnapshot === undefined) {
      const list: SharedGroupMatch[] = [];
      for (const group of this.groups.values()) list.push(group.match());
      this.groupsSnapshot = Object.freeze(list);
    }
    return this.groupsSnapshot;
  }

  result(): MatchResult {
    this.resultSnapshot ??= Object.freeze({ subscriptions: this.subscriptionList(), shared: this.groupList() });
    return this.resultSnapshot;
  }

  changed(): void {
    this.subscriptionsSnapshot = undefined;
    this.groupsSnapshot = undefined;
    this.resultSnapshot = undefined;
  }
}

/**
 * Topic trie implementing the Router interface (see the file header for the algorithm). Filters are
 * expected to be validated already (topic.ts validateTopicFilter); add() only refuses a `#` that is
 * not the last level, since it would build nodes no topic can reach.
 */
export class TopicTrie implements Router {
  readonly hashMatchesParent: boolean;
  readonly cacheSize: number;
  private readonly root = new TrieNode();
  /** Undefined when cacheSize is 0. */
  private readonly cache: MatchCache | undefined;
  private count = 0;
  /**
   * Nodes that matched during the current uncached match, the first `count` entries (a counter, not
   * `length = 0`, which is a runtime call); reused between calls since match is synchronous.
   */
  private readonly scratch: (TrieNode | undefined)[] = [];
  /** collect()'s explicit stack: pending (node, levels consumed) pairs; reused between calls. */
  private readonly stackNodes: (TrieNode | undefined)[] = [];
  private readonly stackDepths: number[] = [];

  constructor(options: RouterOptions) {
    this.hashMatchesParent = options.hashMatchesParent;
    const cacheSize = options.cacheSize ?? DEFAULT_MATCH_CACHE_SIZE;
    this.cacheSize = Number.isFinite(cacheSize) && cacheSize > 0 ? Math.floor(cacheSize) : 0;
    this.cache = this.cacheSize > 0 ? new MatchCache(Math.ceil(this.cacheSize / 2)) : undefined;
  }

  get size(): number {
    return this.count;
  }

  /** Entries in the match cache, at most cacheSize rounded up to even (tests and metrics). */
  get cachedTopics(): number {
    return this.cache?.size ?? 0;
  }

  /** Trie nodes, the root included; walks the whole trie (tests and diagnostics, not the hot path). */
  countNodes(): number {
    let count = 0;
    const pending: TrieNode[] = [this.root];
    for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
      count++;
      if (node.plus !== undefined) pending.push(node.plus);
      if (node.hash !== undefined) pending.push(node.hash);
      if (node.children !== undefined) for (const child of node.children.values()) pending.push(child);
    }
    return count;
  }

  add(subscription: Subscription): void {
    const filter = subscription.topicFilter;
    const levels = filter.split('/');
    const last = levels.length - 1;
    const hashAt = levels.indexOf('#');
    if (hashAt >= 0 && hashAt !== last) throw new RangeError(`'#' must be the last level of a topic filter: ${filter}`);
    let node = this.root;
    for (let i = 0; i <= last; i++) {
      const level = levels[i] as string;
      if (level === '+') {
        node = node.plus ??= new TrieNode();
      } else if (level === '#') {
        node = node.hash ??= new TrieNode();
      } else {
        const children = (node.children ??= new Map());
        let child = children.get(level);
        if (child === undefined) {
          child = new TrieNode();
          children.set(level, child);
        }
        node = child;
      }
    }

    const { clientId, shareName } = subscription;
    let existed: boolean;
    if (shareName === undefined) {
      const subscriptions = (node.subscriptions ??= new Map());
      existed = subscriptions.has(clientId);
      subscriptions.set(clientId, subscription);
    } else {
      const groups = (node.groups ??= new Map());
      let group = groups.get(shareName);
      if (group === undefined) {
        group = new SharedGroup(`${shareName}/${filter}`);
        groups.set(shareName, group);
      }
      existed = group.members.has(clientId);
      group.members.set(clientId, subscription); // replaces: new options for the same member
      group.changed();
    }
    node.changed();
    if (!existed) this.count++;
    this.invalidate(filter);
  }

  remove(clientId: string, topicFilter: string, shareName?: string): boolean {
    const levels = topicFilter.split('/');
    // The path from the root, to prune on the way back up.
    const path: TrieNode[] = [];
    let node: TrieNode | undefined = this.root;
    for (let i = 0; i < levels.length && node !== undefined; i++) {
      path.push(node);
      const level = levels[i] as string;
      node = level === '+' ? node.plus : level === '#' ? node.hash : node.children?.get(level);
    }
    if (node === undefined) return false;

    if (shareName === undefined) {
      if (node.subscriptions?.delete(clientId) !== true) return false;
      if (node.subscriptions.size === 0) node.subscriptions = undefined;
    } else {
      const group = node.groups?.get(shareName);
      if (group === undefined || !group.members.delete(clientId)) return false;
      group.changed();
      if (group.members.size === 0) {
        node.groups?.delete(shareName);
        if (node.groups?.size === 0) node.groups = undefined;
      }
    }
    node.changed();
    this.count--;
    this.prune(path, levels, node);
    this.invalidate(topicFilter);
    return true;
  }

  match(topic: string): MatchResult {
    const cache = this.cache;
    if (cache !== undefined) {
      const cached = cache.get(topic);
      if (cached !== undefined) return cached;
    }
    const count = this.collect(topic.split('/'), topic.charCodeAt(0) === DOLLAR);
    const result = this.build(count);
    this.scratch.fill(undefined, 0, count); // hold no pruned node
    cache?.set(topic, result);
    return result;
  }

  /**
   * Puts into scratch every node with subscriptions whose filter matches the topic and returns how
   * many there are. Iterative, with
   * a reused explicit stack, not recursive: a filter may have tens of thousands of levels when no
   * slash limit is configured, and recursion that deep would overflow the call stack.
   */
  private collect(levels: readonly string[], dollar: boolean): number {
    const scratch = this.scratch;
    let count = 0;
    const stackNodes = this.stackNodes;
    const stackDepths = this.stackDepths;
    const n = levels.length;
    const hashMatchesParent = this.hashMatchesParent;
    stackNodes[0] = this.root;
    stackDepths[0] = 0;
    let top = 1;
    while (top > 0) {
      top--;
      const node = stackNodes[top] as TrieNode;
      const i = stackDepths[top] as number;
      stackNodes[top] = undefined; // hold no pruned node
      if (i === n) {
        if (node.hasSubscriptions) scratch[count++] = node;
        // `a/#` matches `a` only under MQTT section 4.7.1.2; AWS needs one more level.
        if (hashMatchesParent && node.hash !== undefined) scratch[count++] = node.hash;
        continue;
      }
      // [MQTT-4.7.2-1] a filter starting with a wildcard never matches a `$` topic.
      if (i !== 0 || !dollar) {
        if (node.hash !== undefined) scratch[count++] = node.hash;
        if (node.plus !== undefined) {
          stackNodes[top] = node.plus;
          stackDepths[top++] = i + 1;
        }
      }
      const child = node.children?.get(levels[i] as string);
      if (child !== undefined) {
        stackNodes[top] = child;
        stackDepths[top++] = i + 1;
      }
    }
    return count;
  }

  /**
   * Turns the first `count` matched nodes into a result. When one node alone contributes ordinary
   * subscriptions (or groups), its snapshot array is used as is; otherwise the arrays are concatenated
   * into one allocated at its final length.
   */
  private build(count: number): MatchResult {
    if (count === 0) return EMPTY_RESULT;
    const nodes = this.scratch;
    if (count === 1) return (nodes[0] as TrieNode).result();
    let subscriptionTotal = 0;
    let subscriptionSources = 0;
    let subscriptions: readonly Subscription[] = EMPTY_SUBSCRIPTIONS;
    let groupTotal = 0;
    let groupSources = 0;
    let shared: readonly SharedGroupMatch[] = EMPTY_SHARED;
    for (let k = 0; k < count; k++) {
      const node = nodes[k] as TrieNode;
      const own = node.subscriptionList();
      if (own.length > 0) {
        subscriptionTotal += own.length;
        subscriptionSources++;
        subscriptions = own;
      }
      const groups = node.groupList();
      if (groups.length > 0) {
        groupTotal += groups.length;
        groupSources++;
        shared = groups;
      }
    }
    if (subscriptionSources > 1) subscriptions = concat(nodes, count, subscriptionTotal, subscriptionListOf);
    if (groupSources > 1) shared = concat(nodes, count, groupTotal, groupListOf);
    return Object.freeze({ subscriptions, shared });
  }

  /** Detaches empty nodes from the removed filter's last node back towards the root. */
  private prune(path: readonly TrieNode[], levels: readonly string[], leaf: TrieNode): void {
    let node = leaf;
    for (let i = path.length - 1; i >= 0 && node.isEmpty; i--) {
      const parent = path[i] as TrieNode;
      const level = levels[i] as string;
      if (level === '+') parent.plus = undefined;
      else if (level === '#') parent.hash = undefined;
      else if (parent.children !== undefined) {
        parent.children.delete(level);
        if (parent.children.size === 0) parent.children = undefined;
      }
      node = parent;
    }
  }

  private invalidate(filter: string): void {
    const cache = this.cache;
    if (cache === undefined || cache.size === 0) return;
    // A filter without wildcards matches one topic only: itself [MQTT-4.7.3-4, no normalisation].
    if (filter.indexOf('+') < 0 && filter.indexOf('#') < 0) cache.delete(filter);
    else cache.clear();
  }
}

function subscriptionListOf(node: TrieNode): readonly Subscription[] {
  return node.subscriptionList();
}

function groupListOf(node: TrieNode): readonly SharedGroupMatch[] {
  return node.groupList();
}

/** The lists `list(node)` of the first `count` nodes, concatenated into a frozen array of `total` items. */
function concat<T>(
  nodes: readonly (TrieNode | undefined)[],
  count: number,
  total: number,
  list: (node: TrieNode) => readonly T[],
): readonly T[] {
  const out = new Array<T>(total);
  let at = 0;
  for (let k = 0; k < count; k++) {
    const items = list(nodes[k] as TrieNode);
    for (let j = 0; j < items.length; j++) out[at++] = items[j] as T;
  }
  return Object.freeze(out);
}

/** The local Router (the topic trie). */
export function createLocalRouter(options: RouterOptions): Router {
  return new TopicTrie(options);
}
