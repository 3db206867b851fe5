/**
 * The CertificateStore contract: what every backend's `store.certificates` must do, as node:test
 * suites. A backend's test calls `describeCertificateStore(factory)`; each test gets a fresh store.
 *
 * Beyond interfaces.ts: records come back exactly as put (absent optional fields absent); put
 * replaces; listings are ordered by (creation date, id) both ways, and paging strictly after the last
 * item never repeats or skips, even when every certificate shares one creation millisecond; check ops
 * fail the batch with ConditionFailed and its opIndex, and nothing of a failed batch remains.
 */
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import type { CertificateStore, Store } from '../interfaces.js';
import type { CaCertificateRecord, CertificateQuery, CertificateRecord } from '../records.js';
import { isStoreError } from '../errors.js';
import { skipOption, withStore, type StoreContractFactory } from './factory.js';

const NO_REOPEN = 'the factory has no reopen(): this backend is not durable';

/** A 64-hex certificate id from a number. */
export const certificateIdOf = (n: number): string => n.toString(16).padStart(64, '0');

export function certificateRecord(n: number, overrides: Partial<CertificateRecord> = {}): CertificateRecord {
  return {
    certificateId: certificateIdOf(n),
    certificatePem: `-----BEGIN CERTIFICATE-----\nMII${n}\n-----END CERTIFICATE-----\n`,
    status: 'ACTIVE',
    ownedBy: '000000000000',
    creationDateMs: 1_700_000_000_000 + n,
    lastModifiedDateMs: 1_700_000_000_000 + n,
    customerVersion: 1,
    generationId: `gen-${n}`,
    notBeforeMs: 1_600_000_000_000,
    notAfterMs: 2_000_000_000_000,
    certificateMode: 'DEFAULT',
    ...overrides,
  };
}

export function caCertificateRecord(n: number, overrides: Partial<CaCertificateRecord> = {}): CaCertificateRecord {
  return {
    certificateId: certificateIdOf(n),
    certificatePem: `-----BEGIN CERTIFICATE-----\nMIICA${n}\n-----END CERTIFICATE-----\n`,
    status: 'ACTIVE',
    autoRegistrationStatus: 'DISABLE',
    ownedBy: '000000000000',
    creationDateMs: 1_700_000_000_000 + n,
    lastModifiedDateMs: 1_700_000_000_000 + n,
    customerVersion: 1,
    generationId: `ca-gen-${n}`,
    notBeforeMs: 1_600_000_000_000,
    notAfterMs: 2_000_000_000_000,
    certificateMode: 'DEFAULT',
    ...overrides,
  };
}

/** Every certificate of a listing, page by page. */
async function allPages(certificates: CertificateStore, query: Omit<CertificateQuery, 'limit' | 'after'>, pageSize: number): Promise<string[]> {
  const ids: string[] = [];
  let after: CertificateQuery['after'];
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await certificates.listCertificates({ ...query, limit: pageSize, ...(after === undefined ? {} : { after }) });
    ids.push(...page.map((c) => c.certificateId));
    const last = page[page.length - 1];
    if (page.length < pageSize || last === undefined) return ids;
    after = { creationDateMs: last.creationDateMs, certificateId: last.certificateId };
  }
  throw new Error('pagination does not end');
}

async function snapshot(store: Store): Promise<unknown> {
  return {
    certificates: await store.certificates.listCertificates({ limit: 1000, order: 'asc' }),
    cas: await store.certificates.listCaCertificates({ limit: 1000, order: 'asc' }),
  };
}

async function rejectsWith(call: Promise<unknown>, code: 'ConditionFailed' | 'ApplyFailed', opIndex?: number): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(isStoreError(err, code), `expected StoreError ${code}, got ${String(err)}`);
    if (opIndex !== undefined) assert.equal(err.opIndex, opIndex);
    return true;
  });
}

