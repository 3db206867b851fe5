// Proves the interim authenticate decision: certificates must chain to our CA (0x86 otherwise),
// anonymous TCP/WebSocket clients only under --dev (0x87 otherwise).
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueClientCertificate, loadOrCreateCa } from '../identity/index.js';
import type { CertificateAuthority } from '../identity/index.js';
import type { ConnectInfo, PeerFacts } from '../mqtt/index.js';
import { createAuthenticator } from './index.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function info(peer: PeerFacts): ConnectInfo {
  return { clientId: 'c1', clientIdAssigned: false, protocolVersion: 4, cleanStart: true, keepAliveSec: 60, peer };
}

describe('authenticate (interim)', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let foreign: CertificateAuthority;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'thingcore-auth-'));
    ca = await loadOrCreateCa(join(dir, 'ours'));
    foreign = await loadOrCreateCa(join(dir, 'theirs'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('accepts a certificate issued by our CA, with its certificate id as principal', async () => {
    const issued = await issueClientCertificate(ca, { commonName: 'dev-1' });
    const der = new X509Certificate(issued.certificatePem).raw;
    const result = createAuthenticator({ ca, dev: false, logger: silent })(info({ transport: 'tls', peerCertificateDer: der }));
    assert.deepEqual(result, {
      ok: true,
      principal: { kind: 'certificate', id: issued.certificateId },
      attachment: { commonName: 'dev-1' },
    });
  });

  it('refuses TLS without a certificate or with a foreign one (0x86), even under --dev', async () => {
    const stranger = await issueClientCertificate(foreign, { commonName: 'x' });
    const der = new X509Certificate(stranger.certificatePem).raw;
    for (const dev of [false, true]) {
      const authenticate = createAuthenticator({ ca, dev, logger: silent });
      assert.equal(authenticate(info({ transport: 'tls' })).ok, false);
      const refused = authenticate(info({ transport: 'tls', peerCertificateDer: der }));
      assert.deepEqual(refused, { ok: false, reasonCode: 0x86, reason: 'unknown-issuer' });
    }
  });

  it('lets anonymous TCP and WebSocket clients in only under --dev', () => {
    for (const transport of ['tcp', 'ws', 'wss'] as const) {
      const allowed = createAuthenticator({ ca, dev: true, logger: silent })(info({ transport }));
      assert.deepEqual(allowed, { ok: true, principal: { kind: 'anonymous', id: 'anonymous' } });
      const refused = createAuthenticator({ ca, dev: false, logger: silent })(info({ transport }));
      assert.equal(refused.ok, false);
      assert.equal(!refused.ok && refused.reasonCode, 0x87);
    }
  });
});
