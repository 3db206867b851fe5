/**
 * The shadow service's error catalogue (spec/shadow.md sections 4 and 7): the numeric `code` and the
 * exact `message` of every `/rejected` document, and how each maps to the AWS exception the HTTP
 * data plane answers with (spec/shadow.md section 7, spec/http-api.md section 4).
 *
 * Over MQTT a failure is a value, `{code, message}`, published on `…/rejected`; over HTTP the same
 * value becomes a ServiceError (toServiceError) and nothing is published.
 */
import { AwsErrors, type ServiceError } from '../shared/index.js';

/** A refused request: the HTTP status as a number and the message, word for word. */
export interface ShadowError {
  readonly code: number;
  readonly message: string;
}

const e = (code: number, message: string): ShadowError => ({ code, message });

export const ShadowErrors = {
  invalidJson: e(400, 'Invalid JSON'),
  missingState: e(400, 'Missing required node: state'),
  stateNotObject: e(400, 'State node must be an object'),
  desiredNotObject: e(400, 'Desired node must be an object'),
  reportedNotObject: e(400, 'Reported node must be an object'),
  /** The quoted-key form observed from IoT Core (spec/shadow.md 4). */
  invalidNode: (key: string): ShadowError => e(400, `State contains an invalid node: '${key}'`),
  invalidVersion: e(400, 'Invalid version'),
  invalidClientToken: e(400, 'Invalid clientToken'),
  tooDeep: (maxDepth: number): ShadowError => e(400, `JSON contains too many levels of nesting; maximum is ${maxDepth}`),
  /** AWS's validation wording, as the HTTP API uses it for names (spec/http-api.md section 2). */
  invalidName: (member: 'thingName' | 'shadowName', value: string, constraint: string): ShadowError =>
    e(400, `1 validation error detected: Value '${value.length > 256 ? `${value.slice(0, 256)}...` : value}' at '${member}' failed to satisfy constraint: ${constraint}`),
  unauthorized: e(401, 'Unauthorized'),
  /** `name` is the thing name for the classic shadow, the shadow name for a named one (spec/shadow.md 5.4). */
  noShadow: (name: string): ShadowError => e(404, `No shadow exists with name: '${name}'`),
  thingNotFound: e(404, 'Thing not found'),
  versionConflict: e(409, 'Version conflict'),
  tooLarge: e(413, 'The payload exceeds the maximum size allowed'),
  /** Wording sic (spec/shadow.md 7). */
  unsupportedEncoding: e(415, 'Unsupported documented encoding; supported encoding is UTF-8'),
  /** The message observed from IoT Core (spec/shadow.md 7, python-v2#307). */
  tooManyRequests: e(429, 'TOO_MANY_REQUESTS'),
  internal: e(500, 'Internal service failure'),
} as const;

/** The AWS exception the HTTP data plane answers a ShadowError with (spec/shadow.md 7). */
export function toServiceError(error: ShadowError): ServiceError {
  switch (error.code) {
    case 400:
      return AwsErrors.invalidRequest(error.message);
    case 401:
      return AwsErrors.unauthorized(error.message);
    case 403:
      return AwsErrors.forbidden(error.message);
    case 404:
      return AwsErrors.resourceNotFound(error.message);
    case 409:
      return AwsErrors.conflict(error.message);
    case 413:
      return AwsErrors.requestEntityTooLarge(error.message);
    case 415:
      return AwsErrors.unsupportedDocumentEncoding(error.message);
    case 429:
      return AwsErrors.throttlingDataPlane(error.message);
    case 503:
      return AwsErrors.serviceUnavailable(error.message);
    default:
      return AwsErrors.internalFailure(error.message);
  }
}
