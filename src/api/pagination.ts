/**
 * Pagination (spec/http-api.md 3.8). Two wire styles share one token format:
 *  - `nextToken` in, `nextToken` out, page size `maxResults` (ListThings, ListTopicRules, ...);
 *  - `marker` in, `nextMarker` out, page size `pageSize` (ListCertificates, ListPolicies, ...).
 * A token is base64 (standard alphabet with padding, so it satisfies botocore's marker pattern
 * `[A-Za-z0-9+/]+={0,2}`) of `{"s": scope, "p": position}`: `scope` names the listing (a token from
 * ListThings is refused by ListPolicies), `position` is the room's resume point (usually the sort
 * key of the last item returned). A malformed or foreign token gives 400 InvalidRequestException.
 *
 * Usage (ListThings):
 *   const page = readPage(req.query, { style: 'nextToken', scope: 'ListThings', maxSize: 250 });
 *   const { items, next } = takePage(sortedThings, page, (t) => t.thingName);
 *   return { things: items.map(toSummary), nextToken: next };
 */
import { decodePageToken, encodePageToken } from '../shared/index.js';
import type { ValueReader } from './values.js';

export interface PageOptions {
  readonly style: 'nextToken' | 'marker';
  /** Names the listing; tokens only resume the listing that issued them. */
  readonly scope: string;
  /** Query parameter for the page size; default `maxResults` (nextToken style) / `pageSize` (marker style). */
  readonly sizeParam?: string;
  /** Default 50. */
  readonly defaultSize?: number;
  /** Largest accepted page size (the model's max); default 250. */
  readonly maxSize?: number;
}

export interface PageRequest {
  /** Resume after this position; undefined for the first page. */
  readonly after: string | undefined;
  readonly size: number;
  readonly scope: string;
}

/** Reads the token and the page size from the query. */
export function readPage(query: ValueReader, options: PageOptions): PageRequest {
  const tokenParam = options.style === 'nextToken' ? 'nextToken' : 'marker';
  const sizeParam = options.sizeParam ?? (options.style === 'nextToken' ? 'maxResults' : 'pageSize');
  const size = query.int(sizeParam, { min: 1, max: options.maxSize ?? 250 }) ?? options.defaultSize ?? 50;
  const token = query.string(tokenParam);
  // The SDKs send an empty token as "no token"; treat it as the first page.
  const after = token === undefined || token === '' ? undefined : decodePageToken(token, options.scope, tokenParam);
  return { after, size, scope: options.scope };
}

export { encodePageToken, decodePageToken } from '../shared/index.js';

/**
 * One page of an in-memory list that is already sorted by `keyOf` in `order` (string comparison).
 * Resumes at the first item strictly after the token's position, so items deleted between pages do
 * not break the listing. `next` (a token) is present only when another page exists.
 */
export function takePage<T>(
  sorted: readonly T[],
  page: PageRequest,
  keyOf: (item: T) => string,
  order: 'asc' | 'desc' = 'asc',
): { items: T[]; next: string | undefined } {
  const after = page.after;
  let start = 0;
  if (after !== undefined) {
    start = sorted.findIndex((item) => (order === 'asc' ? keyOf(item) > after : keyOf(item) < after));
    if (start < 0) start = sorted.length;
  }
  const items = sorted.slice(start, start + page.size);
  const hasMore = start + page.size < sorted.length;
  const last = items[items.length - 1];
  return { items, next: hasMore && last !== undefined ? encodePageToken(page.scope, keyOf(last)) : undefined };
}
