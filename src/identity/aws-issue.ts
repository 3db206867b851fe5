/**
 * The two ways AWS IoT issues device certificates from its own CA, done with ours:
 *  - CreateKeysAndCertificate: a fresh RSA-2048 key pair (as AWS), subject `CN=AWS IoT Certificate`
 *    (as AWS); the private key is returned once (PKCS#1 `RSA PRIVATE KEY`, which is what AWS is
 *    believed to hand out and what every device SDK loads) and never kept;
 *  - CreateCertificateFromCsr: the CSR's signature must verify (proof that the caller holds the key);
 *    the certificate carries the CSR's public key and subject (an empty subject becomes
 *    `CN=AWS IoT Certificate`); the CSR's requested extensions are ignored.
 * Both: extendedKeyUsage clientAuth, valid from 5 minutes ago until the CA itself expires (AWS uses
 * 2049-12-31; a device certificate outliving its CA would only fail later, in other verifiers).
 */
import { createPublicKey, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { x509 } from './x509.js';
import { keyUsagesFor, signCertificate } from './issue.js';
import { parseCertificateDer } from './certificate-pem.js';
import type { ParsedCertificate } from './certificate-pem.js';
import type { CertificateAuthority } from './model.js';

const generateKeyPairAsync = promisify(generateKeyPair);

const awsSubject: x509.JsonName = [{ CN: ['AWS IoT Certificate'] }];
const clockSkewMs = 5 * 60 * 1000;
/** AWS's issued certificates expire at the end of 2049. */
const awsNotAfterMs = Date.UTC(2049, 11, 31, 23, 59, 59);

export interface IssuedKeysAndCertificate {
  readonly certificate: ParsedCertificate;
  /** SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`). */
  readonly publicKeyPem: string;
  /** PKCS#1 PEM (`-----BEGIN RSA PRIVATE KEY-----`). */
  readonly privateKeyPem: string;
}

function validity(ca: CertificateAuthority, nowMs: number): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(Math.floor((nowMs - clockSkewMs) / 1000) * 1000);
  const notAfter = new Date(Math.floor(Math.min(ca.notAfterMs, awsNotAfterMs) / 1000) * 1000);
  return { notBefore, notAfter };
}

async function issue(
  ca: CertificateAuthority,
  subject: x509.JsonName | x509.Name,
  publicKey: x509.PublicKey,
  isRsa: boolean,
  nowMs: number,
): Promise<ParsedCertificate> {
  const signed = await signCertificate(ca, {
    subject,
    publicKey,
    ...validity(ca, nowMs),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(keyUsagesFor(isRsa ? 'rsa-2048' : 'ec-p256'), true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  const parsed = parseCertificateDer(signed.raw);
  if (parsed === undefined) throw new Error('the certificate just issued does not parse');
  return parsed;
}

/** CreateKeysAndCertificate: a new RSA-2048 key pair and a certificate for it. */
export async function issueKeysAndCertificate(ca: CertificateAuthority, nowMs: number): Promise<IssuedKeysAndCertificate> {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const certificate = await issue(ca, awsSubject, new x509.PublicKey(spki), true, nowMs);
  return {
    certificate,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  };
}

export type CsrProblem = 'malformed' | 'bad-signature';

/**
 * CreateCertificateFromCsr. Answers a problem instead of throwing for a CSR that does not parse or
 * whose signature does not verify (including key types WebCrypto cannot verify).
 */
export async function issueCertificateFromCsr(
  ca: CertificateAuthority,
  csrPem: string,
  nowMs: number,
): Promise<{ ok: true; certificate: ParsedCertificate } | { ok: false; problem: CsrProblem }> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    if (!/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/.test(csrPem)) return { ok: false, problem: 'malformed' };
    csr = new x509.Pkcs10CertificateRequest(csrPem.replace(/-----(BEGIN|END) NEW CERTIFICATE REQUEST-----/g, '-----$1 CERTIFICATE REQUEST-----'));
  } catch {
    return { ok: false, problem: 'malformed' };
  }
  let verified: boolean;
  try {
    verified = await csr.verify();
  } catch {
    verified = false;
  }
  if (!verified) return { ok: false, problem: 'bad-signature' };
  let isRsa: boolean;
  try {
    isRsa = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' }).asymmetricKeyType === 'rsa';
  } catch {
    return { ok: false, problem: 'malformed' };
  }
  const subject = csr.subjectName.toJSON().length > 0 ? csr.subjectName : awsSubject;
  return { ok: true, certificate: await issue(ca, subject, csr.publicKey, isRsa, nowMs) };
}
