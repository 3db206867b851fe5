/**
 * api/: the AWS-shaped HTTP API. A fastify instance that the transport's HTTP(S) listeners serve
 * (`onRequest: api.handle`), with SigV4 verification on every route but `GET /health`, routing on
 * the raw path, AWS error shapes (`x-amzn-ErrorType` + `{"message": ...}`, spec/http-api.md 1.4),
 * `x-amzn-RequestId` on every response, the access keys Thingcore keeps, and DescribeEndpoint.
 *
 * It refuses business rules: each room's routes live in `src/api/routes/<room>.ts` and call that
 * room's service through its door; services throw `ServiceError` (shared/) and this room alone
 * turns them into the wire form.
 *
 * Writing a route module (src/api/routes/things.ts):
 *
 *   import { defineRoutes, jsonBody, validateName, readPage, takePage, epochSeconds } from '../index.js';
 *   import type { RouteModule } from '../index.js';
 *   import type { RegistryService } from '../../registry/index.js';
 *
 *   export function thingRoutes(registry: RegistryService): RouteModule {
 *     return defineRoutes('things', (r) => {
 *       r.post('/things/:thingName', async (req) => {
 *         const thingName = validateName('thingName', req.params.thingName);   // params are decoded
 *         const body = jsonBody(req);                                           // typed getters, 400 on bad types
 *         const created = await registry.createThing({ thingName, thingTypeName: body.string('thingTypeName') });
 *         return { thingName, thingArn: created.thingArn, thingId: created.thingId };   // JSON, 200
 *       }, { operation: 'CreateThing' });
 *       r.delete('/things/:thingName', async (req) => {
 *         await registry.deleteThing(req.params.thingName, req.query.int('expectedVersion'));
 *         return undefined;                                                     // empty 200
 *       }, { operation: 'DeleteThing' });
 *       r.get('/things', async (req) => {
 *         const page = readPage(req.query, { style: 'nextToken', scope: 'ListThings', maxSize: 250 });
 *         const { items, next } = takePage(await registry.listThings(), page, (t) => t.thingName);
 *         return { things: items, nextToken: next };                            // undefined members are omitted
 *       }, { operation: 'ListThings' });
 *     });
 *   }
 *
 * Blob outputs return `rawResponse(buffer, { contentType })`; blob inputs use `{ body: 'raw' }` and
 * read `req.rawBody`. A final `:name+` segment is greedy (`/topics/:topic+`). Errors: throw
 * `AwsErrors.resourceNotFound('...')` etc. from shared/; anything else becomes 500 InternalFailureException.
 *
 * Mounting (core/compose.ts):
 *
 *   const admin = await loadOrCreateAdminCredentials(dataDir);
 *   const api = await createApi({
 *     logger: logger.child({ room: 'api' }),
 *     credentials: staticAccessKeys([admin]),
 *     routes: [thingRoutes(registry), ...],
 *     endpoint: () => ({ host: advertisedHost, port: mqtts.port }),
 *   });
 *   listenHttps({ ..., onRequest: api.handle, verifyUpgrade: (req) => api.verifyUpgrade(req) });
 *   // shutdown: close the listeners, then api.close()
 */
export { defineRoutes, rawResponse, RawResponse, anonymousPrincipal, httpMethods } from './routing.js';
export type {
  ApiLogger,
  ApiPrincipal,
  HttpMethod,
  ParamsOf,
  RouteBuilder,
  RouteDefinition,
  RouteHandler,
  RouteModule,
  RouteOptions,
  RouteRequest,
  RouteResult,
} from './routing.js';
export { validationError, parseIntValue, parseBoolValue } from './values.js';
export type { IntRange, ValueReader } from './values.js';
export { jsonBody, isPlainObject } from './body.js';
export type { JsonBodyReader } from './body.js';
export { readPage, takePage, encodePageToken, decodePageToken } from './pagination.js';
export type { PageOptions, PageRequest } from './pagination.js';
export { validateName, nameRules, nameViolations } from './validation.js';
export type { NameKind, NameRule } from './validation.js';
export { epochSeconds } from './time.js';
export { createApi, defaultMaxBodyBytes } from './server.js';
export type { Api, ApiLimits, ApiOptions } from './server.js';
export { ApiErrors, toWireError } from './errors.js';
export type { WireError } from './errors.js';
export { verifySigV4, acceptedServices, maxPresignExpiresSec } from './sigv4.js';
export type { SigV4ErrorType, SigV4Result, SignedRequestInput, VerifyOptions } from './sigv4.js';
export {
  loadOrCreateAdminCredentials,
  staticAccessKeys,
  generateAccessKey,
  credentialsFileName,
  parseSharedCredentials,
} from './credentials.js';
export type { AccessKey, AccessKeySecret, AccessKeyStore, AdminCredentials } from './credentials.js';
export { endpointRoutes, formatEndpointAddress, endpointTypes } from './routes/endpoint.js';
export { thingRoutes } from './routes/things.js';
export { certificateRoutes } from './routes/certificates.js';
export { policyRoutes } from './routes/policies.js';
export { ruleRoutes } from './routes/rules.js';
export { tagRoutes } from './routes/tags.js';
export { shadowRoutes, type ShadowReplyPublisher } from './routes/shadows.js';
export { dataPlaneRoutes, type DataPlaneBroker, type DataPlaneLimits } from './routes/data-plane.js';
export type { EndpointAddress, EndpointSource } from './routes/endpoint.js';
