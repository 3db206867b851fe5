/**
 * shadow/: AWS IoT device shadows (spec/shadow.md): the document model (merge, delta, metadata,
 * versions, limits), the service that serializes and durably commits operations per shadow, named
 * shadow listing and a bounded history of accepted versions, over the store's ShadowStore.
 *
 * It refuses sockets and the broker: an operation takes a request payload and returns the exact
 * messages to publish (topic + JSON) and the requester's answer. core/shadow-wiring.ts feeds it the
 * reserved MQTT request topics and publishes the replies; the HTTP data plane (api/) calls the same
 * service and maps refusals with `toServiceError`.
 */
export { createShadowService } from './service.js';
export type {
  ShadowService,
  ShadowServiceOptions,
  ShadowServiceLimits,
  ShadowHistoryLimit,
  ShadowLogger,
  ShadowReply,
  ShadowResult,
  ListNamedShadowsInput,
  ListNamedShadowsOutput,
  ShadowHistoryInput,
  ShadowHistoryPage,
  ShadowVersion,
} from './service.js';
export { ShadowErrors, toServiceError } from './errors.js';
export type { ShadowError } from './errors.js';
export { defaultShadowLimits } from './document.js';
export type { ShadowLimits, ShadowSections, JsonObject, JsonValue } from './document.js';
export { parseShadowRequestTopic, shadowRequestFilters, shadowTopicPrefix } from './names.js';
export type { ShadowOperation, ShadowReplySuffix } from './names.js';
