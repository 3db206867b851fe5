/**
 * tagging/: resource tags as AWS IoT keeps them (spec/http-api.md 3.7): TagResource, UntagResource
 * and ListTagsForResource for things, thing types, policies, topic rules, certificates and CA
 * certificates, over the store's TagStore; the checks every tag passes (key 1–128 characters, value
 * 0–256, no `aws:` prefix, at most 50 per resource); the parser of CreateTopicRule's
 * `x-amz-tagging` header; and `putCreationTags`, with which the rooms whose create calls take tags
 * (registry, policy, identity, rules) store them.
 *
 * It refuses: knowing how each resource is stored (the TagStore says whether a resource exists and
 * deletes a resource's tags together with the resource), HTTP (api/routes/tags.ts speaks it).
 * Errors are shared/'s ServiceError with the AWS exception names.
 */
export { createTaggingService, defaultListPageSize, putCreationTags } from './service.js';
export type {
  ListTagsForResourceInput,
  ListTagsForResourceOutput,
  TagResourceInput,
  TaggingService,
  TaggingServiceOptions,
  UntagResourceInput,
} from './service.js';
export { checkTags, maxTagsPerResource, parseTaggingHeader, readTagKeys, readTags } from './tags.js';
export type { Tag, TagListOptions, TagPair } from './tags.js';
export { taggableResourceTypes, taggedResourceOf } from './resource.js';
