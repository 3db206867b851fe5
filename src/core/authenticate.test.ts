// Proves the authenticate decision and its status watcher: a mutual-TLS certificate must be registered, ACTIVE, in date and under an ACTIVE CA (0x86 when it identifies no one, 0x87 when it may not connect now, logged with the reason), an MQTT user name on mutual TLS is ignored, anonymous TCP/WebSocket clients get in only under --dev, and a status change closes the live connections it makes unauthorized.
import { describe, it, before, after, beforeEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIdentityService, issueClientCertificate, loadOrCreateCa } from '../identity/index.js';
import type { CertificateAuthority, IdentityService } from '../identity/index.js';
import type { ClientInfo, ConnectInfo, DisconnectCause, PeerFacts } from '../mqtt/index.js';
import { openSqliteStore } from '../store/index.js';
import type { Store } from '../store/index.js';
import { createAuthenticator } from './index.js';
import { watchCertificateStatus } from './authenticate.js';
import type { CertificateAttachment } from './authenticate.js';

interface Logged {
  readonly level: string;
  readonly obj: Record<string, unknown>;
  readonly msg: string | undefined;
}

function recordingLogger(lines: Logged[]) {
  const log = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function info(peer: PeerFacts, extra: Partial<ConnectInfo> = {}): ConnectInfo {
  return { clientId: 'c1', clientIdAssigned: false, protocolVersion: 4, cleanStart: true, keepAliveSec: 60, peer, ...extra };
}

const derOf = (pem: string): Buffer => new X509Certificate(pem).raw;

describe('authenticate', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let customerCa: CertificateAuthority;
  let foreign: CertificateAuthority;
  let store: Store;
  let identity: IdentityService;
  let logged: Logged[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'thingcore-auth-'));
    ca = await loadOrCreateCa(join(dir, 'ours'));
    customerCa = await loadOrCreateCa(join(dir, 'customer'));
    foreign = await loadOrCreateCa(join(dir, 'theirs'));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  beforeEach(() => {
    store = openSqliteStore({ path: ':memory:' });
    identity = createIdentityService({ store, ca, scope: { region: 'us-east-1', accountId: '000000000000' } });
    logged = [];
  });

  const authenticate = (dev = false) => createAuthenticator({ identity, dev, logger: recordingLogger(logged) });

  it('accepts a registered ACTIVE certificate: principal = certificate id, attachment = ARN and facts; the user name is ignored', async () => {
    const issued = await issueClientCertificate(ca, { commonName: 'dev-1' });
    await identity.registerCertificate({ certificatePem: issued.certificatePem, setAsActive: true });
    const peer: PeerFacts = { transport: 'tls', peerCertificateDer: derOf(issued.certificatePem) };
    const withMetrics = info(peer, { username: '?SDK=NodeJSv2&Version=1.20.0', password: Buffer.from('x') });
    for (const connect of [info(peer), withMetrics]) {
      const result = await authenticate()(connect);
      assert.ok(result.ok);
      assert.deepEqual(result.principal, { kind: 'certificate', id: issued.certificateId });
      const attachment = result.attachment as CertificateAttachment;
      assert.equal(attachment.certificateId, issued.certificateId);
      assert.equal(attachment.certificateArn, `arn:aws:iot:us-east-1:000000000000:cert/${issued.certificateId}`);
      assert.equal(attachment.commonName, 'dev-1');
      assert.deepEqual(attachment.facts.subject, { CommonName: ['dev-1'] });
    }
  });

  it('refuses, naming the certificate and logging the reason: 0x86 for no identity, 0x87 for a status', async () => {
    const cases: Array<[string, () => Promise<string>, number]> = [
      ['unregistered', async () => (await issueClientCertificate(ca, { commonName: 'u' })).certificatePem, 0x86],
      ['ca-unknown', async () => (await issueClientCertificate(foreign, { commonName: 'f' })).certificatePem, 0x86],
      [
        'inactive',
        async () => {
          const c = await issueClientCertificate(ca, { commonName: 'i' });
          await identity.registerCertificate({ certificatePem: c.certificatePem });
          return c.certificatePem;
        },
        0x87,
      ],
      [
        'revoked',
        async () => {
          const c = await issueClientCertificate(ca, { commonName: 'r' });
          await identity.registerCertificate({ certificatePem: c.certificatePem, status: 'REVOKED' });
          return c.certificatePem;
        },
        0x87,
      ],
      [
        'expired',
        async () => {
          const c = await issueClientCertificate(ca, { commonName: 'e', notBefore: new Date(Date.now() - 2 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
          await identity.registerCertificate({ certificatePem: c.certificatePem, setAsActive: true });
          return c.certificatePem;
        },
        0x86,
      ],
      [
        'ca-inactive',
        async () => {
          const { certificateId } = await identity.registerCACertificate({ caCertificate: customerCa.certificatePem, setAsActive: true });
          const c = await issueClientCertificate(customerCa, { commonName: 'c' });
          await identity.registerCertificate({ certificatePem: c.certificatePem, setAsActive: true });
          await identity.updateCACertificate({ certificateId, newStatus: 'INACTIVE' });
          return c.certificatePem;
        },
        0x87,
      ],
    ];
    for (const [reason, make, reasonCode] of cases) {
      const pem = await make();
      const id = identityOf(pem);
      logged.length = 0;
      for (const dev of [false, true]) {
        const result = await authenticate(dev)(info({ transport: 'tls', peerCertificateDer: derOf(pem) }));
        assert.deepEqual(result, { ok: false, reasonCode, reason, principal: { kind: 'certificate', id } }, reason);
      }
      assert.equal(logged.length, 2);
      assert.equal(logged[0]?.level, 'info');
      assert.equal(logged[0]?.obj['certificateId'], id);
      assert.equal(logged[0]?.obj['reason'], reason);
      assert.match(logged[0]?.msg ?? '', /^refused: /);
    }
  });

  it('refuses TLS without a client certificate (0x86), even under --dev', async () => {
    for (const dev of [false, true]) {
      const result = await authenticate(dev)(info({ transport: 'tls' }));
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.reasonCode, 0x86);
    }
  });

  it('fails closed: a store failure rejects', async () => {
    const issued = await issueClientCertificate(ca, { commonName: 'x' });
    await store.close();
    await assert.rejects(Promise.resolve(authenticate()(info({ transport: 'tls', peerCertificateDer: derOf(issued.certificatePem) }))));
  });

  it('lets anonymous TCP and WebSocket clients in only under --dev', async () => {
    for (const transport of ['tcp', 'ws', 'wss'] as const) {
      const allowed = await authenticate(true)(info({ transport }));
      assert.deepEqual(allowed, { ok: true, principal: { kind: 'anonymous', id: 'anonymous' } });
      const refused = await authenticate(false)(info({ transport }));
      assert.equal(refused.ok, false);
      assert.equal(!refused.ok && refused.reasonCode, 0x87);
    }
  });

  describe('watchCertificateStatus', () => {
    function fakeBroker(clients: ClientInfo[]) {
      const closed: Array<{ clientId: string; reasonCode: number; cause: DisconnectCause }> = [];
      return {
        closed,
        clients: () => clients.values(),
        disconnectClients(select: (c: ClientInfo) => boolean, reasonCode: number, cause: DisconnectCause): number {
          let n = 0;
          for (const c of [...clients]) {
            if (!select(c)) continue;
            closed.push({ clientId: c.clientId, reasonCode, cause });
            clients.splice(clients.indexOf(c), 1);
            n++;
          }
          return n;
        },
      };
    }
    const client = (clientId: string, pem: string | undefined): ClientInfo => ({
      clientId,
      connectionId: 1,
      protocolVersion: 5,
      principal: pem === undefined ? { kind: 'anonymous', id: 'anonymous' } : { kind: 'certificate', id: identityOf(pem) },
      peer: pem === undefined ? { transport: 'tcp' } : { transport: 'tls', peerCertificateDer: derOf(pem) },
      attachment: undefined,
      sessionIdentifier: clientId,
    });

    it("closes a certificate's connections (0x87, not-authorized) when it stops being ACTIVE, and nobody else's", async () => {
      const a = await issueClientCertificate(ca, { commonName: 'a' });
      const b = await issueClientCertificate(ca, { commonName: 'b' });
      await identity.registerCertificate({ certificatePem: a.certificatePem, setAsActive: true });
      await identity.registerCertificate({ certificatePem: b.certificatePem, setAsActive: true });
      const broker = fakeBroker([client('a1', a.certificatePem), client('a2', a.certificatePem), client('b1', b.certificatePem), client('anon', undefined)]);
      const stop = watchCertificateStatus(broker, identity, recordingLogger(logged));
      await identity.updateCertificate({ certificateId: a.certificateId, newStatus: 'ACTIVE' });
      assert.deepEqual(broker.closed, []);
      await identity.updateCertificate({ certificateId: a.certificateId, newStatus: 'INACTIVE' });
      assert.deepEqual(broker.closed, [
        { clientId: 'a1', reasonCode: 0x87, cause: 'not-authorized' },
        { clientId: 'a2', reasonCode: 0x87, cause: 'not-authorized' },
      ]);
      assert.ok(logged.some((l) => l.level === 'info' && l.obj['certificateId'] === a.certificateId));
      stop();
      await identity.updateCertificate({ certificateId: b.certificateId, newStatus: 'REVOKED' });
      assert.equal(broker.closed.length, 2, 'stopped watching');
    });

    it("re-checks connected certificates when a CA stops being ACTIVE and closes those under it", async () => {
      const { certificateId: caId } = await identity.registerCACertificate({ caCertificate: customerCa.certificatePem, setAsActive: true });
      const mine = await issueClientCertificate(customerCa, { commonName: 'mine' });
      const ours = await issueClientCertificate(ca, { commonName: 'ours' });
      await identity.registerCertificate({ certificatePem: mine.certificatePem, setAsActive: true });
      await identity.registerCertificate({ certificatePem: ours.certificatePem, setAsActive: true });
      const broker = fakeBroker([client('mine', mine.certificatePem), client('ours', ours.certificatePem), client('anon', undefined)]);
      watchCertificateStatus(broker, identity, recordingLogger(logged));
      await identity.updateCACertificate({ certificateId: caId, newStatus: 'INACTIVE' });
      for (let i = 0; i < 50 && broker.closed.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(broker.closed, [{ clientId: 'mine', reasonCode: 0x87, cause: 'not-authorized' }]);
    });
  });
});

function identityOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}
