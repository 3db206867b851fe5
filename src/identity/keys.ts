import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** Key algorithms the certificate service issues. ECDSA P-256 is the default: fast and accepted by
 * Node TLS, OpenSSL (mosquitto clients) and the AWS device SDKs. RSA 2048 is what AWS's
 * CreateKeysAndCertificate returns, for clients that only handle RSA. */
export type KeyAlgorithm = 'ec-p256' | 'rsa-2048';

export type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type CryptoKey = webcrypto.CryptoKey;

const ecdsa = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const rsa = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

export function generateKeyPair(algorithm: KeyAlgorithm): Promise<CryptoKeyPair> {
  const params =
    algorithm === 'ec-p256'
      ? ecdsa
      : { ...rsa, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };
  return webcrypto.subtle.generateKey(params, true, ['sign', 'verify']);
}

/** The signature algorithm a key of this kind signs certificates with. */
export function signingAlgorithmOf(algorithm: KeyAlgorithm): { name: string; hash: string } {
  return algorithm === 'ec-p256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: rsa.name, hash: 'SHA-256' };
}

export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return toPem(der, 'PRIVATE KEY');
}

export async function exportPublicKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('spki', key));
  return toPem(der, 'PUBLIC KEY');
}

/** Imports a PEM private key (PKCS#8, or the traditional EC/RSA forms OpenSSL writes) for signing. */
export async function importPrivateKeyPem(pem: string): Promise<{ key: CryptoKey; algorithm: KeyAlgorithm }> {
  const keyObject = createPrivateKey(pem);
  const algorithm = keyAlgorithmOf(keyObject);
  const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'der' });
  const params = algorithm === 'ec-p256' ? ecdsa : rsa;
  const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, params, false, ['sign']);
  return { key, algorithm };
}

/** DER SubjectPublicKeyInfo of the public half of a PEM private key (to match a key to its certificate). */
export function publicKeyDerOfPrivateKey(pem: string): Buffer {
  return createPublicKey(pem).export({ type: 'spki', format: 'der' });
}

function keyAlgorithmOf(key: KeyObject): KeyAlgorithm {
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ec-p256';
  if (key.asymmetricKeyType === 'rsa') return 'rsa-2048';
  throw new Error(
    `unsupported key type ${key.asymmetricKeyType ?? 'unknown'}${
      key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''
    }: expected EC P-256 or RSA`,
  );
}

export function toPem(der: Buffer, label: string): string {
  const base64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
