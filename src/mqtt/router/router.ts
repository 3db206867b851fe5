/**
 * The Router interface: which sessions' subscriptions match a topic. The local implementation is a
 * topic trie (topic-trie.ts); a clustered router can replace it later (ARCHITECTURE.md "Clustered
 * mode"), so nothing in mqtt/ may assume it is the only node.
 */
import type { QoS } from '../message.js';

export interface Subscription {
  readonly clientId: string;
  /** The filter without any `$share/<group>/` prefix. */
  readonly topicFilter: string;
  /** Share name for `$share/<shareName>/<filter>`; undefined for an ordinary subscription. */
  readonly shareName?: string;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  readonly subscriptionId?: number;
}

/** All members of one shared-subscription group (same shareName and filter) that match a topic. */
export interface SharedGroupMatch {
  /** `<shareName>/<topicFilter>`: the group's identity. */
  readonly group: string;
  readonly members: readonly Subscription[];
}

export interface MatchResult {
  /** Every ordinary subscription that matches (a client may appear more than once: overlapping filters). */
  readonly subscriptions: readonly Subscription[];
  /** Each matching shared group once; the caller picks one member per group. */
  readonly shared: readonly SharedGroupMatch[];
}

export interface RouterOptions {
  /** MQTT-4.7.1-2: `a/#` also matches `a`. False reproduces AWS IoT Core (spec/mqtt.md section 9). */
  readonly hashMatchesParent: boolean;
  /** Entries kept in the per-topic match cache; 0 disables the cache. */
  readonly cacheSize?: number;
}

export interface Router {
  /** Adds or replaces (same clientId, shareName and topicFilter) a subscription. */
  add(subscription: Subscription): void;
  /** Removes one subscription; true if it existed. */
  remove(clientId: string, topicFilter: string, shareName?: string): boolean;
  /**
   * Subscriptions matching a topic name. `$`-topics are not matched by filters starting with a
   * wildcard [MQTT-4.7.2-1]. The result may be cached and shared: callers must not mutate it.
   */
  match(topic: string): MatchResult;
  /** Number of subscriptions held. */
  readonly size: number;
}
