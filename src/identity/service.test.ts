// Proves the certificate service's AWS semantics op by op (issue, register, describe, list, update, delete, CA certificates, registration code), each error class it answers, its status events, and the connect-path check with its cache.
import { describe, it, before, after, beforeEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isServiceError } from '../shared/index.js';
import { openSqliteStore } from '../store/index.js';
import type { CertificateStore, Store } from '../store/index.js';
import { x509 } from './x509.js';
import { certificateId, createIdentityService, issueClientCertificate, loadOrCreateCa } from './index.js';
import type { CertificateAuthority, IdentityEvent, IdentityService, IdentityServiceOptions } from './index.js';

const scope = { region: 'us-east-1', accountId: '123456789012' };

async function rejectsWith(call: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(isServiceError(err, code), `expected ${code}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    if (pattern !== undefined) assert.match(err.message, pattern);
    return true;
  });
}

function derOf(pem: string): Buffer {
  return new X509Certificate(pem).raw;
}

async function csrPem(algorithm: 'ec' | 'rsa', commonName = 'csr-device'): Promise<string> {
  const alg =
    algorithm === 'ec'
      ? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
      : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [commonName] }, { O: ['Acme'] }],
    keys: keys as webcrypto.CryptoKeyPair,
    signingAlgorithm: alg,
  });
  return csr.toString('pem');
}

describe('identity service', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let customerCa: CertificateAuthority;
  let otherCa: CertificateAuthority;
  let store: Store;
  let now: number;
  let attached: Set<string>;
  let withPolicies: Set<string>;
  let events: IdentityEvent[];
  let identity: IdentityService;

  const make = (overrides: Partial<IdentityServiceOptions> = {}): IdentityService =>
    createIdentityService({
      store,
      ca,
      scope,
      clock: () => (now += 1000),
      isAttached: async (arn) => attached.has(arn),
      hasAttachedPolicies: async (arn) => withPolicies.has(arn),
      ...overrides,
    });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'thingcore-identity-service-'));
    ca = await loadOrCreateCa(join(dir, 'builtin'));
    customerCa = await loadOrCreateCa(join(dir, 'customer'));
    otherCa = await loadOrCreateCa(join(dir, 'other'));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  beforeEach(() => {
    store = openSqliteStore({ path: ':memory:' });
    now = Date.now();
    attached = new Set();
    withPolicies = new Set();
    events = [];
    identity = make();
    identity.onStatusChange((e) => events.push(e));
  });

  describe('CreateKeysAndCertificate', () => {
    it('issues an RSA-2048 key pair and a certificate from the built-in CA, INACTIVE unless setAsActive', async () => {
      const created = await identity.createKeysAndCertificate();
      assert.deepEqual(Object.keys(created).sort(), ['certificateArn', 'certificateId', 'certificatePem', 'keyPair']);
      assert.deepEqual(Object.keys(created.keyPair).sort(), ['PrivateKey', 'PublicKey']);
      assert.match(created.keyPair.PublicKey, /^-----BEGIN PUBLIC KEY-----\n/);
      assert.match(created.keyPair.PrivateKey, /^-----BEGIN RSA PRIVATE KEY-----\n/);
      const key = createPrivateKey(created.keyPair.PrivateKey);
      assert.equal(key.asymmetricKeyType, 'rsa');
      assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
      const certificate = new X509Certificate(created.certificatePem);
      assert.ok(certificate.checkIssued(ca.certificate) && certificate.verify(ca.certificate.publicKey));
      assert.ok(certificate.checkPrivateKey(key), 'the certificate holds the returned key');
      assert.equal(createPublicKey(created.keyPair.PublicKey).export({ type: 'spki', format: 'pem' }), createPublicKey(key).export({ type: 'spki', format: 'pem' }));
      assert.equal(created.certificateId, certificateId(certificate.raw));
      assert.equal(created.certificateArn, `arn:aws:iot:us-east-1:123456789012:cert/${created.certificateId}`);
      assert.deepEqual(certificate.keyUsage, ['1.3.6.1.5.5.7.3.2']);
      const { certificateDescription: d } = await identity.describeCertificate(created.certificateId);
      assert.equal(d.status, 'INACTIVE');
      assert.equal(d.certificateMode, 'DEFAULT');
      assert.equal(d.caCertificateId, undefined);
      const active = await identity.createKeysAndCertificate({ setAsActive: true });
      assert.equal((await identity.describeCertificate(active.certificateId)).certificateDescription.status, 'ACTIVE');
    });

    it('never stores the private key', async () => {
      const created = await identity.createKeysAndCertificate({ setAsActive: true });
      const record = await store.certificates.getCertificate(created.certificateId);
      assert.ok(record !== undefined);
      assert.ok(!JSON.stringify(record).includes('PRIVATE KEY'));
      assert.deepEqual(Object.keys(record).sort(), [
        'certificateId', 'certificateMode', 'certificatePem', 'creationDateMs', 'customerVersion', 'generationId',
        'lastModifiedDateMs', 'notAfterMs', 'notBeforeMs', 'ownedBy', 'status',
      ]);
    });
  });

  describe('CreateCertificateFromCsr', () => {
    for (const algorithm of ['ec', 'rsa'] as const) {
      it(`issues a certificate for the CSR's ${algorithm.toUpperCase()} key and subject`, async () => {
        const csr = await csrPem(algorithm, `dev-${algorithm}`);
        const created = await identity.createCertificateFromCsr({ certificateSigningRequest: csr, setAsActive: true });
        assert.deepEqual(Object.keys(created).sort(), ['certificateArn', 'certificateId', 'certificatePem']);
        const certificate = new X509Certificate(created.certificatePem);
        const request = new x509.Pkcs10CertificateRequest(csr);
        assert.deepEqual(
          certificate.publicKey.export({ type: 'spki', format: 'der' }),
          Buffer.from(request.publicKey.rawData),
        );
        assert.match(certificate.subject, new RegExp(`CN=dev-${algorithm}`));
        assert.ok(certificate.verify(ca.certificate.publicKey));
        assert.equal((await identity.describeCertificate(created.certificateId)).certificateDescription.status, 'ACTIVE');
      });
    }

    it('answers InvalidRequestException for a malformed CSR or one whose signature does not verify', async () => {
      await rejectsWith(identity.createCertificateFromCsr({ certificateSigningRequest: 'not a csr' }), 'InvalidRequestException');
      await rejectsWith(identity.createCertificateFromCsr({ certificateSigningRequest: '' }), 'InvalidRequestException');
      await rejectsWith(
        identity.createCertificateFromCsr({ certificateSigningRequest: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' }),
        'InvalidRequestException',
      );
      // Tamper with the subject inside the signed part: the signature no longer verifies.
      const good = new x509.Pkcs10CertificateRequest(await csrPem('ec', 'aaaaaaaa'));
      const raw = Buffer.from(good.rawData);
      const at = raw.indexOf(Buffer.from('aaaaaaaa'));
      assert.ok(at > 0);
      raw[at] = 'b'.charCodeAt(0);
      const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${raw.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
      await rejectsWith(identity.createCertificateFromCsr({ certificateSigningRequest: tampered }), 'InvalidRequestException', /signature/);
      assert.deepEqual((await identity.listCertificates()).certificates, []);
    });
  });

  describe('RegisterCertificate', () => {
    it('registers a certificate the built-in CA issued, with or without caCertificatePem, and no caCertificateId', async () => {
      const a = await issueClientCertificate(ca, { commonName: 'a' });
      const b = await issueClientCertificate(ca, { commonName: 'b' });
      const ra = await identity.registerCertificate({ certificatePem: a.certificatePem });
      assert.deepEqual(ra, { certificateArn: `arn:aws:iot:us-east-1:123456789012:cert/${a.certificateId}`, certificateId: a.certificateId });
      await identity.registerCertificate({ certificatePem: b.certificatePem, caCertificatePem: ca.certificatePem, setAsActive: true });
      const da = (await identity.describeCertificate(a.certificateId)).certificateDescription;
      assert.equal(da.status, 'INACTIVE');
      assert.equal(da.caCertificateId, undefined);
      assert.equal(da.certificateMode, 'DEFAULT');
      assert.equal((await identity.describeCertificate(b.certificateId)).certificateDescription.status, 'ACTIVE');
    });

    it('takes the status from `status`, else setAsActive, else INACTIVE', async () => {
      const cases: Array<[{ status?: string; setAsActive?: boolean }, string]> = [
        [{ status: 'REVOKED', setAsActive: true }, 'REVOKED'],
        [{ status: 'PENDING_ACTIVATION' }, 'PENDING_ACTIVATION'],
        [{ status: 'ACTIVE', setAsActive: false }, 'ACTIVE'],
        [{ setAsActive: true }, 'ACTIVE'],
        [{ setAsActive: false }, 'INACTIVE'],
        [{}, 'INACTIVE'],
      ];
      for (const [input, expected] of cases) {
        const issued = await issueClientCertificate(ca, { commonName: 'x' });
        await identity.registerCertificate({ certificatePem: issued.certificatePem, ...input });
        assert.equal((await identity.describeCertificate(issued.certificateId)).certificateDescription.status, expected, JSON.stringify(input));
      }
      const issued = await issueClientCertificate(ca, { commonName: 'x' });
      await rejectsWith(identity.registerCertificate({ certificatePem: issued.certificatePem, status: 'BOGUS' }), 'InvalidRequestException');
      await rejectsWith(identity.registerCertificate({ certificatePem: issued.certificatePem, status: 'PENDING_TRANSFER' }), 'InvalidRequestException');
    });

    it('answers ResourceAlreadyExistsException with resourceId for the same DER again', async () => {
      const issued = await issueClientCertificate(ca, { commonName: 'dup' });
      await identity.registerCertificate({ certificatePem: issued.certificatePem });
      await assert.rejects(identity.registerCertificate({ certificatePem: issued.certificatePem, setAsActive: true }), (err: unknown) => {
        assert.ok(isServiceError(err, 'ResourceAlreadyExistsException'));
        assert.equal(err.httpStatus, 409);
        assert.equal(err.members['resourceId'], issued.certificateId);
        assert.equal(err.members['resourceArn'], `arn:aws:iot:us-east-1:123456789012:cert/${issued.certificateId}`);
        return true;
      });
      // A differently wrapped PEM of the same DER is the same certificate.
      const rewrapped = `junk before\n${issued.certificatePem.replace(/\n/g, '\r\n')}`;
      await rejectsWith(identity.registerCertificate({ certificatePem: rewrapped }), 'ResourceAlreadyExistsException');
    });

    it('answers CertificateValidationException for an unparsable certificate', async () => {
      await rejectsWith(identity.registerCertificate({ certificatePem: 'garbage' }), 'CertificateValidationException');
      await rejectsWith(
        identity.registerCertificate({ certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' }),
        'CertificateValidationException',
      );
      await rejectsWith(identity.registerCertificate({ certificatePem: '' }), 'InvalidRequestException');
    });

    it('needs the issuing CA registered and ACTIVE, and its signature', async () => {
      const device = await issueClientCertificate(customerCa, { commonName: 'cust-1' });
      // Not registered: validation error, with or without the CA's PEM.
      await rejectsWith(identity.registerCertificate({ certificatePem: device.certificatePem }), 'CertificateValidationException', /registered CA/);
      await rejectsWith(
        identity.registerCertificate({ certificatePem: device.certificatePem, caCertificatePem: customerCa.certificatePem }),
        'CertificateValidationException',
        /not registered/,
      );
      // Registered INACTIVE: state error.
      const { certificateId: caId, certificateArn: caArn } = await identity.registerCACertificate({ caCertificate: customerCa.certificatePem });
      assert.equal(caArn, `arn:aws:iot:us-east-1:123456789012:cacert/${caId}`);
      await rejectsWith(identity.registerCertificate({ certificatePem: device.certificatePem }), 'CertificateStateException');
      await rejectsWith(
        identity.registerCertificate({ certificatePem: device.certificatePem, caCertificatePem: customerCa.certificatePem }),
        'CertificateStateException',
      );
      // The wrong CA given explicitly: validation error.
      await identity.registerCACertificate({ caCertificate: otherCa.certificatePem, setAsActive: true });
      await rejectsWith(
        identity.registerCertificate({ certificatePem: device.certificatePem, caCertificatePem: otherCa.certificatePem }),
        'CertificateValidationException',
        /not signed/,
      );
      await rejectsWith(
        identity.registerCertificate({ certificatePem: device.certificatePem, caCertificatePem: ca.certificatePem }),
        'CertificateValidationException',
        /not signed/,
      );
      // ACTIVE: registered with caCertificateId and the CA's mode (found by issuer when no PEM is given).
      await identity.updateCACertificate({ certificateId: caId, newStatus: 'ACTIVE' });
      await identity.registerCertificate({ certificatePem: device.certificatePem, setAsActive: true });
      const d = (await identity.describeCertificate(device.certificateId)).certificateDescription;
      assert.equal(d.caCertificateId, caId);
      assert.equal(d.certificateMode, 'DEFAULT');
      const sni = await loadOrCreateCa(join(dir, 'sni'));
      const sniCa = await identity.registerCACertificate({ caCertificate: sni.certificatePem, setAsActive: true, certificateMode: 'SNI_ONLY' });
      const sniDevice = await issueClientCertificate(sni, { commonName: 'sni-device' });
      await identity.registerCertificate({ certificatePem: sniDevice.certificatePem, caCertificatePem: sni.certificatePem });
      const sd = (await identity.describeCertificate(sniDevice.certificateId)).certificateDescription;
      assert.equal(sd.caCertificateId, sniCa.certificateId);
      assert.equal(sd.certificateMode, 'SNI_ONLY');
    });
  });

  describe('RegisterCertificateWithoutCA', () => {
    it('registers any certificate in SNI_ONLY mode without a CA; same errors for duplicates and garbage', async () => {
      const stranger = await issueClientCertificate(otherCa, { commonName: 'stranger' });
      const r = await identity.registerCertificateWithoutCA({ certificatePem: stranger.certificatePem, status: 'ACTIVE' });
      assert.equal(r.certificateId, stranger.certificateId);
      const d = (await identity.describeCertificate(stranger.certificateId)).certificateDescription;
      assert.equal(d.status, 'ACTIVE');
      assert.equal(d.certificateMode, 'SNI_ONLY');
      assert.equal(d.caCertificateId, undefined);
      await rejectsWith(identity.registerCertificateWithoutCA({ certificatePem: stranger.certificatePem }), 'ResourceAlreadyExistsException');
      await rejectsWith(identity.registerCertificateWithoutCA({ certificatePem: 'nope' }), 'CertificateValidationException');
      const other = await issueClientCertificate(otherCa, { commonName: 'other' });
      await identity.registerCertificateWithoutCA({ certificatePem: other.certificatePem });
      assert.equal((await identity.describeCertificate(other.certificateId)).certificateDescription.status, 'INACTIVE');
      await rejectsWith(identity.registerCertificateWithoutCA({ certificatePem: other.certificatePem, status: 'nope' }), 'InvalidRequestException');
    });
  });

  describe('CA certificates', () => {
    it('RegisterCACertificate: status, auto-registration, registration config, mode; DescribeCACertificate shape', async () => {
      const registrationConfig = { templateBody: '{"Resources":{}}', roleArn: 'arn:aws:iam::123456789012:role/jitp', templateName: 'tpl' };
      const r = await identity.registerCACertificate({
        caCertificate: customerCa.certificatePem,
        setAsActive: true,
        allowAutoRegistration: true,
        registrationConfig,
      });
      assert.equal(r.certificateId, customerCa.certificateId);
      const described = await identity.describeCACertificate(r.certificateId);
      assert.deepEqual(described.registrationConfig, registrationConfig);
      const d = described.certificateDescription;
      assert.deepEqual(Object.keys(d).sort(), [
        'autoRegistrationStatus', 'certificateArn', 'certificateId', 'certificateMode', 'certificatePem', 'creationDate',
        'customerVersion', 'generationId', 'lastModifiedDate', 'ownedBy', 'status', 'validity',
      ]);
      assert.equal(d.status, 'ACTIVE');
      assert.equal(d.autoRegistrationStatus, 'ENABLE');
      assert.equal(d.ownedBy, '123456789012');
      assert.equal(d.customerVersion, 1);
      assert.equal(d.certificateMode, 'DEFAULT');
      assert.equal(d.certificatePem, customerCa.certificatePem.trim() + '\n');
      assert.ok(d.validity.notAfter.getTime() > d.validity.notBefore.getTime());
      await rejectsWith(identity.registerCACertificate({ caCertificate: customerCa.certificatePem }), 'ResourceAlreadyExistsException');
      const plain = await identity.registerCACertificate({ caCertificate: otherCa.certificatePem });
      const p = await identity.describeCACertificate(plain.certificateId);
      assert.equal(p.certificateDescription.status, 'INACTIVE');
      assert.equal(p.certificateDescription.autoRegistrationStatus, 'DISABLE');
      assert.equal(p.registrationConfig, undefined);
    });

    it('RegisterCACertificate refuses non-CA certificates, garbage and bad modes', async () => {
      const leaf = await issueClientCertificate(customerCa, { commonName: 'leaf' });
      await rejectsWith(identity.registerCACertificate({ caCertificate: leaf.certificatePem }), 'CertificateValidationException', /not a CA/);
      await rejectsWith(identity.registerCACertificate({ caCertificate: 'x' }), 'CertificateValidationException');
      await rejectsWith(identity.registerCACertificate({ caCertificate: customerCa.certificatePem, certificateMode: 'LOUD' }), 'InvalidRequestException');
    });

    it('a verification certificate must be signed by the CA and carry the registration code as CN', async () => {
      const { registrationCode } = await identity.getRegistrationCode();
      assert.match(registrationCode, /^[0-9a-f]{64}$/);
      assert.equal((await make().getRegistrationCode()).registrationCode, registrationCode, 'stable');
      const wrongCn = await issueClientCertificate(customerCa, { commonName: 'not-the-code' });
      await rejectsWith(
        identity.registerCACertificate({ caCertificate: customerCa.certificatePem, verificationCertificate: wrongCn.certificatePem }),
        'RegistrationCodeValidationException',
      );
      const wrongSigner = await issueClientCertificate(otherCa, { commonName: registrationCode });
      await rejectsWith(
        identity.registerCACertificate({ caCertificate: customerCa.certificatePem, verificationCertificate: wrongSigner.certificatePem }),
        'CertificateValidationException',
        /verification/,
      );
      const good = await issueClientCertificate(customerCa, { commonName: registrationCode });
      await identity.registerCACertificate({ caCertificate: customerCa.certificatePem, verificationCertificate: good.certificatePem });
    });

    it('ListCACertificates pages both ways and filters by template; UpdateCACertificate; DeleteCACertificate', async () => {
      const cas = [customerCa, otherCa, await loadOrCreateCa(join(dir, 'third'))];
      const ids: string[] = [];
      for (const [i, c] of cas.entries()) {
        ids.push(
          (await identity.registerCACertificate({
            caCertificate: c.certificatePem,
            ...(i === 1 ? { registrationConfig: { templateName: 'tpl' } } : {}),
          })).certificateId,
        );
      }
      const first = await identity.listCACertificates({ pageSize: 2, isAscendingOrder: true });
      assert.deepEqual(first.certificates.map((c) => c.certificateId), ids.slice(0, 2));
      assert.deepEqual(Object.keys(first.certificates[0]!).sort(), ['certificateArn', 'certificateId', 'creationDate', 'status']);
      assert.ok(first.nextMarker !== undefined && /^[A-Za-z0-9+/]+={0,2}$/.test(first.nextMarker));
      const second = await identity.listCACertificates({ pageSize: 2, isAscendingOrder: true, marker: first.nextMarker });
      assert.deepEqual(second.certificates.map((c) => c.certificateId), ids.slice(2));
      assert.equal(second.nextMarker, undefined);
      assert.deepEqual((await identity.listCACertificates()).certificates.map((c) => c.certificateId), [...ids].reverse());
      assert.deepEqual((await identity.listCACertificates({ templateName: 'tpl' })).certificates.map((c) => c.certificateId), [ids[1]]);
      await rejectsWith(identity.listCACertificates({ marker: first.nextMarker }), 'InvalidRequestException', /marker/);

      const id = ids[0]!;
      const before = (await identity.describeCACertificate(id)).certificateDescription;
      await identity.updateCACertificate({ certificateId: id, newStatus: 'ACTIVE', newAutoRegistrationStatus: 'ENABLE' });
      const after1 = (await identity.describeCACertificate(id)).certificateDescription;
      assert.equal(after1.status, 'ACTIVE');
      assert.equal(after1.autoRegistrationStatus, 'ENABLE');
      assert.equal(after1.customerVersion, before.customerVersion + 1);
      assert.notEqual(after1.generationId, before.generationId);
      assert.ok(after1.lastModifiedDate > before.lastModifiedDate);
      await identity.updateCACertificate({ certificateId: id, newStatus: 'ACTIVE' });
      assert.equal((await identity.describeCACertificate(id)).certificateDescription.customerVersion, after1.customerVersion, 'no change, no new version');
      await identity.updateCACertificate({ certificateId: id, registrationConfig: { templateName: 'x' } });
      assert.deepEqual((await identity.describeCACertificate(id)).registrationConfig, { templateName: 'x' });
      await identity.updateCACertificate({ certificateId: id, removeAutoRegistration: true });
      assert.equal((await identity.describeCACertificate(id)).registrationConfig, undefined);
      await rejectsWith(identity.updateCACertificate({ certificateId: id, newStatus: 'REVOKED' }), 'InvalidRequestException');
      await rejectsWith(identity.updateCACertificate({ certificateId: id, newAutoRegistrationStatus: 'MAYBE' }), 'InvalidRequestException');
      await rejectsWith(identity.updateCACertificate({ certificateId: 'f'.repeat(64), newStatus: 'ACTIVE' }), 'ResourceNotFoundException');

      await rejectsWith(identity.deleteCACertificate(id), 'CertificateStateException');
      await identity.updateCACertificate({ certificateId: id, newStatus: 'INACTIVE' });
      await identity.deleteCACertificate(id);
      await rejectsWith(identity.describeCACertificate(id), 'ResourceNotFoundException');
      await rejectsWith(identity.deleteCACertificate(id), 'ResourceNotFoundException');
      await rejectsWith(identity.describeCACertificate('nope'), 'InvalidRequestException');
    });
  });

  describe('DescribeCertificate', () => {
    it('answers certificateDescription exactly, for an id in any case', async () => {
      const issued = await issueClientCertificate(ca, { commonName: 'describe-me' });
      await identity.registerCertificate({ certificatePem: issued.certificatePem, setAsActive: true });
      const { certificateDescription: d } = await identity.describeCertificate(issued.certificateId.toUpperCase());
      assert.deepEqual(Object.keys(d).sort(), [
        'certificateArn', 'certificateId', 'certificateMode', 'certificatePem', 'creationDate', 'customerVersion',
        'generationId', 'lastModifiedDate', 'ownedBy', 'status', 'validity',
      ]);
      assert.equal(d.certificateId, issued.certificateId);
      assert.equal(d.certificateArn, `arn:aws:iot:us-east-1:123456789012:cert/${issued.certificateId}`);
      assert.equal(d.ownedBy, '123456789012');
      assert.equal(d.customerVersion, 1);
      assert.match(d.generationId, /^[0-9a-f-]{36}$/);
      assert.equal(d.creationDate.getTime(), d.lastModifiedDate.getTime());
      assert.equal(d.validity.notBefore.getTime(), issued.notBeforeMs);
      assert.equal(d.validity.notAfter.getTime(), issued.notAfterMs);
      assert.deepEqual(derOf(d.certificatePem), derOf(issued.certificatePem));
    });

    it('answers InvalidRequestException for a malformed id and ResourceNotFoundException for an unknown one', async () => {
      await rejectsWith(identity.describeCertificate('abc'), 'InvalidRequestException', /length/);
      await rejectsWith(identity.describeCertificate('z'.repeat(64)), 'InvalidRequestException', /pattern/);
      await rejectsWith(identity.describeCertificate('0'.repeat(64)), 'ResourceNotFoundException');
    });
  });

  describe('ListCertificates / ListCertificatesByCA', () => {
    it('lists newest first by default, oldest first with isAscendingOrder, in pages with base64 markers', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push((await identity.createKeysAndCertificate({ setAsActive: i % 2 === 0 })).certificateId);
      const all = await identity.listCertificates();
      assert.deepEqual(all.certificates.map((c) => c.certificateId), [...ids].reverse());
      assert.equal(all.nextMarker, undefined);
      assert.deepEqual(Object.keys(all.certificates[0]!).sort(), ['certificateArn', 'certificateId', 'certificateMode', 'creationDate', 'status']);
      for (const ascending of [true, false]) {
        const seen: string[] = [];
        let marker: string | undefined;
        do {
          const page = await identity.listCertificates({ pageSize: 3, isAscendingOrder: ascending, ...(marker === undefined ? {} : { marker }) });
          assert.ok(page.certificates.length <= 3);
          seen.push(...page.certificates.map((c) => c.certificateId));
          marker = page.nextMarker;
          if (marker !== undefined) assert.match(marker, /^[A-Za-z0-9+/]+={0,2}$/);
        } while (marker !== undefined);
        assert.deepEqual(seen, ascending ? ids : [...ids].reverse());
      }
    });

    it('answers InvalidRequestException for a bad page size or marker, and a marker of another order', async () => {
      for (let i = 0; i < 3; i++) await identity.createKeysAndCertificate();
      await rejectsWith(identity.listCertificates({ pageSize: 0 }), 'InvalidRequestException');
      await rejectsWith(identity.listCertificates({ pageSize: 251 }), 'InvalidRequestException');
      await rejectsWith(identity.listCertificates({ marker: '!!' }), 'InvalidRequestException');
      await rejectsWith(identity.listCertificates({ marker: Buffer.from('{"x":1}').toString('base64') }), 'InvalidRequestException');
      const { nextMarker } = await identity.listCertificates({ pageSize: 1 });
      assert.ok(nextMarker !== undefined);
      await rejectsWith(identity.listCertificates({ marker: nextMarker, isAscendingOrder: true }), 'InvalidRequestException');
      assert.equal((await identity.listCertificates({ pageSize: 250 })).certificates.length, 3);
    });

    it('lists only the certificates registered with one CA', async () => {
      const caId = (await identity.registerCACertificate({ caCertificate: customerCa.certificatePem, setAsActive: true })).certificateId;
      const mine: string[] = [];
      for (let i = 0; i < 3; i++) {
        const issued = await issueClientCertificate(customerCa, { commonName: `d${i}` });
        await identity.registerCertificate({ certificatePem: issued.certificatePem });
        mine.push(issued.certificateId);
      }
      await identity.createKeysAndCertificate();
      const page1 = await identity.listCertificatesByCA({ caCertificateId: caId, pageSize: 2, isAscendingOrder: true });
      assert.deepEqual(page1.certificates.map((c) => c.certificateId), mine.slice(0, 2));
      const page2 = await identity.listCertificatesByCA({ caCertificateId: caId, pageSize: 2, isAscendingOrder: true, marker: page1.nextMarker! });
      assert.deepEqual(page2.certificates.map((c) => c.certificateId), mine.slice(2));
      await rejectsWith(identity.listCertificates({ marker: page1.nextMarker!, isAscendingOrder: true }), 'InvalidRequestException');
      assert.deepEqual((await identity.listCertificatesByCA({ caCertificateId: 'a'.repeat(64) })).certificates, []);
      await rejectsWith(identity.listCertificatesByCA({ caCertificateId: 'short' }), 'InvalidRequestException');
    });
  });

  describe('UpdateCertificate', () => {
    it('moves between ACTIVE, INACTIVE and REVOKED; REVOKED is terminal; the same status changes nothing', async () => {
      const { certificateId: id } = await identity.createKeysAndCertificate();
      const v1 = (await identity.describeCertificate(id)).certificateDescription;
      await identity.updateCertificate({ certificateId: id, newStatus: 'ACTIVE' });
      const v2 = (await identity.describeCertificate(id)).certificateDescription;
      assert.equal(v2.status, 'ACTIVE');
      assert.equal(v2.customerVersion, 2);
      assert.notEqual(v2.generationId, v1.generationId);
      assert.ok(v2.lastModifiedDate > v1.lastModifiedDate);
      assert.equal(v2.creationDate.getTime(), v1.creationDate.getTime());
      await identity.updateCertificate({ certificateId: id, newStatus: 'ACTIVE' });
      assert.deepEqual((await identity.describeCertificate(id)).certificateDescription, v2, 'idempotent');
      await identity.updateCertificate({ certificateId: id, newStatus: 'INACTIVE' });
      await identity.updateCertificate({ certificateId: id, newStatus: 'REGISTER_INACTIVE' });
      await identity.updateCertificate({ certificateId: id, newStatus: 'REVOKED' });
      await identity.updateCertificate({ certificateId: id, newStatus: 'REVOKED' });
      for (const status of ['ACTIVE', 'INACTIVE']) {
        await rejectsWith(identity.updateCertificate({ certificateId: id, newStatus: status }), 'CertificateStateException');
      }
      assert.equal((await identity.describeCertificate(id)).certificateDescription.status, 'REVOKED');
    });

    it('answers InvalidRequestException for PENDING_* and unknown statuses, ResourceNotFoundException for unknown ids', async () => {
      const { certificateId: id } = await identity.createKeysAndCertificate();
      for (const status of ['PENDING_TRANSFER', 'PENDING_ACTIVATION', 'DELETED', 'active']) {
        await rejectsWith(identity.updateCertificate({ certificateId: id, newStatus: status }), 'InvalidRequestException');
      }
      await rejectsWith(identity.updateCertificate({ certificateId: 'e'.repeat(64), newStatus: 'ACTIVE' }), 'ResourceNotFoundException');
      await rejectsWith(identity.updateCertificate({ certificateId: 'e', newStatus: 'ACTIVE' }), 'InvalidRequestException');
    });
  });

  describe('DeleteCertificate', () => {
    it('refuses ACTIVE certificates and those attached to a thing; policies unless forceDelete', async () => {
      const { certificateId: id, certificateArn: arn } = await identity.createKeysAndCertificate({ setAsActive: true });
      await rejectsWith(identity.deleteCertificate({ certificateId: id }), 'CertificateStateException');
      await rejectsWith(identity.deleteCertificate({ certificateId: id, forceDelete: true }), 'CertificateStateException');
      await identity.updateCertificate({ certificateId: id, newStatus: 'INACTIVE' });
      attached.add(arn);
      await rejectsWith(identity.deleteCertificate({ certificateId: id, forceDelete: true }), 'DeleteConflictException');
      attached.delete(arn);
      withPolicies.add(arn);
      await rejectsWith(identity.deleteCertificate({ certificateId: id }), 'DeleteConflictException');
      await identity.deleteCertificate({ certificateId: id, forceDelete: true });
      await rejectsWith(identity.describeCertificate(id), 'ResourceNotFoundException');
      await rejectsWith(identity.deleteCertificate({ certificateId: id }), 'ResourceNotFoundException');
      assert.equal(await identity.certificateExists(arn), false);
    });

    it('deletes REVOKED certificates, and the same certificate may then be registered again', async () => {
      const issued = await issueClientCertificate(ca, { commonName: 'again' });
      await identity.registerCertificate({ certificatePem: issued.certificatePem, status: 'REVOKED' });
      assert.equal(await identity.certificateExists(issued.certificateId), true);
      await identity.deleteCertificate({ certificateId: issued.certificateId });
      await identity.registerCertificate({ certificatePem: issued.certificatePem, setAsActive: true });
      assert.equal((await identity.describeCertificate(issued.certificateId)).certificateDescription.status, 'ACTIVE');
    });
  });

  describe('status events', () => {
    it('reports registrations, status changes and deletions after they are durable; a throwing listener changes nothing', async () => {
      const warnings: unknown[] = [];
      identity = make({ logger: { warn: (obj) => warnings.push(obj) } });
      identity.onStatusChange(() => {
        throw new Error('listener bug');
      });
      const remove = identity.onStatusChange((e) => events.push(e));
      const { certificateId: id, certificateArn: arn } = await identity.createKeysAndCertificate({ setAsActive: true });
      await identity.updateCertificate({ certificateId: id, newStatus: 'ACTIVE' });
      await identity.updateCertificate({ certificateId: id, newStatus: 'INACTIVE' });
      await identity.deleteCertificate({ certificateId: id });
      const caId = (await identity.registerCACertificate({ caCertificate: customerCa.certificatePem, setAsActive: true })).certificateId;
      await identity.updateCACertificate({ certificateId: caId, newStatus: 'INACTIVE' });
      remove();
      await identity.deleteCACertificate(caId);
      assert.deepEqual(events, [
        { type: 'certificate', certificateId: id, certificateArn: arn, status: 'ACTIVE', previousStatus: undefined },
        { type: 'certificate', certificateId: id, certificateArn: arn, status: 'INACTIVE', previousStatus: 'ACTIVE' },
        { type: 'certificate', certificateId: id, certificateArn: arn, status: 'DELETED', previousStatus: 'INACTIVE' },
        { type: 'caCertificate', caCertificateId: caId, status: 'ACTIVE', previousStatus: undefined },
        { type: 'caCertificate', caCertificateId: caId, status: 'INACTIVE', previousStatus: 'ACTIVE' },
      ]);
      assert.equal(warnings.length, 6);
    });
  });

  describe('authenticateCertificate', () => {
    it('accepts a registered ACTIVE certificate with its id, ARN and holder facts', async () => {
      const issued = await issueClientCertificate(ca, { commonName: 'sensor-1', organization: 'Acme' });
      await identity.registerCertificate({ certificatePem: issued.certificatePem, setAsActive: true });
      const result = await identity.authenticateCertificate(derOf(issued.certificatePem));
      assert.ok(result.ok);
      assert.equal(result.certificateId, issued.certificateId);
      assert.equal(result.certificateArn, `arn:aws:iot:us-east-1:123456789012:cert/${issued.certificateId}`);
      assert.deepEqual(result.facts.subject, { CommonName: ['sensor-1'], Organization: ['Acme'] });
      assert.deepEqual(result.facts.issuer, { CommonName: ['Thingcore Root CA'], Organization: ['Thingcore'] });
      assert.match(result.facts.serialNumber, /^[0-9a-f]+$/);
      assert.equal(result.facts.notAfterMs, issued.notAfterMs);
      assert.equal(result.caCertificateId, undefined);
    });

    it('refuses unregistered, INACTIVE, REVOKED, expired, not-yet-valid certificates and unknown issuers', async () => {
      const reason = async (pem: string, at?: number) => {
        const r = await identity.authenticateCertificate(derOf(pem), at);
        assert.ok(!r.ok);
        assert.equal(r.certificateId, certificateId(derOf(pem)));
        return r.reason;
      };
      const fresh = await issueClientCertificate(ca, { commonName: 'fresh' });
      assert.equal(await reason(fresh.certificatePem), 'unregistered');
      const stranger = await issueClientCertificate(otherCa, { commonName: 'stranger' });
      assert.equal(await reason(stranger.certificatePem), 'ca-unknown');
      await identity.registerCertificate({ certificatePem: fresh.certificatePem });
      assert.equal(await reason(fresh.certificatePem), 'inactive');
      await identity.updateCertificate({ certificateId: fresh.certificateId, newStatus: 'REVOKED' });
      assert.equal(await reason(fresh.certificatePem), 'revoked');
      const old = await issueClientCertificate(ca, {
        commonName: 'old',
        notBefore: new Date(Date.now() - 10 * 86_400_000),
        notAfter: new Date(Date.now() - 86_400_000),
      });
      await identity.registerCertificate({ certificatePem: old.certificatePem, setAsActive: true });
      assert.equal(await reason(old.certificatePem), 'expired');
      assert.equal((await identity.authenticateCertificate(derOf(old.certificatePem), Date.now() - 5 * 86_400_000)).ok, true);
      assert.equal(await reason(old.certificatePem, Date.now() - 20 * 86_400_000), 'not-yet-valid');
      const garbage = await identity.authenticateCertificate(Buffer.from('not a certificate'));
      assert.equal(!garbage.ok && garbage.reason, 'unregistered');
      const empty = await identity.authenticateCertificate(Buffer.alloc(0));
      assert.equal(!empty.ok && empty.reason, 'unregistered');
    });

    it('refuses a certificate whose CA is INACTIVE or deleted, and accepts it again when the CA is ACTIVE', async () => {
      const caId = (await identity.registerCACertificate({ caCertificate: customerCa.certificatePem, setAsActive: true })).certificateId;
      const device = await issueClientCertificate(customerCa, { commonName: 'cust' });
      await identity.registerCertificate({ certificatePem: device.certificatePem, setAsActive: true });
      const der = derOf(device.certificatePem);
      const ok = await identity.authenticateCertificate(der);
      assert.ok(ok.ok);
      assert.equal(ok.caCertificateId, caId);
      // An unregistered certificate of a registered CA is just unregistered.
      const sibling = await issueClientCertificate(customerCa, { commonName: 'sibling' });
      const s = await identity.authenticateCertificate(derOf(sibling.certificatePem));
      assert.equal(!s.ok && s.reason, 'unregistered');
      await identity.updateCACertificate({ certificateId: caId, newStatus: 'INACTIVE' });
      const inactive = await identity.authenticateCertificate(der);
      assert.equal(!inactive.ok && inactive.reason, 'ca-inactive');
      await identity.deleteCACertificate(caId);
      const gone = await identity.authenticateCertificate(der);
      assert.equal(!gone.ok && gone.reason, 'ca-unknown');
      await identity.registerCACertificate({ caCertificate: customerCa.certificatePem, setAsActive: true });
      assert.equal((await identity.authenticateCertificate(der)).ok, true);
    });

    it('answers from its cache without the store, and sees every change at once', async () => {
      let reads = 0;
      const counting: CertificateStore = {
        getCertificate: (id) => (reads++, store.certificates.getCertificate(id)),
        listCertificates: (q) => store.certificates.listCertificates(q),
        getCaCertificate: (id) => (reads++, store.certificates.getCaCertificate(id)),
        listCaCertificates: (q) => (reads++, store.certificates.listCaCertificates(q)),
        apply: (ops) => store.certificates.apply(ops),
      };
      identity = make({ store: { certificates: counting, tags: store.tags } });
      const issued = await issueClientCertificate(ca, { commonName: 'cached' });
      const der = derOf(issued.certificatePem);
      assert.equal((await identity.authenticateCertificate(der)).ok, false);
      reads = 0;
      assert.equal((await identity.authenticateCertificate(der)).ok, false);
      assert.equal(reads, 0, 'a negative answer is cached too');
      await identity.registerCertificate({ certificatePem: issued.certificatePem, setAsActive: true });
      assert.equal((await identity.authenticateCertificate(der)).ok, true);
      reads = 0;
      for (let i = 0; i < 100; i++) assert.equal((await identity.authenticateCertificate(der)).ok, true);
      assert.equal(reads, 0);
      await identity.updateCertificate({ certificateId: issued.certificateId, newStatus: 'INACTIVE' });
      const r = await identity.authenticateCertificate(der);
      assert.equal(!r.ok && r.reason, 'inactive');
      // The cache holds dates, not answers: the same entry expires on time.
      await identity.updateCertificate({ certificateId: issued.certificateId, newStatus: 'ACTIVE' });
      assert.equal((await identity.authenticateCertificate(der)).ok, true);
      reads = 0;
      const late = await identity.authenticateCertificate(der, issued.notAfterMs + 1);
      assert.equal(!late.ok && late.reason, 'expired');
      assert.equal(reads, 0);
    });

    it('a change landing while the store is read is not missed (the read is judged again)', async () => {
      let duringRead: (() => Promise<void>) | undefined;
      const racing: CertificateStore = {
        getCertificate: async (id) => {
          const record = await store.certificates.getCertificate(id);
          const hook = duringRead;
          duringRead = undefined;
          if (hook !== undefined) await hook();
          return record;
        },
        listCertificates: (q) => store.certificates.listCertificates(q),
        getCaCertificate: (id) => store.certificates.getCaCertificate(id),
        listCaCertificates: (q) => store.certificates.listCaCertificates(q),
        apply: (ops) => store.certificates.apply(ops),
      };
      identity = make({ store: { certificates: racing, tags: store.tags } });
      const issued = await issueClientCertificate(ca, { commonName: 'racer' });
      await identity.registerCertificate({ certificatePem: issued.certificatePem, setAsActive: true });
      duringRead = () => identity.updateCertificate({ certificateId: issued.certificateId, newStatus: 'INACTIVE' });
      const result = await identity.authenticateCertificate(derOf(issued.certificatePem));
      assert.equal(!result.ok && result.reason, 'inactive');
    });

    it('with the cache disabled, still answers correctly', async () => {
      identity = make({ authenticationCacheSize: 0 });
      const issued = await issueClientCertificate(ca, { commonName: 'nocache' });
      await identity.registerCertificate({ certificatePem: issued.certificatePem, setAsActive: true });
      assert.equal((await identity.authenticateCertificate(derOf(issued.certificatePem))).ok, true);
    });
  });
});
