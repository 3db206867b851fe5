/**
 * The structural check of a parsed policy JSON value (spec/policy.md section 2). Rules, with the
 * [DECISION]s where AWS is not explicit:
 *  - top level: an object with `Version` (required, "2012-10-17" or "2008-10-17"), `Statement`
 *    (object or non-empty array) and optionally `Id`; any other member is refused (`Principal`
 *    included: an IoT policy's principal is whatever it is attached to);
 *  - statement: `Effect` "Allow"|"Deny" (case as AWS writes it), exactly one of Action/NotAction,
 *    exactly one of Resource/NotResource, optional `Sid` (string) and `Condition`;
 *  - Action values: `*` or `iot:<name>` naming a known data-plane action, wildcards in the name
 *    only, matching at least one action (actions.ts);
 *  - Resource values: `*` or `arn:<partition>:iot:<region>:<account>:<type>/<name>`; partition
 *    without wildcards; the service `iot` (or a wildcard that can match it); a literal type one of
 *    client, topic, topicfilter, thing, rolealias; a non-empty name. Wildcards elsewhere are fine;
 *  - `${...}` must be closed and non-empty; unknown variable names are accepted (they never
 *    resolve, so their statement never applies, section 5) and reported as warnings;
 *  - Condition: `{ operator: { key: value | [values] } }` with a supported operator, a known key
 *    (context.ts), string/number/boolean values; Bool values "true"/"false"; Ip values IPs or CIDRs.
 */
import { actionResourceType, resolveActionPattern, iotActions, type IotAction } from './actions.js';
import { parseIpRange, parseOperator, takesVariables, type ConditionClause, type IpRange } from './conditions.js';
import { contextKey } from './context.js';
import type { PolicyDocument, PolicyLanguageVersion, PolicyStatement, PolicyValidation } from './document.js';
import { globToRegExp } from './glob.js';
import { maskTemplate, parseTemplate, unknownVariables, type Template } from './template.js';

const versions: readonly PolicyLanguageVersion[] = ['2012-10-17', '2008-10-17'];
const topLevelMembers = ['Version', 'Id', 'Statement'];
const statementMembers = ['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'];
const partitions = ['aws', 'aws-cn', 'aws-us-gov'];
export const policyResourceTypes = ['client', 'topic', 'topicfilter', 'thing', 'rolealias'] as const;


function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function unknownMember(name: string, known: readonly string[]): string {
  const hint = known.find((k) => k.toLowerCase() === name.toLowerCase());
  return hint !== undefined ? `unknown member "${name}" (did you mean "${hint}"?)` : `unknown member "${name}"; allowed: ${known.join(', ')}`;
}

class Problems {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  error(where: string, what: string): void {
    this.errors.push(where === '' ? what : `${where}: ${what}`);
  }
  warn(where: string, what: string): void {
    this.warnings.push(`${where}: ${what}`);
  }
}

/** A string or a non-empty array of strings, each with its path (`X` or `X[i]`). */
function stringList(value: unknown, where: string, p: Problems, allowEmpty = false): { value: string; where: string }[] | undefined {
  if (typeof value === 'string') return [{ value, where }];
  if (!Array.isArray(value)) {
    p.error(where, `must be a string or an array of strings, got ${typeName(value)}`);
    return undefined;
  }
  if (value.length === 0 && !allowEmpty) {
    p.error(where, 'must not be an empty array');
    return undefined;
  }
  const out: { value: string; where: string }[] = [];
  let ok = true;
  value.forEach((v: unknown, i) => {
    if (typeof v === 'string') out.push({ value: v, where: `${where}[${i}]` });
    else {
      p.error(`${where}[${i}]`, `must be a string, got ${typeName(v)}`);
      ok = false;
    }
  });
  return ok ? out : undefined;
}

