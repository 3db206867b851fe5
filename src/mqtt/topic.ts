/**
 * Topic names and topic filters: validation for the protocol handlers, and the small parsing helpers
 * the router, retained index and session code share. Everything here returns a value; nothing throws.
 *
 * - A **topic name** is what a PUBLISH carries: no wildcards.
 * - A **topic filter** is what a SUBSCRIBE carries: `+` fills one whole level, `#` is the whole last
 *   level. It may be a shared filter `$share/<ShareName>/<filter>` (MQTT 5 section 4.8.2; AWS allows
 *   it on 3.1.1 too, spec/mqtt.md section 9).
 *
 * Levels are separated by `/`; empty levels are ordinary levels (`a//b` has three, `/a` has two).
 * UTF-8 well-formedness is the codec's job, not this file's.
 *
 * Limits (spec/mqtt.md sections 9 and 13): `maxTopicBytes` counts UTF-8 bytes and `maxTopicSlashes`
 * counts `/` separators; either is off when 0. Two AWS exemptions apply:
 * - the Basic Ingest prefix `$aws/rules/<ruleName>/` of a topic name counts towards neither limit.
 *   (STYLE.md 8.1 keeps `$aws/` out of mqtt/; this one prefix is here because the limit is a protocol
 *   limit that AWS defines relative to it. It can only make a topic valid that would otherwise be
 *   refused; whether a client may publish there is the policy's decision, not this file's.)
 * - the `$share/<ShareName>/` prefix of a filter counts towards neither limit: only the filter part
 *   is measured (AWS: "TopicFilter ≤ 256", "the two slashes of $share/{name}/ do not count").
 */

/** Limits both names and filters obey (BrokerLimits carries the same two fields). */
export interface TopicLimits {
  /** Most UTF-8 bytes in a topic name or filter (after the exempt prefixes); 0 = no limit. */
  readonly maxTopicBytes: number;
  /** Most `/` separators (after the exempt prefixes); 0 = no limit. */
  readonly maxTopicSlashes: number;
  /**
   * A prefix that, with the next level after it, is not counted in topic-name limits (AWS Basic
   * Ingest: `$aws/rules/<ruleName>/`, set by the aws profile); absent or '' = none.
   */
  readonly exemptTopicPrefix?: string;
}

export interface TopicFilterLimits extends TopicLimits {
  /** `$share/<ShareName>/<filter>` is accepted (Shared Subscription Available). */
  readonly sharedAllowed: boolean;
  /** `+` and `#` are accepted (Wildcard Subscription Available). */
  readonly wildcardsAllowed: boolean;
  /** Most UTF-8 bytes in a ShareName (AWS: 128); absent or 0 = no limit. */
  readonly maxShareNameBytes?: number;
}

/**
 * Why a topic name or filter was refused. `invalid` is a syntax error (MQTT 5 reason 0x90 Topic Name
 * invalid / 0x8F Topic Filter invalid); `too-long` and `too-many-levels` are the configured limits (the
 * same codes under AWS); `shared-not-supported` → 0x9E, `wildcards-not-supported` → 0xA2.
 */
export type TopicRefusal = 'invalid' | 'too-long' | 'too-many-levels' | 'shared-not-supported' | 'wildcards-not-supported';

export type TopicCheck = { readonly ok: true } | { readonly ok: false; readonly reason: TopicNameRefusal };

export type TopicNameRefusal = Extract<TopicRefusal, 'invalid' | 'too-long' | 'too-many-levels'>;

/**
 * A valid filter, split into its parts: `topicFilter` never carries the `$share/<ShareName>/`
 * prefix, and `shareName` is present only for a shared subscription (this is the shape a router
 * `Subscription` wants).
 */
export type TopicFilterCheck =
  | { readonly ok: true; readonly topicFilter: string; readonly shareName?: string }
  | { readonly ok: false; readonly reason: TopicRefusal };

/** A filter with any `$share/<ShareName>/` prefix taken off. */
export interface ParsedFilter {
  readonly topicFilter: string;
  readonly shareName?: string;
}

export const SHARE_PREFIX = '$share/';

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;
const NUL = 0x00;

const OK: TopicCheck = Object.freeze({ ok: true });

/** True for a topic whose first character is `$` (server-reserved; see [MQTT-4.7.2-1]). */
export function isDollarTopic(topic: string): boolean {
  return topic.charCodeAt(0) === DOLLAR;
}

