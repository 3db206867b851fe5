// Proves that AWS's own IoTClient drives every certificate and CA-certificate operation of the real server (spec/http-api.md 3.3) end to end: shapes (capitalised keyPair members, epoch-second dates parsed into Dates, no absent members), base64 markers with the SDK paginators, and every error arriving as the SDK's own exception class with its status.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { join } from 'node:path';
import {
  AttachThingPrincipalCommand,
  CertificateStateException,
  CertificateValidationException,
  CreateCertificateFromCsrCommand,
  CreateKeysAndCertificateCommand,
  CreateThingCommand,
  DeleteCACertificateCommand,
  DeleteCertificateCommand,
  DeleteConflictException,
  DescribeCACertificateCommand,
  DescribeCertificateCommand,
  DetachThingPrincipalCommand,
  GetRegistrationCodeCommand,
  InvalidRequestException,
  ListCACertificatesCommand,
  ListCertificatesByCACommand,
  ListCertificatesCommand,
  RegisterCACertificateCommand,
  RegisterCertificateCommand,
  RegisterCertificateWithoutCACommand,
  RegistrationCodeValidationException,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  UpdateCACertificateCommand,
  UpdateCertificateCommand,
  paginateListCACertificates,
  paginateListCertificates,
  paginateListCertificatesByCA,
} from '@aws-sdk/client-iot';
import type { IoTClient } from '@aws-sdk/client-iot';
import { issueClientCertificate, loadOrCreateCa } from '../../src/identity/index.js';
import type { CertificateAuthority } from '../../src/identity/index.js';
import { x509 } from '../../src/identity/x509.js';
import { adminIotClient, rejectsWith } from './helpers/aws.js';
import { startTestServer } from './helpers/server.js';
import type { TestServer } from './helpers/server.js';

const arnPrefix = 'arn:aws:iot:us-east-1:000000000000';

async function csrPem(commonName: string): Promise<string> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: [{ CN: [commonName] }], keys: keys as webcrypto.CryptoKeyPair, signingAlgorithm: alg });
  return csr.toString('pem');
}

