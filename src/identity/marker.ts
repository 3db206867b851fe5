/**
 * `marker` / `nextMarker` of the certificate listings (spec/http-api.md 3.8): base64 (standard
 * alphabet with padding, which botocore's `[A-Za-z0-9+/]+={0,2}` accepts) of
 * `{"s": listing, "o": "asc"|"desc", "t": creationDateMs, "i": certificateId}`. The listing and the
 * order are part of the marker, so a marker from ListCACertificates, or from a descending listing,
 * cannot silently resume another one: that is 400 InvalidRequestException, as is anything malformed.
 */
import { AwsErrors } from '../shared/index.js';
import type { CertificatePosition } from '../store/index.js';

export type Listing = 'ListCertificates' | 'ListCertificatesByCA' | 'ListCACertificates';
export type Order = 'asc' | 'desc';

export function encodeMarker(listing: Listing, order: Order, position: CertificatePosition): string {
  return Buffer.from(JSON.stringify({ s: listing, o: order, t: position.creationDateMs, i: position.certificateId }), 'utf8').toString('base64');
}

export function decodeMarker(marker: string, listing: Listing, order: Order): CertificatePosition {
  const invalid = () => AwsErrors.invalidRequest(`The marker is invalid: ${marker.length > 64 ? `${marker.slice(0, 64)}...` : marker}`);
  if (marker.length > 1024 || !/^[A-Za-z0-9+/]+={0,2}$/.test(marker)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(marker, 'base64').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid();
  const { s, o, t, i } = parsed as Record<string, unknown>;
  if (s !== listing || o !== order || typeof t !== 'number' || !Number.isSafeInteger(t) || typeof i !== 'string' || !/^[0-9a-f]{64}$/.test(i)) {
    throw invalid();
  }
  return { creationDateMs: t, certificateId: i };
}
