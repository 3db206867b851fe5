/**
 * The registry's nextToken: base64 (standard alphabet, padded) of `{"s": listing, "p": position}`,
 * where `position` is the sort key of the last item returned (a thing or type name, or an
 * attachment's seq). The next page starts strictly after it, so things added or deleted between two
 * calls never make a page repeat or skip one that existed throughout (spec/http-api.md 1.3, 3.8).
 *
 * The token layout lives in shared/page-token.ts (api/ and shadow/ use it too).
 */
import { AwsErrors, decodePageToken } from '../shared/index.js';

export { encodePageToken, decodePageToken } from '../shared/index.js';

/** decodePageToken for listings whose position is an attachment seq (a positive integer). */
export function decodeSeqToken(token: string, listing: string): number {
  const position = decodePageToken(token, listing);
  if (!/^[1-9]\d{0,15}$/.test(position)) {
    throw AwsErrors.invalidRequest(`The nextToken is invalid: ${token.length > 64 ? `${token.slice(0, 64)}...` : token}`);
  }
  return Number(position);
}
