import { X509Certificate } from 'node:crypto';
import { certificateId } from './certificate-id.js';
import type { CertificateAuthority } from './model.js';

const clientAuthOid = '1.3.6.1.5.5.7.3.2';

export type PeerCertificateCheck =
  | {
      readonly ok: true;
      readonly certificateId: string;
      readonly commonName?: string;
      readonly notAfterMs: number;
    }
  | {
      readonly ok: false;
      readonly certificateId?: string;
      readonly reason: 'malformed' | 'unknown-issuer' | 'bad-signature' | 'not-yet-valid' | 'expired' | 'wrong-purpose';
      /** Human-readable, for logs. */
      readonly message: string;
    };

/**
 * Checks a TLS peer certificate (DER) against a CA: issued by it (names and key identifiers), signed
 * by its key, inside its validity window, and (if it restricts its purpose) usable for client auth.
 * Registration and ACTIVE status come with the certificate service; this is the chain check only.
 */
export function checkPeerCertificate(
  der: Buffer,
  ca: CertificateAuthority,
  nowMs: number = Date.now(),
): PeerCertificateCheck {
  const id = certificateId(der);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(der);
  } catch {
    return { ok: false, certificateId: id, reason: 'malformed', message: 'the client certificate cannot be parsed' };
  }
  if (!certificate.checkIssued(ca.certificate)) {
    return {
      ok: false,
      certificateId: id,
      reason: 'unknown-issuer',
      message: `the client certificate's issuer (${oneLine(certificate.issuer)}) is not the Thingcore CA`,
    };
  }
  if (!certificate.verify(ca.certificate.publicKey)) {
    return { ok: false, certificateId: id, reason: 'bad-signature', message: "the client certificate's signature does not verify against the CA key" };
  }
  const notBeforeMs = Date.parse(certificate.validFrom);
  const notAfterMs = Date.parse(certificate.validTo);
  if (nowMs < notBeforeMs) {
    return { ok: false, certificateId: id, reason: 'not-yet-valid', message: `the client certificate is not valid before ${certificate.validFrom}` };
  }
  if (nowMs > notAfterMs || nowMs > ca.notAfterMs) {
    return { ok: false, certificateId: id, reason: 'expired', message: `the client certificate (or the CA) expired` };
  }
  // Node calls the extendedKeyUsage OIDs `keyUsage`; undefined means "no restriction".
  const purposes = certificate.keyUsage;
  if (purposes !== undefined && purposes.length > 0 && !purposes.includes(clientAuthOid)) {
    return { ok: false, certificateId: id, reason: 'wrong-purpose', message: 'the client certificate does not allow TLS client authentication' };
  }
  const commonName = commonNameOf(certificate.subject);
  return commonName === undefined
    ? { ok: true, certificateId: id, notAfterMs }
    : { ok: true, certificateId: id, commonName, notAfterMs };
}

function commonNameOf(subject: string): string | undefined {
  for (const line of subject.split('\n')) if (line.startsWith('CN=')) return line.slice(3);
  return undefined;
}

function oneLine(name: string): string {
  return name.split('\n').join(', ');
}