/** True when a filter contains a `+` or `#` wildcard (assumes a syntactically valid filter). */
export function hasWildcard(filter: string): boolean {
  return filter.indexOf('+') >= 0 || filter.indexOf('#') >= 0;
}

/**
 * Splits `$share/<ShareName>/<filter>` into its parts, checking only the share structure
 * [MQTT-4.8.2-1] [MQTT-4.8.2-2]: a non-empty ShareName without `/`, `+`, `#`, followed by `/` and a
 * non-empty filter. A filter not starting with `$share/` comes back unchanged, without shareName.
 * Returns undefined for a malformed shared filter. The filter part itself is not validated here.
 */
export function parseSharedFilter(filter: string): ParsedFilter | undefined {
  if (!filter.startsWith(SHARE_PREFIX)) return { topicFilter: filter };
  const nameStart = SHARE_PREFIX.length;
  const slash = filter.indexOf('/', nameStart);
  if (slash < 0) return undefined; // ShareName not followed by "/" [MQTT-4.8.2-2]
  const shareName = filter.slice(nameStart, slash);
  if (shareName.length === 0) return undefined; // [MQTT-4.8.2-1]
  if (shareName.indexOf('+') >= 0 || shareName.indexOf('#') >= 0) return undefined; // [MQTT-4.8.2-2]
  const topicFilter = filter.slice(slash + 1);
  if (topicFilter.length === 0) return undefined; // "/" must be followed by a Topic Filter [MQTT-4.8.2-2]
  return { topicFilter, shareName };
}

/** The inverse of parseSharedFilter: the filter as a client sent it (and as the session store keeps it). */
export function formatSharedFilter(topicFilter: string, shareName?: string): string {
  return shareName === undefined ? topicFilter : `${SHARE_PREFIX}${shareName}/${topicFilter}`;
}

/**
 * Checks a PUBLISH topic name (or a will topic): non-empty [MQTT-4.7.3-1], no wildcard
 * [MQTT-3.3.2-2] [MQTT-4.7.1-1], no U+0000 [MQTT-4.7.3-2], then the byte and slash limits with the
 * Basic Ingest prefix exempt (spec/mqtt.md section 9).
 */
export function validateTopicName(topic: string, limits: TopicLimits): TopicCheck {
  const length = topic.length;
  if (length === 0) return { ok: false, reason: 'invalid' }; // [MQTT-4.7.3-1]
  const start = exemptPrefixEnd(topic, limits.exemptTopicPrefix);
  let slashes = 0;
  for (let i = 0; i < length; i++) {
    const c = topic.charCodeAt(i);
    if (c === SLASH) {
      if (i >= start) slashes++;
    } else if (c === PLUS || c === HASH) {
      return { ok: false, reason: 'invalid' }; // [MQTT-3.3.2-2] [MQTT-4.7.1-1]
    } else if (c === NUL) {
      return { ok: false, reason: 'invalid' }; // [MQTT-4.7.3-2]
    }
  }
  if (exceedsBytes(topic, start, limits.maxTopicBytes)) return { ok: false, reason: 'too-long' };
  if (limits.maxTopicSlashes > 0 && slashes > limits.maxTopicSlashes) return { ok: false, reason: 'too-many-levels' };
  return OK;
}

/**
 * Checks a SUBSCRIBE/UNSUBSCRIBE topic filter and splits off any shared prefix. In order:
 * 1. syntax → `invalid`: non-empty [MQTT-4.7.3-1], no U+0000 [MQTT-4.7.3-2], a well-formed
 *    `$share/` prefix [MQTT-4.8.2-1] [MQTT-4.8.2-2], `#` alone in the last level [MQTT-4.7.1-2],
 *    `+` alone in its level [MQTT-4.7.1-3];
 * 2. features → `shared-not-supported`, `wildcards-not-supported` (a refusal that names the missing
 *    feature tells the client more than a limit would);
 * 3. limits on the filter part only → `too-long`, `too-many-levels` (ShareName: `too-long`).
 */
