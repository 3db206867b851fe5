/**
 * The tagging service: TagResource, UntagResource and ListTagsForResource (spec/http-api.md 3.7)
 * over the store's TagStore, for every resource Thingcore has an ARN for (resource.ts).
 *
 * Each write is one store batch that starts with "the resource exists" and, for TagResource, ends
 * with "it has at most 50 tags" (so the limit counts the tags already there, and a re-tagged key
 * replaces its value without counting twice). The store deletes a resource's tags with the resource
 * and refuses tags on a missing one, so a tag written here can never outlive its resource, even
 * when a delete races with the call.
 *
 * Decisions where AWS is silent or unconfirmed:
 *  - a create call's list of more than 50 tags is InvalidRequestException (those calls list no
 *    LimitExceededException); TagResource going over 50 in total is LimitExceededException;
 *  - UntagResource of a key the resource does not have is a no-op; keys with `aws:` are refused
 *    there too (InvalidRequestException), as no such tag can exist;
 *  - ListTagsForResource is in key order (binary), 250 tags a page (AWS's page size for it; with
 *    at most 50 tags per resource one page always holds them all unless `listPageSize` is smaller).
 */
import { AwsErrors, decodePageToken, encodePageToken } from '../shared/index.js';
import type { AccountScope } from '../shared/index.js';
import { isStoreError } from '../store/index.js';
import type { TaggedResource, TagOp, TagStore } from '../store/index.js';
import { taggedResourceOf } from './resource.js';
import { maxTagsPerResource, readTagKeys, readTags } from './tags.js';
import type { Tag, TagPair } from './tags.js';

export interface TaggingServiceOptions {
  /** The opened Store (only its `tags` part is used). */
  readonly store: { readonly tags: TagStore };
  /** Region and account of the ARNs this server answers for. */
  readonly scope: AccountScope;
  /** Tags per ListTagsForResource page; default 250 (AWS's). */
  readonly listPageSize?: number;
}

export interface TagResourceInput {
  readonly resourceArn: string;
  readonly tags: readonly Tag[];
}

export interface UntagResourceInput {
  readonly resourceArn: string;
  readonly tagKeys: readonly string[];
}

export interface ListTagsForResourceInput {
  readonly resourceArn: string;
  readonly nextToken?: string;
}

export interface ListTagsForResourceOutput {
  readonly tags: Array<{ readonly Key: string; readonly Value: string }>;
  readonly nextToken?: string;
}

/** The tag operations; every error is a ServiceError (shared/) with the AWS exception name. */
export interface TaggingService {
  tagResource(input: TagResourceInput): Promise<void>;
  untagResource(input: UntagResourceInput): Promise<void>;
  listTagsForResource(input: ListTagsForResourceInput): Promise<ListTagsForResourceOutput>;
}

export const defaultListPageSize = 250;

export function createTaggingService(options: TaggingServiceOptions): TaggingService {
  return new Tagging(options);
}

/**
 * Stores the tags a create call was given, once its resource exists (the create calls of registry,
 * policy, identity and rules, which checked the tags before creating anything). Not in the
 * resource's own transaction, as the stores are separate: a crash in between leaves the resource
 * untagged. A resource deleted meanwhile took its tags with it, so that is not an error.
 */
export async function putCreationTags(store: TagStore, resource: TaggedResource, tags: readonly TagPair[]): Promise<void> {
  if (tags.length === 0) return;
  try {
    await store.apply([{ op: 'checkResource', resource }, ...tags.map(([key, value]): TagOp => ({ op: 'putTag', resource, key, value }))]);
  } catch (err: unknown) {
    if (isStoreError(err, 'ConditionFailed')) return;
    throw err;
  }
}

class Tagging implements TaggingService {
  readonly #store: TagStore;
  readonly #scope: AccountScope;
  readonly #pageSize: number;

  constructor(options: TaggingServiceOptions) {
    this.#store = options.store.tags;
    this.#scope = options.scope;
    this.#pageSize = options.listPageSize ?? defaultListPageSize;
  }

  async tagResource(input: TagResourceInput): Promise<void> {
    const resource = taggedResourceOf(this.#scope, input.resourceArn);
    const tags = readTags('tags', input.tags, { required: true });
    const ops: TagOp[] = [
      { op: 'checkResource', resource },
      ...tags.map(([key, value]): TagOp => ({ op: 'putTag', resource, key, value })),
      { op: 'checkTagCount', resource, max: maxTagsPerResource },
    ];
    try {
      await this.#store.apply(ops);
    } catch (err: unknown) {
      if (isStoreError(err, 'ConditionFailed')) {
        if (err.opIndex === 0) throw notFound(input.resourceArn);
        throw AwsErrors.limitExceeded(`${input.resourceArn} would have more than ${maxTagsPerResource} tags; a resource can have at most ${maxTagsPerResource}`);
      }
      throw err;
    }
  }

  async untagResource(input: UntagResourceInput): Promise<void> {
    const resource = taggedResourceOf(this.#scope, input.resourceArn);
    const keys = readTagKeys('tagKeys', input.tagKeys);
    try {
      await this.#store.apply([{ op: 'checkResource', resource }, ...keys.map((key): TagOp => ({ op: 'deleteTag', resource, key }))]);
    } catch (err: unknown) {
      if (isStoreError(err, 'ConditionFailed')) throw notFound(input.resourceArn);
      throw err;
    }
  }

  async listTagsForResource(input: ListTagsForResourceInput): Promise<ListTagsForResourceOutput> {
    const resource = taggedResourceOf(this.#scope, input.resourceArn);
    // The token resumes this resource's listing only (its key is the sort key of the last tag seen).
    const scope = `ListTagsForResource:${resource.resourceType}/${resource.resourceId}`;
    if (input.nextToken !== undefined && typeof input.nextToken !== 'string') throw AwsErrors.invalidRequest('nextToken must be a string');
    const after = input.nextToken === undefined || input.nextToken === '' ? undefined : decodePageToken(input.nextToken, scope);
    if (!(await this.#store.resourceExists(resource))) throw notFound(input.resourceArn);
    const size = this.#pageSize;
    const rows = await this.#store.listTags(resource, { limit: size + 1, ...(after === undefined ? {} : { afterKey: after }) });
    const page = rows.slice(0, size);
    const last = page[page.length - 1];
    return {
      tags: page.map((t) => ({ Key: t.key, Value: t.value })),
      ...(rows.length > size && last !== undefined ? { nextToken: encodePageToken(scope, last.key) } : {}),
    };
  }
}

function notFound(resourceArn: string): Error {
  return AwsErrors.resourceNotFound(`The resource ${resourceArn.length > 256 ? `${resourceArn.slice(0, 256)}...` : resourceArn} does not exist`);
}
