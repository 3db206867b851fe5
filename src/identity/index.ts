/**
 * identity/: who a device is. Owns the built-in root CA, issuing certificates (server certificate
 * for the configured host names, client certificates), certificate ids (lowercase hex SHA-256 of the
 * DER) and the certificate service (`createIdentityService`): AWS IoT's certificate and CA-certificate
 * operations (CreateKeysAndCertificate, CreateCertificateFromCsr, RegisterCertificate[WithoutCA],
 * RegisterCACertificate, Describe/List/Update/Delete, GetRegistrationCode; spec/http-api.md 3.3), the
 * connect-path check of a TLS peer certificate (`authenticateCertificate`: registered, ACTIVE, in its
 * validity dates, its CA ACTIVE; cached) and status-change events (`onStatusChange`) that core/ turns
 * into disconnections.
 *
 * It refuses: topics, MQTT, policies, HTTP (api/routes/certificates.ts speaks it), thing attachments
 * (asked through the `isAttached` option, which core wires to the registry). Errors are shared/'s
 * ServiceError with the AWS exception names. Crypto is Node's crypto and @peculiar/x509 on Node's
 * WebCrypto; it never shells out to openssl.
 */
export { certificateId } from './certificate-id.js';
export { loadOrCreateCa, loadCa, caCertificateFile, caKeyFile } from './ca.js';
export {
  loadOrCreateServerCertificate,
  normalizeHostNames,
  subjectAltNamesOf,
  serverCertificateFile,
  serverKeyFile,
} from './server-certificate.js';
export { issueClientCertificate } from './issue.js';
export { checkPeerCertificate } from './verify.js';
export type { PeerCertificateCheck } from './verify.js';
export type { KeyAlgorithm } from './keys.js';
export type { CertificateAuthority, IssuedCertificate, IssueCertificateOptions, ServerCertificate } from './model.js';
export { createIdentityService, defaultPageSize as defaultCertificatePageSize, maxPageSize as maxCertificatePageSize } from './service.js';
export type { IdentityService, IdentityServiceOptions } from './service.js';
export { parseCertificatePem, parseCertificateDer, certificateFacts } from './certificate-pem.js';
export type {
  ParsedCertificate,
  CertificateFacts,
  DistinguishedNameFacts,
  DistinguishedNameAttribute,
  SubjectAlternativeNameFacts,
} from './certificate-pem.js';
export type {
  AutoRegistrationStatus,
  CaCertificateDescription,
  CaCertificateStatus,
  CaCertificateSummary,
  CertificateAuthentication,
  CertificateDescription,
  CertificateMode,
  CertificateRefusal,
  CertificateStatus,
  CertificateSummary,
  CertificateValidity,
  CreateCertificateFromCsrInput,
  CreateCertificateFromCsrOutput,
  CreateKeysAndCertificateInput,
  CreateKeysAndCertificateOutput,
  DeleteCertificateInput,
  DescribeCaCertificateOutput,
  IdentityEvent,
  IdentityListener,
  ListCaCertificatesInput,
  ListCaCertificatesOutput,
  ListCertificatesByCaInput,
  ListCertificatesInput,
  ListCertificatesOutput,
  RegisterCaCertificateInput,
  RegisterCertificateInput,
  RegisterCertificateWithoutCaInput,
  RegisteredCertificate,
  RegistrationConfig,
  UpdateCaCertificateInput,
  UpdateCertificateInput,
} from './model.js';
