/**
 * identity's routes (spec/http-api.md 3.3: certificates and CA certificates): the wire in and out,
 * nothing else. identity validates its inputs and owns every rule; handlers read the members and
 * query parameters the model names, call the service and shape its answer: timestamps as epoch
 * seconds, absent optional members left out, `keyPair.PublicKey` / `keyPair.PrivateKey` capitalised
 * as AWS sends them.
 *
 * Two labels are spelled differently by the two model sources (S1 vs S2): `{caCertificateId}` and
 * `{certificateId}` on the CA routes; the name of a path label is not on the wire, so either works.
 */
// Not '../index.js': api/index.ts may re-export this module; importing the files directly (as
// things.ts does) keeps the module graph free of a cycle.
import { defineRoutes } from '../routing.js';
import type { RouteModule } from '../routing.js';
import { jsonBody } from '../body.js';
import type { JsonBodyReader } from '../body.js';
import { epochSeconds } from '../time.js';
import type {
  CaCertificateDescription,
  CertificateDescription,
  CertificateValidity,
  IdentityService,
  ListCertificatesInput,
  RegistrationConfig,
} from '../../identity/index.js';
import type { ValueReader } from '../values.js';
import type { Tag } from '../../tagging/index.js';

export function certificateRoutes(identity: IdentityService): RouteModule {
  return defineRoutes('certificates', (r) => {
    r.post(
      '/keys-and-certificate',
      async (req) => {
        const out = await identity.createKeysAndCertificate(optional('setAsActive', req.query.bool('setAsActive')));
        return {
          certificateArn: out.certificateArn,
          certificateId: out.certificateId,
          certificatePem: out.certificatePem,
          keyPair: { PublicKey: out.keyPair.PublicKey, PrivateKey: out.keyPair.PrivateKey },
        };
      },
      { operation: 'CreateKeysAndCertificate' },
    );

    r.post(
      '/certificates',
      async (req) => {
        const body = jsonBody(req);
        return identity.createCertificateFromCsr({
          certificateSigningRequest: body.requiredString('certificateSigningRequest'),
          ...optional('setAsActive', req.query.bool('setAsActive')),
        });
      },
      { operation: 'CreateCertificateFromCsr' },
    );

    r.post(
      '/certificate/register',
      async (req) => {
        const body = jsonBody(req);
        return identity.registerCertificate({
          certificatePem: body.requiredString('certificatePem'),
          ...optional('caCertificatePem', body.string('caCertificatePem')),
          ...optional('status', body.string('status')),
          // botocore and the JS SDK send setAsActive in the query; an old model put it in the body.
          ...optional('setAsActive', req.query.bool('setAsActive') ?? body.bool('setAsActive')),
        });
      },
      { operation: 'RegisterCertificate' },
    );

    r.post(
      '/certificate/register-no-ca',
      async (req) => {
        const body = jsonBody(req);
        return identity.registerCertificateWithoutCA({
          certificatePem: body.requiredString('certificatePem'),
          ...optional('status', body.string('status')),
        });
      },
      { operation: 'RegisterCertificateWithoutCA' },
    );

    r.post(
      '/cacertificate',
      async (req) => {
        const body = jsonBody(req);
        // Each element is checked by the identity service (tagging/'s rules); here it is only passed on.
        const tags = body.array('tags') as readonly Tag[] | undefined;
        const registrationConfig = readRegistrationConfig(body);
        return identity.registerCACertificate({
          caCertificate: body.requiredString('caCertificate'),
          ...optional('verificationCertificate', body.string('verificationCertificate')),
          ...optional('setAsActive', req.query.bool('setAsActive')),
          ...optional('allowAutoRegistration', req.query.bool('allowAutoRegistration')),
          ...optional('registrationConfig', registrationConfig),
          ...optional('certificateMode', body.string('certificateMode')),
          ...optional('tags', tags),
        });
      },
      { operation: 'RegisterCACertificate' },
    );

    r.get('/registrationcode', () => identity.getRegistrationCode(), { operation: 'GetRegistrationCode' });

    r.get(
      '/certificates/:certificateId',
      async (req) => {
        const { certificateDescription } = await identity.describeCertificate(req.params.certificateId);
        return { certificateDescription: certificateDescriptionWire(certificateDescription) };
      },
      { operation: 'DescribeCertificate' },
    );

    r.get(
      '/certificates',
      async (req) => {
        const out = await identity.listCertificates(readListQuery(req.query));
        return {
          certificates: out.certificates.map((c) => ({ ...c, creationDate: epochSeconds(c.creationDate) })),
          nextMarker: out.nextMarker,
        };
      },
      { operation: 'ListCertificates' },
    );

    r.get(
      '/certificates-by-ca/:caCertificateId',
      async (req) => {
        const out = await identity.listCertificatesByCA({ caCertificateId: req.params.caCertificateId, ...readListQuery(req.query) });
        return {
          certificates: out.certificates.map((c) => ({ ...c, creationDate: epochSeconds(c.creationDate) })),
          nextMarker: out.nextMarker,
        };
      },
      { operation: 'ListCertificatesByCA' },
    );

    r.put(
      '/certificates/:certificateId',
      async (req) => {
        await identity.updateCertificate({ certificateId: req.params.certificateId, newStatus: req.query.requiredString('newStatus') });
        return undefined;
      },
      { operation: 'UpdateCertificate' },
    );

    r.delete(
      '/certificates/:certificateId',
      async (req) => {
        await identity.deleteCertificate({
          certificateId: req.params.certificateId,
          ...optional('forceDelete', req.query.bool('forceDelete')),
        });
        return undefined;
      },
      { operation: 'DeleteCertificate' },
    );

    r.get(
      '/cacertificate/:caCertificateId',
      async (req) => {
        const out = await identity.describeCACertificate(req.params.caCertificateId);
        return {
          certificateDescription: caCertificateDescriptionWire(out.certificateDescription),
          registrationConfig: out.registrationConfig,
        };
      },
      { operation: 'DescribeCACertificate' },
    );

    r.get(
      '/cacertificates',
      async (req) => {
        const out = await identity.listCACertificates({
          ...readListQuery(req.query),
          ...optional('templateName', req.query.string('templateName')),
        });
        return {
          certificates: out.certificates.map((c) => ({ ...c, creationDate: epochSeconds(c.creationDate) })),
          nextMarker: out.nextMarker,
        };
      },
      { operation: 'ListCACertificates' },
    );

    r.put(
      '/cacertificate/:caCertificateId',
      async (req) => {
        const body = jsonBody(req);
        const registrationConfig = readRegistrationConfig(body);
        await identity.updateCACertificate({
          certificateId: req.params.caCertificateId,
          ...optional('newStatus', req.query.string('newStatus')),
          ...optional('newAutoRegistrationStatus', req.query.string('newAutoRegistrationStatus')),
          ...optional('registrationConfig', registrationConfig),
          ...optional('removeAutoRegistration', body.bool('removeAutoRegistration')),
        });
        return undefined;
      },
      { operation: 'UpdateCACertificate' },
    );

    r.delete(
      '/cacertificate/:caCertificateId',
      async (req) => {
        await identity.deleteCACertificate(req.params.caCertificateId);
        return undefined;
      },
      { operation: 'DeleteCACertificate' },
    );
  });
}

