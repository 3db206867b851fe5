/**
 * CertificateStore on SQLite: device certificates and CA certificates (identity/).
 *
 *   certificates      certificate_id PK, …, ca_certificate_id (no foreign key: a CA may be deleted
 *                     while device certificates registered with it stay, as on AWS)
 *   ca_certificates   certificate_id PK, …, registration_config (JSON), template_name (its index)
 *
 * Listings are ordered by (creation_date_ms, certificate_id), ascending or descending, and continue
 * strictly after a position taken from the previous page's last item (row-value comparison), so a
 * page boundary never repeats or skips a certificate that existed throughout, even when many share a
 * creation millisecond.
 *
 * put* ops are upserts (INSERT … ON CONFLICT DO UPDATE) so that a replaced row keeps its rowid.
 */
import type { CertificateStore } from '../interfaces.js';
import type {
  AutoRegistrationStatus,
  CaCertificateQuery,
  CaCertificateRecord,
  CaCertificateStatus,
  CertificateMode,
  CertificateOp,
  CertificateQuery,
  CertificateRecord,
  CertificateStatus,
  RegistrationConfigRecord,
} from '../records.js';
import type { SqliteHandle } from './handle.js';
import { registerMigrations } from './migrations.js';
import { batchTransaction, ConditionNotMet } from './batch.js';
import { StoreError } from '../errors.js';

registerMigrations('identity', [
  {
    version: 1,
    description: 'certificates and CA certificates',
    up: `
      CREATE TABLE certificates (
        certificate_id TEXT NOT NULL PRIMARY KEY,
        certificate_pem TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE', 'REVOKED', 'PENDING_TRANSFER', 'REGISTER_INACTIVE', 'PENDING_ACTIVATION')),
        ca_certificate_id TEXT,
        owned_by TEXT NOT NULL,
        creation_date_ms INTEGER NOT NULL,
        last_modified_date_ms INTEGER NOT NULL,
        customer_version INTEGER NOT NULL CHECK (customer_version >= 1),
        generation_id TEXT NOT NULL,
        not_before_ms INTEGER NOT NULL,
        not_after_ms INTEGER NOT NULL,
        certificate_mode TEXT NOT NULL CHECK (certificate_mode IN ('DEFAULT', 'SNI_ONLY'))
      ) STRICT;
      CREATE INDEX certificates_by_creation ON certificates (creation_date_ms, certificate_id);
      CREATE INDEX certificates_by_ca ON certificates (ca_certificate_id, creation_date_ms, certificate_id);

      CREATE TABLE ca_certificates (
        certificate_id TEXT NOT NULL PRIMARY KEY,
        certificate_pem TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
        auto_registration_status TEXT NOT NULL CHECK (auto_registration_status IN ('ENABLE', 'DISABLE')),
        registration_config TEXT,
        template_name TEXT,
        owned_by TEXT NOT NULL,
        creation_date_ms INTEGER NOT NULL,
        last_modified_date_ms INTEGER NOT NULL,
        customer_version INTEGER NOT NULL CHECK (customer_version >= 1),
        generation_id TEXT NOT NULL,
        not_before_ms INTEGER NOT NULL,
        not_after_ms INTEGER NOT NULL,
        certificate_mode TEXT NOT NULL CHECK (certificate_mode IN ('DEFAULT', 'SNI_ONLY'))
      ) STRICT;
      CREATE INDEX ca_certificates_by_creation ON ca_certificates (creation_date_ms, certificate_id);
      CREATE INDEX ca_certificates_by_template ON ca_certificates (template_name, creation_date_ms, certificate_id);
    `,
  },
]);

interface CertificateRow {
  readonly certificate_id: string;
  readonly certificate_pem: string;
  readonly status: string;
  readonly ca_certificate_id: string | null;
  readonly owned_by: string;
  readonly creation_date_ms: number;
  readonly last_modified_date_ms: number;
  readonly customer_version: number;
  readonly generation_id: string;
  readonly not_before_ms: number;
  readonly not_after_ms: number;
  readonly certificate_mode: string;
}

interface CaCertificateRow {
  readonly certificate_id: string;
  readonly certificate_pem: string;
  readonly status: string;
  readonly auto_registration_status: string;
  readonly registration_config: string | null;
  readonly template_name: string | null;
  readonly owned_by: string;
  readonly creation_date_ms: number;
  readonly last_modified_date_ms: number;
  readonly customer_version: number;
  readonly generation_id: string;
  readonly not_before_ms: number;
  readonly not_after_ms: number;
  readonly certificate_mode: string;
}

