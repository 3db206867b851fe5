import { X509Certificate, randomBytes } from 'node:crypto';
import { x509 } from './x509.js';
import { certificateId } from './certificate-id.js';
import { exportPrivateKeyPem, exportPublicKeyPem, generateKeyPair, signingAlgorithmOf } from './keys.js';
import type { CryptoKey } from './keys.js';
import type { CertificateAuthority, IssueCertificateOptions, IssuedCertificate } from './model.js';

const dayMs = 24 * 60 * 60 * 1000;
/** Backdating tolerates a client whose clock runs a little behind ours. */
const clockSkewMs = 5 * 60 * 1000;

export interface SignRequest {
  /** Subject as [{ CN: ['name'] }, ...] (structured, so no DN escaping is involved), or a parsed Name (a CSR's). */
  readonly subject: x509.JsonName | x509.Name;
  /** A WebCrypto key, or a parsed SubjectPublicKeyInfo (a CSR's key, of any algorithm). */
  readonly publicKey: CryptoKey | x509.PublicKey;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly extensions: readonly x509.Extension[];
}

/** Signs a certificate for `publicKey` with the CA's key; adds authority/subject key identifiers. */
export async function signCertificate(ca: CertificateAuthority, request: SignRequest): Promise<X509Certificate> {
  const caCertificate = new x509.X509Certificate(ca.certificateDer);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: request.subject,
    issuer: caCertificate.subjectName,
    notBefore: request.notBefore,
    notAfter: request.notAfter,
    publicKey: request.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: signingAlgorithmOf(ca.keyAlgorithm),
    extensions: [
      ...request.extensions,
      await x509.SubjectKeyIdentifierExtension.create(request.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate.publicKey),
    ],
  });
  return new X509Certificate(Buffer.from(certificate.rawData));
}

/**
 * Issues a client (device) certificate and its key pair, signed by the CA: extendedKeyUsage
 * clientAuth, keyUsage digitalSignature. Used by the mutual-TLS tests and, later, by
 * CreateKeysAndCertificate.
 */
export async function issueClientCertificate(
  ca: CertificateAuthority,
  options: IssueCertificateOptions,
): Promise<IssuedCertificate> {
  const keys = await generateKeyPair(options.keyAlgorithm ?? 'ec-p256');
  const { notBefore, notAfter } = validityOf(options);
  const certificate = await signCertificate(ca, {
    subject: subjectOf(options),
    publicKey: keys.publicKey,
    notBefore,
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(keyUsagesFor(options.keyAlgorithm ?? 'ec-p256'), true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  return {
    certificatePem: certificate.toString(),
    certificateId: certificateId(certificate.raw),
    privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
    publicKeyPem: await exportPublicKeyPem(keys.publicKey),
    notBeforeMs: notBefore.getTime(),
    notAfterMs: notAfter.getTime(),
  };
}

export function validityOf(options: {
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly validityDays?: number;
}): { notBefore: Date; notAfter: Date } {
  // Certificates carry whole seconds; truncating here keeps notAfterMs equal to what the DER says.
  const notBefore = wholeSeconds(options.notBefore ?? new Date(Date.now() - clockSkewMs));
  const notAfter = wholeSeconds(options.notAfter ?? new Date(notBefore.getTime() + (options.validityDays ?? 365) * dayMs));
  if (!(notAfter.getTime() > notBefore.getTime())) throw new RangeError('certificate notAfter must be after notBefore');
  return { notBefore, notAfter };
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/** ECDSA keys only sign; RSA keys may also encipher (TLS 1.2 RSA key exchange). */
export function keyUsagesFor(algorithm: 'ec-p256' | 'rsa-2048'): number {
  return algorithm === 'ec-p256'
    ? x509.KeyUsageFlags.digitalSignature
    : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;
}

function subjectOf(options: IssueCertificateOptions): x509.JsonName {
  if (options.commonName.length === 0 || options.commonName.length > 64) {
    throw new RangeError('commonName must be 1 to 64 characters (RFC 5280 ub-common-name)');
  }
  const name: x509.JsonName = [{ CN: [options.commonName] }];
  if (options.organization !== undefined) name.push({ O: [options.organization] });
  return name;
}

/** 16 random bytes, first bit clear so the DER INTEGER is positive (RFC 5280 4.1.2.2). */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}
