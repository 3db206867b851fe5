/**
 * The one place where errors become AWS wire errors (spec/http-api.md 1.4):
 *
 *   HTTP/1.1 409 Conflict
 *   Content-Type: application/json
 *   x-amzn-RequestId: <uuid>
 *   x-amzn-ErrorType: ResourceAlreadyExistsException
 *   {"message":"...","resourceId":"t1","resourceArn":"arn:..."}
 *
 * Services throw `ServiceError` (shared/: `AwsErrors.*`); the status, name and modeled members come
 * from it. Anything else is a bug: 500 InternalFailureException with a generic message (the real
 * error is logged by the caller, never sent). The generic AWS names below are not modeled by the
 * IoT service (the SDKs surface them by name): SigV4 failures (403) and unknown routes (404).
 */
import { ServiceError } from '../shared/index.js';

/** Errors api/ itself raises that are not in the shared catalogue. */
export const ApiErrors = {
  /** Bad signature, expired or mismatching date, tampered body. */
  invalidSignature: (message: string) => new ServiceError('InvalidSignatureException', 403, message),
  /** Unknown access key id, or a session token that does not match. */
  unrecognizedClient: (message: string) => new ServiceError('UnrecognizedClientException', 403, message),
  /** No Authorization header and no presigned query. */
  missingAuthenticationToken: (message: string) => new ServiceError('MissingAuthenticationTokenException', 403, message),
  /** A malformed Authorization header or presigned query. */
  incompleteSignature: (message: string) => new ServiceError('IncompleteSignatureException', 403, message),
  /** No route for this (method, path). */
  unknownOperation: (message: string) => new ServiceError('UnknownOperationException', 404, message),
} as const;

export interface WireError {
  readonly status: number;
  /** Sent as `x-amzn-ErrorType`. */
  readonly errorType: string;
  /** `{ message, ...modeled members }`. */
  readonly body: Readonly<Record<string, string>>;
  /** True when `err` was not a ServiceError (a bug): the caller logs it. */
  readonly unexpected: boolean;
}

export const internalFailureMessage = 'An internal error occurred; see the server log for the request id';

export function toWireError(err: unknown): WireError {
  if (err instanceof ServiceError) {
    const status = Number.isInteger(err.httpStatus) && err.httpStatus >= 400 && err.httpStatus <= 599 ? err.httpStatus : 500;
    const body: Record<string, string> = { message: err.message };
    for (const [name, value] of Object.entries(err.members)) if (name !== 'message') body[name] = value;
    return { status, errorType: err.code, body, unexpected: false };
  }
  return {
    status: 500,
    errorType: 'InternalFailureException',
    body: { message: internalFailureMessage },
    unexpected: true,
  };
}

/** Headers of an error response (besides `x-amzn-RequestId`, set on every response). */
export function errorHeaders(wire: WireError): Record<string, string> {
  return { 'content-type': 'application/json', 'x-amzn-ErrorType': wire.errorType };
}