const CERTIFICATE_COLUMNS =
  'certificate_id, certificate_pem, status, ca_certificate_id, owned_by, creation_date_ms, last_modified_date_ms, ' +
  'customer_version, generation_id, not_before_ms, not_after_ms, certificate_mode';
const CA_COLUMNS =
  'certificate_id, certificate_pem, status, auto_registration_status, registration_config, template_name, owned_by, ' +
  'creation_date_ms, last_modified_date_ms, customer_version, generation_id, not_before_ms, not_after_ms, certificate_mode';

const certificateStatuses: readonly CertificateStatus[] = [
  'ACTIVE',
  'INACTIVE',
  'REVOKED',
  'PENDING_TRANSFER',
  'REGISTER_INACTIVE',
  'PENDING_ACTIVATION',
];
const caStatuses: readonly CaCertificateStatus[] = ['ACTIVE', 'INACTIVE'];
const modes: readonly CertificateMode[] = ['DEFAULT', 'SNI_ONLY'];
const autoRegistrationStatuses: readonly AutoRegistrationStatus[] = ['ENABLE', 'DISABLE'];

function corrupt(what: string, detail: string, cause?: unknown): StoreError {
  return new StoreError('CorruptRecord', `${what}: ${detail}`, cause === undefined ? undefined : { cause });
}

function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw corrupt(what, `unknown value ${JSON.stringify(value)}`);
  return value as T;
}

function certificateFromRow(row: CertificateRow): CertificateRecord {
  const what = `certificate ${row.certificate_id}`;
  return {
    certificateId: row.certificate_id,
    certificatePem: row.certificate_pem,
    status: oneOf(row.status, certificateStatuses, `${what} status`),
    ...(row.ca_certificate_id === null ? {} : { caCertificateId: row.ca_certificate_id }),
    ownedBy: row.owned_by,
    creationDateMs: row.creation_date_ms,
    lastModifiedDateMs: row.last_modified_date_ms,
    customerVersion: row.customer_version,
    generationId: row.generation_id,
    notBeforeMs: row.not_before_ms,
    notAfterMs: row.not_after_ms,
    certificateMode: oneOf(row.certificate_mode, modes, `${what} certificateMode`),
  };
}

function registrationConfigFromJson(text: string, what: string): RegistrationConfigRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err: unknown) {
    throw corrupt(what, 'registrationConfig is not JSON', err);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt(what, 'registrationConfig is not an object');
  const raw = value as Record<string, unknown>;
  const config: { -readonly [K in keyof RegistrationConfigRecord]: RegistrationConfigRecord[K] } = {};
  for (const key of ['templateBody', 'roleArn', 'templateName'] as const) {
    const member = raw[key];
    if (member === undefined) continue;
    if (typeof member !== 'string') throw corrupt(what, `registrationConfig.${key} is not a string`);
    config[key] = member;
  }
  return config;
}

function caCertificateFromRow(row: CaCertificateRow): CaCertificateRecord {
  const what = `CA certificate ${row.certificate_id}`;
  return {
    certificateId: row.certificate_id,
    certificatePem: row.certificate_pem,
    status: oneOf(row.status, caStatuses, `${what} status`),
    autoRegistrationStatus: oneOf(row.auto_registration_status, autoRegistrationStatuses, `${what} autoRegistrationStatus`),
    ...(row.registration_config === null ? {} : { registrationConfig: registrationConfigFromJson(row.registration_config, what) }),
    ownedBy: row.owned_by,
    creationDateMs: row.creation_date_ms,
    lastModifiedDateMs: row.last_modified_date_ms,
    customerVersion: row.customer_version,
    generationId: row.generation_id,
    notBeforeMs: row.not_before_ms,
    notAfterMs: row.not_after_ms,
    certificateMode: oneOf(row.certificate_mode, modes, `${what} certificateMode`),
  };
}

function describeOp(op: CertificateOp): string {
  switch (op.op) {
    case 'putCertificate':
      return `putCertificate ${op.certificate.certificateId}`;
    case 'putCaCertificate':
      return `putCaCertificate ${op.caCertificate.certificateId}`;
    case 'deleteCertificate':
    case 'deleteCaCertificate':
    case 'checkCertificate':
    case 'checkCaCertificate':
      return `${op.op} ${op.certificateId}`;
    default:
      return `unknown op ${JSON.stringify((op as { op?: unknown }).op)}`;
  }
}

/** Thrown inside the transaction by a check op that does not hold. */

type ListParams = { afterCreation: number | null; afterId: string; key: string | null; limit: number };

