/**
 * identity/: who a device is. Owns the built-in root CA, issuing certificates (server certificate
 * for the configured host names, client certificates; later CreateKeysAndCertificate, CSRs,
 * registration of customer CA and device certificates with their status), certificate ids (lowercase
 * hex SHA-256 of the DER) and the check of a TLS peer certificate.
 *
 * It refuses: topics, MQTT, policies, HTTP. Crypto is @peculiar/x509 on Node's WebCrypto; it never
 * shells out to openssl.
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
