/**
 * For the cli/ tests: an in-memory IotAdmin that behaves like the AWS IoT API on the few operations
 * the commands use (including AWS's delete preconditions), records every call, and fails any
 * operation on demand with the error the SDK would raise.
 */
import { IoTServiceException } from '@aws-sdk/client-iot';
import type { Certificate, CertificateStatus, ThingAttribute } from '@aws-sdk/client-iot';
import { explainError } from './connection.js';
import type { AdminSession, AdminTarget } from './connection.js';
import type { IotAdmin } from './iot-admin.js';

export type Operation = keyof IotAdmin;

/** The error the SDK raises for an AWS error response. */
export function serviceError(name: string, message: string, httpStatusCode: number): IoTServiceException {
  return new IoTServiceException({ name, message, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode } });
}

const arnPrefix = 'arn:aws:iot:us-east-1:000000000000';

interface FakeCertificate {
  readonly certificateId: string;
  readonly certificateArn: string;
  status: CertificateStatus;
  readonly creationDate: Date;
}

export class FakeIotAdmin implements IotAdmin {
  /** `operation argument`, in call order. */
  readonly calls: string[] = [];
  readonly things = new Map<string, ThingAttribute & { thingId: string }>();
  readonly certificates = new Map<string, FakeCertificate>();
  /** Thing name → attached principal ARNs. */
  readonly thingPrincipals = new Map<string, Set<string>>();
  /** Policy name → document. */
  readonly policies = new Map<string, string>();
  /** Policy name → target ARNs. */
  readonly policyTargets = new Map<string, Set<string>>();
  /** False: the policy operations answer UnknownOperationException, as a server without them does. */
  policiesSupported = true;
  private readonly failures = new Map<Operation, unknown>();
  private serial = 0;

  /** Makes the next calls of `operation` throw `error`. */
  failOn(operation: Operation, error: unknown = serviceError('InternalFailureException', `${operation} failed`, 500)): void {
    this.failures.set(operation, error);
  }

