/**
 * What a policy is evaluated against, and the context keys (policy variables and condition keys)
 * that read it (spec/policy.md sections 5 and 6).
 *
 * Two scopes:
 *  - connection keys come from `PolicyContext`, fixed for a connection (or one HTTP request): they
 *    are substituted and their conditions decided once, when a policy set is compiled;
 *  - request keys (`iot:ConnectAttributes`, `iot:LastWillTopic`) come from `RequestContext`, per
 *    CONNECT; statements that test them are evaluated at decision time and never cached.
 *
 * Names compare case-insensitively (IAM); an attribute name inside `Attributes[...]` keeps its case.
 */

/** A thing the connection is bound to (spec/policy.md section 5; registry's thingForConnection). */
export interface PolicyThingFacts {
  readonly thingName: string;
  readonly thingTypeName?: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** Distinguished-name attributes AWS exposes as `iot:Certificate.Subject.<F>` / `Issuer.<F>`. */
export const dnFields = [
  'DistinguishedNameQualifier',
  'Country',
  'Organization',
  'OrganizationalUnit',
  'State',
  'CommonName',
  'SerialNumber',
  'Title',
  'Surname',
  'GivenName',
  'Initials',
  'Pseudonym',
  'GenerationQualifier',
] as const;
export type DnField = (typeof dnFields)[number];

/** Alternative-name kinds AWS exposes as `iot:Certificate.Subject.AlternativeName.<K>` / `Issuer.…`. */
export const altNameKinds = ['RFC822Name', 'DNSName', 'DirectoryName', 'UniformResourceIdentifier', 'IPAddress'] as const;
export type AltNameKind = (typeof altNameKinds)[number];

/** Raw (unescaped) values of each attribute in certificate order; absent or empty = not in the certificate. */
export type DnFacts = Readonly<Partial<Record<DnField, readonly string[]>>>;
export type AltNameFacts = Readonly<Partial<Record<AltNameKind, readonly string[]>>>;

export interface PolicyCertificateFacts {
  /** Lowercase hex SHA-256 of the DER (64 chars). */
  readonly certificateId: string;
  /** `iot:Certificate.SerialNumber`, in the form identity reports it. */
  readonly serialNumber?: string;
  readonly subject?: DnFacts;
  readonly issuer?: DnFacts;
  readonly subjectAlternativeName?: AltNameFacts;
  readonly issuerAlternativeName?: AltNameFacts;
}

/**
 * The connection a policy set is compiled for. core/ builds it from identity (certificate) and
 * registry (thingForConnection) data at CONNECT; for an HTTP data-plane request, clientId and
 * thing are absent (AWS defines the thing variables only for MQTT, spec section 5).
 */
export interface PolicyContext {
  /** Who is asking (certificate ARN, Cognito id, 'anonymous'): named in traces only. */
  readonly principal?: string;
  /** `iot:ClientId`; absent for HTTP requests. */
  readonly clientId?: string;
  /** `aws:SourceIp` (an IPv4-mapped IPv6 address counts as its IPv4 address). */
  readonly sourceIp?: string;
  /** `iot:DomainName`. */
  readonly domainName?: string;
  /**
   * The thing bound to the connection (exclusive attachment, or client id = name of an attached
   * thing); absent = the `iot:Connection.Thing.*` variables are unresolved and IsAttached is "false".
   */
  readonly thing?: PolicyThingFacts;
  /** Certificate facts when the principal is an X.509 certificate. */
  readonly certificate?: PolicyCertificateFacts;
  /** `cognito-identity.amazonaws.com:sub`. */
  readonly cognitoIdentityId?: string;
}

/** Per-request condition keys (spec/policy.md section 6); only iot:Connect has them. */
export interface RequestContext {
  /** `iot:ConnectAttributes`: 'PersistentConnect' (session kept), 'LastWill' (will present). */
  readonly connectAttributes?: readonly string[];
  /** `iot:LastWillTopic`: ARN of the will topic, absent without a will. */
  readonly lastWillTopic?: string;
}

export type ContextValue = string | readonly string[] | undefined;

/** A recognised context key: a policy variable name or condition key. */
export interface ContextKey {
  /** Canonical spelling, e.g. `iot:Connection.Thing.Attributes[type]`. */
  readonly name: string;
  readonly scope: 'connection' | 'request';
  /** True when the value is a set (`.List`, AvailableKeys, ConnectAttributes). */
  readonly multi: boolean;
  readConnection(ctx: PolicyContext): ContextValue;
  readRequest(req: RequestContext | undefined): ContextValue;
}

const none = (): undefined => undefined;

function connectionKey(name: string, multi: boolean, read: (ctx: PolicyContext) => ContextValue): ContextKey {
  return { name, scope: 'connection', multi, readConnection: read, readRequest: none };
}

function requestKey(name: string, multi: boolean, read: (req: RequestContext | undefined) => ContextValue): ContextKey {
  return { name, scope: 'request', multi, readConnection: none, readRequest: read };
}

const fixedKeys: readonly ContextKey[] = [
  connectionKey('iot:ClientId', false, (c) => c.clientId),
  connectionKey('iot:DomainName', false, (c) => c.domainName),
  connectionKey('aws:SourceIp', false, (c) => c.sourceIp),
  connectionKey('iot:CertificateId', false, (c) => c.certificate?.certificateId),
  connectionKey('iot:Connection.Thing.ThingName', false, (c) => c.thing?.thingName),
  connectionKey('iot:Connection.Thing.ThingTypeName', false, (c) => c.thing?.thingTypeName),
  // Defined for MQTT connections (client id known): "true" when a thing is bound (spec section 5).
  connectionKey('iot:Connection.Thing.IsAttached', false, (c) =>
    c.clientId === undefined ? undefined : c.thing !== undefined ? 'true' : 'false',
  ),
  connectionKey('iot:Certificate.SerialNumber', false, (c) => certValue(c.certificate?.serialNumber, false)),
  connectionKey('iot:Certificate.AvailableKeys', true, (c) => availableKeys(c.certificate)),
  connectionKey('cognito-identity.amazonaws.com:sub', false, (c) => c.cognitoIdentityId),
  requestKey('iot:ConnectAttributes', true, (r) => r?.connectAttributes),
  requestKey('iot:LastWillTopic', false, (r) => r?.lastWillTopic),
];
const fixedByLowerName = new Map(fixedKeys.map((k) => [k.name.toLowerCase(), k]));
const dnFieldByLower = new Map<string, DnField>(dnFields.map((f) => [f.toLowerCase(), f]));
const altKindByLower = new Map<string, AltNameKind>(altNameKinds.map((k) => [k.toLowerCase(), k]));

/** AWS keeps at most 5 values of a multi-valued certificate attribute (spec section 5). */
const maxCertValues = 5;
const maxCertValueLength = 1024;

/** Characters a policy writer escapes with a backslash in DN values (spec section 5). */
function escapeDn(value: string): string {
  return value.replace(/[,"\\+=<>;]/g, (c) => `\\${c}`);
}

/**
 * A certificate value as a policy sees it, or undefined when AWS would not substitute it:
 * longer than 1024 characters, or containing a wildcard character (`*`, `$`, `+`, `?`, `#`).
 */
function certValue(raw: string | undefined, dn: boolean): string | undefined {
  if (raw === undefined || raw.length > maxCertValueLength || /[*$+?#]/.test(raw)) return undefined;
  return dn ? escapeDn(raw) : raw;
}

function certList(raw: readonly string[] | undefined, dn: boolean): readonly string[] {
  if (raw === undefined) return [];
  const out: string[] = [];
  for (const v of raw.slice(0, maxCertValues)) {
    const s = certValue(v, dn);
    if (s !== undefined) out.push(s);
  }
  return out;
}

function availableKeys(cert: PolicyCertificateFacts | undefined): readonly string[] | undefined {
  if (cert === undefined) return undefined;
  const keys: string[] = [];
  if (cert.serialNumber !== undefined) keys.push('iot:Certificate.SerialNumber');
  for (const [part, dn] of [
    ['Subject', cert.subject],
    ['Issuer', cert.issuer],
  ] as const) {
    for (const f of dnFields) if ((dn?.[f]?.length ?? 0) > 0) keys.push(`iot:Certificate.${part}.${f}`);
  }
  for (const [part, alt] of [
    ['Subject', cert.subjectAlternativeName],
    ['Issuer', cert.issuerAlternativeName],
  ] as const) {
    for (const k of altNameKinds) if ((alt?.[k]?.length ?? 0) > 0) keys.push(`iot:Certificate.${part}.AlternativeName.${k}`);
  }
  return keys;
}

const attributesKey = /^iot:connection\.thing\.attributes\[(.+)\]$/is;
const certificateKey = /^iot:certificate\.(subject|issuer)\.(alternativename\.)?([a-z0-9]+)(?:\.([0-9]+|list))?$/i;

/**
 * The context key named `name` (as written in `${...}` or a Condition), or undefined when
 * Thingcore does not know it. Index suffixes: bare = first value, `.n` = values[n] (spec
 * section 5 [DECISION]), `.List` = all values (at most 5).
 */
export function contextKey(name: string): ContextKey | undefined {
  const fixed = fixedByLowerName.get(name.toLowerCase());
  if (fixed !== undefined) return fixed;
  const attr = attributesKey.exec(name);
  if (attr !== null) {
    const attribute = attr[1]!;
    return connectionKey(`iot:Connection.Thing.Attributes[${attribute}]`, false, (c) =>
      c.thing !== undefined && Object.prototype.hasOwnProperty.call(c.thing.attributes, attribute) ? c.thing.attributes[attribute] : undefined,
    );
  }
  const cert = certificateKey.exec(name);
  if (cert === null) return undefined;
  const part = cert[1]!.toLowerCase() === 'subject' ? 'Subject' : 'Issuer';
  const isAlt = cert[2] !== undefined;
  const suffix = cert[4];
  const isList = suffix !== undefined && suffix.toLowerCase() === 'list';
  const index = suffix === undefined || isList ? 0 : Number(suffix);
  if (index >= maxCertValues) return undefined;
  const suffixName = suffix === undefined ? '' : isList ? '.List' : `.${index}`;
  const values = (c: PolicyContext): readonly string[] | undefined => {
    const facts = c.certificate;
    if (facts === undefined) return undefined;
    if (isAlt) {
      const kind = altKindByLower.get(cert[3]!.toLowerCase())!;
      const alt = part === 'Subject' ? facts.subjectAlternativeName : facts.issuerAlternativeName;
      return alt?.[kind];
    }
    const field = dnFieldByLower.get(cert[3]!.toLowerCase())!;
    return (part === 'Subject' ? facts.subject : facts.issuer)?.[field];
  };
  if (isAlt) {
    const kind = altKindByLower.get(cert[3]!.toLowerCase());
    if (kind === undefined) return undefined;
    const canonical = `iot:Certificate.${part}.AlternativeName.${kind}${suffixName}`;
    return isList
      ? connectionKey(canonical, true, (c) => (c.certificate === undefined ? undefined : certList(values(c), false)))
      : connectionKey(canonical, false, (c) => certValue(values(c)?.slice(0, maxCertValues)[index], false));
  }
  const field = dnFieldByLower.get(cert[3]!.toLowerCase());
  if (field === undefined) return undefined;
  const canonical = `iot:Certificate.${part}.${field}${suffixName}`;
  return isList
    ? connectionKey(canonical, true, (c) => (c.certificate === undefined ? undefined : certList(values(c), true)))
    : connectionKey(canonical, false, (c) => certValue(values(c)?.slice(0, maxCertValues)[index], true));
}