function checkResource(t: Template, where: string, p: Problems): void {
  const masked = maskTemplate(t, '\u0000', '\u0001');
  if (masked === '*') return;
  const shape = 'must be "*" or an ARN arn:aws:iot:<region>:<account>:<type>/<name>';
  if (!masked.startsWith('arn:')) {
    p.error(where, `"${t.source}" is not an ARN; ${shape}`);
    return;
  }
  const parts = masked.split(':');
  if (parts.length < 6) {
    p.error(where, `"${t.source}" is not an ARN (it has ${parts.length} of the 6 colon-separated parts); ${shape}`);
    return;
  }
  const [, partition, service] = parts as [string, string, string];
  const rest = parts.slice(5).join(':');
  if (!partitions.includes(partition)) {
    p.error(where, `"${t.source}": partition "${partition}" is not valid (use aws; no wildcards or variables)`);
  }
  if (service !== 'iot' && !(/[*?]/.test(service) && globToRegExp(service).test('iot'))) {
    p.error(where, `"${t.source}": an IoT policy's resources are iot ARNs (service "${service}")`);
  }
  const slash = rest.indexOf('/');
  const type = slash < 0 ? rest : rest.slice(0, slash);
  const typeIsPattern = /[*?\u0000\u0001]/.test(type);
  if (slash < 0) {
    if (!/[*?]/.test(rest)) {
      p.error(where, `"${t.source}": missing "/<name>" after the resource type "${rest}"`);
    }
    return;
  }
  if (!typeIsPattern && !(policyResourceTypes as readonly string[]).includes(type)) {
    p.error(where, `"${t.source}": unknown resource type "${type}"; IoT policy resources are ${policyResourceTypes.map((x) => `${x}/`).join(', ')}`);
  }
  if (rest.slice(slash + 1) === '') p.error(where, `"${t.source}": empty ${type} name after "${type}/"`);
}

/** The resource type a resource names (`topic`, `*` for "*"), or undefined when a wildcard hides it. */
function literalResourceType(t: Template): string | undefined {
  const masked = maskTemplate(t, '\u0000', '\u0000');
  if (masked === '*') return '*';
  const rest = masked.split(':').slice(5).join(':');
  const slash = rest.indexOf('/');
  const type = slash < 0 ? rest : rest.slice(0, slash);
  return /[*?\u0000]/.test(type) ? undefined : type;
}

function checkVariables(t: Template, where: string, p: Problems): void {
  for (const name of unknownVariables(t)) p.warn(where, `unknown policy variable "\${${name}}": it never resolves, so this statement never applies`);
}

function parseConditions(raw: unknown, where: string, variables: boolean, p: Problems): ConditionClause[] {
  const clauses: ConditionClause[] = [];
  if (!isPlainObject(raw)) {
    p.error(where, `must be an object { operator: { key: value } }, got ${typeName(raw)}`);
    return clauses;
  }
  if (Object.keys(raw).length === 0) p.error(where, 'must not be empty');
  for (const [operatorAsWritten, block] of Object.entries(raw)) {
    const at = `${where}.${operatorAsWritten}`;
    const op = parseOperator(operatorAsWritten);
    if (!op.ok) {
      p.error(at, op.message);
      continue;
    }
    if (!isPlainObject(block) || Object.keys(block).length === 0) {
      p.error(at, `must be a non-empty object { key: value }, got ${isPlainObject(block) ? 'an empty object' : typeName(block)}`);
      continue;
    }
    for (const [keyAsWritten, rawValues] of Object.entries(block)) {
      const atKey = `${at}["${keyAsWritten}"]`;
      const key = contextKey(keyAsWritten);
      if (key === undefined) {
        p.error(atKey, `unknown condition key "${keyAsWritten}" (keys: iot:ClientId, iot:Connection.Thing.*, iot:Certificate.*, iot:CertificateId, iot:ConnectAttributes, iot:LastWillTopic, iot:DomainName, aws:SourceIp)`);
        continue;
      }
      const list = Array.isArray(rawValues) ? rawValues : [rawValues];
      if (Array.isArray(rawValues) && rawValues.length === 0 && op.qualifier === undefined) {
        p.error(atKey, 'an empty list of values only makes sense with ForAllValues:/ForAnyValue:');
        continue;
      }
      const values: Template[] = [];
      const ipRanges: IpRange[] = [];
      let ok = true;
      list.forEach((v: unknown, i) => {
        const atValue = Array.isArray(rawValues) ? `${atKey}[${i}]` : atKey;
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
          p.error(atValue, `a condition value must be a string, number or boolean, got ${typeName(v)}`);
          ok = false;
          return;
        }
        const text = String(v);
        if (op.operator === 'Bool' || op.operator === 'Null') {
          if (text.toLowerCase() !== 'true' && text.toLowerCase() !== 'false') {
            p.error(atValue, `${op.operator} takes "true" or "false", got ${JSON.stringify(v)}`);
            ok = false;
          }
        } else if (op.operator === 'IpAddress' || op.operator === 'NotIpAddress') {
          const range = parseIpRange(text);
          if (range === undefined) {
            p.error(atValue, `"${text}" is not an IP address or CIDR range`);
            ok = false;
          } else ipRanges.push(range);
        }
        const parsed = parseTemplate(text, variables && takesVariables.has(op.operator));
        if (!parsed.ok) {
          p.error(atValue, parsed.message);
          ok = false;
          return;
        }
        checkVariables(parsed.template, atValue, p);
        values.push(parsed.template);
      });
      if (!ok) continue;
      const base = { operatorAsWritten, operator: op.operator, ifExists: op.ifExists, keyAsWritten, key, values };
      const withQualifier = op.qualifier === undefined ? base : { ...base, qualifier: op.qualifier };
      clauses.push(ipRanges.length > 0 ? { ...withQualifier, ipRanges } : withQualifier);
    }
  }
  return clauses;
}