export class SqliteCertificateStore implements CertificateStore {
  readonly #handle: SqliteHandle;
  readonly #applyBatch: (ops: readonly CertificateOp[]) => void;
  readonly #s;

  constructor(handle: SqliteHandle) {
    this.#handle = handle;
    const db = handle.db();
    // One statement per (table, order, filter); `@afterCreation IS NULL` means "from the start".
    const list = <Row>(table: string, columns: string, filterColumn: string, order: 'ASC' | 'DESC', filtered: boolean) =>
      db.prepare<[ListParams], Row>(
        `SELECT ${columns} FROM ${table}
         WHERE (@afterCreation IS NULL OR (creation_date_ms, certificate_id) ${order === 'ASC' ? '>' : '<'} (@afterCreation, @afterId))
           ${filtered ? `AND ${filterColumn} = @key` : 'AND @key IS NULL'}
         ORDER BY creation_date_ms ${order}, certificate_id ${order} LIMIT @limit`,
      );
    this.#s = {
      getCertificate: db.prepare<[string], CertificateRow>(`SELECT ${CERTIFICATE_COLUMNS} FROM certificates WHERE certificate_id = ?`),
      upsertCertificate: db.prepare<[CertificateRow]>(
        `INSERT INTO certificates (${CERTIFICATE_COLUMNS})
         VALUES (@certificate_id, @certificate_pem, @status, @ca_certificate_id, @owned_by, @creation_date_ms, @last_modified_date_ms,
                 @customer_version, @generation_id, @not_before_ms, @not_after_ms, @certificate_mode)
         ON CONFLICT (certificate_id) DO UPDATE SET
           certificate_pem = excluded.certificate_pem, status = excluded.status, ca_certificate_id = excluded.ca_certificate_id,
           owned_by = excluded.owned_by, creation_date_ms = excluded.creation_date_ms,
           last_modified_date_ms = excluded.last_modified_date_ms, customer_version = excluded.customer_version,
           generation_id = excluded.generation_id, not_before_ms = excluded.not_before_ms, not_after_ms = excluded.not_after_ms,
           certificate_mode = excluded.certificate_mode`,
      ),
      deleteCertificate: db.prepare<[string]>('DELETE FROM certificates WHERE certificate_id = ?'),
      getCa: db.prepare<[string], CaCertificateRow>(`SELECT ${CA_COLUMNS} FROM ca_certificates WHERE certificate_id = ?`),
      upsertCa: db.prepare<[CaCertificateRow]>(
        `INSERT INTO ca_certificates (${CA_COLUMNS})
         VALUES (@certificate_id, @certificate_pem, @status, @auto_registration_status, @registration_config, @template_name, @owned_by,
                 @creation_date_ms, @last_modified_date_ms, @customer_version, @generation_id, @not_before_ms, @not_after_ms,
                 @certificate_mode)
         ON CONFLICT (certificate_id) DO UPDATE SET
           certificate_pem = excluded.certificate_pem, status = excluded.status,
           auto_registration_status = excluded.auto_registration_status, registration_config = excluded.registration_config,
           template_name = excluded.template_name, owned_by = excluded.owned_by, creation_date_ms = excluded.creation_date_ms,
           last_modified_date_ms = excluded.last_modified_date_ms, customer_version = excluded.customer_version,
           generation_id = excluded.generation_id, not_before_ms = excluded.not_before_ms, not_after_ms = excluded.not_after_ms,
           certificate_mode = excluded.certificate_mode`,
      ),
      deleteCa: db.prepare<[string]>('DELETE FROM ca_certificates WHERE certificate_id = ?'),
      listCertificates: {
        ASC: list<CertificateRow>('certificates', CERTIFICATE_COLUMNS, 'ca_certificate_id', 'ASC', false),
        DESC: list<CertificateRow>('certificates', CERTIFICATE_COLUMNS, 'ca_certificate_id', 'DESC', false),
      },
      listCertificatesByCa: {
        ASC: list<CertificateRow>('certificates', CERTIFICATE_COLUMNS, 'ca_certificate_id', 'ASC', true),
        DESC: list<CertificateRow>('certificates', CERTIFICATE_COLUMNS, 'ca_certificate_id', 'DESC', true),
      },
      listCas: {
        ASC: list<CaCertificateRow>('ca_certificates', CA_COLUMNS, 'template_name', 'ASC', false),
        DESC: list<CaCertificateRow>('ca_certificates', CA_COLUMNS, 'template_name', 'DESC', false),
      },
      listCasByTemplate: {
        ASC: list<CaCertificateRow>('ca_certificates', CA_COLUMNS, 'template_name', 'ASC', true),
        DESC: list<CaCertificateRow>('ca_certificates', CA_COLUMNS, 'template_name', 'DESC', true),
      },
    };

