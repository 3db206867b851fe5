/**
 * Hashing and Base64 (spec/iot-sql.md section 7). Hashes take the standard String conversion of
 * their argument, hash its UTF-8 bytes and answer lowercase hex; md2 is not in OpenSSL 3, so it
 * is implemented here (RFC 1319).
 *
 * encode(value, 'base64') (2016): raw bytes as they are, anything else as its String conversion;
 * `encode(*, 'base64')` at the top of a statement encodes the payload bytes exactly as received
 * (compile.ts passes them). decode(text, 'base64') (2016): the decoded text as a JSON value when
 * it parses, else as a string; raw bytes when it is not UTF-8 text; Null when the input is not
 * Base64 (documented "returns NULL"). Other schemes ('proto' ...) are not implemented: Undefined.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { Bytes, parseJsonText, toStr, type SqlValue } from '../sql/values.js';
import { def, V2016, type FunctionDef } from './function.js';

// RFC 1319 S table (a permutation of 0..255 from the digits of pi)
const MD2_S = [
  41, 46, 67, 201, 162, 216, 124, 1, 61, 54, 84, 161, 236, 240, 6, 19, 98, 167, 5, 243, 192, 199, 115, 140, 152, 147,
  43, 217, 188, 76, 130, 202, 30, 155, 87, 60, 253, 212, 224, 22, 103, 66, 111, 24, 138, 23, 229, 18, 190, 78, 196, 214,
  218, 158, 222, 73, 160, 251, 245, 142, 187, 47, 238, 122, 169, 104, 121, 145, 21, 178, 7, 63, 148, 194, 16, 137, 11,
  34, 95, 33, 128, 127, 93, 154, 90, 144, 50, 39, 53, 62, 204, 231, 191, 247, 151, 3, 255, 25, 48, 179, 72, 165, 181,
  209, 215, 94, 146, 42, 172, 86, 170, 198, 79, 184, 56, 210, 150, 164, 125, 182, 118, 252, 107, 226, 156, 116, 4, 241,
  69, 157, 112, 89, 100, 113, 135, 32, 134, 91, 207, 101, 230, 45, 168, 2, 27, 96, 37, 173, 174, 176, 185, 246, 28, 70,
  97, 105, 52, 64, 126, 15, 85, 71, 163, 35, 221, 81, 175, 58, 195, 92, 249, 206, 186, 197, 234, 38, 44, 83, 13, 110,
  133, 40, 132, 9, 211, 223, 205, 244, 65, 129, 77, 82, 106, 220, 55, 200, 108, 193, 171, 250, 36, 225, 123, 8, 12, 189,
  177, 74, 120, 136, 149, 139, 227, 99, 232, 109, 233, 203, 213, 254, 59, 0, 29, 57, 242, 239, 183, 14, 102, 88, 208,
  228, 166, 119, 114, 248, 235, 117, 75, 10, 49, 68, 80, 180, 143, 237, 31, 26, 219, 153, 141, 51, 159, 17, 131, 20,
];

export function md2Hex(data: Uint8Array): string {
  const S = MD2_S;
  const padLen = 16 - (data.length % 16);
  const n = data.length + padLen;
  const m = new Uint8Array(n + 16);
  m.set(data);
  m.fill(padLen, data.length, n);
  const checksum = new Uint8Array(16);
  let l = 0;
  for (let i = 0; i < n; i += 16) {
    for (let j = 0; j < 16; j++) {
      checksum[j] = (checksum[j] ?? 0) ^ (S[(m[i + j] ?? 0) ^ l] ?? 0);
      l = checksum[j] ?? 0;
    }
  }
  m.set(checksum, n);
  const x = new Uint8Array(48);
  for (let i = 0; i < n + 16; i += 16) {
    for (let j = 0; j < 16; j++) {
      x[16 + j] = m[i + j] ?? 0;
      x[32 + j] = (x[16 + j] ?? 0) ^ (x[j] ?? 0);
    }
    let t = 0;
    for (let j = 0; j < 18; j++) {
      for (let k = 0; k < 48; k++) {
        t = (x[k] ?? 0) ^ (S[t] ?? 0);
        x[k] = t;
      }
      t = (t + j) & 0xff;
    }
  }
  return Buffer.from(x.subarray(0, 16)).toString('hex');
}

function hashFn(algorithm: string): FunctionDef {
  return def(`${algorithm}(string)`, 1, 1, (args) => {
    const s = toStr(args[0]);
    if (s === undefined) return undefined;
    const bytes = Buffer.from(s, 'utf8');
    return algorithm === 'md2' ? md2Hex(bytes) : createHash(algorithm).update(bytes).digest('hex');
  });
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Java's basic Base64 decoder: standard alphabet, padding optional, no whitespace. */
function decodeBase64(s: string): Buffer | undefined {
  if (!BASE64.test(s)) return undefined;
  const body = s.replace(/=+$/, '');
  if (body.length % 4 === 1) return undefined;
  if (s.length !== body.length && s.length % 4 !== 0) return undefined;
  return Buffer.from(body, 'base64');
}

function isBase64Scheme(v: SqlValue): boolean {
  return typeof v === 'string' && v.toLowerCase() === 'base64';
}

export const ENCODING_FUNCTIONS: readonly FunctionDef[] = [
  hashFn('md2'),
  hashFn('md5'),
  hashFn('sha1'),
  hashFn('sha224'),
  hashFn('sha256'),
  hashFn('sha384'),
  hashFn('sha512'),
  def(
    'encode(value, encodingScheme)',
    2,
    2,
    (args) => {
      if (!isBase64Scheme(args[1])) return undefined;
      const v = args[0];
      if (v instanceof Bytes) return v.buf.toString('base64');
      const s = toStr(v);
      return s === undefined ? undefined : Buffer.from(s, 'utf8').toString('base64');
    },
    { since: V2016 },
  ),
  def(
    'decode(value, decodingScheme, ...)',
    2,
    6,
    (args, run) => {
      if (!isBase64Scheme(args[1]) || args.length !== 2) return undefined;
      const s = args[0];
      if (typeof s !== 'string') return s === undefined ? undefined : null;
      const bytes = decodeBase64(s);
      if (bytes === undefined) return null;
      if (!isUtf8(bytes)) return new Bytes(bytes);
      const text = bytes.toString('utf8');
      try {
        return parseJsonText(text, run.keepWhole);
      } catch {
        return text;
      }
    },
    { since: V2016 },
  ),
];
