/**
 * registry/: things, thing types, attributes, versions and thing–principal attachments (many to
 * many), with AWS IoT's semantics (spec/http-api.md 3.1, 3.2, 3.4), over the store's RegistryStore.
 * Also the two things the rest of Thingcore needs from it: which thing a connection is bound to
 * (`thingForConnection`, spec/mqtt.md section 16, cached for the connect path) and a change feed
 * (`onChange`) for policy-cache invalidation and `$aws/events/thing/...`.
 *
 * It refuses: certificates' crypto and status (whether a principal exists is asked through the
 * `principalExists` option, which core wires to identity), HTTP (api/routes/things.ts speaks it),
 * MQTT. Errors are shared/'s ServiceError with the AWS exception names.
 */
export { createRegistryService } from './service.js';
export type { RegistryService, RegistryServiceOptions } from './service.js';
export { thingPrincipalTypes } from './model.js';
export type * from './model.js';
export { parsePrincipal } from './validation.js';
export type { ParsedPrincipal } from './validation.js';
