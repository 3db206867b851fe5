/**
 * The access keys Thingcore keeps, for SigV4 (sigv4.ts looks secrets up through `AccessKeyStore`).
 *
 * For now there is one key, the admin key, created on first start and written to
 * `<data-dir>/credentials` in the AWS shared-credentials format (profile `default`, mode 0600), so
 * `AWS_SHARED_CREDENTIALS_FILE=<data-dir>/credentials aws iot list-things --endpoint-url ...` works.
 *
 * Where the secret lives, and why: ONLY in that 0600 file. It is never written to the database, so a
 * copy of `thingcore.db` (a backup, a bug report) does not reveal it. We did not keep an encrypted
 * copy in the database with a key file beside it: with one key there is nothing to gain, and the key
 * file would have to be guarded exactly like the credentials file is. When more keys arrive (IAM-like
 * users), they go into the store encrypted under a 0600 key file in the data dir, behind this same
 * `AccessKeyStore` interface.
 *
 * Lookups are synchronous (an in-memory map) so that the WebSocket upgrade check, which the
 * transport runs synchronously, can verify a presigned URL.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface AccessKeySecret {
  readonly secretAccessKey: string;
  /** Temporary credentials carry a session token the request must present (x-amz-security-token). */
  readonly sessionToken?: string;
}

/** A Map-like lookup of secrets by access key id. */
export interface AccessKeyStore {
  secretFor(accessKeyId: string): AccessKeySecret | undefined;
}

export interface AccessKey extends AccessKeySecret {
  readonly accessKeyId: string;
}

/** An in-memory store over a fixed list of keys. */
export function staticAccessKeys(keys: readonly AccessKey[]): AccessKeyStore {
  const byId = new Map<string, AccessKeySecret>();
  for (const key of keys) {
    byId.set(key.accessKeyId, {
      secretAccessKey: key.secretAccessKey,
      ...(key.sessionToken !== undefined && { sessionToken: key.sessionToken }),
    });
  }
  return { secretFor: (accessKeyId) => byId.get(accessKeyId) };
}

export const credentialsFileName = 'credentials';
const profile = 'default';

export interface AdminCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Absolute or data-dir-relative path of the credentials file. */
  readonly file: string;
  /** True when this call created the key (first start). */
  readonly created: boolean;
  /** True when the existing file was readable by group/others and was reset to 0600. */
  readonly permissionsTightened: boolean;
}

const base32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** `AKIA` + 16 base32 characters, and a 40-character secret (base64 of 30 random bytes), as AWS keys look. */
export function generateAccessKey(): AccessKey {
  const idBytes = randomBytes(16);
  let id = 'AKIA';
  for (const byte of idBytes) id += base32[byte & 31];
  return { accessKeyId: id, secretAccessKey: randomBytes(30).toString('base64') };
}

export function formatSharedCredentials(key: AccessKey): string {
  return `[${profile}]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\n`;
}

/** Parses the INI-style shared-credentials format into profile → (key → value). */
export function parseSharedCredentials(text: string): Map<string, Map<string, string>> {
  const profiles = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (section) {
      current = profiles.get(section[1]!) ?? new Map<string, string>();
      profiles.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || current === undefined) continue;
    current.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return profiles;
}

/**
 * The admin key: read from `<dataDir>/credentials` (profile `default`) if the file exists,
 * otherwise generated and written there with mode 0600. Safe against two processes starting at
 * once (the file is created by a hard link from a private temporary file, which fails if it exists).
 * A file without a usable `default` profile is an error: it is never overwritten.
 */
export async function loadOrCreateAdminCredentials(dataDir: string): Promise<AdminCredentials> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, credentialsFileName);
  const existing = await readExisting(file);
  if (existing !== undefined) return existing;

  const key = generateAccessKey();
  const temporary = join(dataDir, `.${credentialsFileName}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(formatSharedCredentials(key), 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await chmod(temporary, 0o600);
    await link(temporary, file);
  } catch (err: unknown) {
    if (!isCode(err, 'EEXIST')) throw err;
    // Another process created it first; use theirs.
    const theirs = await readExisting(file);
    if (theirs === undefined) throw err;
    return theirs;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  return { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey, file, created: true, permissionsTightened: false };
}

async function readExisting(file: string): Promise<AdminCredentials | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err: unknown) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw err;
  }
  const values = parseSharedCredentials(text).get(profile);
  const accessKeyId = values?.get('aws_access_key_id');
  const secretAccessKey = values?.get('aws_secret_access_key');
  if (accessKeyId === undefined || secretAccessKey === undefined || !/^[A-Z0-9]{16,128}$/.test(accessKeyId) || secretAccessKey.length < 16) {
    throw new Error(
      `${file} has no usable [${profile}] profile (aws_access_key_id and aws_secret_access_key); fix it or remove it to generate a new admin key`,
    );
  }
  let permissionsTightened = false;
  if (process.platform !== 'win32' && ((await stat(file)).mode & 0o077) !== 0) {
    await chmod(file, 0o600);
    permissionsTightened = true;
  }
  return { accessKeyId, secretAccessKey, file, created: false, permissionsTightened };
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
