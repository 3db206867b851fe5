import { createHash } from 'node:crypto';

/** AWS IoT certificate id: lowercase hex SHA-256 of the certificate's DER (spec/mqtt.md section 16). */
export function certificateId(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}