    this.#applyBatch = batchTransaction<CertificateOp>(db, (op) => this.#applyOne(op), describeOp);
  }

  #applyOne(op: CertificateOp): void {
    const s = this.#s;
    switch (op.op) {
      case 'putCertificate': {
        const c = op.certificate;
        s.upsertCertificate.run({
          certificate_id: c.certificateId,
          certificate_pem: c.certificatePem,
          status: c.status,
          ca_certificate_id: c.caCertificateId ?? null,
          owned_by: c.ownedBy,
          creation_date_ms: c.creationDateMs,
          last_modified_date_ms: c.lastModifiedDateMs,
          customer_version: c.customerVersion,
          generation_id: c.generationId,
          not_before_ms: c.notBeforeMs,
          not_after_ms: c.notAfterMs,
          certificate_mode: c.certificateMode,
        });
        return;
      }
      case 'deleteCertificate':
        s.deleteCertificate.run(op.certificateId);
        return;
      case 'putCaCertificate': {
        const c = op.caCertificate;
        s.upsertCa.run({
          certificate_id: c.certificateId,
          certificate_pem: c.certificatePem,
          status: c.status,
          auto_registration_status: c.autoRegistrationStatus,
          registration_config: c.registrationConfig === undefined ? null : JSON.stringify(c.registrationConfig),
          template_name: c.registrationConfig?.templateName ?? null,
          owned_by: c.ownedBy,
          creation_date_ms: c.creationDateMs,
          last_modified_date_ms: c.lastModifiedDateMs,
          customer_version: c.customerVersion,
          generation_id: c.generationId,
          not_before_ms: c.notBeforeMs,
          not_after_ms: c.notAfterMs,
          certificate_mode: c.certificateMode,
        });
        return;
      }
      case 'deleteCaCertificate':
        s.deleteCa.run(op.certificateId);
        return;
      case 'checkCertificate':
        check(s.getCertificate.get(op.certificateId), op, 'certificate');
        return;
      case 'checkCaCertificate':
        check(s.getCa.get(op.certificateId), op, 'CA certificate');
        return;
      default:
        throw new TypeError(`unknown certificate op ${JSON.stringify((op as { op?: unknown }).op)}`);
    }
  }

  async apply(ops: readonly CertificateOp[]): Promise<void> {
    this.#handle.db();
    if (ops.length === 0) return;
    this.#applyBatch(ops);
  }

  async getCertificate(certificateId: string): Promise<CertificateRecord | undefined> {
    this.#handle.db();
    const row = this.#s.getCertificate.get(certificateId);
    return row === undefined ? undefined : certificateFromRow(row);
  }

  async listCertificates(query: CertificateQuery): Promise<CertificateRecord[]> {
    this.#handle.db();
    const statements = query.caCertificateId === undefined ? this.#s.listCertificates : this.#s.listCertificatesByCa;
    return statements[query.order === 'asc' ? 'ASC' : 'DESC'].all(listParams(query, query.caCertificateId)).map(certificateFromRow);
  }

  async getCaCertificate(certificateId: string): Promise<CaCertificateRecord | undefined> {
    this.#handle.db();
    const row = this.#s.getCa.get(certificateId);
    return row === undefined ? undefined : caCertificateFromRow(row);
  }

  async listCaCertificates(query: CaCertificateQuery): Promise<CaCertificateRecord[]> {
    this.#handle.db();
    const statements = query.templateName === undefined ? this.#s.listCas : this.#s.listCasByTemplate;
    return statements[query.order === 'asc' ? 'ASC' : 'DESC'].all(listParams(query, query.templateName)).map(caCertificateFromRow);
  }
}

function check(
  row: { readonly generation_id: string } | undefined,
  op: { readonly exists: boolean; readonly generationId?: string },
  what: string,
): void {
  if (!op.exists) {
    if (row !== undefined) throw new ConditionNotMet(`the ${what} exists`);
  } else if (row === undefined) {
    throw new ConditionNotMet(`the ${what} does not exist`);
  } else if (op.generationId !== undefined && row.generation_id !== op.generationId) {
    throw new ConditionNotMet(`the ${what} is at generation ${row.generation_id}, not ${op.generationId}`);
  }
}

function listParams(query: CertificateQuery | CaCertificateQuery, key: string | undefined): ListParams {
  return {
    afterCreation: query.after?.creationDateMs ?? null,
    afterId: query.after?.certificateId ?? '',
    key: key ?? null,
    limit: query.limit,
  };
}
