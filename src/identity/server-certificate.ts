import { X509Certificate, createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { x509 } from './x509.js';
import { exportPrivateKeyPem, generateKeyPair, publicKeyDerOfPrivateKey } from './keys.js';
import { keyUsagesFor, signCertificate, validityOf } from './issue.js';
import { readIfExists, writeFileAtomic } from './files.js';
import type { CertificateAuthority, ServerCertificate } from './model.js';

export const serverCertificateFile = 'server.pem';
export const serverKeyFile = 'server.key.pem';

/** Apple platforms refuse TLS server certificates valid for more than 398 days. */
const validityDays = 397;
/** Reissue once less than this is left. */
const renewBeforeMs = 30 * 24 * 60 * 60 * 1000;

/**
 * The TLS server certificate in `dataDir` (`server.pem`, `server.key.pem` mode 0600), signed by the
 * CA, with a subjectAltName entry for every host name (DNS names and IP addresses) and
 * extendedKeyUsage serverAuth. Reused while it still fits; reissued when the host list changed, it
 * expires within 30 days, or it was not issued by this CA.
 */
export async function loadOrCreateServerCertificate(
  dataDir: string,
  ca: CertificateAuthority,
  hostNames: readonly string[],
  nowMs: number = Date.now(),
): Promise<ServerCertificate> {
  const names = normalizeHostNames(hostNames);
  const certificatePath = join(dataDir, serverCertificateFile);
  const keyPath = join(dataDir, serverKeyFile);
  const certificatePem = await readIfExists(certificatePath);
  const keyPem = await readIfExists(keyPath);
  if (certificatePem !== undefined && keyPem !== undefined) {
    const existing = reusable(certificatePem, keyPem, ca, names, nowMs);
    if (existing !== undefined) {
      return { certificatePem, privateKeyPem: keyPem, hostNames: names, notAfterMs: existing.notAfterMs, issued: false };
    }
  }
  const issued = await issueServerCertificate(ca, names);
  await writeFileAtomic(keyPath, issued.privateKeyPem, 0o600);
  await writeFileAtomic(certificatePath, issued.certificatePem, 0o644);
  return { ...issued, hostNames: names, issued: true };
}

/** Validates and de-duplicates host names; IP addresses in canonical form, DNS names lowercased. */
export function normalizeHostNames(hostNames: readonly string[]): string[] {
  if (hostNames.length === 0) throw new RangeError('at least one host name is needed for the server certificate');
  const out = new Set<string>();
  for (const raw of hostNames) {
    const name = raw.trim();
    if (isIP(name) !== 0) out.add(canonicalIp(name));
    else if (isDnsName(name)) out.add(name.toLowerCase());
    else throw new RangeError(`"${raw}" is neither an IP address nor a valid DNS name`);
  }
  return [...out];
}

async function issueServerCertificate(
  ca: CertificateAuthority,
  names: readonly string[],
): Promise<{ certificatePem: string; privateKeyPem: string; notAfterMs: number }> {
  const keys = await generateKeyPair('ec-p256');
  const { notBefore, notAfter } = validityOf({ validityDays });
  const certificate = await signCertificate(ca, {
    // Clients match the subjectAltName; the common name is for humans reading the certificate.
    subject: [{ CN: [(names[0] ?? 'localhost').slice(0, 64)] }, { O: ['Thingcore'] }],
    publicKey: keys.publicKey,
    notBefore,
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(keyUsagesFor('ec-p256'), true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((name) => ({ type: isIP(name) !== 0 ? 'ip' : 'dns', value: name })),
      ),
    ],
  });
  return {
    certificatePem: certificate.toString(),
    privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
    notAfterMs: notAfter.getTime(),
  };
}

function reusable(
  certificatePem: string,
  keyPem: string,
  ca: CertificateAuthority,
  names: readonly string[],
  nowMs: number,
): { notAfterMs: number } | undefined {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificatePem);
    createPrivateKey(keyPem);
  } catch {
    return undefined;
  }
  if (!certificate.checkIssued(ca.certificate) || !certificate.verify(ca.certificate.publicKey)) return undefined;
  if (!certificate.publicKey.export({ type: 'spki', format: 'der' }).equals(publicKeyDerOfPrivateKey(keyPem))) return undefined;
  const notAfterMs = Date.parse(certificate.validTo);
  if (notAfterMs - nowMs < renewBeforeMs || nowMs < Date.parse(certificate.validFrom)) return undefined;
  const present = subjectAltNamesOf(certificate);
  if (present.length !== names.length || !names.every((name) => present.includes(name))) return undefined;
  return { notAfterMs };
}

/** The SAN entries of a certificate, normalized like normalizeHostNames. */
export function subjectAltNamesOf(certificate: X509Certificate): string[] {
  const san = certificate.subjectAltName;
  if (san === undefined) return [];
  const out: string[] = [];
  // Node's format: "DNS:localhost, IP Address:127.0.0.1" (values with commas are quoted; ours have none).
  for (const entry of san.split(', ')) {
    if (entry.startsWith('DNS:')) out.push(entry.slice(4).toLowerCase());
    else if (entry.startsWith('IP Address:')) out.push(canonicalIp(entry.slice(11)));
  }
  return out;
}

function isDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  return labels.every(
    (label, i) => (label === '*' && i === 0 && labels.length > 2) || /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i.test(label),
  );
}

/** Canonical text of an IP address (Node prints IPv6 SANs fully expanded in upper case). */
function canonicalIp(address: string): string {
  if (isIP(address) === 4) return address;
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}