function parseStatement(raw: unknown, index: number, where: string, version: PolicyLanguageVersion, p: Problems): PolicyStatement | undefined {
  if (!isPlainObject(raw)) {
    p.error(where, `a statement must be an object, got ${typeName(raw)}`);
    return undefined;
  }
  const before = p.errors.length;
  const variables = version === '2012-10-17';
  for (const k of Object.keys(raw)) {
    if (k === 'Principal' || k === 'NotPrincipal') p.error(`${where}.${k}`, 'an IoT policy has no Principal: it applies to the certificates, identities and thing groups it is attached to');
    else if (!statementMembers.includes(k)) p.error(where, unknownMember(k, statementMembers));
  }

  let sid: string | undefined;
  if ('Sid' in raw) {
    if (typeof raw.Sid === 'string') sid = raw.Sid;
    else p.error(`${where}.Sid`, `must be a string, got ${typeName(raw.Sid)}`);
  }

  const effect = raw.Effect;
  if (effect === undefined) p.error(where, 'missing Effect ("Allow" or "Deny")');
  else if (effect !== 'Allow' && effect !== 'Deny') p.error(`${where}.Effect`, `must be "Allow" or "Deny", got ${JSON.stringify(effect)}`);

  // Action / NotAction
  const hasAction = 'Action' in raw;
  const hasNotAction = 'NotAction' in raw;
  let actionElement: 'Action' | 'NotAction' = 'Action';
  let actionPatterns: string[] = [];
  let actions: IotAction[] = [];
  if (hasAction && hasNotAction) p.error(where, 'has both Action and NotAction; use one');
  else if (!hasAction && !hasNotAction) p.error(where, 'missing Action (or NotAction)');
  else {
    actionElement = hasAction ? 'Action' : 'NotAction';
    const list = stringList(raw[actionElement], `${where}.${actionElement}`, p);
    if (list !== undefined) {
      const covered = new Set<IotAction>();
      for (const { value, where: at } of list) {
        const r = resolveActionPattern(value);
        if (!r.ok) p.error(at, r.message);
        else for (const a of r.actions) covered.add(a);
      }
      actionPatterns = list.map((x) => x.value);
      actions = actionElement === 'Action' ? iotActions.filter((a) => covered.has(a)) : iotActions.filter((a) => !covered.has(a));
    }
  }

  // Resource / NotResource
  const hasResource = 'Resource' in raw;
  const hasNotResource = 'NotResource' in raw;
  let resourceElement: 'Resource' | 'NotResource' = 'Resource';
  const resources: Template[] = [];
  if (hasResource && hasNotResource) p.error(where, 'has both Resource and NotResource; use one');
  else if (!hasResource && !hasNotResource) p.error(where, 'missing Resource (or NotResource)');
  else {
    resourceElement = hasResource ? 'Resource' : 'NotResource';
    const list = stringList(raw[resourceElement], `${where}.${resourceElement}`, p);
    for (const { value, where: at } of list ?? []) {
      if (value === '') {
        p.error(at, 'must not be empty');
        continue;
      }
      const parsed = parseTemplate(value, variables);
      if (!parsed.ok) {
        p.error(at, parsed.message);
        continue;
      }
      checkResource(parsed.template, at, p);
      checkVariables(parsed.template, at, p);
      if (!variables && value.includes('${')) p.warn(at, 'Version 2008-10-17 has no policy variables: "${" is literal text here (use Version 2012-10-17)');
      resources.push(parsed.template);
    }
  }

  const conditions = 'Condition' in raw ? parseConditions(raw.Condition, `${where}.Condition`, variables, p) : [];

  if (p.errors.length > before) return undefined;

  // Warnings: an explicitly named action whose resource type no Resource can name.
  if (actionElement === 'Action' && resourceElement === 'Resource') {
    const types = resources.map(literalResourceType);
    if (types.every((t) => t !== undefined && t !== '*')) {
      for (const pattern of actionPatterns) {
        if (/[*?]/.test(pattern)) continue;
        const action = actions.find((a) => a.toLowerCase() === pattern.toLowerCase());
        if (action === undefined) continue;
        const wanted = actionResourceType[action];
        if (!types.includes(wanted)) {
          p.warn(
            where,
            wanted === '*'
              ? `${action} is checked against the resource "*" only, which this statement does not name`
              : `${action} is checked against ${wanted}/ ARNs, but no Resource names a ${wanted}/ (spec/policy.md section 3)`,
          );
        }
      }
    }
  }

  const statement: PolicyStatement = {
    index,
    path: where,
    effect: effect as 'Allow' | 'Deny',
    actionElement,
    actionPatterns,
    actions,
    resourceElement,
    resources,
    conditions,
  };
  return sid === undefined ? statement : { ...statement, sid };
}

