/**
 * The authenticate decision (spec/mqtt.md sections 1 and 16):
 *  - mutual TLS: the client certificate must be registered with identity/, ACTIVE, within its
 *    validity dates, and — when it was registered with a CA — that CA registered, ACTIVE and its
 *    signer (identity's authenticateCertificate, cached there). The principal is
 *    `{ kind: 'certificate', id: certificateId }`. An MQTT user name (and password) on a mutual-TLS
 *    connection is accepted and ignored: the AWS device SDK v2 sends SDK metrics in it.
 *    Refusals, before any other MQTT traffic, name the certificate as principal and are logged at
 *    info level with the reason and certificate id:
 *      0x86 Bad user name or password (3.1.1: return code 4) when the certificate cannot identify
 *           anyone: no certificate, not registered, unknown CA, bad signature, outside its dates;
 *      0x87 Not authorized (3.1.1: return code 5; the aws profile closes a 3.1.1 connection without
 *           a CONNACK, as AWS does) when it identifies a certificate that may not connect now:
 *           INACTIVE / REVOKED / PENDING_*, or its CA INACTIVE;
 *  - plain TCP and WebSocket: anonymous, allowed only under --dev; otherwise 0x87 Not authorized.
 * Fails closed: a throw or rejection (the store failing) refuses (the broker treats it so).
 */
import type { AuthenticateResult, Broker, ConnectInfo, Logger } from '../mqtt/index.js';
import { anonymousPrincipal } from '../mqtt/index.js';
import type { CertificateFacts, CertificateRefusal, IdentityService } from '../identity/index.js';

export const reasonBadUserNameOrPassword = 0x86;
export const reasonNotAuthorized = 0x87;

export interface AuthenticatorOptions {
  /** The certificate check (identity's service). */
  readonly identity: Pick<IdentityService, 'authenticateCertificate'>;
  /** Anonymous clients (plain TCP, WebSocket) are allowed everything. */
  readonly dev: boolean;
  readonly logger: Logger;
  /** Wall-clock ms for the validity check; default Date.now. */
  readonly clock?: () => number;
  /**
   * SigV4 check of a WebSocket's presigned upgrade URL (spec/http-api.md section 5.2); the access
   * key it names becomes the principal. Absent: WebSocket clients are anonymous (only under --dev).
   */
  readonly verifyWebSocket?: (request: { readonly url: string; readonly rawHeaders: readonly string[] }) => WebSocketVerdict;
}

export type WebSocketVerdict = { readonly ok: true; readonly accessKeyId: string } | { readonly ok: false; readonly message: string };

/** The upgrade request's headers as Node's rawHeaders list (name, value, name, value, …). */
function rawHeadersOf(headers: Readonly<Record<string, string | string[] | undefined>>): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push(name, v);
  }
  return out;
}

/** What a connection authenticated by its certificate carries for later hooks (policy variables). */
export interface CertificateAttachment {
  readonly certificateId: string;
  readonly certificateArn: string;
  readonly caCertificateId?: string;
  /** Subject, issuer, alternative names, serial number and validity (`iot:Certificate.*`). */
  readonly facts: CertificateFacts;
  /** The subject's first CN, when there is one. */
  readonly commonName?: string;
}

/** Which CONNACK a refused certificate gets (see the header). */
export function reasonCodeOf(reason: CertificateRefusal): number {
  switch (reason) {
    case 'inactive':
    case 'revoked':
    case 'ca-inactive':
      return reasonNotAuthorized;
    case 'unregistered':
    case 'ca-unknown':
    case 'bad-signature':
    case 'expired':
    case 'not-yet-valid':
      return reasonBadUserNameOrPassword;
    default: {
      const unknown: never = reason;
      return unknown;
    }
  }
}

