/**
 * The certificate service: AWS IoT's certificate and CA-certificate operations (spec/http-api.md
 * 3.3) over the store's CertificateStore, and the check of a certificate presented on a mutual-TLS
 * connection (`authenticateCertificate`, the connect path).
 *
 * Decisions where AWS is silent or unconfirmed (each is also stated where it is implemented):
 *  - RegisterCertificate: the issuing CA is `caCertificatePem` when given, otherwise found among the
 *    built-in CA and the registered CAs by issuer name and signature. A CA that is not registered, or
 *    a signature that does not verify, is CertificateValidationException; a registered CA that is
 *    INACTIVE is CertificateStateException. Certificates issued by the built-in CA register without a
 *    caCertificateId (like AWS's own CA, which ListCACertificates never shows). Validity dates are
 *    not checked at registration (an expired certificate registers and is refused at connect).
 *  - Certificate mode: DEFAULT for certificates we issue; the CA's mode for certificates registered
 *    with a CA; SNI_ONLY for RegisterCertificateWithoutCA (as AWS reports it).
 *  - RegisterCACertificate: the certificate must be a CA (basicConstraints cA); a self-issued one must
 *    verify with its own key. `verificationCertificate` is optional in both modes; when given, it must
 *    be signed by the CA's key (CertificateValidationException) and its CN must be the registration
 *    code (RegistrationCodeValidationException), as AWS's DEFAULT-mode flow has it.
 *  - GetRegistrationCode: a stable 64-hex code derived from the built-in CA and the account id (no
 *    state; DeleteRegistrationCode is not offered).
 *  - UpdateCertificate: PENDING_TRANSFER / PENDING_ACTIVATION requested → InvalidRequestException;
 *    REVOKED is terminal and a certificate in PENDING_TRANSFER cannot be changed (both
 *    CertificateStateException); the same status again changes nothing (documented idempotent).
 *    REGISTER_INACTIVE (deprecated) is accepted and authenticates like INACTIVE.
 *  - DeleteCACertificate leaves the device certificates registered with it; they then fail to
 *    authenticate with 'ca-unknown'.
 *  - Every write bumps lastModifiedDate, customerVersion and generationId; writes are
 *    compare-and-set on generationId and retried after a concurrent change.
 *
 * RegisterCACertificate's tags are checked before anything is stored and stored in the tag store
 * (tagging/) once the CA certificate is; the store deletes a certificate's or CA certificate's tags
 * with it.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { X509Certificate } from 'node:crypto';
import { AwsErrors, ServiceError, iotArn, parseIotArn } from '../shared/index.js';
import type { AccountScope } from '../shared/index.js';
import { isStoreError } from '../store/index.js';
import type {
  AutoRegistrationStatus,
  CaCertificateRecord,
  CaCertificateStatus,
  CertificateMode,
  CertificateOp,
  CertificatePosition,
  CertificateRecord,
  CertificateStatus,
  CertificateStore,
  RegistrationConfigRecord,
  TagStore,
} from '../store/index.js';
import { maxTagsPerResource, putCreationTags, readTags } from '../tagging/index.js';
import { certificateId as certificateIdOf } from './certificate-id.js';
import { certificateFacts, commonNameOf, isIssuedBy, isSelfSigned, maxPemLength, parseCertificateDer, parseCertificatePem } from './certificate-pem.js';
import type { ParsedCertificate } from './certificate-pem.js';
import { issueCertificateFromCsr, issueKeysAndCertificate } from './aws-issue.js';
import { decodeMarker, encodeMarker } from './marker.js';
import type { Listing, Order } from './marker.js';
import { VerdictCache } from './verdict-cache.js';
import type { Verdict } from './verdict-cache.js';
import type {
  CaCertificateDescription,
  CaCertificateSummary,
  CertificateAuthentication,
  CertificateAuthority,
  CertificateDescription,
  CertificateSummary,
  CreateCertificateFromCsrInput,
  CreateCertificateFromCsrOutput,
  CreateKeysAndCertificateInput,
  CreateKeysAndCertificateOutput,
  DeleteCertificateInput,
  DescribeCaCertificateOutput,
  IdentityEvent,
  IdentityListener,
  ListCaCertificatesInput,
  ListCaCertificatesOutput,
  ListCertificatesByCaInput,
  ListCertificatesInput,
  ListCertificatesOutput,
  RegisterCaCertificateInput,
  RegisterCertificateInput,
  RegisterCertificateWithoutCaInput,
  RegisteredCertificate,
  RegistrationConfig,
  UpdateCaCertificateInput,
  UpdateCertificateInput,
} from './model.js';

export interface IdentityServiceOptions {
  /** The opened Store (its `certificates` part, and `tags` for RegisterCACertificate's tags). */
  readonly store: { readonly certificates: CertificateStore; readonly tags: TagStore };
  /** The built-in CA: issues CreateKeysAndCertificate / CSR certificates; what it issued registers without a CA record. */
  readonly ca: CertificateAuthority;
  /** Region and account of every ARN (and `ownedBy`). */
  readonly scope: AccountScope;
  /** Wall-clock ms; default Date.now. */
  readonly clock?: () => number;
  /** Whether the certificate (by ARN) is attached to a thing (registry's business; core wires it). Absent: never. */
  readonly isAttached?: (certificateArn: string) => Promise<boolean>;
  /** Whether policies are attached to the certificate (policy's business, later). Absent: never. */
  readonly hasAttachedPolicies?: (certificateArn: string) => Promise<boolean>;
  /** Where a throwing status listener is reported. */
  readonly logger?: { warn(obj: object, msg?: string): void };
  /** Entries of the connect-path cache (default 100 000; 0 disables it). */
  readonly authenticationCacheSize?: number;
}

