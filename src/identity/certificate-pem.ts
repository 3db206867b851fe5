/**
 * Parsing certificates as the API receives them (PEM text) and as TLS hands them over (DER), and the
 * facts a certificate offers to later policy variables (spec/mqtt.md section 16:
 * `iot:Certificate.Subject.CommonName`, `…Issuer.*`, `…SubjectAlternativeName.*`, `…SerialNumber`,
 * `…Validity.*`).
 *
 * Node's own X509Certificate does the signature and issuer checks (synchronous, every key type
 * OpenSSL knows); @peculiar/x509 reads names and extensions in structured form (Node's `subject` is
 * a newline-joined string whose escaping is ambiguous for multi-valued RDNs).
 */
import { X509Certificate } from 'node:crypto';
import { x509 } from './x509.js';
import { certificateId } from './certificate-id.js';
import { toPem } from './keys.js';

/** AWS IoT's certificate-id model allows 65536 characters of PEM; anything longer is refused before parsing. */
export const maxPemLength = 65_536;

export interface ParsedCertificate {
  readonly der: Buffer;
  /** Canonical PEM of the DER (one certificate, 64-column base64, trailing newline). */
  readonly pem: string;
  readonly certificateId: string;
  readonly certificate: X509Certificate;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  /** basicConstraints cA. */
  readonly isCa: boolean;
}

const pemBlock = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/;

/** The first certificate of a PEM text (a chain's leaf); undefined when there is none or it does not parse. */
export function parseCertificatePem(text: string): ParsedCertificate | undefined {
  if (text.length > maxPemLength) return undefined;
  const match = pemBlock.exec(text);
  if (match === null || match[1] === undefined) return undefined;
  const base64 = match[1].replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return undefined;
  return parseCertificateDer(Buffer.from(base64, 'base64'));
}

export function parseCertificateDer(der: Uint8Array): ParsedCertificate | undefined {
  let certificate: X509Certificate;
  const bytes = Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  try {
    certificate = new X509Certificate(bytes);
  } catch {
    return undefined;
  }
  // OpenSSL tolerates trailing bytes after the DER; the id must be the hash of exactly the certificate.
  if (!certificate.raw.equals(bytes)) return undefined;
  const notBeforeMs = Date.parse(certificate.validFrom);
  const notAfterMs = Date.parse(certificate.validTo);
  if (!Number.isFinite(notBeforeMs) || !Number.isFinite(notAfterMs)) return undefined;
  return {
    der: certificate.raw,
    pem: toPem(certificate.raw, 'CERTIFICATE'),
    certificateId: certificateId(certificate.raw),
    certificate,
    notBeforeMs,
    notAfterMs,
    isCa: certificate.ca,
  };
}

