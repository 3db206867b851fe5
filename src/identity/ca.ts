import { X509Certificate } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { x509 } from './x509.js';
import { certificateId } from './certificate-id.js';
import { readIfExists, writeFileAtomic } from './files.js';
import { exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem, publicKeyDerOfPrivateKey } from './keys.js';
import type { CertificateAuthority } from './model.js';

export const caCertificateFile = 'ca.pem';
export const caKeyFile = 'ca.key.pem';

const caValidityYears = 10;
const caSubject: x509.JsonName = [{ CN: ['Thingcore Root CA'] }, { O: ['Thingcore'] }];

/**
 * The built-in root CA in `dataDir`: `ca.pem` and `ca.key.pem` (mode 0600), created on first start
 * and reused afterwards. ECDSA P-256 with SHA-256.
 *
 * The key is written before the certificate, so `ca.pem` existing means the CA is complete. A
 * certificate without its key is an error, never a reason to mint a new CA: that would silently
 * invalidate every certificate the old one issued.
 */
export async function loadOrCreateCa(dataDir: string): Promise<CertificateAuthority> {
  const certificatePath = join(dataDir, caCertificateFile);
  const keyPath = join(dataDir, caKeyFile);
  const certificatePem = await readIfExists(certificatePath);
  if (certificatePem !== undefined) {
    const keyPem = await readIfExists(keyPath);
    if (keyPem === undefined) {
      throw new Error(`${certificatePath} exists but its key ${keyPath} is missing; restore the key or remove both to create a new CA`);
    }
    return loadCa(certificatePem, keyPem, certificatePath);
  }
  await mkdir(dataDir, { recursive: true });
  const created = await createCa();
  await writeFileAtomic(keyPath, created.keyPem, 0o600);
  await writeFileAtomic(certificatePath, created.certificatePem, 0o644);
  return loadCa(created.certificatePem, created.keyPem, certificatePath);
}

/** Parses a CA from its PEM certificate and key, checking that they belong together. */
export async function loadCa(certificatePem: string, keyPem: string, source = 'CA certificate'): Promise<CertificateAuthority> {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificatePem);
  } catch (err: unknown) {
    throw new Error(`${source} is not a valid PEM certificate`, { cause: err });
  }
  if (!certificate.ca) throw new Error(`${source} is not a CA certificate (basicConstraints cA is false)`);
  const certificatePublicKey = certificate.publicKey.export({ type: 'spki', format: 'der' });
  if (!certificatePublicKey.equals(publicKeyDerOfPrivateKey(keyPem))) {
    throw new Error(`${source} and its private key do not match`);
  }
  const { key, algorithm } = await importPrivateKeyPem(keyPem);
  return {
    certificatePem,
    certificateDer: certificate.raw,
    certificateId: certificateId(certificate.raw),
    certificate,
    notAfterMs: Date.parse(certificate.validTo),
    keyAlgorithm: algorithm,
    privateKey: key,
  };
}

async function createCa(): Promise<{ certificatePem: string; keyPem: string }> {
  const keys = await generateKeyPair('ec-p256');
  const notBefore = new Date(Date.now() - 60 * 60 * 1000);
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + caValidityYears);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: caSubject,
    keys,
    notBefore,
    notAfter,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      // No pathLength: later issues register intermediate/customer CAs beneath it.
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: certificate.toString('pem') + '\n', keyPem: await exportPrivateKeyPem(keys.privateKey) };
}