/** The certificate operations; every error is a ServiceError (shared/) with the AWS exception name. */
export interface IdentityService {
  createKeysAndCertificate(input?: CreateKeysAndCertificateInput): Promise<CreateKeysAndCertificateOutput>;
  createCertificateFromCsr(input: CreateCertificateFromCsrInput): Promise<CreateCertificateFromCsrOutput>;
  registerCertificate(input: RegisterCertificateInput): Promise<RegisteredCertificate>;
  registerCertificateWithoutCA(input: RegisterCertificateWithoutCaInput): Promise<RegisteredCertificate>;
  registerCACertificate(input: RegisterCaCertificateInput): Promise<RegisteredCertificate>;
  getRegistrationCode(): Promise<{ readonly registrationCode: string }>;
  describeCertificate(certificateId: string): Promise<{ readonly certificateDescription: CertificateDescription }>;
  listCertificates(input?: ListCertificatesInput): Promise<ListCertificatesOutput>;
  listCertificatesByCA(input: ListCertificatesByCaInput): Promise<ListCertificatesOutput>;
  updateCertificate(input: UpdateCertificateInput): Promise<void>;
  deleteCertificate(input: DeleteCertificateInput): Promise<void>;
  describeCACertificate(certificateId: string): Promise<DescribeCaCertificateOutput>;
  listCACertificates(input?: ListCaCertificatesInput): Promise<ListCaCertificatesOutput>;
  updateCACertificate(input: UpdateCaCertificateInput): Promise<void>;
  deleteCACertificate(certificateId: string): Promise<void>;

  /**
   * The connect path: may a TLS peer presenting this certificate (DER) connect at `nowMs`? It must be
   * registered, ACTIVE, within its validity dates, and — when registered with a CA — that CA must
   * exist, be ACTIVE and have signed it. Cached in memory by certificate id; any change clears the
   * cache. Never throws for a bad certificate (a store failure rejects).
   */
  authenticateCertificate(der: Uint8Array, nowMs?: number): Promise<CertificateAuthentication>;
  /** Whether a certificate is registered (whatever its status), by id or certificate ARN of this account. */
  certificateExists(certificateIdOrArn: string): Promise<boolean>;
  /** Adds a status-change listener; returns the function that removes it. Listener errors are logged, never thrown. */
  onStatusChange(listener: IdentityListener): () => void;
}

export function createIdentityService(options: IdentityServiceOptions): IdentityService {
  return new Identity(options);
}

export const defaultPageSize = 25;
export const maxPageSize = 250;
const maxAttempts = 5;
const RETRY = Symbol('retry');

const certificateStatuses: readonly CertificateStatus[] = [
  'ACTIVE',
  'INACTIVE',
  'REVOKED',
  'PENDING_TRANSFER',
  'REGISTER_INACTIVE',
  'PENDING_ACTIVATION',
];
const caStatuses: readonly CaCertificateStatus[] = ['ACTIVE', 'INACTIVE'];
const certificateModes: readonly CertificateMode[] = ['DEFAULT', 'SNI_ONLY'];
const autoRegistrationStatuses: readonly AutoRegistrationStatus[] = ['ENABLE', 'DISABLE'];

function validationError(name: string, value: string | null, constraint: string): ServiceError {
  const shown = value === null ? 'null' : `'${value.length > 100 ? `${value.slice(0, 100)}...` : value}'`;
  return AwsErrors.invalidRequest(`1 validation error detected: Value ${shown} at '${name}' failed to satisfy constraint: ${constraint}`);
}

function enumValue<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw validationError(name, value, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
  }
  return value as T;
}

/** A certificate id as the API receives it: 64 hex digits (any case); answered in lower case. */
function requireCertificateId(name: string, value: string): string {
  if (typeof value !== 'string' || value.length !== 64) {
    throw validationError(name, typeof value === 'string' ? value : null, 'Member must have length equal to 64');
  }
  if (!/^[0-9a-fA-F]{64}$/.test(value)) {
    throw validationError(name, value, 'Member must satisfy regular expression pattern: (0x)?[a-fA-F0-9]+');
  }
  return value.toLowerCase();
}

function requirePem(name: string, value: string | undefined): string {
  if (typeof value !== 'string' || value.length === 0) throw validationError(name, null, 'Member must not be null');
  if (value.length > maxPemLength) throw validationError(name, null, `Member must have length less than or equal to ${maxPemLength}`);
  return value;
}

function pageSizeOf(input: ListCertificatesInput): number {
  const size = input.pageSize;
  if (size === undefined) return defaultPageSize;
  if (!Number.isSafeInteger(size) || size < 1 || size > maxPageSize) {
    throw validationError('pageSize', String(size), `Member must have value between 1 and ${maxPageSize}`);
  }
  return size;
}

