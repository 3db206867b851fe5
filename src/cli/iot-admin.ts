/**
 * The part of the AWS IoT control plane the admin commands use, as a narrow interface: the real
 * implementation wraps `@aws-sdk/client-iot`'s IoTClient (so the commands speak the public HTTP API,
 * exactly as the AWS CLI would), and tests substitute a small fake. List operations return every
 * page.
 */
import {
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateKeysAndCertificateCommand,
  CreatePolicyCommand,
  CreateThingCommand,
  DeleteCertificateCommand,
  DeletePolicyCommand,
  DeleteThingCommand,
  DescribeCertificateCommand,
  DescribeEndpointCommand,
  DescribeThingCommand,
  DetachPolicyCommand,
  DetachThingPrincipalCommand,
  UpdateCertificateCommand,
  paginateListCertificates,
  paginateListPrincipalThings,
  paginateListThingPrincipals,
  paginateListThings,
} from '@aws-sdk/client-iot';
import type {
  AttachPolicyRequest,
  AttachThingPrincipalRequest,
  Certificate,
  CreateKeysAndCertificateRequest,
  CreateKeysAndCertificateResponse,
  CreatePolicyRequest,
  CreatePolicyResponse,
  CreateThingRequest,
  CreateThingResponse,
  DeleteCertificateRequest,
  DeletePolicyRequest,
  DeleteThingRequest,
  DescribeCertificateRequest,
  DescribeCertificateResponse,
  DescribeEndpointRequest,
  DescribeEndpointResponse,
  DescribeThingRequest,
  DescribeThingResponse,
  DetachPolicyRequest,
  DetachThingPrincipalRequest,
  IoTClient,
  ListThingsRequest,
  ThingAttribute,
  UpdateCertificateRequest,
} from '@aws-sdk/client-iot';

export interface IotAdmin {
  createThing(input: CreateThingRequest): Promise<CreateThingResponse>;
  describeThing(input: DescribeThingRequest): Promise<DescribeThingResponse>;
  listThings(input?: ListThingsRequest): Promise<ThingAttribute[]>;
  deleteThing(input: DeleteThingRequest): Promise<void>;

  createKeysAndCertificate(input: CreateKeysAndCertificateRequest): Promise<CreateKeysAndCertificateResponse>;
  describeCertificate(input: DescribeCertificateRequest): Promise<DescribeCertificateResponse>;
  listCertificates(): Promise<Certificate[]>;
  updateCertificate(input: UpdateCertificateRequest): Promise<void>;
  deleteCertificate(input: DeleteCertificateRequest): Promise<void>;

  attachThingPrincipal(input: AttachThingPrincipalRequest): Promise<void>;
  detachThingPrincipal(input: DetachThingPrincipalRequest): Promise<void>;
  /** Principal ARNs attached to the thing. */
  listThingPrincipals(thingName: string): Promise<string[]>;
  /** Names of the things the principal is attached to. */
  listPrincipalThings(principal: string): Promise<string[]>;

  createPolicy(input: CreatePolicyRequest): Promise<CreatePolicyResponse>;
  attachPolicy(input: AttachPolicyRequest): Promise<void>;
  detachPolicy(input: DetachPolicyRequest): Promise<void>;
  deletePolicy(input: DeletePolicyRequest): Promise<void>;

  describeEndpoint(input: DescribeEndpointRequest): Promise<DescribeEndpointResponse>;
}

/** Everything the SDK answers except its `$metadata`, which is of no use to the commands' output. */
function body<T extends { $metadata: unknown }>(output: T): Omit<T, '$metadata'> {
  const { $metadata: _, ...rest } = output;
  return rest;
}

async function collect<P, T>(pages: AsyncIterable<P>, items: (page: P) => readonly T[] | undefined): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(...(items(page) ?? []));
  return all;
}

export function createIotAdmin(client: IoTClient): IotAdmin {
  const paging = { client };
  return {
    createThing: async (input) => body(await client.send(new CreateThingCommand(input))),
    describeThing: async (input) => body(await client.send(new DescribeThingCommand(input))),
    listThings: (input = {}) => collect(paginateListThings(paging, input), (page) => page.things),
    deleteThing: async (input) => void (await client.send(new DeleteThingCommand(input))),

    createKeysAndCertificate: async (input) => body(await client.send(new CreateKeysAndCertificateCommand(input))),
    describeCertificate: async (input) => body(await client.send(new DescribeCertificateCommand(input))),
    listCertificates: () => collect(paginateListCertificates(paging, {}), (page) => page.certificates),
    updateCertificate: async (input) => void (await client.send(new UpdateCertificateCommand(input))),
    deleteCertificate: async (input) => void (await client.send(new DeleteCertificateCommand(input))),

    attachThingPrincipal: async (input) => void (await client.send(new AttachThingPrincipalCommand(input))),
    detachThingPrincipal: async (input) => void (await client.send(new DetachThingPrincipalCommand(input))),
    listThingPrincipals: (thingName) => collect(paginateListThingPrincipals(paging, { thingName }), (page) => page.principals),
    listPrincipalThings: (principal) => collect(paginateListPrincipalThings(paging, { principal }), (page) => page.things),

    createPolicy: async (input) => body(await client.send(new CreatePolicyCommand(input))),
    attachPolicy: async (input) => void (await client.send(new AttachPolicyCommand(input))),
    detachPolicy: async (input) => void (await client.send(new DetachPolicyCommand(input))),
    deletePolicy: async (input) => void (await client.send(new DeletePolicyCommand(input))),

    describeEndpoint: async (input) => body(await client.send(new DescribeEndpointCommand(input))),
  };
}
