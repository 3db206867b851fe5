import type { X509Certificate } from 'node:crypto';
import type { CryptoKey, KeyAlgorithm } from './keys.js';
import type { AutoRegistrationStatus, CaCertificateStatus, CertificateMode, CertificateStatus } from '../store/index.js';
import type { CertificateFacts } from './certificate-pem.js';
import type { Tag } from '../tagging/index.js';

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

// ─── The certificate service (spec/http-api.md 3.3) ─────────────────────────────────────────────

export type { AutoRegistrationStatus, CaCertificateStatus, CertificateMode, CertificateStatus };

export interface CertificateValidity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** DescribeCertificate's `certificateDescription`. */
export interface CertificateDescription {
  readonly certificateArn: string;
  readonly certificateId: string;
  readonly caCertificateId?: string;
  readonly status: CertificateStatus;
  readonly certificatePem: string;
  readonly ownedBy: string;
  readonly creationDate: Date;
  readonly lastModifiedDate: Date;
  readonly customerVersion: number;
  readonly generationId: string;
  readonly validity: CertificateValidity;
  readonly certificateMode: CertificateMode;
}

/** RegisterCACertificate's / DescribeCACertificate's registrationConfig. */
export interface RegistrationConfig {
  readonly templateBody?: string;
  readonly roleArn?: string;
  readonly templateName?: string;
}

/** DescribeCACertificate's `certificateDescription`. */
export interface CaCertificateDescription {
  readonly certificateArn: string;
  readonly certificateId: string;
  readonly status: CaCertificateStatus;
  readonly certificatePem: string;
  readonly ownedBy: string;
  readonly creationDate: Date;
  readonly autoRegistrationStatus: AutoRegistrationStatus;
  readonly lastModifiedDate: Date;
  readonly customerVersion: number;
  readonly generationId: string;
  readonly validity: CertificateValidity;
  readonly certificateMode: CertificateMode;
}

export interface CertificateSummary {
  readonly certificateArn: string;
  readonly certificateId: string;
  readonly status: CertificateStatus;
  readonly certificateMode: CertificateMode;
  readonly creationDate: Date;
}

export interface CaCertificateSummary {
  readonly certificateArn: string;
  readonly certificateId: string;
  readonly status: CaCertificateStatus;
  readonly creationDate: Date;
}

export interface CreateKeysAndCertificateInput {
  readonly setAsActive?: boolean;
}

export interface CreateKeysAndCertificateOutput {
  readonly certificateArn: string;
  readonly certificateId: string;
  readonly certificatePem: string;
  readonly keyPair: { readonly PublicKey: string; readonly PrivateKey: string };
}

export interface CreateCertificateFromCsrInput {
  readonly certificateSigningRequest: string;
  readonly setAsActive?: boolean;
}

export interface CreateCertificateFromCsrOutput {
  readonly certificateArn: string;
  readonly certificateId: string;
  readonly certificatePem: string;
}

export interface RegisterCertificateInput {
  readonly certificatePem: string;
  readonly caCertificatePem?: string;
  readonly setAsActive?: boolean;
  /** A CertificateStatus; validated (400 InvalidRequestException otherwise). Wins over setAsActive. */
  readonly status?: string;
}

export interface RegisterCertificateWithoutCaInput {
  readonly certificatePem: string;
  readonly status?: string;
}

export interface RegisterCaCertificateInput {
  readonly caCertificate: string;
  readonly verificationCertificate?: string;
  readonly setAsActive?: boolean;
  readonly allowAutoRegistration?: boolean;
  readonly registrationConfig?: RegistrationConfig;
  /** 'DEFAULT' (default) or 'SNI_ONLY'. */
  readonly certificateMode?: string;
  /** Stored as the CA certificate's tags (at most 50; tagging/ checks them). */
  readonly tags?: readonly Tag[];
}

export interface RegisteredCertificate {
  readonly certificateArn: string;
  readonly certificateId: string;
}

export interface ListCertificatesInput {
  /** 1..250; default 25. */
  readonly pageSize?: number;
  readonly marker?: string;
  /** Default false: newest first. */
  readonly isAscendingOrder?: boolean;
}

export interface ListCertificatesByCaInput extends ListCertificatesInput {
  readonly caCertificateId: string;
}

export interface ListCertificatesOutput {
  readonly certificates: CertificateSummary[];
  readonly nextMarker?: string;
}

export interface ListCaCertificatesInput extends ListCertificatesInput {
  readonly templateName?: string;
}

export interface ListCaCertificatesOutput {
  readonly certificates: CaCertificateSummary[];
  readonly nextMarker?: string;
}

export interface UpdateCertificateInput {
  readonly certificateId: string;
  readonly newStatus: string;
}

export interface DeleteCertificateInput {
  readonly certificateId: string;
  readonly forceDelete?: boolean;
}

export interface DescribeCaCertificateOutput {
  readonly certificateDescription: CaCertificateDescription;
  readonly registrationConfig?: RegistrationConfig;
}

export interface UpdateCaCertificateInput {
  readonly certificateId: string;
  /** 'ACTIVE' | 'INACTIVE'. */
  readonly newStatus?: string;
  /** 'ENABLE' | 'DISABLE'. */
  readonly newAutoRegistrationStatus?: string;
  readonly registrationConfig?: RegistrationConfig;
  readonly removeAutoRegistration?: boolean;
}

/** Why a certificate presented on a connection is refused. */
export type CertificateRefusal =
  | 'unregistered'
  | 'inactive'
  | 'revoked'
  | 'expired'
  | 'not-yet-valid'
  | 'ca-inactive'
  | 'ca-unknown'
  | 'bad-signature';

/** authenticateCertificate's answer. */
export type CertificateAuthentication =
  | {
      readonly ok: true;
      readonly certificateId: string;
      readonly certificateArn: string;
      /** The registered CA it was registered with, if any. */
      readonly caCertificateId?: string;
      /** Subject, issuer, SANs, serial and validity, for the `iot:Certificate.*` policy variables. */
      readonly facts: CertificateFacts;
    }
  | {
      readonly ok: false;
      readonly reason: CertificateRefusal;
      /** Absent only when there were no bytes to hash. */
      readonly certificateId?: string;
      /** Human-readable, for logs. */
      readonly message: string;
    };

/**
 * A change of a certificate's or CA certificate's status (registration, update, deletion), emitted
 * after the change is durable. `status` 'DELETED' means it no longer exists.
 */
export type IdentityEvent =
  | {
      readonly type: 'certificate';
      readonly certificateId: string;
      readonly certificateArn: string;
      readonly status: CertificateStatus | 'DELETED';
      /** Undefined for a registration. */
      readonly previousStatus: CertificateStatus | undefined;
    }
  | {
      readonly type: 'caCertificate';
      readonly caCertificateId: string;
      readonly status: CaCertificateStatus | 'DELETED';
      readonly previousStatus: CaCertificateStatus | undefined;
    };

export type IdentityListener = (event: IdentityEvent) => void;