export function createAuthenticator(options: AuthenticatorOptions): (info: ConnectInfo) => AuthenticateResult | Promise<AuthenticateResult> {
  const { identity, dev, logger } = options;
  const clock = options.clock ?? Date.now;

  const authenticateTls = async (info: ConnectInfo, der: Buffer): Promise<AuthenticateResult> => {
    const { peer, clientId } = info;
    const result = await identity.authenticateCertificate(der, clock());
    if (!result.ok) {
      logger.info(
        { clientId, remoteAddress: peer.remoteAddress, certificateId: result.certificateId, reason: result.reason },
        `refused: ${result.message}`,
      );
      return {
        ok: false,
        reasonCode: reasonCodeOf(result.reason),
        reason: result.reason,
        ...(result.certificateId === undefined ? {} : { principal: { kind: 'certificate', id: result.certificateId } }),
      };
    }
    const commonName = result.facts.subject.CommonName?.[0];
    const attachment: CertificateAttachment = {
      certificateId: result.certificateId,
      certificateArn: result.certificateArn,
      ...(result.caCertificateId === undefined ? {} : { caCertificateId: result.caCertificateId }),
      facts: result.facts,
      ...(commonName === undefined ? {} : { commonName }),
    };
    return { ok: true, principal: { kind: 'certificate', id: result.certificateId }, attachment };
  };

  return (info: ConnectInfo): AuthenticateResult | Promise<AuthenticateResult> => {
    const { peer, clientId } = info;
    switch (peer.transport) {
      case 'tls': {
        if (peer.peerCertificateDer === undefined) {
          logger.info({ clientId, remoteAddress: peer.remoteAddress }, 'refused: mutual TLS connection without a client certificate');
          return { ok: false, reasonCode: reasonBadUserNameOrPassword, reason: 'no client certificate' };
        }
        // info.username / info.password are ignored here on purpose (see the header).
        return authenticateTls(info, peer.peerCertificateDer);
      }
      case 'ws':
      case 'wss': {
        // MQTT over WebSocket: the presigned URL's access key is the principal (AWS IoT's model).
        const request = peer.request;
        if (request !== undefined && options.verifyWebSocket !== undefined && /[?&]X-Amz-Signature=/i.test(request.url)) {
          const verdict = options.verifyWebSocket({ url: request.url, rawHeaders: rawHeadersOf(request.headers) });
          if (verdict.ok) return { ok: true, principal: { kind: 'accessKey', id: verdict.accessKeyId } };
          logger.info({ clientId, remoteAddress: peer.remoteAddress }, `refused: WebSocket signature: ${verdict.message}`);
          return { ok: false, reasonCode: reasonBadUserNameOrPassword, reason: verdict.message };
        }
        if (dev) return { ok: true, principal: anonymousPrincipal };
        const why = 'a WebSocket client needs a SigV4-presigned URL (anonymous clients only with --dev)';
        logger.info({ clientId, remoteAddress: peer.remoteAddress, transport: peer.transport }, `refused: ${why}`);
        return { ok: false, reasonCode: reasonNotAuthorized, reason: why };
      }
      case 'tcp': {
        if (dev) return { ok: true, principal: anonymousPrincipal };
        const why = 'anonymous plain-MQTT clients are allowed only with --dev';
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

/**
 * Closes the live connections a status change makes unauthorized: a certificate that is no longer
 * ACTIVE (INACTIVE, REVOKED, deleted, …) loses its connections at once; when a CA stops being ACTIVE,
 * every connected certificate client is checked again (connections, not registered certificates,
 * bound that work) and those now refused are closed. DISCONNECT 0x87 Not authorized under MQTT 5, a
 * plain close under 3.1.1. Returns the function that stops watching.
 */
export function watchCertificateStatus(
  broker: Pick<Broker, 'clients' | 'disconnectClients'>,
  identity: Pick<IdentityService, 'onStatusChange' | 'authenticateCertificate'>,
  logger: Logger,
  clock: () => number = Date.now,
): () => void {
  return identity.onStatusChange((event) => {
    if (event.status === 'ACTIVE') return;
    if (event.type === 'certificate') {
      const id = event.certificateId;
      const n = broker.disconnectClients((c) => c.principal.kind === 'certificate' && c.principal.id === id, reasonNotAuthorized, 'not-authorized');
      if (n > 0) logger.info({ certificateId: id, status: event.status, connections: n }, 'closed the connections of a certificate that is no longer ACTIVE');
      return;
    }
    void recheckCertificateClients(broker, identity, clock()).then(
      (n) => {
        if (n > 0) logger.info({ caCertificateId: event.caCertificateId, status: event.status, connections: n }, 'closed the connections of certificates whose CA is no longer ACTIVE');
      },
      (err: unknown) => logger.error({ err, caCertificateId: event.caCertificateId }, 'could not re-check connections after a CA status change'),
    );
  });
}

async function recheckCertificateClients(
  broker: Pick<Broker, 'clients' | 'disconnectClients'>,
  identity: Pick<IdentityService, 'authenticateCertificate'>,
  nowMs: number,
): Promise<number> {
  const refused = new Set<string>();
  const checked = new Set<string>();
  for (const client of [...broker.clients()]) {
    const der = client.peer.peerCertificateDer;
    if (client.principal.kind !== 'certificate' || der === undefined || checked.has(client.principal.id)) continue;
    checked.add(client.principal.id);
    if (!(await identity.authenticateCertificate(der, nowMs)).ok) refused.add(client.principal.id);
  }
  if (refused.size === 0) return 0;
  return broker.disconnectClients((c) => c.principal.kind === 'certificate' && refused.has(c.principal.id), reasonNotAuthorized, 'not-authorized');
}
