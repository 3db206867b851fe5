import type { X509Certificate } from 'node:crypto';
import type { CryptoKey, KeyAlgorithm } from './keys.js';

/** The built-in root CA: its certificate and the key that signs what it issues. */
export interface CertificateAuthority {
  readonly certificatePem: string;
  readonly certificateDer: Buffer;
  /** Lowercase hex SHA-256 of the DER, as for every certificate. */
  readonly certificateId: string;
  /** Node's parsed certificate (checkIssued / verify against it). */
  readonly certificate: X509Certificate;
  readonly notAfterMs: number;
  readonly keyAlgorithm: KeyAlgorithm;
  /** Non-extractable signing key; it never leaves this process. */
  readonly privateKey: CryptoKey;
}

/** A certificate issued together with its key pair (server certificate, CreateKeysAndCertificate). */
export interface IssuedCertificate {
  readonly certificatePem: string;
  readonly certificateId: string;
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

export interface ServerCertificate {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** The DNS names and IP addresses in its subjectAltName, as configured. */
  readonly hostNames: readonly string[];
  readonly notAfterMs: number;
  /** True when this start created or replaced it (first start, host list changed, near expiry, new CA). */
  readonly issued: boolean;
}

export interface IssueCertificateOptions {
  readonly commonName: string;
  readonly organization?: string;
  /** Default 'ec-p256'. */
  readonly keyAlgorithm?: KeyAlgorithm;
  /** Default now − 5 min (tolerates clock skew). */
  readonly notBefore?: Date;
  /** Default notBefore + validityDays. */
  readonly notAfter?: Date;
  /** Default 365. Ignored when notAfter is given. */
  readonly validityDays?: number;
}
