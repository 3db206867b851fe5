/**
 * In-memory index of retained messages, one per topic name, for answering "which retained messages
 * does this new subscription's filter match?".
 *
 * Two structures over the same messages:
 * - a Map topic → Message: get/set/delete and exact filters are O(1) (AWS delivers retained messages
 *   only for exact filters, spec/mqtt.md section 7, so that is the common case);
 * - a trie of topic levels (not of filters: the reverse of topic-trie.ts). A wildcard filter walks it:
 *   a literal level follows one child, `+` follows every child, `#` takes the whole subtree.
 *
 * Example: retained topics `a/b`, `a/c/d`, `a`, `$SYS/x`:
 *
 * ```
 * root ─ a {a} ─┬─ b {a/b}
 *               └─ c ─ d {a/c/d}
 *      └─ $SYS ─ x {$SYS/x}
 * ```
 *
 * - `a/+` → `a/b` (the `c` node holds no message);
 * - `a/#` → `a/b`, `a/c/d`, and `a` itself only when hashMatchesParent (MQTT section 4.7.1.2; AWS
 *   matches `a/` but not `a`, spec/mqtt.md section 9);
 * - `#` and `+/x` skip the root's `$SYS` child [MQTT-4.7.2-1]; `$SYS/#` reaches it.
 *
 * Complexity: wildcard match is O(trie nodes visited), i.e. proportional to the part of the topic tree
 * the filter covers plus the messages returned, not to the number of retained messages; set/delete are
 * O(levels); delete prunes the nodes it empties, so memory follows the live retained set.
 *
 * The index stores what it is given: the caller decides that an empty payload means "delete" and
 * that an expired message (expiresAtMs) is not delivered (spec/mqtt.md section 7).
 */
import type { Message } from '../message.js';

const DOLLAR = 0x24;

class TopicNode {
  children: Map<string, TopicNode> | undefined = undefined;
  message: Message | undefined = undefined;
}

export class RetainedIndex {
  private readonly byTopic = new Map<string, Message>();
  private readonly root = new TopicNode();

  get size(): number {
    return this.byTopic.size;
  }

  get(topic: string): Message | undefined {
    return this.byTopic.get(topic);
  }

  /** Stores the message as the retained message of its topic, replacing any earlier one. */
  set(message: Message): void {
    this.byTopic.set(message.topic, message);
    let node = this.root;
    for (const level of message.topic.split('/')) {
      let child = node.children?.get(level);
      if (child === undefined) {
        child = new TopicNode();
        (node.children ??= new Map()).set(level, child);
      }
      node = child;
    }
    node.message = message;
  }

  /** Removes a topic's retained message; true if there was one. */
  delete(topic: string): boolean {
    if (!this.byTopic.delete(topic)) return false;
    const levels = topic.split('/');
    const path: TopicNode[] = [];
    let node: TopicNode = this.root;
    for (const level of levels) {
      path.push(node);
      const child = node.children?.get(level);
      if (child === undefined) return true; // cannot happen: byTopic and the trie hold the same topics
      node = child;
    }
    node.message = undefined;
    // Prune nodes that hold nothing any more.
    for (let i = path.length - 1; i >= 0 && node.message === undefined && node.children === undefined; i--) {
      const parent = path[i] as TopicNode;
      parent.children?.delete(levels[i] as string);
      if (parent.children?.size === 0) parent.children = undefined;
      node = parent;
    }
    return true;
  }

  /** All retained messages, in insertion order of their topics. */
  values(): IterableIterator<Message> {
    return this.byTopic.values();
  }

  /**
   * Every retained message whose topic matches a (non-shared, valid) topic filter; a new array the
   * caller owns. Filters starting with a wildcard do not match `$` topics [MQTT-4.7.2-1].
   */
  match(filter: string, hashMatchesParent: boolean): Message[] {
    if (filter.indexOf('+') < 0 && filter.indexOf('#') < 0) {
      const message = this.byTopic.get(filter);
      return message === undefined ? [] : [message];
    }
    // Iterative walk (pending node, filter levels consumed): topics may be deep enough to overflow
    // the call stack when no slash limit is configured.
    const levels = filter.split('/');
    const n = levels.length;
    const out: Message[] = [];
    const nodes: TopicNode[] = [this.root];
    const depths: number[] = [0];
    for (let top = nodes.pop(); top !== undefined; top = nodes.pop()) {
      const i = depths.pop() as number;
      if (i === n) {
        if (top.message !== undefined) out.push(top.message);
        continue;
      }
      const level = levels[i] as string;
      const atRoot = i === 0;
      if (level === '#') {
        // `a/#` matches `a` itself only under MQTT section 4.7.1.2 (never at the root: no empty topic).
        if (hashMatchesParent && !atRoot && top.message !== undefined) out.push(top.message);
        if (top.children === undefined) continue;
        for (const [name, child] of top.children) {
          if (atRoot && name.charCodeAt(0) === DOLLAR) continue; // [MQTT-4.7.2-1]
          collectAll(child, out);
        }
      } else if (level === '+') {
        if (top.children === undefined) continue;
        for (const [name, child] of top.children) {
          if (atRoot && name.charCodeAt(0) === DOLLAR) continue; // [MQTT-4.7.2-1]
          nodes.push(child);
          depths.push(i + 1);
        }
      } else {
        const child = top.children?.get(level);
        if (child !== undefined) {
          nodes.push(child);
          depths.push(i + 1);
        }
      }
    }
    return out;
  }
}

/** Every message in a subtree (iteratively, for the same reason as match). */
function collectAll(root: TopicNode, out: Message[]): void {
  const pending: TopicNode[] = [root];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (node.message !== undefined) out.push(node.message);
    if (node.children !== undefined) for (const child of node.children.values()) pending.push(child);
  }
}
