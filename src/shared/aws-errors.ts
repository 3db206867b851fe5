/**
 * AWS-shaped service errors, shared by every AWS room (identity, registry, policy, shadow, rules).
 * Services throw these; api/ alone turns them into the wire form (x-amzn-ErrorType header + JSON
 * body with `message` and any modeled members), spec/http-api.md section 1.4. `code` is the AWS
 * exception name and never changes; branch on it (or instanceof), never on message text.
 */
export class ServiceError extends Error {
  constructor(
    /** The AWS exception name, e.g. 'ResourceNotFoundException'. */
    readonly code: string,
    readonly httpStatus: number,
    message: string,
    /** Modeled extra members sent in the body (e.g. resourceId, resourceArn). */
    readonly members: Readonly<Record<string, string>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = code;
  }
}

const make =
  (code: string, httpStatus: number) =>
  (message: string, members?: Record<string, string>): ServiceError =>
    new ServiceError(code, httpStatus, message, members);

/** The error catalogue of spec/http-api.md section 1.4 (status codes from the AWS models). */
export const AwsErrors = {
  invalidRequest: make('InvalidRequestException', 400),
  /** Control plane 400; the data plane uses 429 (throttlingDataPlane). */
  throttling: make('ThrottlingException', 400),
  throttlingDataPlane: make('ThrottlingException', 429),
  unauthorized: make('UnauthorizedException', 401),
  serviceUnavailable: make('ServiceUnavailableException', 503),
  internalFailure: make('InternalFailureException', 500),
  internal: make('InternalException', 500),
  resourceNotFound: make('ResourceNotFoundException', 404),
  resourceAlreadyExists: make('ResourceAlreadyExistsException', 409),
  versionConflict: make('VersionConflictException', 409),
  conflict: make('ConflictException', 409),
  deleteConflict: make('DeleteConflictException', 409),
  certificateState: make('CertificateStateException', 406),
  certificateValidation: make('CertificateValidationException', 400),
  certificateConflict: make('CertificateConflictException', 409),
  registrationCodeValidation: make('RegistrationCodeValidationException', 400),
  limitExceeded: make('LimitExceededException', 410),
  malformedPolicy: make('MalformedPolicyException', 400),
  versionsLimitExceeded: make('VersionsLimitExceededException', 409),
  sqlParse: make('SqlParseException', 400),
  conflictingResourceUpdate: make('ConflictingResourceUpdateException', 409),
  methodNotAllowed: make('MethodNotAllowedException', 405),
  requestEntityTooLarge: make('RequestEntityTooLargeException', 413),
  unsupportedDocumentEncoding: make('UnsupportedDocumentEncodingException', 415),
  forbidden: make('ForbiddenException', 403),
} as const;

export function isServiceError(err: unknown, code?: string): err is ServiceError {
  return err instanceof ServiceError && (code === undefined || err.code === code);
}