export function describeCertificateStore(factory: StoreContractFactory): void {
  describe(`CertificateStore contract: ${factory.name}`, { skip: skipOption(factory) }, () => {
    it('a certificate comes back exactly as put, optional fields absent when absent', () =>
      withStore(factory, async ({ store }) => {
        const c = store.certificates;
        const bare = certificateRecord(1, { status: 'INACTIVE' });
        const full = certificateRecord(2, { caCertificateId: certificateIdOf(99), certificateMode: 'SNI_ONLY', status: 'PENDING_ACTIVATION' });
        await c.apply([{ op: 'putCertificate', certificate: bare }, { op: 'putCertificate', certificate: full }]);
        assert.deepStrictEqual(await c.getCertificate(bare.certificateId), bare);
        assert.deepStrictEqual(await c.getCertificate(full.certificateId), full);
        assert.ok(!('caCertificateId' in (await c.getCertificate(bare.certificateId))!));
        assert.equal(await c.getCertificate(certificateIdOf(3)), undefined);
      }));

    it('every status round-trips; put replaces; delete removes and is a no-op when absent', () =>
      withStore(factory, async ({ store }) => {
        const c = store.certificates;
        for (const status of ['ACTIVE', 'INACTIVE', 'REVOKED', 'PENDING_TRANSFER', 'REGISTER_INACTIVE', 'PENDING_ACTIVATION'] as const) {
          const record = certificateRecord(7, { status, customerVersion: 3, generationId: status });
          await c.apply([{ op: 'putCertificate', certificate: record }]);
          assert.deepStrictEqual(await c.getCertificate(record.certificateId), record);
        }
        await c.apply([{ op: 'deleteCertificate', certificateId: certificateIdOf(7) }, { op: 'deleteCertificate', certificateId: certificateIdOf(8) }]);
        assert.equal(await c.getCertificate(certificateIdOf(7)), undefined);
      }));

    it('a CA certificate comes back exactly as put, with and without a registration config', () =>
      withStore(factory, async ({ store }) => {
        const c = store.certificates;
        const bare = caCertificateRecord(1, { status: 'INACTIVE' });
        const full = caCertificateRecord(2, {
          autoRegistrationStatus: 'ENABLE',
          registrationConfig: { templateBody: '{"Resources":{}}', roleArn: 'arn:aws:iam::000000000000:role/r', templateName: 'tpl' },
        });
        const partial = caCertificateRecord(3, { registrationConfig: { templateName: 'tpl' } });
        await c.apply([
          { op: 'putCaCertificate', caCertificate: bare },
          { op: 'putCaCertificate', caCertificate: full },
          { op: 'putCaCertificate', caCertificate: partial },
        ]);
        assert.deepStrictEqual(await c.getCaCertificate(bare.certificateId), bare);
        assert.deepStrictEqual(await c.getCaCertificate(full.certificateId), full);
        assert.deepStrictEqual(await c.getCaCertificate(partial.certificateId), partial);
        assert.ok(!('registrationConfig' in (await c.getCaCertificate(bare.certificateId))!));
        assert.equal(await c.getCertificate(bare.certificateId), undefined, 'CA and device certificates are separate');
        const removed = caCertificateRecord(2, { autoRegistrationStatus: 'DISABLE', generationId: 'g2' });
        await c.apply([{ op: 'putCaCertificate', caCertificate: removed }]);
        assert.deepStrictEqual(await c.getCaCertificate(removed.certificateId), removed, 'put replaces, registrationConfig included');
        await c.apply([{ op: 'deleteCaCertificate', certificateId: bare.certificateId }]);
        assert.equal(await c.getCaCertificate(bare.certificateId), undefined);
      }));

    it('lists by creation date ascending and descending, ties broken by id', () =>
      withStore(factory, async ({ store }) => {
        const c = store.certificates;
        await c.apply([
          { op: 'putCertificate', certificate: certificateRecord(3, { creationDateMs: 10 }) },
          { op: 'putCertificate', certificate: certificateRecord(1, { creationDateMs: 30 }) },
          { op: 'putCertificate', certificate: certificateRecord(5, { creationDateMs: 20 }) },
          { op: 'putCertificate', certificate: certificateRecord(2, { creationDateMs: 20 }) },
        ]);
        const asc = (await c.listCertificates({ limit: 10, order: 'asc' })).map((r) => r.certificateId);
        assert.deepStrictEqual(asc, [3, 2, 5, 1].map(certificateIdOf));
        const desc = (await c.listCertificates({ limit: 10, order: 'desc' })).map((r) => r.certificateId);
        assert.deepStrictEqual(desc, [1, 5, 2, 3].map(certificateIdOf));
        assert.equal((await c.listCertificates({ limit: 2, order: 'asc' })).length, 2);
        const afterTie = await c.listCertificates({ limit: 10, order: 'asc', after: { creationDateMs: 20, certificateId: certificateIdOf(2) } });
        assert.deepStrictEqual(afterTie.map((r) => r.certificateId), [5, 1].map(certificateIdOf));
        const beforeTie = await c.listCertificates({ limit: 10, order: 'desc', after: { creationDateMs: 20, certificateId: certificateIdOf(5) } });
        assert.deepStrictEqual(beforeTie.map((r) => r.certificateId), [2, 3].map(certificateIdOf));
      }));

    it('pages never repeat or skip, even when every certificate shares one creation millisecond', () =>
      withStore(factory, async ({ store }) => {
        const c = store.certificates;
        const ids = Array.from({ length: 23 }, (_, i) => i + 1);
        await c.apply(ids.map((n) => ({ op: 'putCertificate' as const, certificate: certificateRecord(n, { creationDateMs: n % 3 === 0 ? 5 : 100 + (n % 4) }) })));
        const expectedAsc = (await c.listCertificates({ limit: 100, order: 'asc' })).map((r) => r.certificateId);
        assert.equal(new Set(expectedAsc).size, 23);
        for (const size of [1, 4, 7, 23, 50]) {
          assert.deepStrictEqual(await allPages(c, { order: 'asc' }, size), expectedAsc, `asc, page size ${size}`);
          assert.deepStrictEqual(await allPages(c, { order: 'desc' }, size), [...expectedAsc].reverse(), `desc, page size ${size}`);
        }
      }));

    it('lists the certificates of one CA only', () =>
      withStore(factory, async ({ store }) => {
        const c = store.certificates;
        const ca1 = certificateIdOf(1001);
        const ca2 = certificateIdOf(1002);
        await c.apply([
          { op: 'putCertificate', certificate: certificateRecord(1, { caCertificateId: ca1 }) },
          { op: 'putCertificate', certificate: certificateRecord(2, { caCertificateId: ca2 }) },
          { op: 'putCertificate', certificate: certificateRecord(3) },
          { op: 'putCertificate', certificate: certificateRecord(4, { caCertificateId: ca1 }) },
        ]);
        assert.deepStrictEqual(await allPages(c, { order: 'asc', caCertificateId: ca1 }, 1), [1, 4].map(certificateIdOf));
        assert.deepStrictEqual(await allPages(c, { order: 'desc', caCertificateId: ca1 }, 1), [4, 1].map(certificateIdOf));
        assert.deepStrictEqual(await allPages(c, { order: 'asc', caCertificateId: ca2 }, 5), [2].map(certificateIdOf));
        assert.deepStrictEqual(await allPages(c, { order: 'asc', caCertificateId: certificateIdOf(1003) }, 5), []);
      }));

    it('lists CA certificates in both orders, paged, and filtered by provisioning template', () =>
      withStore(factory, async ({ store }) => {
        const c = store.certificates;
        await c.apply([
          { op: 'putCaCertificate', caCertificate: caCertificateRecord(1, { creationDateMs: 3 }) },
          { op: 'putCaCertificate', caCertificate: caCertificateRecord(2, { creationDateMs: 1, registrationConfig: { templateName: 'a' } }) },
          { op: 'putCaCertificate', caCertificate: caCertificateRecord(3, { creationDateMs: 2, registrationConfig: { templateName: 'b' } }) },
          { op: 'putCaCertificate', caCertificate: caCertificateRecord(4, { creationDateMs: 3, registrationConfig: { templateName: 'a' } }) },
        ]);
        const ids = async (query: Parameters<CertificateStore['listCaCertificates']>[0]) =>
          (await c.listCaCertificates(query)).map((r) => r.certificateId);
        assert.deepStrictEqual(await ids({ limit: 10, order: 'asc' }), [2, 3, 1, 4].map(certificateIdOf));
        assert.deepStrictEqual(await ids({ limit: 10, order: 'desc' }), [4, 1, 3, 2].map(certificateIdOf));
        assert.deepStrictEqual(await ids({ limit: 2, order: 'asc', after: { creationDateMs: 2, certificateId: certificateIdOf(3) } }), [1, 4].map(certificateIdOf));
        assert.deepStrictEqual(await ids({ limit: 10, order: 'asc', templateName: 'a' }), [2, 4].map(certificateIdOf));
        assert.deepStrictEqual(await ids({ limit: 10, order: 'desc', templateName: 'a' }), [4, 2].map(certificateIdOf));
        assert.deepStrictEqual(await ids({ limit: 10, order: 'asc', templateName: 'zzz' }), []);
      }));

    it('check ops hold or fail the whole batch with ConditionFailed and their opIndex', () =>
      withStore(factory, async ({ store }) => {
        const c = store.certificates;
        const one = certificateRecord(1);
        const ca = caCertificateRecord(50);
        await c.apply([
          { op: 'checkCertificate', certificateId: one.certificateId, exists: false },
          { op: 'putCertificate', certificate: one },
          { op: 'checkCaCertificate', certificateId: ca.certificateId, exists: false },
          { op: 'putCaCertificate', caCertificate: ca },
        ]);
        await c.apply([
          { op: 'checkCertificate', certificateId: one.certificateId, exists: true, generationId: one.generationId },
          { op: 'checkCaCertificate', certificateId: ca.certificateId, exists: true },
        ]);
        const before = await snapshot(store);
        const updated = certificateRecord(1, { status: 'INACTIVE', generationId: 'next' });
        await rejectsWith(
          c.apply([
            { op: 'putCertificate', certificate: certificateRecord(9) },
            { op: 'checkCertificate', certificateId: one.certificateId, exists: true, generationId: 'stale' },
            { op: 'putCertificate', certificate: updated },
          ]),
          'ConditionFailed',
          1,
        );
        await rejectsWith(c.apply([{ op: 'checkCertificate', certificateId: one.certificateId, exists: false }]), 'ConditionFailed', 0);
        await rejectsWith(c.apply([{ op: 'checkCertificate', certificateId: certificateIdOf(2), exists: true }]), 'ConditionFailed', 0);
        await rejectsWith(
          c.apply([{ op: 'deleteCaCertificate', certificateId: ca.certificateId }, { op: 'checkCaCertificate', certificateId: ca.certificateId, exists: true }]),
          'ConditionFailed',
          1,
        );
        await rejectsWith(c.apply([{ op: 'checkCaCertificate', certificateId: ca.certificateId, exists: true, generationId: 'stale' }]), 'ConditionFailed', 0);
        assert.deepStrictEqual(await snapshot(store), before, 'nothing of a failed batch remains');
        await c.apply([]);
      }));

    it('stored records do not alias the caller’s objects', () =>
      withStore(factory, async ({ store }) => {
        const config = { templateName: 't' };
        const ca = { ...caCertificateRecord(1), registrationConfig: config };
        await store.certificates.apply([{ op: 'putCaCertificate', caCertificate: ca }]);
        config.templateName = 'changed';
        assert.equal((await store.certificates.getCaCertificate(ca.certificateId))?.registrationConfig?.templateName, 't');
      }));

    it('reopened after close, the certificates are exactly what was committed', { skip: factory.reopen ? false : NO_REOPEN }, (_t) =>
      withStore(factory, async (ctx) => {
        await ctx.store.certificates.apply([
          { op: 'putCertificate', certificate: certificateRecord(1, { caCertificateId: certificateIdOf(10) }) },
          { op: 'putCertificate', certificate: certificateRecord(2) },
          { op: 'putCaCertificate', caCertificate: caCertificateRecord(10, { registrationConfig: { templateBody: '{}' } }) },
        ]);
        await rejectsWith(
          ctx.store.certificates.apply([{ op: 'deleteCertificate', certificateId: certificateIdOf(1) }, { op: 'checkCertificate', certificateId: certificateIdOf(3), exists: true }]),
          'ConditionFailed',
          1,
        );
        const before = await snapshot(ctx.store);
        const reopened = await ctx.reopen();
        assert.deepStrictEqual(await snapshot(reopened), before);
      }));

    it('every call after close rejects with StoreError Closed', () =>
      withStore(factory, async ({ store }) => {
        await store.close();
        for (const call of [
          () => store.certificates.getCertificate(certificateIdOf(1)),
          () => store.certificates.listCertificates({ limit: 1, order: 'asc' }),
          () => store.certificates.getCaCertificate(certificateIdOf(1)),
          () => store.certificates.listCaCertificates({ limit: 1, order: 'desc' }),
          () => store.certificates.apply([{ op: 'deleteCertificate', certificateId: certificateIdOf(1) }]),
        ]) {
          await assert.rejects(call(), (err: unknown) => isStoreError(err, 'Closed'));
        }
      }));
  });
}
