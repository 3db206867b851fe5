/**
 * The checks every tag passes, wherever tags come in: TagResource and UntagResource, and the create
 * calls that take tags (CreateThingType, CreatePolicy, RegisterCACertificate: a `tags` list of
 * `{Key, Value}`; CreateTopicRule: the `x-amz-tagging: k1=v1&k2=v2` header), spec/http-api.md 3.2,
 * 3.3, 3.5, 3.6, 3.7. The constraints are the AWS IoT model's (TagKey 1–128 and TagValue 0–256
 * characters of `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`), plus AWS's reservation of the `aws:` key prefix
 * (in any case); the wording is AWS's validation message:
 *
 *   1 validation error detected: Value 'aws:x' at 'tags.1.member.Key' failed to satisfy constraint:
 *   Member must not start with 'aws:' (the prefix is reserved for AWS use)
 *
 * A tag without a Value is kept with the value ''. A key given twice in one list keeps its last
 * value (as re-tagging a key replaces its value).
 */
import { AwsErrors } from '../shared/index.js';
import type { ServiceError } from '../shared/index.js';

/** At most this many tags per resource (AWS IoT's quota). */
export const maxTagsPerResource = 50;

/** A tag as the API carries it (capitalised members, spec/http-api.md 3.2). */
export interface Tag {
  readonly Key: string;
  readonly Value?: string;
}

/** A checked tag: [key, value]. */
export type TagPair = readonly [key: string, value: string];

const tagPattern = '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*';
const tagRegex = new RegExp(`^(?:${tagPattern})$`, 'u');
const reservedPrefix = /^aws:/i;

/** The constraint violations of a tag key (AWS wording). */
export function tagKeyProblems(key: string): string[] {
  const problems = lengthAndPattern(key, 1, 128);
  if (reservedPrefix.test(key)) problems.push("Member must not start with 'aws:' (the prefix is reserved for AWS use)");
  return problems;
}

/** The constraint violations of a tag value (AWS wording). */
export function tagValueProblems(value: string): string[] {
  return lengthAndPattern(value, 0, 256);
}

/** Length in characters (code points), as the model counts. */
function lengthAndPattern(text: string, min: number, max: number): string[] {
  const problems: string[] = [];
  const length = [...text].length;
  if (length > max) problems.push(`Member must have length less than or equal to ${max}`);
  if (length < min) problems.push(`Member must have length greater than or equal to ${min}`);
  if (!tagRegex.test(text)) problems.push(`Member must satisfy regular expression pattern: ${tagPattern}`);
  return problems;
}

/** One problem in AWS's words: "Value 'x' at 'member' failed to satisfy constraint: ...". */
export function problem(member: string, value: unknown, constraint: string): string {
  return `Value ${show(value)} at '${member}' failed to satisfy constraint: ${constraint}`;
}

/** Problems as one InvalidRequestException ("2 validation errors detected: ...; ..."). */
export function validationFailure(problems: readonly string[]): ServiceError {
  const count = problems.length === 1 ? '1 validation error detected' : `${problems.length} validation errors detected`;
  return AwsErrors.invalidRequest(`${count}: ${problems.join('; ')}`);
}

function show(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return `'${text.length > 256 ? `${text.slice(0, 256)}...` : text}'`;
}

export interface TagListOptions {
  /** Absent (undefined or null) is a problem ("must not be null") rather than no tags. */
  readonly required?: boolean;
  /** More items than this is a problem (a create call's list); TagResource counts after merging instead. */
  readonly maxCount?: number;
}

/**
 * A `[{Key, Value}]` list checked member by member: the tags (absent: none) and every problem, for
 * callers that report them together with their own (the registry).
 */
export function checkTags(member: string, value: unknown, options: TagListOptions = {}): { readonly tags: TagPair[]; readonly problems: string[] } {
  const problems: string[] = [];
  const tags = new Map<string, string>();
  if (value === undefined || value === null) {
    if (options.required === true) problems.push(problem(member, null, 'Member must not be null'));
    return { tags: [], problems };
  }
  if (!Array.isArray(value)) return { tags: [], problems: [problem(member, value, 'Member must be a list')] };
  if (options.maxCount !== undefined && value.length > options.maxCount) {
    problems.push(problem(member, value, `Member must have length less than or equal to ${options.maxCount}`));
  }
  value.forEach((tag: unknown, i) => {
    const item = `${member}.${i + 1}.member`;
    if (typeof tag !== 'object' || tag === null || Array.isArray(tag)) {
      problems.push(problem(item, tag, 'Member must be a structure'));
      return;
    }
    const { Key, Value } = tag as { Key?: unknown; Value?: unknown };
    const before = problems.length;
    if (Key === undefined || Key === null) problems.push(problem(`${item}.Key`, null, 'Member must not be null'));
    else if (typeof Key !== 'string') problems.push(problem(`${item}.Key`, Key, 'Member must be a string'));
    else for (const p of tagKeyProblems(Key)) problems.push(problem(`${item}.Key`, Key, p));
    if (Value !== undefined && Value !== null) {
      if (typeof Value !== 'string') problems.push(problem(`${item}.Value`, Value, 'Member must be a string'));
      else for (const p of tagValueProblems(Value)) problems.push(problem(`${item}.Value`, Value, p));
    }
    if (problems.length === before) {
      // delete first: a repeated key keeps its last value and takes its last position.
      tags.delete(Key as string);
      tags.set(Key as string, typeof Value === 'string' ? Value : '');
    }
  });
  return { tags: [...tags], problems };
}

/** A `[{Key, Value}]` list; InvalidRequestException naming every problem. */
export function readTags(member: string, value: unknown, options: TagListOptions = {}): TagPair[] {
  const { tags, problems } = checkTags(member, value, options);
  if (problems.length > 0) throw validationFailure(problems);
  return tags;
}

/** UntagResource's `tagKeys`: a required list of keys (duplicates dropped); InvalidRequestException naming every problem. */
export function readTagKeys(member: string, value: unknown): string[] {
  if (value === undefined || value === null) throw validationFailure([problem(member, null, 'Member must not be null')]);
  if (!Array.isArray(value)) throw validationFailure([problem(member, value, 'Member must be a list')]);
  const problems: string[] = [];
  value.forEach((key: unknown, i) => {
    const item = `${member}.${i + 1}.member`;
    if (typeof key !== 'string') problems.push(problem(item, key, key === null || key === undefined ? 'Member must not be null' : 'Member must be a string'));
    else for (const p of tagKeyProblems(key)) problems.push(problem(item, key, p));
  });
  if (problems.length > 0) throw validationFailure(problems);
  return [...new Set(value as string[])];
}

/**
 * CreateTopicRule's `x-amz-tagging` header: `k1=v1&k2=v2`, URL-encoded as a query string (`+` is
 * a space; `k` alone has the value ''), spec/http-api.md 3.6. Absent or empty: no tags. Checked as
 * the `tags` member it is in the model: InvalidRequestException naming every problem.
 */
export function parseTaggingHeader(header: string | undefined): TagPair[] {
  if (header === undefined || header === '') return [];
  const list: Tag[] = [...new URLSearchParams(header)].map(([Key, Value]) => ({ Key, Value }));
  return readTags('tags', list, { maxCount: maxTagsPerResource });
}