export function validatePolicyObject(raw: unknown): PolicyValidation {
  const p = new Problems();
  if (!isPlainObject(raw)) return { ok: false, errors: [`the document must be a JSON object, got ${typeName(raw)}`] };
  for (const k of Object.keys(raw)) if (!topLevelMembers.includes(k)) p.error('', unknownMember(k, topLevelMembers));

  let version: PolicyLanguageVersion = '2012-10-17';
  if (raw.Version === undefined) p.error('', 'missing Version (use "2012-10-17")');
  else if (typeof raw.Version !== 'string' || !(versions as readonly string[]).includes(raw.Version)) {
    p.error('Version', `must be "2012-10-17" or "2008-10-17", got ${JSON.stringify(raw.Version)}`);
  } else version = raw.Version as PolicyLanguageVersion;

  let id: string | undefined;
  if ('Id' in raw) {
    if (typeof raw.Id === 'string') id = raw.Id;
    else p.error('Id', `must be a string, got ${typeName(raw.Id)}`);
  }

  const statements: PolicyStatement[] = [];
  const rawStatements = raw.Statement;
  if (rawStatements === undefined) p.error('', 'missing Statement');
  else if (Array.isArray(rawStatements)) {
    if (rawStatements.length === 0) p.error('Statement', 'must contain at least one statement');
    rawStatements.forEach((s: unknown, i) => {
      const st = parseStatement(s, i, `Statement[${i}]`, version, p);
      if (st !== undefined) statements.push(st);
    });
  } else if (isPlainObject(rawStatements)) {
    const st = parseStatement(rawStatements, 0, 'Statement', version, p);
    if (st !== undefined) statements.push(st);
  } else p.error('Statement', `must be an object or an array of objects, got ${typeName(rawStatements)}`);

  if (p.errors.length > 0) return { ok: false, errors: p.errors };
  const document: PolicyDocument = { version, statements, warnings: p.warnings };
  return { ok: true, document: id === undefined ? document : { ...document, id } };
}
