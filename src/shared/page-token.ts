/**
 * Opaque page tokens (nextToken / marker): base64 (standard alphabet, padded, so botocore's
 * client-side pattern accepts them) of `{"s": scope, "p": position}`. `scope` names the listing (and
 * whatever it is filtered by), `position` the sort key of the last item returned; the next page
 * starts strictly after it, so items added or removed between calls never make a page repeat or
 * skip one (spec/http-api.md 1.3, 3.8). A malformed token, or one another listing issued, is
 * InvalidRequestException.
 */
import { AwsErrors } from './aws-errors.js';

const maxTokenLength = 4096;

export function encodePageToken(scope: string, position: string): string {
  return Buffer.from(JSON.stringify({ s: scope, p: position }), 'utf8').toString('base64');
}

/** The position inside a token issued by `scope`; 400 when malformed or issued by another listing. */
export function decodePageToken(token: string, scope: string, param = 'nextToken'): string {
  const invalid = () => AwsErrors.invalidRequest(`The ${param} is invalid: ${token.length > 64 ? `${token.slice(0, 64)}...` : token}`);
  if (token.length > maxTokenLength || !/^[A-Za-z0-9+/]+={0,2}$/.test(token)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid();
  const { s, p } = parsed as { s?: unknown; p?: unknown };
  if (s !== scope || typeof p !== 'string') throw invalid();
  return p;
}