  addCertificate(status: CertificateStatus = 'ACTIVE', certificateId = this.nextCertificateId()): string {
    this.certificates.set(certificateId, { certificateId, certificateArn: `${arnPrefix}:cert/${certificateId}`, status, creationDate: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) });
    return certificateId;
  }

  addThing(thingName: string, attributes: Record<string, string> = {}): void {
    this.things.set(thingName, { thingName, thingId: `id-${thingName}`, thingArn: `${arnPrefix}:thing/${thingName}`, version: 1, attributes });
  }

  private nextCertificateId(): string {
    this.serial += 1;
    return this.serial.toString(16).padStart(2, '0').repeat(32);
  }

  private enter(operation: Operation, detail = ''): void {
    this.calls.push(detail === '' ? operation : `${operation} ${detail}`);
    const failure = this.failures.get(operation);
    if (failure !== undefined) throw failure;
    if (!this.policiesSupported && /Policy$/.test(operation)) {
      throw serviceError('UnknownOperationException', `no operation for ${operation}`, 404);
    }
  }

  private thing(thingName: string | undefined): ThingAttribute & { thingId: string } {
    const thing = this.things.get(thingName ?? '');
    if (thing === undefined) throw serviceError('ResourceNotFoundException', `Thing ${thingName} cannot be found.`, 404);
    return thing;
  }

  private certificate(certificateId: string | undefined): FakeCertificate {
    const cert = this.certificates.get(certificateId ?? '');
    if (cert === undefined) throw serviceError('ResourceNotFoundException', `The certificate ${certificateId} does not exist`, 404);
    return cert;
  }

  private certificateByArn(arn: string | undefined): FakeCertificate {
    return this.certificate(arn?.slice(arn.lastIndexOf('/') + 1));
  }

  createThing: IotAdmin['createThing'] = async ({ thingName }) => {
    this.enter('createThing', thingName);
    if (!this.things.has(thingName ?? '')) this.addThing(thingName ?? '');
    const { thingArn, thingId } = this.thing(thingName);
    return { thingName, thingArn, thingId };
  };

  describeThing: IotAdmin['describeThing'] = async ({ thingName }) => {
    this.enter('describeThing', thingName);
    const thing = this.thing(thingName);
    return { ...thing, defaultClientId: thing.thingName };
  };

  listThings: IotAdmin['listThings'] = async () => {
    this.enter('listThings');
    return [...this.things.values()].map(({ thingId: _, ...thing }) => thing);
  };

  deleteThing: IotAdmin['deleteThing'] = async ({ thingName }) => {
    this.enter('deleteThing', thingName);
    if ((this.thingPrincipals.get(thingName ?? '')?.size ?? 0) > 0) {
      throw serviceError('InvalidRequestException', `Cannot delete thing ${thingName}: it has attached principals`, 400);
    }
    this.things.delete(thingName ?? '');
  };

  createKeysAndCertificate: IotAdmin['createKeysAndCertificate'] = async ({ setAsActive }) => {
    this.enter('createKeysAndCertificate');
    const certificateId = this.addCertificate(setAsActive === true ? 'ACTIVE' : 'INACTIVE');
    return {
      certificateId,
      certificateArn: this.certificate(certificateId).certificateArn,
      certificatePem: `-----BEGIN CERTIFICATE-----\n${certificateId}\n-----END CERTIFICATE-----\n`,
      keyPair: { PublicKey: 'PUBLIC KEY', PrivateKey: `-----BEGIN RSA PRIVATE KEY-----\n${certificateId}\n-----END RSA PRIVATE KEY-----\n` },
    };
  };

  describeCertificate: IotAdmin['describeCertificate'] = async ({ certificateId }) => {
    this.enter('describeCertificate', certificateId);
    const cert = this.certificate(certificateId);
    return {
      certificateDescription: {
        ...cert,
        lastModifiedDate: cert.creationDate,
        validity: { notBefore: cert.creationDate, notAfter: new Date(Date.UTC(2027, 0, 2, 3, 4, 5)) },
      },
    };
  };

  listCertificates: IotAdmin['listCertificates'] = async () => {
    this.enter('listCertificates');
    return [...this.certificates.values()].map((c): Certificate => ({ ...c, certificateMode: 'DEFAULT' }));
  };

  updateCertificate: IotAdmin['updateCertificate'] = async ({ certificateId, newStatus }) => {
    this.enter('updateCertificate', `${certificateId} ${newStatus}`);
    this.certificate(certificateId).status = newStatus ?? 'INACTIVE';
  };

  deleteCertificate: IotAdmin['deleteCertificate'] = async ({ certificateId, forceDelete }) => {
    this.enter('deleteCertificate', `${certificateId}${forceDelete === true ? ' force' : ''}`);
    const cert = this.certificate(certificateId);
    if (cert.status === 'ACTIVE') throw serviceError('CertificateStateException', 'Certificate must be deactivated before deletion.', 406);
    if ([...this.thingPrincipals.values()].some((set) => set.has(cert.certificateArn))) {
      throw serviceError('DeleteConflictException', 'Things are attached to the certificate', 409);
    }
    const withPolicies = [...this.policyTargets.values()].some((set) => set.has(cert.certificateArn));
    if (withPolicies && forceDelete !== true) throw serviceError('DeleteConflictException', 'Policies are attached to the certificate', 409);
    for (const targets of this.policyTargets.values()) targets.delete(cert.certificateArn);
    this.certificates.delete(cert.certificateId);
  };

  attachThingPrincipal: IotAdmin['attachThingPrincipal'] = async ({ thingName, principal }) => {
    this.enter('attachThingPrincipal', `${thingName} ${principal}`);
    this.thing(thingName);
    this.certificateByArn(principal);
    const set = this.thingPrincipals.get(thingName ?? '') ?? new Set<string>();
    set.add(principal ?? '');
    this.thingPrincipals.set(thingName ?? '', set);
  };

  detachThingPrincipal: IotAdmin['detachThingPrincipal'] = async ({ thingName, principal }) => {
    this.enter('detachThingPrincipal', `${thingName} ${principal}`);
    this.thingPrincipals.get(thingName ?? '')?.delete(principal ?? '');
  };

  listThingPrincipals: IotAdmin['listThingPrincipals'] = async (thingName) => {
    this.enter('listThingPrincipals', thingName);
    this.thing(thingName);
    return [...(this.thingPrincipals.get(thingName) ?? [])];
  };

  listPrincipalThings: IotAdmin['listPrincipalThings'] = async (principal) => {
    this.enter('listPrincipalThings', principal);
    return [...this.thingPrincipals].filter(([, set]) => set.has(principal)).map(([name]) => name);
  };

  createPolicy: IotAdmin['createPolicy'] = async ({ policyName, policyDocument }) => {
    this.enter('createPolicy', policyName);
    if (this.policies.has(policyName ?? '')) {
      throw serviceError('ResourceAlreadyExistsException', `Policy cannot be created - name already exists (name=${policyName})`, 409);
    }
    JSON.parse(policyDocument ?? '');
    this.policies.set(policyName ?? '', policyDocument ?? '');
    return { policyName, policyArn: `${arnPrefix}:policy/${policyName}`, policyDocument, policyVersionId: '1' };
  };

  attachPolicy: IotAdmin['attachPolicy'] = async ({ policyName, target }) => {
    this.enter('attachPolicy', `${policyName} ${target}`);
    if (!this.policies.has(policyName ?? '')) throw serviceError('ResourceNotFoundException', `Policy ${policyName} not found`, 404);
    const set = this.policyTargets.get(policyName ?? '') ?? new Set<string>();
    set.add(target ?? '');
    this.policyTargets.set(policyName ?? '', set);
  };

  detachPolicy: IotAdmin['detachPolicy'] = async ({ policyName, target }) => {
    this.enter('detachPolicy', `${policyName} ${target}`);
    this.policyTargets.get(policyName ?? '')?.delete(target ?? '');
  };

  deletePolicy: IotAdmin['deletePolicy'] = async ({ policyName }) => {
    this.enter('deletePolicy', policyName);
    if ((this.policyTargets.get(policyName ?? '')?.size ?? 0) > 0) throw serviceError('DeleteConflictException', 'The policy is attached', 409);
    this.policies.delete(policyName ?? '');
  };

  describeEndpoint: IotAdmin['describeEndpoint'] = async ({ endpointType }) => {
    this.enter('describeEndpoint', endpointType);
    return { endpointAddress: '127.0.0.1:8883' };
  };
}

export const fakeTarget: AdminTarget = {
  dataDir: '/srv/thingcore-data',
  apiUrl: 'https://127.0.0.1:8443',
  fromEndpointFlag: false,
  endpoints: { mqtts: { host: '127.0.0.1', port: 8883 }, https: { host: '127.0.0.1', port: 8443 } },
  region: 'us-east-1',
  credentialsPath: '/srv/thingcore-data/credentials',
  caPath: '/srv/thingcore-data/ca.pem',
};

/** A session over the fake, explaining errors as a real one does. */
export function fakeSession(api: IotAdmin, target: Partial<AdminTarget> = {}): AdminSession {
  const full: AdminTarget = { ...fakeTarget, ...target };
  return {
    ...full,
    api,
    caPem: '-----BEGIN CERTIFICATE-----\nTHE CA\n-----END CERTIFICATE-----\n',
    explain: (err) => explainError(err, full),
    close: () => undefined,
  };
}
