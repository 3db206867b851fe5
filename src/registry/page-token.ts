/**
 * The registry's nextToken: base64 (standard alphabet, padded) of `{"s": listing, "p": position}`,
 * where `position` is the sort key of the last item returned (a thing or type name, or an
 * attachment's seq). The next page starts strictly after it, so things added or deleted between two
 * calls never make a page repeat or skip one that existed throughout (spec/http-api.md 1.3, 3.8).
 *
 * The same layout as api/pagination.ts uses, so tokens look alike on the wire; the registry keeps its
 * own copy because a room never imports api/. A token that is malformed, or was issued by another
 * listing (or for another thing / principal), gives InvalidRequestException.
 */
import { AwsErrors } from '../shared/index.js';

const maxTokenLength = 4096;

export function encodePageToken(listing: string, position: string): string {
  return Buffer.from(JSON.stringify({ s: listing, p: position }), 'utf8').toString('base64');
}

/** The position inside `token`; InvalidRequestException when it is not a token of `listing`. */
export function decodePageToken(token: string, listing: string): string {
  const invalid = () =>
    AwsErrors.invalidRequest(`The nextToken is invalid: ${token.length > 64 ? `${token.slice(0, 64)}...` : token}`);
  if (token.length > maxTokenLength || !/^[A-Za-z0-9+/]+={0,2}$/.test(token)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid();
  const { s, p } = parsed as { s?: unknown; p?: unknown };
  if (s !== listing || typeof p !== 'string') throw invalid();
  return p;
}

/** decodePageToken for listings whose position is an attachment seq (a positive integer). */
export function decodeSeqToken(token: string, listing: string): number {
  const position = decodePageToken(token, listing);
  if (!/^[1-9]\d{0,15}$/.test(position)) {
    throw AwsErrors.invalidRequest(`The nextToken is invalid: ${token.length > 64 ? `${token.slice(0, 64)}...` : token}`);
  }
  return Number(position);
}
