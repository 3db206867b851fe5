/**
 * How the admin commands fail: a CliError is a message for the user (main.ts prints it as
 * `thingcore: <message>` and exits with its code); anything else is a bug and is printed with its
 * stack. AWS errors are recognised by their exception name, never by their message.
 */
import { IoTServiceException } from '@aws-sdk/client-iot';

export const exitCodes = { ok: 0, error: 1, usage: 2 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = exitCodes.error,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** A bad argument value that commander cannot check by itself (exit code 2). */
export function usageError(message: string): CliError {
  return new CliError(message, exitCodes.usage);
}

/** The AWS exception an API call ended with, as the SDK reported it. */
export interface AwsError {
  /** The AWS exception name, e.g. ResourceNotFoundException. */
  readonly name: string;
  readonly message: string;
  readonly httpStatus: number | undefined;
}

/** The AWS exception behind `err`, or undefined when the server never answered with one. */
export function awsErrorOf(err: unknown): AwsError | undefined {
  if (!(err instanceof IoTServiceException)) return undefined;
  return { name: err.name, message: err.message, httpStatus: err.$metadata.httpStatusCode };
}

export function isAwsError(err: unknown, name: string): boolean {
  return awsErrorOf(err)?.name === name;
}

/**
 * Whether the server does not offer the operation at all: UnknownOperationException, or any 404/405
 * that is not a modeled "not found" (a server without the route may answer 404 with a body that is
 * not even JSON, which the SDK reports as a deserialisation error carrying the status).
 */
export function isUnsupportedOperation(err: unknown): boolean {
  const aws = awsErrorOf(err);
  if (aws !== undefined) {
    if (aws.name === 'UnknownOperationException' || aws.name === 'MethodNotAllowedException') return true;
    return (aws.httpStatus === 404 || aws.httpStatus === 405) && aws.name !== 'ResourceNotFoundException';
  }
  const status = httpStatusOf(err);
  return status === 404 || status === 405;
}

/** The HTTP status the SDK attached to any error it raised after a response arrived. */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('$metadata' in err)) return undefined;
  const metadata: unknown = err.$metadata;
  if (typeof metadata !== 'object' || metadata === null || !('httpStatusCode' in metadata)) return undefined;
  return typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

/** The Node.js error code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, …) of a failed request, if any. */
export function systemErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ('code' in e && typeof e.code === 'string') return e.code;
    if (e instanceof AggregateError) {
      for (const inner of e.errors) {
        if (inner instanceof Error && 'code' in inner && typeof inner.code === 'string') return inner.code;
      }
    }
  }
  return undefined;
}