function registrationConfigOf(config: RegistrationConfig | undefined): RegistrationConfigRecord | undefined {
  if (config === undefined) return undefined;
  const out: { -readonly [K in keyof RegistrationConfigRecord]: string } = {};
  for (const key of ['templateBody', 'roleArn', 'templateName'] as const) {
    const value: unknown = config[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw validationError(`registrationConfig.${key}`, String(value), 'Member must be a string');
    out[key] = value;
  }
  return out;
}

function notFound(kind: 'certificate' | 'CA certificate', certificateId: string): ServiceError {
  return AwsErrors.resourceNotFound(`The ${kind} ${certificateId} does not exist`);
}

class Identity implements IdentityService {
  readonly #store: CertificateStore;
  readonly #tags: TagStore;
  readonly #ca: CertificateAuthority;
  readonly #scope: AccountScope;
  readonly #clock: () => number;
  readonly #isAttached: (arn: string) => Promise<boolean>;
  readonly #hasAttachedPolicies: (arn: string) => Promise<boolean>;
  readonly #logger: { warn(obj: object, msg?: string): void } | undefined;
  readonly #listeners = new Set<IdentityListener>();
  readonly #verdicts: VerdictCache;
  /** Parsed registered CA certificates by id (a CA's PEM never changes under its id). */
  readonly #caCertificates = new Map<string, X509Certificate>();
  readonly #registrationCode: string;

  constructor(options: IdentityServiceOptions) {
    this.#store = options.store.certificates;
    this.#tags = options.store.tags;
    this.#ca = options.ca;
    this.#scope = options.scope;
    this.#clock = options.clock ?? Date.now;
    this.#isAttached = options.isAttached ?? (() => Promise.resolve(false));
    this.#hasAttachedPolicies = options.hasAttachedPolicies ?? (() => Promise.resolve(false));
    this.#logger = options.logger;
    this.#verdicts = new VerdictCache(options.authenticationCacheSize ?? 100_000);
    this.#registrationCode = createHash('sha256')
      .update(`thingcore registration code\0${options.scope.accountId}\0${options.ca.certificateId}`)
      .digest('hex');
  }

  #certificateArn(certificateId: string): string {
    return iotArn(this.#scope, 'cert', certificateId);
  }

  #caCertificateArn(certificateId: string): string {
    return iotArn(this.#scope, 'cacert', certificateId);
  }

  // ─── Issuing ───────────────────────────────────────────────────────────────────────────────────

  async createKeysAndCertificate(input: CreateKeysAndCertificateInput = {}): Promise<CreateKeysAndCertificateOutput> {
    const now = this.#clock();
    const issued = await issueKeysAndCertificate(this.#ca, now);
    await this.#insertCertificate(issued.certificate, {
      status: input.setAsActive === true ? 'ACTIVE' : 'INACTIVE',
      certificateMode: 'DEFAULT',
      now,
    });
    return {
      certificateArn: this.#certificateArn(issued.certificate.certificateId),
      certificateId: issued.certificate.certificateId,
      certificatePem: issued.certificate.pem,
      keyPair: { PublicKey: issued.publicKeyPem, PrivateKey: issued.privateKeyPem },
    };
  }

  async createCertificateFromCsr(input: CreateCertificateFromCsrInput): Promise<CreateCertificateFromCsrOutput> {
    const csr = requirePem('certificateSigningRequest', input.certificateSigningRequest);
    const now = this.#clock();
    const issued = await issueCertificateFromCsr(this.#ca, csr, now);
    if (!issued.ok) {
      throw AwsErrors.invalidRequest(
        issued.problem === 'malformed'
          ? 'The certificate signing request is not a valid PEM-encoded PKCS#10 request'
          : "The certificate signing request's signature does not verify with its public key",
      );
    }
    await this.#insertCertificate(issued.certificate, {
      status: input.setAsActive === true ? 'ACTIVE' : 'INACTIVE',
      certificateMode: 'DEFAULT',
      now,
    });
    return {
      certificateArn: this.#certificateArn(issued.certificate.certificateId),
      certificateId: issued.certificate.certificateId,
      certificatePem: issued.certificate.pem,
    };
  }

  // ─── Registering ───────────────────────────────────────────────────────────────────────────────

  async registerCertificate(input: RegisterCertificateInput): Promise<RegisteredCertificate> {
    const pem = requirePem('certificatePem', input.certificatePem);
    const status = this.#registrationStatus(input.status, input.setAsActive);
    const certificate = parseCertificatePem(pem);
    if (certificate === undefined) throw AwsErrors.certificateValidation('The certificate is not a valid PEM-encoded X.509 certificate');

    let ca: { caCertificateId?: string; certificateMode: CertificateMode };
    if (input.caCertificatePem !== undefined && input.caCertificatePem !== '') {
      const caParsed = parseCertificatePem(requirePem('caCertificatePem', input.caCertificatePem));
      if (caParsed === undefined) throw AwsErrors.certificateValidation('The CA certificate is not a valid PEM-encoded X.509 certificate');
      if (caParsed.certificateId === this.#ca.certificateId) {
        if (!isIssuedBy(certificate.certificate, this.#ca.certificate)) {
          throw AwsErrors.certificateValidation('The certificate is not signed by the given CA certificate');
        }
        ca = { certificateMode: 'DEFAULT' };
      } else {
        const record = await this.#store.getCaCertificate(caParsed.certificateId);
        if (record === undefined) {
          throw AwsErrors.certificateValidation(`The CA certificate ${caParsed.certificateId} is not registered`);
        }
        if (!isIssuedBy(certificate.certificate, caParsed.certificate)) {
          throw AwsErrors.certificateValidation('The certificate is not signed by the given CA certificate');
        }
        if (record.status !== 'ACTIVE') {
          throw AwsErrors.certificateState(`The CA certificate ${record.certificateId} is ${record.status}`);
        }
        ca = { caCertificateId: record.certificateId, certificateMode: record.certificateMode };
      }
    } else if (isIssuedBy(certificate.certificate, this.#ca.certificate)) {
      ca = { certificateMode: 'DEFAULT' };
    } else {
      const record = await this.#findIssuingCa(certificate.certificate);
      if (record === undefined) {
        throw AwsErrors.certificateValidation('The certificate is not signed by a registered CA certificate');
      }
      if (record.status !== 'ACTIVE') {
        throw AwsErrors.certificateState(`The CA certificate ${record.certificateId} is ${record.status}`);
      }
      ca = { caCertificateId: record.certificateId, certificateMode: record.certificateMode };
    }
    await this.#insertCertificate(certificate, { status, now: this.#clock(), ...ca });
    return { certificateArn: this.#certificateArn(certificate.certificateId), certificateId: certificate.certificateId };
  }

  async registerCertificateWithoutCA(input: RegisterCertificateWithoutCaInput): Promise<RegisteredCertificate> {
    const pem = requirePem('certificatePem', input.certificatePem);
    const status = this.#registrationStatus(input.status, undefined);
    const certificate = parseCertificatePem(pem);
    if (certificate === undefined) throw AwsErrors.certificateValidation('The certificate is not a valid PEM-encoded X.509 certificate');
    await this.#insertCertificate(certificate, { status, certificateMode: 'SNI_ONLY', now: this.#clock() });
    return { certificateArn: this.#certificateArn(certificate.certificateId), certificateId: certificate.certificateId };
  }

  /** `status` wins, then setAsActive, then INACTIVE. PENDING_TRANSFER is never a registration status. */
  #registrationStatus(status: string | undefined, setAsActive: boolean | undefined): CertificateStatus {
    if (status !== undefined) {
      const value = enumValue('status', status, certificateStatuses);
      if (value === 'PENDING_TRANSFER') throw AwsErrors.invalidRequest('A certificate cannot be registered in status PENDING_TRANSFER');
      return value;
    }
    return setAsActive === true ? 'ACTIVE' : 'INACTIVE';
  }

  async #insertCertificate(
    certificate: ParsedCertificate,
    options: { status: CertificateStatus; certificateMode: CertificateMode; caCertificateId?: string; now: number },
  ): Promise<void> {
    const record: CertificateRecord = {
      certificateId: certificate.certificateId,
      certificatePem: certificate.pem,
      status: options.status,
      ...(options.caCertificateId === undefined ? {} : { caCertificateId: options.caCertificateId }),
      ownedBy: this.#scope.accountId,
      creationDateMs: options.now,
      lastModifiedDateMs: options.now,
      customerVersion: 1,
      generationId: randomUUID(),
      notBeforeMs: certificate.notBeforeMs,
      notAfterMs: certificate.notAfterMs,
      certificateMode: options.certificateMode,
    };
    try {
      await this.#store.apply([
        { op: 'checkCertificate', certificateId: record.certificateId, exists: false },
        { op: 'putCertificate', certificate: record },
      ]);
    } catch (err: unknown) {
      if (isStoreError(err, 'ConditionFailed')) {
        throw AwsErrors.resourceAlreadyExists(`The certificate ${record.certificateId} is already registered`, {
          resourceId: record.certificateId,
          resourceArn: this.#certificateArn(record.certificateId),
        });
      }
      throw err;
    }
    this.#changed({
      type: 'certificate',
      certificateId: record.certificateId,
      certificateArn: this.#certificateArn(record.certificateId),
      status: record.status,
      previousStatus: undefined,
    });
  }

  /** A registered CA that issued `certificate` (name and signature); an ACTIVE one when several did. */
  async #findIssuingCa(certificate: X509Certificate): Promise<CaCertificateRecord | undefined> {
    let found: CaCertificateRecord | undefined;
    let after: CertificatePosition | undefined;
    for (;;) {
      const page = await this.#store.listCaCertificates({ limit: 100, order: 'asc', ...(after === undefined ? {} : { after }) });
      for (const record of page) {
        const caCertificate = this.#parsedCa(record);
        if (caCertificate === undefined || !isIssuedBy(certificate, caCertificate)) continue;
        if (record.status === 'ACTIVE') return record;
        found ??= record;
      }
      const last = page[page.length - 1];
      if (page.length < 100 || last === undefined) return found;
      after = { creationDateMs: last.creationDateMs, certificateId: last.certificateId };
    }
  }

  #parsedCa(record: CaCertificateRecord): X509Certificate | undefined {
    let parsed = this.#caCertificates.get(record.certificateId);
    if (parsed === undefined) {
      parsed = parseCertificatePem(record.certificatePem)?.certificate;
      if (parsed !== undefined) this.#caCertificates.set(record.certificateId, parsed);
    }
    return parsed;
  }

  async registerCACertificate(input: RegisterCaCertificateInput): Promise<RegisteredCertificate> {
    const pem = requirePem('caCertificate', input.caCertificate);
    const certificateMode = input.certificateMode === undefined ? 'DEFAULT' : enumValue('certificateMode', input.certificateMode, certificateModes);
    const registrationConfig = registrationConfigOf(input.registrationConfig);
    const tags = readTags('tags', input.tags, { maxCount: maxTagsPerResource });
    const ca = parseCertificatePem(pem);
    if (ca === undefined) throw AwsErrors.certificateValidation('The CA certificate is not a valid PEM-encoded X.509 certificate');
    if (!ca.isCa) throw AwsErrors.certificateValidation('The certificate is not a CA certificate (basicConstraints cA is not true)');
    // Self-issued (subject = issuer): it must also be self-signed, or it is not what it claims.
    if (ca.certificate.subject === ca.certificate.issuer && !isSelfSigned(ca.certificate)) {
      throw AwsErrors.certificateValidation("The CA certificate's signature does not verify with its own key");
    }
    if (input.verificationCertificate !== undefined && input.verificationCertificate !== '') {
      const verification = parseCertificatePem(requirePem('verificationCertificate', input.verificationCertificate));
      if (verification === undefined) {
        throw AwsErrors.certificateValidation('The verification certificate is not a valid PEM-encoded X.509 certificate');
      }
      if (!isIssuedBy(verification.certificate, ca.certificate)) {
        throw AwsErrors.certificateValidation('The verification certificate is not signed by the CA certificate');
      }
      if (commonNameOf(verification) !== this.#registrationCode) {
        throw AwsErrors.registrationCodeValidation("The verification certificate's common name is not the registration code");
      }
    }
    const now = this.#clock();
    const record: CaCertificateRecord = {
      certificateId: ca.certificateId,
      certificatePem: ca.pem,
      status: input.setAsActive === true ? 'ACTIVE' : 'INACTIVE',
      autoRegistrationStatus: input.allowAutoRegistration === true ? 'ENABLE' : 'DISABLE',
      ...(registrationConfig === undefined ? {} : { registrationConfig }),
      ownedBy: this.#scope.accountId,
      creationDateMs: now,
      lastModifiedDateMs: now,
      customerVersion: 1,
      generationId: randomUUID(),
      notBeforeMs: ca.notBeforeMs,
      notAfterMs: ca.notAfterMs,
      certificateMode,
    };
    try {
      await this.#store.apply([
        { op: 'checkCaCertificate', certificateId: record.certificateId, exists: false },
        { op: 'putCaCertificate', caCertificate: record },
      ]);
    } catch (err: unknown) {
      if (isStoreError(err, 'ConditionFailed')) {
        throw AwsErrors.resourceAlreadyExists(`The CA certificate ${record.certificateId} is already registered`, {
          resourceId: record.certificateId,
          resourceArn: this.#caCertificateArn(record.certificateId),
        });
      }
      throw err;
    }
    this.#changed({ type: 'caCertificate', caCertificateId: record.certificateId, status: record.status, previousStatus: undefined });
    await putCreationTags(this.#tags, { resourceType: 'cacert', resourceId: record.certificateId }, tags);
    return { certificateArn: this.#caCertificateArn(record.certificateId), certificateId: record.certificateId };
  }

  async getRegistrationCode(): Promise<{ readonly registrationCode: string }> {
    return { registrationCode: this.#registrationCode };
  }

  // ─── Reading ───────────────────────────────────────────────────────────────────────────────────

  async describeCertificate(certificateId: string): Promise<{ readonly certificateDescription: CertificateDescription }> {
    const id = requireCertificateId('certificateId', certificateId);
    const record = await this.#store.getCertificate(id);
    if (record === undefined) throw notFound('certificate', id);
    return {
      certificateDescription: {
        certificateArn: this.#certificateArn(id),
        certificateId: id,
        ...(record.caCertificateId === undefined ? {} : { caCertificateId: record.caCertificateId }),
        status: record.status,
        certificatePem: record.certificatePem,
        ownedBy: record.ownedBy,
        creationDate: new Date(record.creationDateMs),
        lastModifiedDate: new Date(record.lastModifiedDateMs),
        customerVersion: record.customerVersion,
        generationId: record.generationId,
        validity: { notBefore: new Date(record.notBeforeMs), notAfter: new Date(record.notAfterMs) },
        certificateMode: record.certificateMode,
      },
    };
  }

  async listCertificates(input: ListCertificatesInput = {}): Promise<ListCertificatesOutput> {
    return this.#listCertificates(input, 'ListCertificates', undefined);
  }

  async listCertificatesByCA(input: ListCertificatesByCaInput): Promise<ListCertificatesOutput> {
    const caCertificateId = requireCertificateId('caCertificateId', input.caCertificateId);
    return this.#listCertificates(input, 'ListCertificatesByCA', caCertificateId);
  }

  async #listCertificates(input: ListCertificatesInput, listing: Listing, caCertificateId: string | undefined): Promise<ListCertificatesOutput> {
    const size = pageSizeOf(input);
    const order: Order = input.isAscendingOrder === true ? 'asc' : 'desc';
    const after = input.marker === undefined || input.marker === '' ? undefined : decodeMarker(input.marker, listing, order);
    const rows = await this.#store.listCertificates({
      limit: size + 1,
      order,
      ...(after === undefined ? {} : { after }),
      ...(caCertificateId === undefined ? {} : { caCertificateId }),
    });
    const { items, nextMarker } = page(rows, size, listing, order);
    return {
      certificates: items.map(
        (r): CertificateSummary => ({
          certificateArn: this.#certificateArn(r.certificateId),
          certificateId: r.certificateId,
          status: r.status,
          certificateMode: r.certificateMode,
          creationDate: new Date(r.creationDateMs),
        }),
      ),
      ...(nextMarker === undefined ? {} : { nextMarker }),
    };
  }

  async describeCACertificate(certificateId: string): Promise<DescribeCaCertificateOutput> {
    const id = requireCertificateId('caCertificateId', certificateId);
    const record = await this.#store.getCaCertificate(id);
    if (record === undefined) throw notFound('CA certificate', id);
    const description: CaCertificateDescription = {
      certificateArn: this.#caCertificateArn(id),
      certificateId: id,
      status: record.status,
      certificatePem: record.certificatePem,
      ownedBy: record.ownedBy,
      creationDate: new Date(record.creationDateMs),
      autoRegistrationStatus: record.autoRegistrationStatus,
      lastModifiedDate: new Date(record.lastModifiedDateMs),
      customerVersion: record.customerVersion,
      generationId: record.generationId,
      validity: { notBefore: new Date(record.notBeforeMs), notAfter: new Date(record.notAfterMs) },
      certificateMode: record.certificateMode,
    };
    return {
      certificateDescription: description,
      ...(record.registrationConfig === undefined ? {} : { registrationConfig: { ...record.registrationConfig } }),
    };
  }

  async listCACertificates(input: ListCaCertificatesInput = {}): Promise<ListCaCertificatesOutput> {
    const size = pageSizeOf(input);
    const order: Order = input.isAscendingOrder === true ? 'asc' : 'desc';
    const after = input.marker === undefined || input.marker === '' ? undefined : decodeMarker(input.marker, 'ListCACertificates', order);
    const rows = await this.#store.listCaCertificates({
      limit: size + 1,
      order,
      ...(after === undefined ? {} : { after }),
      ...(input.templateName === undefined ? {} : { templateName: input.templateName }),
    });
    const { items, nextMarker } = page(rows, size, 'ListCACertificates', order);
    return {
      certificates: items.map(
        (r): CaCertificateSummary => ({
          certificateArn: this.#caCertificateArn(r.certificateId),
          certificateId: r.certificateId,
          status: r.status,
          creationDate: new Date(r.creationDateMs),
        }),
      ),
      ...(nextMarker === undefined ? {} : { nextMarker }),
    };
  }

  // ─── Changing ──────────────────────────────────────────────────────────────────────────────────

  async updateCertificate(input: UpdateCertificateInput): Promise<void> {
    const id = requireCertificateId('certificateId', input.certificateId);
    if (typeof input.newStatus !== 'string') throw validationError('newStatus', null, 'Member must not be null');
    const newStatus = enumValue('newStatus', input.newStatus, certificateStatuses);
    if (newStatus === 'PENDING_TRANSFER' || newStatus === 'PENDING_ACTIVATION') {
      throw AwsErrors.invalidRequest(`The status ${newStatus} cannot be set with UpdateCertificate`);
    }
    await this.#retrying(async () => {
      const current = await this.#store.getCertificate(id);
      if (current === undefined) throw notFound('certificate', id);
      if (current.status === newStatus) return undefined;
      if (current.status === 'REVOKED') throw AwsErrors.certificateState(`The certificate ${id} is REVOKED; a revoked certificate cannot be changed`);
      if (current.status === 'PENDING_TRANSFER') throw AwsErrors.certificateState(`The certificate ${id} is PENDING_TRANSFER`);
      const now = this.#clock();
      const next: CertificateRecord = {
        ...current,
        status: newStatus,
        lastModifiedDateMs: Math.max(now, current.lastModifiedDateMs),
        customerVersion: current.customerVersion + 1,
        generationId: randomUUID(),
      };
      const done = await this.#compareAndSet(
        [{ op: 'checkCertificate', certificateId: id, exists: true, generationId: current.generationId }, { op: 'putCertificate', certificate: next }],
      );
      if (!done) return RETRY;
      this.#changed({ type: 'certificate', certificateId: id, certificateArn: this.#certificateArn(id), status: newStatus, previousStatus: current.status });
      return undefined;
    });
  }

  async deleteCertificate(input: DeleteCertificateInput): Promise<void> {
    const id = requireCertificateId('certificateId', input.certificateId);
    const arn = this.#certificateArn(id);
    await this.#retrying(async () => {
      const current = await this.#store.getCertificate(id);
      if (current === undefined) throw notFound('certificate', id);
      if (current.status === 'ACTIVE') {
        throw AwsErrors.certificateState(`The certificate ${id} is ACTIVE; deactivate it (UpdateCertificate) before deleting it`);
      }
      if (current.status === 'PENDING_TRANSFER') throw AwsErrors.certificateState(`The certificate ${id} is PENDING_TRANSFER`);
      if (await this.#isAttached(arn)) {
        throw AwsErrors.deleteConflict(`The certificate ${id} is attached to one or more things; detach it first`);
      }
      if (input.forceDelete !== true && (await this.#hasAttachedPolicies(arn))) {
        throw AwsErrors.deleteConflict(`The certificate ${id} has attached policies; detach them or use forceDelete`);
      }
      const done = await this.#compareAndSet([
        { op: 'checkCertificate', certificateId: id, exists: true, generationId: current.generationId },
        { op: 'deleteCertificate', certificateId: id },
      ]);
      if (!done) return RETRY;
      this.#changed({ type: 'certificate', certificateId: id, certificateArn: arn, status: 'DELETED', previousStatus: current.status });
      return undefined;
    });
  }

  async updateCACertificate(input: UpdateCaCertificateInput): Promise<void> {
    const id = requireCertificateId('caCertificateId', input.certificateId);
    const newStatus = input.newStatus === undefined ? undefined : enumValue('newStatus', input.newStatus, caStatuses);
    const newAutoRegistrationStatus =
      input.newAutoRegistrationStatus === undefined
        ? undefined
        : enumValue('newAutoRegistrationStatus', input.newAutoRegistrationStatus, autoRegistrationStatuses);
    const registrationConfig = registrationConfigOf(input.registrationConfig);
    if (registrationConfig !== undefined && input.removeAutoRegistration === true) {
      throw AwsErrors.invalidRequest('registrationConfig and removeAutoRegistration cannot be given together');
    }
    await this.#retrying(async () => {
      const current = await this.#store.getCaCertificate(id);
      if (current === undefined) throw notFound('CA certificate', id);
      const status = newStatus ?? current.status;
      const autoRegistrationStatus = newAutoRegistrationStatus ?? current.autoRegistrationStatus;
      const config = input.removeAutoRegistration === true ? undefined : (registrationConfig ?? current.registrationConfig);
      const unchanged =
        status === current.status &&
        autoRegistrationStatus === current.autoRegistrationStatus &&
        JSON.stringify(config) === JSON.stringify(current.registrationConfig);
      if (unchanged) return undefined;
      const { registrationConfig: _old, ...rest } = current;
      const now = this.#clock();
      const next: CaCertificateRecord = {
        ...rest,
        status,
        autoRegistrationStatus,
        ...(config === undefined ? {} : { registrationConfig: config }),
        lastModifiedDateMs: Math.max(now, current.lastModifiedDateMs),
        customerVersion: current.customerVersion + 1,
        generationId: randomUUID(),
      };
      const done = await this.#compareAndSet([
        { op: 'checkCaCertificate', certificateId: id, exists: true, generationId: current.generationId },
        { op: 'putCaCertificate', caCertificate: next },
      ]);
      if (!done) return RETRY;
      this.#changed({ type: 'caCertificate', caCertificateId: id, status, previousStatus: current.status });
      return undefined;
    });
  }

  async deleteCACertificate(certificateId: string): Promise<void> {
    const id = requireCertificateId('caCertificateId', certificateId);
    await this.#retrying(async () => {
      const current = await this.#store.getCaCertificate(id);
      if (current === undefined) throw notFound('CA certificate', id);
      if (current.status === 'ACTIVE') {
        throw AwsErrors.certificateState(`The CA certificate ${id} is ACTIVE; deactivate it (UpdateCACertificate) before deleting it`);
      }
      const done = await this.#compareAndSet([
        { op: 'checkCaCertificate', certificateId: id, exists: true, generationId: current.generationId },
        { op: 'deleteCaCertificate', certificateId: id },
      ]);
      if (!done) return RETRY;
      this.#caCertificates.delete(id);
      this.#changed({ type: 'caCertificate', caCertificateId: id, status: 'DELETED', previousStatus: current.status });
      return undefined;
    });
  }

  /** Applies a batch whose first op is a generation check; false when another write came first. */
  async #compareAndSet(ops: readonly CertificateOp[]): Promise<boolean> {
    try {
      await this.#store.apply(ops);
      return true;
    } catch (err: unknown) {
      if (isStoreError(err, 'ConditionFailed')) return false;
      throw err;
    }
  }

  async #retrying(attempt: () => Promise<typeof RETRY | undefined>): Promise<void> {
    for (let i = 0; i < maxAttempts; i++) {
      if ((await attempt()) !== RETRY) return;
    }
    throw AwsErrors.conflictingResourceUpdate('The certificate was changed concurrently; retry the request');
  }

  // ─── Events ────────────────────────────────────────────────────────────────────────────────────

  onStatusChange(listener: IdentityListener): () => void {
    const entry: IdentityListener = (event) => listener(event);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  #changed(event: IdentityEvent): void {
    this.#verdicts.clear();
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err: unknown) {
        this.#logger?.warn({ err, event }, 'an identity status listener threw');
      }
    }
  }

  // ─── The connect path ──────────────────────────────────────────────────────────────────────────

  async authenticateCertificate(der: Uint8Array, nowMs: number = this.#clock()): Promise<CertificateAuthentication> {
    if (der.byteLength === 0) return { ok: false, reason: 'unregistered', message: 'no certificate' };
    const id = certificateIdOf(der);
    const cached = this.#verdicts.get(id);
    if (cached !== undefined) return this.#decide(id, cached, nowMs);
    // A change that lands while the store is read may have been announced already (and its
    // disconnections done) before this connection exists: judge again until no change intervened.
    let verdict: Verdict;
    let generation: number;
    let attempts = 0;
    do {
      generation = this.#verdicts.generation;
      verdict = await this.#judge(id, der);
    } while (generation !== this.#verdicts.generation && ++attempts < maxAttempts);
    this.#verdicts.set(id, verdict, generation);
    return this.#decide(id, verdict, nowMs);
  }

  #decide(id: string, verdict: Verdict, nowMs: number): CertificateAuthentication {
    if (verdict.kind === 'unregistered') {
      return {
        ok: false,
        reason: verdict.reason,
        certificateId: id,
        message:
          verdict.reason === 'ca-unknown'
            ? 'the certificate is not registered, and neither the built-in CA nor a registered CA issued it'
            : 'the certificate is not registered',
      };
    }
    const refuse = (reason: Exclude<CertificateAuthentication, { ok: true }>['reason'], message: string): CertificateAuthentication => ({
      ok: false,
      reason,
      certificateId: id,
      message,
    });
    if (verdict.status === 'REVOKED') return refuse('revoked', 'the certificate is REVOKED');
    if (verdict.status !== 'ACTIVE') return refuse('inactive', `the certificate is ${verdict.status}`);
    switch (verdict.caProblem) {
      case 'ca-unknown':
        return refuse('ca-unknown', `the certificate's CA ${verdict.caCertificateId ?? ''} is no longer registered`);
      case 'ca-inactive':
        return refuse('ca-inactive', `the certificate's CA ${verdict.caCertificateId ?? ''} is INACTIVE`);
      case 'bad-signature':
        return refuse('bad-signature', `the certificate's signature does not verify with its CA ${verdict.caCertificateId ?? ''}`);
      case undefined:
        break;
    }
    if (nowMs < verdict.notBeforeMs) return refuse('not-yet-valid', `the certificate is not valid before ${new Date(verdict.notBeforeMs).toISOString()}`);
    if (nowMs > verdict.notAfterMs) return refuse('expired', `the certificate expired at ${new Date(verdict.notAfterMs).toISOString()}`);
    return {
      ok: true,
      certificateId: id,
      certificateArn: this.#certificateArn(id),
      ...(verdict.caCertificateId === undefined ? {} : { caCertificateId: verdict.caCertificateId }),
      facts: verdict.facts,
    };
  }

  /** The time-independent part of the decision, from the store (a cache miss). */
  async #judge(id: string, der: Uint8Array): Promise<Verdict> {
    const record = await this.#store.getCertificate(id);
    const parsed = parseCertificateDer(der);
    if (record === undefined) {
      if (parsed === undefined) return { kind: 'unregistered', reason: 'unregistered' };
      const knownIssuer =
        isIssuedBy(parsed.certificate, this.#ca.certificate) || (await this.#findIssuingCa(parsed.certificate)) !== undefined;
      return { kind: 'unregistered', reason: knownIssuer ? 'unregistered' : 'ca-unknown' };
    }
    // The id is the SHA-256 of these very bytes, so the registered PEM and `der` are the same certificate.
    const certificate = parsed ?? parseCertificatePem(record.certificatePem);
    if (certificate === undefined) return { kind: 'unregistered', reason: 'unregistered' };
    let caProblem: 'ca-unknown' | 'ca-inactive' | 'bad-signature' | undefined;
    if (record.caCertificateId !== undefined) {
      const ca = await this.#store.getCaCertificate(record.caCertificateId);
      const caCertificate = ca === undefined ? undefined : this.#parsedCa(ca);
      if (ca === undefined || caCertificate === undefined) caProblem = 'ca-unknown';
      else if (!isIssuedBy(certificate.certificate, caCertificate)) caProblem = 'bad-signature';
      else if (ca.status !== 'ACTIVE') caProblem = 'ca-inactive';
    }
    return {
      kind: 'registered',
      status: record.status,
      ...(record.caCertificateId === undefined ? {} : { caCertificateId: record.caCertificateId }),
      ...(caProblem === undefined ? {} : { caProblem }),
      notBeforeMs: record.notBeforeMs,
      notAfterMs: record.notAfterMs,
      facts: certificateFacts(certificate),
    };
  }

  async certificateExists(certificateIdOrArn: string): Promise<boolean> {
    let id = certificateIdOrArn;
    const arn = parseIotArn(certificateIdOrArn);
    if (arn !== undefined) {
      if (arn.type !== 'cert' || arn.region !== this.#scope.region || arn.accountId !== this.#scope.accountId) return false;
      id = arn.resource;
    }
    if (!/^[0-9a-fA-F]{64}$/.test(id)) return false;
    return (await this.#store.getCertificate(id.toLowerCase())) !== undefined;
  }
}

/** One page out of `size + 1` rows: the extra row only says that another page exists. */
function page<T extends { readonly creationDateMs: number; readonly certificateId: string }>(
  rows: readonly T[],
  size: number,
  listing: Listing,
  order: Order,
): { items: T[]; nextMarker: string | undefined } {
  const items = rows.slice(0, size);
  const last = items[items.length - 1];
  const nextMarker =
    rows.length > size && last !== undefined
      ? encodeMarker(listing, order, { creationDateMs: last.creationDateMs, certificateId: last.certificateId })
      : undefined;
  return { items, nextMarker };
}