export function validateTopicFilter(filter: string, limits: TopicFilterLimits): TopicFilterCheck {
  if (filter.length === 0) return { ok: false, reason: 'invalid' }; // [MQTT-4.7.3-1]
  const parsed = parseSharedFilter(filter);
  if (parsed === undefined) return { ok: false, reason: 'invalid' };
  const { topicFilter, shareName } = parsed;

  const length = topicFilter.length;
  let slashes = 0;
  let wildcards = false;
  for (let i = 0; i < length; i++) {
    const c = topicFilter.charCodeAt(i);
    if (c === SLASH) {
      slashes++;
    } else if (c === PLUS) {
      // [MQTT-4.7.1-3] `+` occupies an entire level.
      if ((i > 0 && topicFilter.charCodeAt(i - 1) !== SLASH) || (i + 1 < length && topicFilter.charCodeAt(i + 1) !== SLASH)) {
        return { ok: false, reason: 'invalid' };
      }
      wildcards = true;
    } else if (c === HASH) {
      // [MQTT-4.7.1-2] `#` is on its own or follows a separator, and is the last character.
      if ((i > 0 && topicFilter.charCodeAt(i - 1) !== SLASH) || i + 1 !== length) return { ok: false, reason: 'invalid' };
      wildcards = true;
    } else if (c === NUL) {
      return { ok: false, reason: 'invalid' }; // [MQTT-4.7.3-2]
    }
  }
  // A NUL inside the ShareName (the loop above saw only the filter part).
  if (shareName !== undefined && shareName.indexOf('\u0000') >= 0) return { ok: false, reason: 'invalid' };

  if (shareName !== undefined && !limits.sharedAllowed) return { ok: false, reason: 'shared-not-supported' };
  if (wildcards && !limits.wildcardsAllowed) return { ok: false, reason: 'wildcards-not-supported' };

  if (exceedsBytes(topicFilter, 0, limits.maxTopicBytes)) return { ok: false, reason: 'too-long' };
  if (limits.maxTopicSlashes > 0 && slashes > limits.maxTopicSlashes) return { ok: false, reason: 'too-many-levels' };
  if (shareName !== undefined && exceedsBytes(shareName, 0, limits.maxShareNameBytes ?? 0)) {
    return { ok: false, reason: 'too-long' };
  }
  return shareName === undefined ? { ok: true, topicFilter } : { ok: true, topicFilter, shareName };
}

/**
 * Whether one topic filter (without `$share/` prefix) matches one topic name: the reference
 * definition of MQTT section 4.7 that the trie implements faster. Use it for one-off checks; use the
 * Router for many filters.
 * - `+` matches exactly one level (which may be empty); `#` matches any number of trailing levels
 *   [MQTT-4.7.1-2 context, section 4.7.1.2];
 * - `hashMatchesParent`: `a/#` also matches `a` (MQTT section 4.7.1.2); false is AWS's behaviour
 *   (spec/mqtt.md section 9: `sensor/#` matches `sensor/` and `sensor/a`, not `sensor`);
 * - a filter starting with a wildcard does not match a topic starting with `$` [MQTT-4.7.2-1];
 * - no normalisation of either string [MQTT-4.7.3-4].
 */
export function topicMatches(filter: string, topic: string, hashMatchesParent: boolean): boolean {
  const f0 = filter.charCodeAt(0);
  if ((f0 === PLUS || f0 === HASH) && topic.charCodeAt(0) === DOLLAR) return false; // [MQTT-4.7.2-1]
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  const n = filterLevels.length;
  for (let i = 0; i < n; i++) {
    const f = filterLevels[i];
    if (f === '#') return i < topicLevels.length || hashMatchesParent;
    if (i >= topicLevels.length) return false;
    if (f !== '+' && f !== topicLevels[i]) return false;
  }
  return n === topicLevels.length;
}

/** Index where the counted part of a topic name starts: after `<prefix><name>/` (e.g. `$aws/rules/r1/`), else 0. */
function exemptPrefixEnd(topic: string, prefix: string | undefined): number {
  if (!prefix || !topic.startsWith(prefix)) return 0;
  const nameStart = prefix.length;
  const slash = topic.indexOf('/', nameStart);
  if (slash < 0) return topic.length > nameStart ? topic.length : 0; // `$aws/rules/<ruleName>` alone
  return slash > nameStart ? slash + 1 : 0; // an empty ruleName is no Basic Ingest topic
}

/** True when s.slice(start) takes more than maxBytes UTF-8 bytes (0 = no limit), without a copy. */
function exceedsBytes(s: string, start: number, maxBytes: number): boolean {
  if (maxBytes <= 0) return false;
  const units = s.length - start;
  if (units > maxBytes) return true; // every UTF-16 unit is at least one byte
  if (units * 3 <= maxBytes) return false; // and at most three
  let bytes = 0;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4; // a surrogate pair is one code point, four bytes
        i++;
      } else bytes += 3;
    } else bytes += 3;
    if (bytes > maxBytes) return true;
  }
  return false;
}