describe('certificate routes with the AWS SDK v3 IoTClient, against the real server', () => {
  let ts: TestServer;
  let iot: IoTClient;
  let customerCa: CertificateAuthority;
  let otherCa: CertificateAuthority;

  before(async () => {
    ts = await startTestServer({ config: { httpPort: 0 } });
    iot = await adminIotClient(ts);
    customerCa = await loadOrCreateCa(join(ts.dataDir, 'customer-ca'));
    otherCa = await loadOrCreateCa(join(ts.dataDir, 'other-ca'));
  });

  after(async () => {
    iot.destroy();
    await ts.close();
  });

  it('CreateKeysAndCertificate: keyPair.PublicKey / PrivateKey, INACTIVE unless setAsActive', async () => {
    const created = await iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
    const { $metadata, ...body } = created;
    assert.equal($metadata.httpStatusCode, 200);
    assert.deepEqual(Object.keys(body).sort(), ['certificateArn', 'certificateId', 'certificatePem', 'keyPair']);
    assert.match(created.keyPair?.PublicKey ?? '', /^-----BEGIN PUBLIC KEY-----/);
    assert.match(created.keyPair?.PrivateKey ?? '', /^-----BEGIN RSA PRIVATE KEY-----/);
    const certificate = new X509Certificate(created.certificatePem ?? '');
    assert.ok(certificate.checkPrivateKey(createPrivateKey(created.keyPair?.PrivateKey ?? '')));
    assert.equal(created.certificateArn, `${arnPrefix}:cert/${created.certificateId}`);
    const described = await iot.send(new DescribeCertificateCommand({ certificateId: created.certificateId }));
    assert.equal(described.certificateDescription?.status, 'ACTIVE');
    const inactive = await iot.send(new CreateKeysAndCertificateCommand({}));
    assert.equal((await iot.send(new DescribeCertificateCommand({ certificateId: inactive.certificateId }))).certificateDescription?.status, 'INACTIVE');
  });

  it('CreateCertificateFromCsr: a certificate for the CSR; a bad CSR is InvalidRequestException', async () => {
    const created = await iot.send(new CreateCertificateFromCsrCommand({ certificateSigningRequest: await csrPem('from-csr'), setAsActive: true }));
    assert.match(new X509Certificate(created.certificatePem ?? '').subject, /CN=from-csr/);
    assert.equal(created.certificateArn, `${arnPrefix}:cert/${created.certificateId}`);
    await rejectsWith(iot.send(new CreateCertificateFromCsrCommand({ certificateSigningRequest: 'nope' })), InvalidRequestException, 400);
  });

  it('DescribeCertificate: certificateDescription with dates as Dates and no absent members', async () => {
    const issued = await issueClientCertificate(ts.ca, { commonName: 'described' });
    const registered = await iot.send(new RegisterCertificateCommand({ certificatePem: issued.certificatePem, setAsActive: true }));
    assert.deepEqual({ arn: registered.certificateArn, id: registered.certificateId }, { arn: `${arnPrefix}:cert/${issued.certificateId}`, id: issued.certificateId });
    const { certificateDescription: d } = await iot.send(new DescribeCertificateCommand({ certificateId: issued.certificateId }));
    assert.ok(d !== undefined);
    assert.deepEqual(Object.keys(d).sort(), [
      'certificateArn', 'certificateId', 'certificateMode', 'certificatePem', 'creationDate', 'customerVersion', 'generationId',
      'lastModifiedDate', 'ownedBy', 'status', 'validity',
    ]);
    assert.ok(d.creationDate instanceof Date && Math.abs(d.creationDate.getTime() - Date.now()) < 60_000);
    assert.ok(d.lastModifiedDate instanceof Date);
    assert.equal(d.validity?.notBefore?.getTime(), issued.notBeforeMs);
    assert.equal(d.validity?.notAfter?.getTime(), issued.notAfterMs);
    assert.equal(d.ownedBy, '000000000000');
    assert.equal(d.customerVersion, 1);
    assert.equal(d.certificateMode, 'DEFAULT');
    await rejectsWith(iot.send(new DescribeCertificateCommand({ certificateId: '0'.repeat(64) })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new DescribeCertificateCommand({ certificateId: 'short' })), InvalidRequestException, 400);
  });

  it('RegisterCertificate: status rules, ResourceAlreadyExistsException with resourceId, CertificateValidationException, CertificateStateException', async () => {
    const issued = await issueClientCertificate(ts.ca, { commonName: 'reg' });
    await iot.send(new RegisterCertificateCommand({ certificatePem: issued.certificatePem, caCertificatePem: ts.ca.certificatePem, setAsActive: true, status: 'REVOKED' }));
    assert.equal((await iot.send(new DescribeCertificateCommand({ certificateId: issued.certificateId }))).certificateDescription?.status, 'REVOKED');
    const exists = await rejectsWith(iot.send(new RegisterCertificateCommand({ certificatePem: issued.certificatePem })), ResourceAlreadyExistsException, 409);
    assert.equal(exists.resourceId, issued.certificateId);
    assert.equal(exists.resourceArn, `${arnPrefix}:cert/${issued.certificateId}`);
    await rejectsWith(iot.send(new RegisterCertificateCommand({ certificatePem: 'not a certificate' })), CertificateValidationException, 400);
    const stranger = await issueClientCertificate(otherCa, { commonName: 'stranger' });
    await rejectsWith(iot.send(new RegisterCertificateCommand({ certificatePem: stranger.certificatePem })), CertificateValidationException, 400);
    await rejectsWith(iot.send(new RegisterCertificateCommand({ certificatePem: stranger.certificatePem, status: 'PENDING_TRANSFER' })), InvalidRequestException, 400);

    // A registered but INACTIVE CA: state exception; ACTIVE: registered with it.
    const other = await iot.send(new RegisterCACertificateCommand({ caCertificate: otherCa.certificatePem }));
    await rejectsWith(
      iot.send(new RegisterCertificateCommand({ certificatePem: stranger.certificatePem, caCertificatePem: otherCa.certificatePem })),
      CertificateStateException,
      406,
    );
    await iot.send(new UpdateCACertificateCommand({ certificateId: other.certificateId, newStatus: 'ACTIVE' }));
    await iot.send(new RegisterCertificateCommand({ certificatePem: stranger.certificatePem, caCertificatePem: otherCa.certificatePem, setAsActive: true }));
    const d = (await iot.send(new DescribeCertificateCommand({ certificateId: stranger.certificateId }))).certificateDescription;
    assert.equal(d?.caCertificateId, other.certificateId);
    assert.equal(d?.status, 'ACTIVE');
  });

  it('RegisterCertificateWithoutCA: any certificate, SNI_ONLY; duplicates and garbage refused', async () => {
    const loner = await issueClientCertificate(customerCa, { commonName: 'loner' });
    const r = await iot.send(new RegisterCertificateWithoutCACommand({ certificatePem: loner.certificatePem, status: 'ACTIVE' }));
    assert.equal(r.certificateId, loner.certificateId);
    const d = (await iot.send(new DescribeCertificateCommand({ certificateId: loner.certificateId }))).certificateDescription;
    assert.equal(d?.certificateMode, 'SNI_ONLY');
    assert.equal(d?.caCertificateId, undefined);
    await rejectsWith(iot.send(new RegisterCertificateWithoutCACommand({ certificatePem: loner.certificatePem })), ResourceAlreadyExistsException, 409);
    await rejectsWith(iot.send(new RegisterCertificateWithoutCACommand({ certificatePem: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----' })), CertificateValidationException, 400);
  });

  it('UpdateCertificate: statuses, idempotence, REVOKED terminal (CertificateStateException), PENDING_* refused', async () => {
    const { certificateId } = await iot.send(new CreateKeysAndCertificateCommand({}));
    await iot.send(new UpdateCertificateCommand({ certificateId, newStatus: 'ACTIVE' }));
    await iot.send(new UpdateCertificateCommand({ certificateId, newStatus: 'ACTIVE' }));
    const d = (await iot.send(new DescribeCertificateCommand({ certificateId }))).certificateDescription;
    assert.equal(d?.status, 'ACTIVE');
    assert.equal(d?.customerVersion, 2);
    await rejectsWith(iot.send(new UpdateCertificateCommand({ certificateId, newStatus: 'PENDING_TRANSFER' })), InvalidRequestException, 400);
    await rejectsWith(iot.send(new UpdateCertificateCommand({ certificateId, newStatus: 'PENDING_ACTIVATION' })), InvalidRequestException, 400);
    await iot.send(new UpdateCertificateCommand({ certificateId, newStatus: 'REVOKED' }));
    await rejectsWith(iot.send(new UpdateCertificateCommand({ certificateId, newStatus: 'ACTIVE' })), CertificateStateException, 406);
    await rejectsWith(iot.send(new UpdateCertificateCommand({ certificateId: 'a'.repeat(64), newStatus: 'ACTIVE' })), ResourceNotFoundException, 404);
  });

  it('DeleteCertificate: ACTIVE refused (406), attached to a thing refused (409), then deleted', async () => {
    const { certificateId, certificateArn } = await iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
    await rejectsWith(iot.send(new DeleteCertificateCommand({ certificateId })), CertificateStateException, 406);
    await iot.send(new UpdateCertificateCommand({ certificateId, newStatus: 'INACTIVE' }));
    await iot.send(new CreateThingCommand({ thingName: 'holder' }));
    await iot.send(new AttachThingPrincipalCommand({ thingName: 'holder', principal: certificateArn }));
    await rejectsWith(iot.send(new DeleteCertificateCommand({ certificateId, forceDelete: true })), DeleteConflictException, 409);
    await iot.send(new DetachThingPrincipalCommand({ thingName: 'holder', principal: certificateArn }));
    await iot.send(new DeleteCertificateCommand({ certificateId, forceDelete: true }));
    await rejectsWith(iot.send(new DescribeCertificateCommand({ certificateId })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new DeleteCertificateCommand({ certificateId })), ResourceNotFoundException, 404);
  });

  it('ListCertificates: newest first by default, ascending on request, base64 markers, the SDK paginator', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await iot.send(new CreateKeysAndCertificateCommand({}))).certificateId ?? '');
    const first = await iot.send(new ListCertificatesCommand({ pageSize: 2 }));
    assert.deepEqual(first.certificates?.map((c) => c.certificateId), [ids[4], ids[3]]);
    assert.match(first.nextMarker ?? '', /^[A-Za-z0-9+/]+={0,2}$/);
    const summary = first.certificates?.[0];
    assert.ok(summary !== undefined);
    assert.deepEqual(Object.keys(summary).sort(), ['certificateArn', 'certificateId', 'certificateMode', 'creationDate', 'status']);
    assert.ok(summary.creationDate instanceof Date);
    const ascending: string[] = [];
    for await (const page of paginateListCertificates({ client: iot, pageSize: 2 }, { ascendingOrder: true })) {
      assert.ok((page.certificates?.length ?? 0) <= 2);
      ascending.push(...(page.certificates ?? []).map((c) => c.certificateId ?? ''));
    }
    assert.equal(new Set(ascending).size, ascending.length, 'no certificate twice');
    assert.deepEqual(ascending.slice(-5), ids);
    const everything = await iot.send(new ListCertificatesCommand({ pageSize: 250 }));
    assert.deepEqual(everything.certificates?.map((c) => c.certificateId), [...ascending].reverse());
    assert.equal(everything.nextMarker, undefined);
    await rejectsWith(iot.send(new ListCertificatesCommand({ pageSize: 251 })), InvalidRequestException, 400);
    await rejectsWith(iot.send(new ListCertificatesCommand({ marker: 'bm90LWEtbWFya2Vy' })), InvalidRequestException, 400);
  });

  it('CA certificates: register (verification certificate and registration code), describe, list, list by CA, update, delete', async () => {
    const { registrationCode } = await iot.send(new GetRegistrationCodeCommand({}));
    assert.match(registrationCode ?? '', /^[0-9a-f]{64}$/);
    assert.equal((await iot.send(new GetRegistrationCodeCommand({}))).registrationCode, registrationCode);

    const wrongCn = await issueClientCertificate(customerCa, { commonName: 'not-the-code' });
    await rejectsWith(
      iot.send(new RegisterCACertificateCommand({ caCertificate: customerCa.certificatePem, verificationCertificate: wrongCn.certificatePem })),
      RegistrationCodeValidationException,
      400,
    );
    const leaf = await issueClientCertificate(customerCa, { commonName: 'leaf' });
    await rejectsWith(iot.send(new RegisterCACertificateCommand({ caCertificate: leaf.certificatePem })), CertificateValidationException, 400);
    const verification = await issueClientCertificate(customerCa, { commonName: registrationCode ?? '' });
    const registered = await iot.send(
      new RegisterCACertificateCommand({
        caCertificate: customerCa.certificatePem,
        verificationCertificate: verification.certificatePem,
        setAsActive: true,
        allowAutoRegistration: true,
        registrationConfig: { templateBody: '{"Resources":{}}', roleArn: 'arn:aws:iam::000000000000:role/jitp' },
        tags: [{ Key: 'team', Value: 'iot' }],
      }),
    );
    assert.equal(registered.certificateArn, `${arnPrefix}:cacert/${customerCa.certificateId}`);
    assert.equal(registered.certificateId, customerCa.certificateId);
    await rejectsWith(iot.send(new RegisterCACertificateCommand({ caCertificate: customerCa.certificatePem })), ResourceAlreadyExistsException, 409);

    const described = await iot.send(new DescribeCACertificateCommand({ certificateId: customerCa.certificateId }));
    const d = described.certificateDescription;
    assert.ok(d !== undefined);
    assert.deepEqual(Object.keys(d).sort(), [
      'autoRegistrationStatus', 'certificateArn', 'certificateId', 'certificateMode', 'certificatePem', 'creationDate',
      'customerVersion', 'generationId', 'lastModifiedDate', 'ownedBy', 'status', 'validity',
    ]);
    assert.equal(d.status, 'ACTIVE');
    assert.equal(d.autoRegistrationStatus, 'ENABLE');
    assert.ok(d.creationDate instanceof Date && d.validity?.notAfter instanceof Date);
    assert.deepEqual(described.registrationConfig, { templateBody: '{"Resources":{}}', roleArn: 'arn:aws:iam::000000000000:role/jitp' });

    const devices: string[] = [];
    for (let i = 0; i < 3; i++) {
      const device = await issueClientCertificate(customerCa, { commonName: `cust-${i}` });
      await iot.send(new RegisterCertificateCommand({ certificatePem: device.certificatePem }));
      devices.push(device.certificateId);
    }
    const byCa: string[] = [];
    for await (const page of paginateListCertificatesByCA({ client: iot, pageSize: 2 }, { caCertificateId: customerCa.certificateId, ascendingOrder: true })) {
      byCa.push(...(page.certificates ?? []).map((c) => c.certificateId ?? ''));
    }
    assert.deepEqual(byCa, devices);
    const byCaDesc = await iot.send(new ListCertificatesByCACommand({ caCertificateId: customerCa.certificateId }));
    assert.deepEqual(byCaDesc.certificates?.map((c) => c.certificateId), [...devices].reverse());

    const cas: string[] = [];
    for await (const page of paginateListCACertificates({ client: iot, pageSize: 1 }, { ascendingOrder: true })) {
      const summary = page.certificates?.[0];
      if (summary !== undefined) assert.deepEqual(Object.keys(summary).sort(), ['certificateArn', 'certificateId', 'creationDate', 'status']);
      cas.push(...(page.certificates ?? []).map((c) => c.certificateId ?? ''));
    }
    assert.ok(cas.includes(customerCa.certificateId));
    assert.equal(new Set(cas).size, cas.length);
    const listed = await iot.send(new ListCACertificatesCommand({}));
    assert.deepEqual(listed.certificates?.map((c) => c.certificateId), [...cas].reverse());

    await iot.send(new UpdateCACertificateCommand({ certificateId: customerCa.certificateId, newAutoRegistrationStatus: 'DISABLE', removeAutoRegistration: true }));
    const updated = await iot.send(new DescribeCACertificateCommand({ certificateId: customerCa.certificateId }));
    assert.equal(updated.certificateDescription?.autoRegistrationStatus, 'DISABLE');
    assert.equal(updated.registrationConfig, undefined);
    assert.equal(updated.certificateDescription?.customerVersion, 2);
    await rejectsWith(iot.send(new UpdateCACertificateCommand({ certificateId: customerCa.certificateId, newStatus: 'REVOKED' as 'ACTIVE' })), InvalidRequestException, 400);
    await rejectsWith(iot.send(new DeleteCACertificateCommand({ certificateId: customerCa.certificateId })), CertificateStateException, 406);
    await iot.send(new UpdateCACertificateCommand({ certificateId: customerCa.certificateId, newStatus: 'INACTIVE' }));
    await iot.send(new DeleteCACertificateCommand({ certificateId: customerCa.certificateId }));
    await rejectsWith(iot.send(new DescribeCACertificateCommand({ certificateId: customerCa.certificateId })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new DeleteCACertificateCommand({ certificateId: customerCa.certificateId })), ResourceNotFoundException, 404);
    await rejectsWith(iot.send(new UpdateCACertificateCommand({ certificateId: customerCa.certificateId, newStatus: 'ACTIVE' })), ResourceNotFoundException, 404);
  });
});