function readListQuery(q: ValueReader): ListCertificatesInput {
  return {
    // Range checks are identity's (1..250), so that every caller gets the same answer.
    ...optional('pageSize', q.int('pageSize')),
    ...optional('marker', q.string('marker')),
    ...optional('isAscendingOrder', q.bool('isAscendingOrder')),
  };
}

function readRegistrationConfig(body: JsonBodyReader): RegistrationConfig | undefined {
  const config = body.object('registrationConfig');
  if (config === undefined) return undefined;
  return {
    ...optional('templateBody', config.string('templateBody')),
    ...optional('roleArn', config.string('roleArn')),
    ...optional('templateName', config.string('templateName')),
  };
}

function validityWire(v: CertificateValidity): { notBefore: number; notAfter: number } {
  return { notBefore: epochSeconds(v.notBefore), notAfter: epochSeconds(v.notAfter) };
}

function certificateDescriptionWire(d: CertificateDescription): object {
  return {
    certificateArn: d.certificateArn,
    certificateId: d.certificateId,
    caCertificateId: d.caCertificateId,
    status: d.status,
    certificatePem: d.certificatePem,
    ownedBy: d.ownedBy,
    creationDate: epochSeconds(d.creationDate),
    lastModifiedDate: epochSeconds(d.lastModifiedDate),
    customerVersion: d.customerVersion,
    generationId: d.generationId,
    validity: validityWire(d.validity),
    certificateMode: d.certificateMode,
  };
}

function caCertificateDescriptionWire(d: CaCertificateDescription): object {
  return {
    certificateArn: d.certificateArn,
    certificateId: d.certificateId,
    status: d.status,
    certificatePem: d.certificatePem,
    ownedBy: d.ownedBy,
    creationDate: epochSeconds(d.creationDate),
    autoRegistrationStatus: d.autoRegistrationStatus,
    lastModifiedDate: epochSeconds(d.lastModifiedDate),
    customerVersion: d.customerVersion,
    generationId: d.generationId,
    validity: validityWire(d.validity),
    certificateMode: d.certificateMode,
  };
}

function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}
