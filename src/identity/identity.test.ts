// Proves that the built-in CA, the server certificate and client certificates form valid chains
// that Node's TLS accepts, that keys are written 0600, and that a second start reuses what exists.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import {
  certificateId,
  checkPeerCertificate,
  issueClientCertificate,
  loadOrCreateCa,
  loadOrCreateServerCertificate,
  normalizeHostNames,
  subjectAltNamesOf,
} from './index.js';
import type { CertificateAuthority } from './index.js';

describe('identity', () => {
  let dir: string;
  let ca: CertificateAuthority;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'thingcore-identity-'));
    ca = await loadOrCreateCa(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a self-signed ECDSA P-256 root CA with its key at mode 0600', async () => {
    const pem = await readFile(join(dir, 'ca.pem'), 'utf8');
    const certificate = new X509Certificate(pem);
    assert.equal(certificate.ca, true);
    assert.ok(certificate.checkIssued(certificate));
    assert.ok(certificate.verify(certificate.publicKey));
    assert.equal(certificate.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal((await stat(join(dir, 'ca.key.pem'))).mode & 0o777, 0o600);
    assert.equal(ca.certificateId, certificateId(certificate.raw));
    assert.match(ca.certificateId, /^[0-9a-f]{64}$/);
  });

  it('reuses the CA on a second start', async () => {
    const again = await loadOrCreateCa(dir);
    assert.equal(again.certificatePem, ca.certificatePem);
    assert.equal(again.certificateId, ca.certificateId);
  });

  it('refuses a CA certificate whose key is missing instead of minting a new CA', async () => {
    const other = await mkdtemp(join(tmpdir(), 'thingcore-identity-'));
    try {
      await writeFile(join(other, 'ca.pem'), ca.certificatePem);
      await assert.rejects(loadOrCreateCa(other), /key .* is missing/);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('issues a server certificate with every host name in its SANs, serverAuth, signed by the CA', async () => {
    const server = await loadOrCreateServerCertificate(dir, ca, ['localhost', '127.0.0.1', '::1', 'iot.example.com']);
    assert.equal(server.issued, true);
    const certificate = new X509Certificate(server.certificatePem);
    assert.ok(certificate.checkIssued(ca.certificate));
    assert.ok(certificate.verify(ca.certificate.publicKey));
    assert.deepEqual(subjectAltNamesOf(certificate).sort(), ['127.0.0.1', '::1', 'iot.example.com', 'localhost']);
    assert.deepEqual(certificate.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.equal(certificate.checkHost('localhost'), 'localhost');
    assert.equal(certificate.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal((await stat(join(dir, 'server.key.pem'))).mode & 0o777, 0o600);
    assert.ok(createPrivateKey(server.privateKeyPem));
  });

  it('reuses the server certificate for the same hosts and reissues when they change or it nears expiry', async () => {
    const first = await loadOrCreateServerCertificate(dir, ca, ['127.0.0.1', 'localhost', '::1', 'iot.example.com']);
    assert.equal(first.issued, false);
    const changed = await loadOrCreateServerCertificate(dir, ca, ['localhost', '127.0.0.1']);
    assert.equal(changed.issued, true);
    assert.notEqual(changed.certificatePem, first.certificatePem);
    const inTwelveMonths = Date.now() + 370 * 24 * 60 * 60 * 1000;
    const renewed = await loadOrCreateServerCertificate(dir, ca, ['localhost', '127.0.0.1'], inTwelveMonths);
    assert.equal(renewed.issued, true);
  });

  it('reissues the server certificate when the CA changed', async () => {
    const other = await mkdtemp(join(tmpdir(), 'thingcore-identity-'));
    try {
      const foreign = await loadOrCreateCa(other);
      const server = await loadOrCreateServerCertificate(dir, foreign, ['localhost', '127.0.0.1']);
      assert.equal(server.issued, true);
      assert.ok(new X509Certificate(server.certificatePem).checkIssued(foreign.certificate));
      // put ours back for the following tests
      assert.equal((await loadOrCreateServerCertificate(dir, ca, ['localhost', '127.0.0.1'])).issued, true);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('rejects host names that are neither IPs nor DNS names', () => {
    assert.throws(() => normalizeHostNames(['bad host']), /neither an IP address nor a valid DNS name/);
    assert.throws(() => normalizeHostNames([]), /at least one host name/);
    assert.deepEqual(normalizeHostNames(['LocalHost', 'localhost', '0:0:0:0:0:0:0:1']), ['localhost', '::1']);
  });

  it('issues client certificates (EC and RSA) that chain to the CA and pass the peer check', async () => {
    for (const keyAlgorithm of ['ec-p256', 'rsa-2048'] as const) {
      const issued = await issueClientCertificate(ca, { commonName: 'sensor-1', keyAlgorithm });
      const certificate = new X509Certificate(issued.certificatePem);
      assert.ok(certificate.checkIssued(ca.certificate));
      assert.ok(certificate.verify(ca.certificate.publicKey));
      assert.deepEqual(certificate.keyUsage, ['1.3.6.1.5.5.7.3.2']);
      assert.equal(issued.certificateId, certificateId(certificate.raw));
      const check = checkPeerCertificate(certificate.raw, ca);
      assert.deepEqual(check, { ok: true, certificateId: issued.certificateId, commonName: 'sensor-1', notAfterMs: issued.notAfterMs });
    }
  });

  it('refuses peer certificates from a foreign CA, expired ones and garbage', async () => {
    const other = await mkdtemp(join(tmpdir(), 'thingcore-identity-'));
    try {
      const foreign = await loadOrCreateCa(other);
      const stranger = await issueClientCertificate(foreign, { commonName: 'stranger' });
      const check = checkPeerCertificate(new X509Certificate(stranger.certificatePem).raw, ca);
      assert.equal(check.ok, false);
      assert.equal(!check.ok && check.reason, 'unknown-issuer');
    } finally {
      await rm(other, { recursive: true, force: true });
    }
    const old = await issueClientCertificate(ca, {
      commonName: 'old',
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    const expired = checkPeerCertificate(new X509Certificate(old.certificatePem).raw, ca);
    assert.equal(!expired.ok && expired.reason, 'expired');
    const garbage = checkPeerCertificate(Buffer.from('not a certificate'), ca);
    assert.equal(!garbage.ok && garbage.reason, 'malformed');
  });

  it('makes a server certificate and client certificate that Node TLS accepts for mutual TLS', async () => {
    const server = await loadOrCreateServerCertificate(dir, ca, ['localhost', '127.0.0.1']);
    const client = await issueClientCertificate(ca, { commonName: 'device' });
    const tlsServer = createServer({
      key: server.privateKeyPem,
      cert: server.certificatePem,
      ca: ca.certificatePem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    tlsServer.on('secureConnection', (socket) => socket.end('hello'));
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = tlsServer.address() as AddressInfo;
      const received = await new Promise<string>((resolve, reject) => {
        const socket = connect({
          host: '127.0.0.1',
          port,
          servername: 'localhost',
          ca: ca.certificatePem,
          key: client.privateKeyPem,
          cert: client.certificatePem,
        });
        let data = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (data += chunk));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      assert.equal(received, 'hello');
    } finally {
      await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
    }
  });
});
