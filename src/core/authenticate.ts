/**
 * The authenticate decision until the certificate service, policies and SigV4 arrive (next issues):
 *  - mutual TLS: the client certificate must chain to our CA (identity's checkPeerCertificate);
 *    otherwise CONNACK 0x86 (3.1.1: return code 4), with the reason logged;
 *  - plain TCP and WebSocket: anonymous, allowed only under --dev; otherwise 0x87 Not authorized.
 * Fails closed: anything unexpected refuses.
 */
import type { AuthenticateResult, ConnectInfo, Logger } from '../mqtt/index.js';
import { checkPeerCertificate } from '../identity/index.js';
import type { CertificateAuthority } from '../identity/index.js';

export const reasonBadUserNameOrPassword = 0x86;
export const reasonNotAuthorized = 0x87;

export interface AuthenticatorOptions {
  readonly ca: CertificateAuthority;
  /** Anonymous clients (plain TCP, WebSocket) are allowed everything. */
  readonly dev: boolean;
  readonly logger: Logger;
}

/** What a connection authenticated by its certificate carries for later hooks. */
export interface CertificateAttachment {
  readonly commonName?: string;
}

export function createAuthenticator(options: AuthenticatorOptions): (info: ConnectInfo) => AuthenticateResult {
  const { ca, dev, logger } = options;
  return (info: ConnectInfo): AuthenticateResult => {
    const { peer, clientId } = info;
    switch (peer.transport) {
      case 'tls': {
        if (peer.peerCertificateDer === undefined) {
          logger.info({ clientId, remoteAddress: peer.remoteAddress }, 'refused: mutual TLS connection without a client certificate');
          return { ok: false, reasonCode: reasonBadUserNameOrPassword, reason: 'no client certificate' };
        }
        const check = checkPeerCertificate(peer.peerCertificateDer, ca);
        if (!check.ok) {
          logger.info(
            { clientId, remoteAddress: peer.remoteAddress, certificateId: check.certificateId, reason: check.reason },
            `refused: ${check.message}`,
          );
          return { ok: false, reasonCode: reasonBadUserNameOrPassword, reason: check.reason };
        }
        const attachment: CertificateAttachment = check.commonName === undefined ? {} : { commonName: check.commonName };
        return { ok: true, principal: { kind: 'certificate', id: check.certificateId }, attachment };
      }
      case 'tcp':
      case 'ws':
      case 'wss': {
        if (dev) return { ok: true, principal: { kind: 'anonymous', id: 'anonymous' } };
        const why =
          peer.transport === 'tcp'
            ? 'anonymous plain-MQTT clients are allowed only with --dev'
            : 'WebSocket authentication (SigV4) is not available yet; WebSocket clients are allowed only with --dev';
        logger.info({ clientId, remoteAddress: peer.remoteAddress, transport: peer.transport }, `refused: ${why}`);
        return { ok: false, reasonCode: reasonNotAuthorized, reason: why };
      }
      default: {
        const unknown: never = peer.transport;
        logger.warn({ clientId, transport: String(unknown) }, 'refused: unknown transport');
        return { ok: false, reasonCode: reasonNotAuthorized };
      }
    }
  };
}