/** Whether `issuer` issued `subject`: names (and key identifiers when present) match and the signature verifies. */
export function isIssuedBy(subject: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** A self-signed certificate whose signature verifies with its own key. */
export function isSelfSigned(certificate: X509Certificate): boolean {
  return isIssuedBy(certificate, certificate);
}

/** Distinguished-name attributes by the names AWS IoT's policy variables use. */
export type DistinguishedNameFacts = Readonly<Partial<Record<DistinguishedNameAttribute, readonly string[]>>>;

export type DistinguishedNameAttribute =
  | 'Country'
  | 'Organization'
  | 'OrganizationalUnit'
  | 'DistinguishedNameQualifier'
  | 'State'
  | 'Locality'
  | 'CommonName'
  | 'SerialNumber'
  | 'Title'
  | 'Surname'
  | 'GivenName'
  | 'Initials'
  | 'Pseudonym'
  | 'GenerationQualifier';

/** The subjectAltName entries, by AWS IoT's variable names. */
export interface SubjectAlternativeNameFacts {
  readonly DNSName?: readonly string[];
  readonly IPAddress?: readonly string[];
  readonly RFC822Name?: readonly string[];
  readonly UniformResourceIdentifier?: readonly string[];
  readonly DirectoryName?: readonly string[];
  readonly RegisteredID?: readonly string[];
}

/** What a certificate says about its holder, for the policy variables `iot:Certificate.*`. */
export interface CertificateFacts {
  readonly subject: DistinguishedNameFacts;
  readonly issuer: DistinguishedNameFacts;
  readonly subjectAlternativeName: SubjectAlternativeNameFacts;
  /** The issuerAltName entries (rare), same kinds. */
  readonly issuerAlternativeName: SubjectAlternativeNameFacts;
  /** Lowercase hex, as @peculiar/x509 prints it. */
  readonly serialNumber: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

const nameAttributes: ReadonlyArray<readonly [string, DistinguishedNameAttribute]> = [
  ['2.5.4.6', 'Country'],
  ['2.5.4.10', 'Organization'],
  ['2.5.4.11', 'OrganizationalUnit'],
  ['2.5.4.46', 'DistinguishedNameQualifier'],
  ['2.5.4.8', 'State'],
  ['2.5.4.7', 'Locality'],
  ['2.5.4.3', 'CommonName'],
  ['2.5.4.5', 'SerialNumber'],
  ['2.5.4.12', 'Title'],
  ['2.5.4.4', 'Surname'],
  ['2.5.4.42', 'GivenName'],
  ['2.5.4.43', 'Initials'],
  ['2.5.4.65', 'Pseudonym'],
  ['2.5.4.44', 'GenerationQualifier'],
];

function nameFacts(name: x509.Name): DistinguishedNameFacts {
  const facts: Partial<Record<DistinguishedNameAttribute, readonly string[]>> = {};
  for (const [oid, attribute] of nameAttributes) {
    const values = name.getField(oid);
    if (values.length > 0) facts[attribute] = Object.freeze([...values]);
  }
  return Object.freeze(facts);
}

const sanKinds: Readonly<Record<string, keyof SubjectAlternativeNameFacts>> = {
  dns: 'DNSName',
  ip: 'IPAddress',
  email: 'RFC822Name',
  url: 'UniformResourceIdentifier',
  dn: 'DirectoryName',
  id: 'RegisteredID',
};

function altNameFacts(
  certificate: x509.X509Certificate,
  type: typeof x509.SubjectAlternativeNameExtension | typeof x509.IssuerAlternativeNameExtension,
): SubjectAlternativeNameFacts {
  const facts: { -readonly [K in keyof SubjectAlternativeNameFacts]: string[] } = {};
  let extension: x509.SubjectAlternativeNameExtension | x509.IssuerAlternativeNameExtension | null;
  try {
    extension = certificate.getExtension(type);
  } catch {
    // otherName, x400Address, ediPartyName: not representable; the variables stay unresolved.
    return Object.freeze({});
  }
  for (const name of extension?.names.items ?? []) {
    const kind = sanKinds[name.type];
    if (kind === undefined) continue;
    (facts[kind] ??= []).push(name.value);
  }
  return Object.freeze(facts);
}

/** The holder facts of a parsed certificate (its names, SANs, serial number and validity). */
export function certificateFacts(parsed: ParsedCertificate): CertificateFacts {
  const certificate = new x509.X509Certificate(parsed.der);
  return Object.freeze({
    subject: nameFacts(certificate.subjectName),
    issuer: nameFacts(certificate.issuerName),
    subjectAlternativeName: altNameFacts(certificate, x509.SubjectAlternativeNameExtension),
    issuerAlternativeName: altNameFacts(certificate, x509.IssuerAlternativeNameExtension),
    serialNumber: certificate.serialNumber.toLowerCase(),
    notBeforeMs: parsed.notBeforeMs,
    notAfterMs: parsed.notAfterMs,
  });
}

/** The first CN of a certificate's subject, or undefined. */
export function commonNameOf(parsed: ParsedCertificate): string | undefined {
  return new x509.X509Certificate(parsed.der).subjectName.getField('2.5.4.3')[0];
}
